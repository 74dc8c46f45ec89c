#!/usr/bin/env python3
"""Writes the Pillow resize goldens that tests/vision/resize.rs compares dlscope's resampler with.

Inputs are the read-only fixture photos in shared/fixtures/imagenet/images/ (8-bit RGB PNGs).
Outputs are PNGs (lossless) next to this script. Run from anywhere:

    python3 crates/vision/tests/data/make_resize_goldens.py

Made with Pillow 13.0.0 (any Pillow >= 7 uses the same fixed-point resampler).
"""
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
IMAGES = HERE.parents[3].parent / "shared" / "fixtures" / "imagenet" / "images"


def torchvision_resize_crop(img, shorter, crop):
    """torchvision Resize(shorter) + CenterCrop(crop) on a PIL image (bilinear)."""
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(shorter * long / short)
    nw, nh = (shorter, new_long) if w <= h else (new_long, shorter)
    img = img.resize((nw, nh), Image.BILINEAR)
    top = int(round((nh - crop) / 2.0))
    left = int(round((nw - crop) / 2.0))
    return img.crop((left, top, left + crop, top + crop))


def main():
    cat = Image.open(IMAGES / "cat_chelsea.png").convert("RGB")
    hopper = Image.open(IMAGES / "grace_hopper_portrait.png").convert("RGB")
    outs = {
        # Keras load_img(target_size=(100, 150)) default: nearest.
        "cat_nearest_150x100.png": cat.resize((150, 100), Image.NEAREST),
        "cat_crop_nearest_up_97x71.png": cat.crop((10, 10, 50, 40)).resize((97, 71), Image.NEAREST),
        "cat_bilinear_97x61.png": cat.resize((97, 61), Image.BILINEAR),
        "cat_bicubic_131x230.png": cat.resize((131, 230), Image.BICUBIC),
        "hopper_torchvision_128_112.png": torchvision_resize_crop(hopper, 128, 112),
    }
    for name, img in outs.items():
        img.save(HERE / name)
        print(name, img.size)


if __name__ == "__main__":
    main()
