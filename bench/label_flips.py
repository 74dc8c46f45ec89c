"""Label-error detection on Fashion-MNIST: copy the dataset to a temporary IDX folder with 1%
of the train labels flipped to another class (seeded, numpy), run `dlscope labels` (MLP,
5-fold cross-validation) on it and print precision and recall of the flips.

    python3 bench/label_flips.py [--dlscope BIN] [--epochs 5] [--folds 5] [--keep DIR]

The flipped dataset, the flip list and the `dlscope labels` output stay in --keep DIR (default:
a temp folder, printed) so bench/cleanlab_compare.py --fashion DIR can reuse pred_probs.npy.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SRC = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, arr):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, arr.ndim]))
        for d in arr.shape:
            f.write(int(d).to_bytes(4, "big"))
        f.write(np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def main():
    ap = argparse.ArgumentParser()
    default_bin = os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "dlscope"
    )
    ap.add_argument("--dlscope", default=default_bin)
    ap.add_argument("--fraction", type=float, default=0.01)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default=None)
    a = ap.parse_args()

    work = a.keep or tempfile.mkdtemp(prefix="dlscope-flips-")
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    images = read_idx(f"{SRC}/train-images-idx3-ubyte.gz")
    labels = read_idx(f"{SRC}/train-labels-idx1-ubyte.gz").astype(np.int64)
    rng = np.random.default_rng(a.seed)
    n = len(labels)
    flipped = np.sort(rng.choice(n, size=int(round(n * a.fraction)), replace=False))
    noisy = labels.copy()
    # Each flip goes to a different class, uniformly among the other 9.
    noisy[flipped] = (labels[flipped] + rng.integers(1, 10, size=len(flipped))) % 10
    assert (noisy[flipped] != labels[flipped]).all()
    write_idx(os.path.join(data, "train-images-idx3-ubyte"), images)
    write_idx(os.path.join(data, "train-labels-idx1-ubyte"), noisy)
    write_idx(os.path.join(data, "t10k-images-idx3-ubyte"), read_idx(f"{SRC}/t10k-images-idx3-ubyte.gz"))
    write_idx(os.path.join(data, "t10k-labels-idx1-ubyte"), read_idx(f"{SRC}/t10k-labels-idx1-ubyte.gz"))
    flip_list = os.path.join(work, "flipped.txt")
    np.savetxt(flip_list, flipped, fmt="%d")
    out = os.path.join(work, "labels")
    t = time.time()
    cmd = [a.dlscope, "labels", data, "--model", "mlp", "--folds", str(a.folds),
           "--epochs", str(a.epochs), "--seed", str(a.seed), "--flipped-list", flip_list,
           "--out", out, "--json"]
    print("$", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"dlscope labels failed:\n{res.stderr}")
    s = json.loads(res.stdout)
    secs = time.time() - t
    found = set()
    with open(os.path.join(out, "label_issues.csv")) as f:
        next(f)
        for line in f:
            found.add(int(line.split(",")[2]))
    fl = set(int(i) for i in flipped)
    hit = len(found & fl)
    print(f"train samples {n}, flipped {len(fl)} ({a.fraction:.1%}), seed {a.seed}")
    print(f"MLP {a.folds}-fold x {a.epochs} epochs: out-of-sample accuracy {s['cv_accuracy']:.4f}, {secs:.0f} s")
    print(f"issues {len(found)}; flips found {hit}")
    print(f"precision {hit / max(len(found), 1):.4f}  recall {hit / max(len(fl), 1):.4f}")
    print(f"(dlscope summary: precision {s['truth']['precision']:.4f} recall {s['truth']['recall']:.4f})")
    print(f"outputs in {work}")


if __name__ == "__main__":
    main()
