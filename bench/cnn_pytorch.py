#!/usr/bin/env python3
"""PyTorch peer of `dlscope train fashion-mnist --model cnn --optimizer adam --epochs 3` (the
Keras MNIST CNN), written the way a careful PyTorch user would: whole dataset as one float
tensor, batches by index, no DataLoader.

    python3 bench/cnn_pytorch.py --seed 1 --threads 2
    dlscope train fashion-mnist --model cnn --optimizer adam --epochs 3 --seed 1 --threads 2 --json
    cargo bench -p dlscope-nn --bench fashion -- --model cnn --seed 1 --threads 2

Model: Conv(32, 3x3, relu), Conv(64, 3x3, relu), MaxPool(2), Dropout(0.25), Flatten,
Dense(128, relu), Dropout(0.5), Dense(10) + softmax cross-entropy; valid padding; Glorot-uniform
weights, zero biases. Adam lr 1e-3, betas (0.9, 0.999), eps 1e-7 (Keras defaults); inputs / 255;
batch 128, reshuffled every epoch, last partial batch kept; 3 epochs.

Prints one JSON object: seconds (preprocessing + training, data already decoded in memory,
as dlscope's `seconds`), total_seconds (the whole script), test_accuracy, per-epoch history.
Needs: torch, numpy.
"""
import argparse
import json
import time

T0 = time.perf_counter()

import numpy as np
import torch
from torch import nn

from mlp_pytorch import FMNIST, fit, load


def model():
    m = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(12 * 12 * 64, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10),
    )
    for layer in m:
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--data", default=FMNIST)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y, xt, yt = load(a.data)

    # Building the model and optimizer is set-up (torch.optim's first use imports for ~1 s);
    # the clock covers what dlscope's `seconds` covers: preprocessing and training.
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    start = time.perf_counter()
    X = torch.from_numpy(x.astype(np.float32)[:, None, :, :] / 255.0)
    Y = torch.from_numpy(y.astype(np.int64))
    history = fit(net, opt, X, Y, a.epochs, a.batch_size)
    seconds = time.perf_counter() - start

    net.eval()
    with torch.no_grad():
        Xt = torch.from_numpy(xt.astype(np.float32)[:, None, :, :] / 255.0)
        pred = torch.cat([net(Xt[i:i + 1000]).argmax(1) for i in range(0, len(Xt), 1000)])
    acc = float((pred.numpy() == yt).mean())
    print(json.dumps({"peer": "pytorch", "model": "cnn", "seed": a.seed, "threads": a.threads,
                      "epochs": a.epochs, "seconds": seconds,
                      "total_seconds": time.perf_counter() - T0, "test_accuracy": acc,
                      "torch": torch.__version__, "history": history}))


if __name__ == "__main__":
    main()
