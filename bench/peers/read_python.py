#!/usr/bin/env python3
"""Peer for `bench/run.py read`: what a numpy/PIL user writes to load the same data.

--idx DIR      read all four Fashion-MNIST IDX .gz files into uint8 arrays (70k images)
--folder DIR   decode every image under DIR (class subfolders) with PIL into uint8 arrays
--procs N      decode with N processes (multiprocessing.Pool), default 1
Prints one JSON line: {"samples": N, "seconds": S, "checksum": SUM}.
"""
import argparse, gzip, json, os, sys, time

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    rank = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def decode(path):
    from PIL import Image
    with Image.open(path) as im:
        a = np.asarray(im)
    return int(a.sum(dtype=np.uint64)), a.size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idx")
    ap.add_argument("--folder")
    ap.add_argument("--procs", type=int, default=1)
    a = ap.parse_args()
    t0 = time.perf_counter()
    if a.idx:
        x_train = read_idx(os.path.join(a.idx, "train-images-idx3-ubyte.gz"))
        y_train = read_idx(os.path.join(a.idx, "train-labels-idx1-ubyte.gz"))
        x_test = read_idx(os.path.join(a.idx, "t10k-images-idx3-ubyte.gz"))
        y_test = read_idx(os.path.join(a.idx, "t10k-labels-idx1-ubyte.gz"))
        n = len(x_train) + len(x_test)
        assert len(y_train) + len(y_test) == n
        checksum = int(x_train.sum(dtype=np.uint64) + x_test.sum(dtype=np.uint64))
    else:
        files = []
        for root, _dirs, names in os.walk(a.folder):
            for nm in names:
                if nm.lower().endswith((".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")):
                    files.append(os.path.join(root, nm))
        files.sort()
        if a.procs > 1:
            from multiprocessing import Pool
            with Pool(a.procs) as pool:
                res = pool.map(decode, files, chunksize=64)
        else:
            res = [decode(f) for f in files]
        n = len(res)
        checksum = sum(s for s, _ in res)
    print(json.dumps({"samples": n, "seconds": time.perf_counter() - t0, "checksum": checksum}))


if __name__ == "__main__":
    sys.exit(main())
