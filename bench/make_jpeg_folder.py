#!/usr/bin/env python3
"""Writes an ImageNet-like folder of N JPEGs (~500x375) with injected issues and a truth CSV
(bench input, untimed).

    python3 bench/make_jpeg_folder.py OUT N [--seed 0] [--photos DIR]

Bases come from the real photos in /work/shared/fixtures/imagenet/images/ (320 px on the
longer side, see its README; grey ones are left out): a random crop (20-70% of the area), mirrored half of the time,
colour-jittered (brightness, contrast, saturation +-25%), resized to 500x375 (or 375x500, one
in five), with a second crop pasted as an inset in half of them (so bases from one photo do not
all look alike), light grain, saved at JPEG quality 75-95. About 12% of N are injected copies of
other bases, 2% each:
  exact      the base file's bytes again
  near       the base re-encoded at quality 40-60, or resized by 0.8-0.95 and re-encoded
  dark       brightness x 0.15
  light      faded to 20% contrast towards white
  blurry     Gaussian blur, radius 8-14 px (out of focus at this size)
  grayscale  grey content saved as 3-channel JPEG
Images lie in OUT/images/ (one class). OUT/truth.csv: file,kind,source (relative names; source
is the base of a copy, empty for bases).
"""
import argparse, csv, io, os, random

from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps

PHOTOS = "/work/shared/fixtures/imagenet/images"
KINDS = ["exact", "near", "dark", "light", "blurry", "grayscale"]
SHARE = 0.02


def crop(rng, photo, frac_lo, frac_hi):
    w, h = photo.size
    frac = rng.uniform(frac_lo, frac_hi)
    aspect = rng.uniform(0.75, 1.333)
    cw = min(w, max(16, int((frac * w * h * aspect) ** 0.5)))
    ch = min(h, max(16, int((frac * w * h / aspect) ** 0.5)))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return photo.crop((x, y, x + cw, y + ch))


def jitter(rng, im):
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.75, 1.25))
    im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.75, 1.25))
    return ImageEnhance.Color(im).enhance(rng.uniform(0.75, 1.25))


def _add_noise(im, noise):
    """Adds `noise - 128` (a grey noise image centred at 128) to every channel."""
    pos = Image.eval(noise, lambda v: max(0, v - 128))
    neg = Image.eval(noise, lambda v: max(0, 128 - v))
    pos3, neg3 = Image.merge("RGB", (pos,) * 3), Image.merge("RGB", (neg,) * 3)
    return ImageChops.subtract(ImageChops.add(im, pos3), neg3)


def base_image(rng, photos):
    size = (375, 500) if rng.random() < 0.2 else (500, 375)
    im = crop(rng, rng.choice(photos), 0.2, 0.7)
    if rng.random() < 0.5:
        im = ImageOps.mirror(im)
    im = jitter(rng, im).resize(size, Image.BICUBIC)
    if rng.random() < 0.5:
        inset = crop(rng, rng.choice(photos), 0.1, 0.4)
        iw = rng.randint(size[0] // 4, size[0] // 2)
        ih = max(8, int(iw * inset.size[1] / inset.size[0]))
        inset = jitter(rng, inset).resize((iw, min(ih, size[1])), Image.BICUBIC)
        im.paste(inset, (rng.randint(0, size[0] - inset.size[0]), rng.randint(0, size[1] - inset.size[1])))
    return _add_noise(im, Image.effect_noise(size, rng.uniform(3, 8)))


def _chroma(im):
    """Mean per-pixel spread between the R, G and B channels (0 for grey content)."""
    small = im.convert("RGB").resize((64, 64)).tobytes()
    px = [small[i:i + 3] for i in range(0, len(small), 3)]
    return sum(max(p) - min(p) for p in px) / len(px)


def jpeg(im, q):
    b = io.BytesIO()
    im.save(b, "JPEG", quality=q)
    return b.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--photos", default=PHOTOS)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    photos = [Image.open(os.path.join(a.photos, f)).convert("RGB")
              for f in sorted(os.listdir(a.photos)) if f.lower().endswith((".png", ".jpg", ".jpeg"))]
    # Grey photos (the cameraman) would make grey bases: a dataset of colour photos is meant.
    colour = [p for p in photos if _chroma(p) >= 8.0]
    if len(colour) < len(photos):
        print(f"left out {len(photos) - len(colour)} grey photo(s) of {len(photos)}")
    photos = colour
    if not photos:
        raise SystemExit(f"no colour photos in {a.photos}")
    per = max(1, int(a.n * SHARE))
    n_base = a.n - per * len(KINDS)
    if n_base < per * len(KINDS):
        raise SystemExit(f"N={a.n} is too small for {per} copies of each of {len(KINDS)} kinds")
    img_dir = os.path.join(a.out, "images")
    os.makedirs(img_dir, exist_ok=True)
    truth = []
    bases = []
    for i in range(n_base):
        im = base_image(rng, photos)
        name = f"base_{i:06d}.jpg"
        data = jpeg(im, rng.randint(75, 95))
        with open(os.path.join(img_dir, name), "wb") as f:
            f.write(data)
        bases.append((name, im, data))
        truth.append((name, "base", ""))
    chosen = rng.sample(range(n_base), per * len(KINDS))
    for k, kind in enumerate(KINDS):
        for j, bi in enumerate(chosen[k * per:(k + 1) * per]):
            src, im, data = bases[bi]
            name = f"{kind}_{j:05d}.jpg"
            if kind == "exact":
                out = data
            elif kind == "near":
                if rng.random() < 0.5:
                    out = jpeg(im, rng.randint(40, 60))
                else:
                    f = rng.uniform(0.8, 0.95)
                    out = jpeg(im.resize((int(im.size[0] * f), int(im.size[1] * f)), Image.BILINEAR), 80)
            elif kind == "dark":
                out = jpeg(Image.eval(im, lambda v: int(v * 0.15)), 90)
            elif kind == "light":
                out = jpeg(Image.eval(im, lambda v: int(255 - (255 - v) * 0.2)), 90)
            elif kind == "blurry":
                out = jpeg(im.filter(ImageFilter.GaussianBlur(rng.uniform(8, 14))), 90)
            else:
                out = jpeg(im.convert("L").convert("RGB"), 90)
            with open(os.path.join(img_dir, name), "wb") as f:
                f.write(out)
            truth.append((name, kind, src))
    with open(os.path.join(a.out, "truth.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "kind", "source"])
        w.writerows(truth)
    print(f"wrote {len(truth)} JPEGs ({n_base} bases, {per} of each of {', '.join(KINDS)}) to {img_dir}")


if __name__ == "__main__":
    main()
