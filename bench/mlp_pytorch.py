#!/usr/bin/env python3
"""PyTorch peer of `dlscope train fashion-mnist` (the Keras tutorial MLP), written the way a
careful PyTorch user would: whole dataset as one float tensor, batches by index, no DataLoader.

    python3 bench/mlp_pytorch.py --seed 1 --threads 2
    dlscope train fashion-mnist --seed 1 --threads 2 --json        # or:
    cargo bench -p dlscope-nn --bench fashion -- --model mlp --seed 1 --threads 2

Same model and training as dlscope's defaults (Keras semantics): Flatten, Dense(512, relu),
Dense(10) + softmax cross-entropy; Glorot-uniform weights, zero biases; RMSprop lr 1e-3,
rho 0.9, eps 1e-7, momentum 0 (PyTorch adds eps outside the square root, Keras inside: a
difference of order 1e-7 in the step); inputs / 255; batch 128, reshuffled every epoch, last
partial batch kept; 5 epochs.

Prints one JSON object: seconds (preprocessing + training, data already decoded in memory,
as dlscope's `seconds`), total_seconds (the whole script), test_accuracy, per-epoch history.
Needs: torch, numpy.
"""
import argparse
import gzip
import json
import os
import time

T0 = time.perf_counter()

import numpy as np
import torch
from torch import nn

FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(root):
    x = read_idx(os.path.join(root, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(root, "train-labels-idx1-ubyte.gz"))
    xt = read_idx(os.path.join(root, "t10k-images-idx3-ubyte.gz"))
    yt = read_idx(os.path.join(root, "t10k-labels-idx1-ubyte.gz"))
    return x, y, xt, yt


def model(hidden):
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    for layer in m:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return m


def fit(net, opt, X, Y, epochs, batch_size):
    """Softmax cross-entropy training, reshuffled every epoch, last partial batch kept;
    returns the per-epoch history (shared with cnn_pytorch.py)."""
    loss_fn = nn.CrossEntropyLoss()
    history = []
    n = len(X)
    for epoch in range(epochs):
        t = time.perf_counter()
        net.train()
        perm = torch.randperm(n)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = X[idx], Y[idx]
            opt.zero_grad(set_to_none=True)
            out = net(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        history.append({"epoch": epoch + 1, "loss": loss_sum / n, "accuracy": correct / n,
                        "seconds": time.perf_counter() - t})
    return history


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--data", default=FMNIST)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y, xt, yt = load(a.data)

    # Building the model and optimizer is set-up (torch.optim's first use imports for ~1 s);
    # the clock covers what dlscope's `seconds` covers: preprocessing and training.
    net = model(a.hidden)
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7, momentum=0.0)
    start = time.perf_counter()
    X = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    Y = torch.from_numpy(y.astype(np.int64))
    history = fit(net, opt, X, Y, a.epochs, a.batch_size)
    seconds = time.perf_counter() - start

    net.eval()
    with torch.no_grad():
        Xt = torch.from_numpy(xt.reshape(len(xt), -1).astype(np.float32) / 255.0)
        pred = net(Xt).argmax(1).numpy()
    acc = float((pred == yt).mean())
    print(json.dumps({"peer": "pytorch", "model": "mlp", "seed": a.seed, "threads": a.threads,
                      "epochs": a.epochs, "seconds": seconds,
                      "total_seconds": time.perf_counter() - T0, "test_accuracy": acc,
                      "torch": torch.__version__, "history": history}))


if __name__ == "__main__":
    main()
