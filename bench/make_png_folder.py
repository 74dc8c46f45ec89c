#!/usr/bin/env python3
"""Writes the first N Fashion-MNIST test images as PNGs in class folders (bench input, untimed)."""
import gzip, os, sys

import numpy as np
from PIL import Image

src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 10000
names = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]
def idx(p):
    d = gzip.open(p).read(); r = d[3]
    dims = [int.from_bytes(d[4+4*i:8+4*i], "big") for i in range(r)]
    return np.frombuffer(d, np.uint8, offset=4+4*r).reshape(dims)
x = idx(os.path.join(src, "t10k-images-idx3-ubyte.gz"))
y = idx(os.path.join(src, "t10k-labels-idx1-ubyte.gz"))
for c in names:
    os.makedirs(os.path.join(out, c), exist_ok=True)
for i in range(min(n, len(x))):
    Image.fromarray(x[i]).save(os.path.join(out, names[y[i]], f"{i:05d}.png"))
print(f"wrote {min(n, len(x))} PNGs to {out}")
