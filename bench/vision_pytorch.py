#!/usr/bin/env python3
"""PyTorch peer of `dlscope classify`: the same model, weights, preprocessing and batching,
timed the same way, so `bench/run.py` can print dlscope / PyTorch ratios.

    # VGG16: there are no real weights offline; any torchvision-named file times the same.
    python3 bench/vision_pytorch.py --write-vgg16-weights bench/out/vgg16.safetensors
    python3 bench/vision_pytorch.py --model vgg16 --weights bench/out/vgg16.safetensors \
        --threads 2 --batch-size 8 shared/fixtures/imagenet/images
    dlscope classify --model vgg16 --weights bench/out/vgg16.safetensors \
        --threads 2 --batch-size 8 shared/fixtures/imagenet/images

    # EfficientNet-Lite0: the fixture checkpoint.
    python3 bench/vision_pytorch.py --model efficientnet-lite0 \
        --weights shared/fixtures/imagenet/efficientnet_lite0.safetensors \
        --threads 2 --batch-size 8 --repeat 20 shared/fixtures/imagenet/images
    dlscope classify --model efficientnet-lite0 \
        --weights shared/fixtures/imagenet/efficientnet_lite0.safetensors \
        --threads 2 --batch-size 8 $(printf 'shared/fixtures/imagenet/images %.0s' $(seq 20))
    # (the same folder named 20 times = --repeat 20: 120 images)

Prints one JSON object: images, seconds (whole run after the weights are loaded: decode,
preprocess, forward), images_per_second, network_seconds / network_images_per_second (forward
passes only) and the top-1 of each image. `dlscope classify` prints the same two rates on
stderr (`... images/s (... images/s in the network)`).

What runs on the PyTorch side (eager mode, `torch.inference_mode()`, float32, NCHW):
* vgg16: `torchvision.models.vgg16(weights=None)` with the state dict loaded.
* efficientnet-lite0: timm's `tf_efficientnet_lite0` when timm is installed (its Conv2dSame
  pads like TF), else the functional forward of shared/fixtures/imagenet/reference.py as an
  nn.Module (same arithmetic); BatchNorm2d in eval mode, eps 1e-3, not folded.
Preprocessing is each model's dlscope default, done with Pillow: vgg16 = Resize(256) +
CenterCrop(224) bilinear + ImageNet mean/std; efficientnet-lite0 = centre crop 224/256 of the
shorter side, bicubic to 224, (x - 127) / 128.

Needs: torch, torchvision, pillow, numpy, safetensors (timm optional).
"""
import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def list_images(paths):
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.suffix.lower() in EXTS)
        else:
            out.append(p)
    return out


# ------------------------------------------------------------------ preprocessing
def torchvision_crop(img, size=224, shorter=256):
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(shorter * long / short)
    nw, nh = (shorter, new_long) if w <= h else (new_long, shorter)
    img = img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def tf_central_crop(img, size=224, padding=32):
    w, h = img.size
    c = int(size / (size + padding) * min(h, w))
    top, left = (h - c + 1) // 2, (w - c + 1) // 2
    return img.crop((left, top, left + c, top + c)).resize((size, size), Image.BICUBIC)


MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def preprocess(model, path):
    img = Image.open(path).convert("RGB")
    if model == "vgg16":
        a = np.asarray(torchvision_crop(img), np.float32) / np.float32(255)
        a = (a - MEAN) / STD
    else:
        a = (np.asarray(tf_central_crop(img), np.float32) - np.float32(127)) / np.float32(128)
    return a.transpose(2, 0, 1)


# ------------------------------------------------------------------ models
def load_state_dict(path):
    import torch
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(str(path))
    sd = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}


STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
          (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


def lite0_module(sd):
    """EfficientNet-Lite0 with TF SAME padding, eager PyTorch (reference.py's forward)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def pad_same(x, k, s):
        ih, iw = x.shape[-2:]
        ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
        pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
        return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])

    class ConvBn(nn.Module):
        def __init__(self, w, p, k, s, groups=1):
            super().__init__()
            self.conv = nn.Conv2d(w.shape[1] * groups, w.shape[0], k, s, groups=groups, bias=False)
            self.conv.weight.data.copy_(w)
            self.bn = nn.BatchNorm2d(w.shape[0], eps=1e-3)
            for a, b in (("weight", "weight"), ("bias", "bias"), ("running_mean", "running_mean"),
                         ("running_var", "running_var")):
                getattr(self.bn, a).data.copy_(sd[f"{p}.{b}"])
            self.k, self.s = k, s

        def forward(self, x):
            if self.k > 1:
                x = pad_same(x, self.k, self.s)
            return self.bn(self.conv(x))

    class Lite0(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = ConvBn(sd["_conv_stem.weight"], "_bn0", 3, 2)
            self.blocks = nn.ModuleList()
            self.cfg = []
            n = 0
            for e, k, s, cin, cout, r in STAGES:
                for j in range(r):
                    st, ci = (s, cin) if j == 0 else (1, cout)
                    p = f"_blocks.{n}."
                    m = nn.Module()
                    m.expand = ConvBn(sd[p + "_expand_conv.weight"], p + "_bn0", 1, 1) if e != 1 else None
                    mid = ci * e
                    m.dw = ConvBn(sd[p + "_depthwise_conv.weight"], p + "_bn1", k, st, groups=mid)
                    m.project = ConvBn(sd[p + "_project_conv.weight"], p + "_bn2", 1, 1)
                    self.blocks.append(m)
                    self.cfg.append(st == 1 and ci == cout)
                    n += 1
            self.head = ConvBn(sd["_conv_head.weight"], "_bn1", 1, 1)
            self.fc = nn.Linear(1280, 1000)
            self.fc.weight.data.copy_(sd["_fc.weight"])
            self.fc.bias.data.copy_(sd["_fc.bias"])

        def forward(self, x):
            x = F.relu6(self.stem(x))
            for m, res in zip(self.blocks, self.cfg):
                h = F.relu6(m.expand(x)) if m.expand is not None else x
                h = m.project(F.relu6(m.dw(h)))
                x = h + x if res else h
            x = F.relu6(self.head(x)).mean(dim=(2, 3))
            return self.fc(x)

    return Lite0().eval()


def build(model, weights):
    import torch
    sd = load_state_dict(weights)
    if model == "vgg16":
        import torchvision
        m = torchvision.models.vgg16(weights=None)
        m.load_state_dict(sd)
        return m.eval(), "torchvision vgg16"
    try:
        import timm
        from importlib import util as _u
        ref = Path(__file__).resolve().parent.parent / "shared/fixtures/imagenet/reference.py"
        spec = _u.spec_from_file_location("reference", ref)
        mod = _u.module_from_spec(spec)
        spec.loader.exec_module(mod)
        m = timm.create_model("tf_efficientnet_lite0", pretrained=False)
        m.load_state_dict({mod.timm_name(k): v for k, v in sd.items()}, strict=False)
        return m.eval(), f"timm {timm.__version__} tf_efficientnet_lite0"
    except (ImportError, FileNotFoundError):
        return lite0_module(sd), "eager module (reference.py forward)"


def write_vgg16_weights(out):
    import torch
    import torchvision
    from safetensors.torch import save_file
    torch.manual_seed(0)
    sd = torchvision.models.vgg16(weights=None).state_dict()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(out))
    print(f"wrote {out} (torchvision vgg16, random init, 528 MB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images", nargs="*")
    ap.add_argument("--model", choices=["vgg16", "efficientnet-lite0"], default="vgg16")
    ap.add_argument("--weights")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=1, help="classify the image list this many times")
    ap.add_argument("--write-vgg16-weights", metavar="OUT")
    a = ap.parse_args()
    if a.write_vgg16_weights:
        write_vgg16_weights(a.write_vgg16_weights)
        return 0
    if not a.weights or not a.images:
        ap.error("--weights and images are required")
    import torch
    torch.set_num_threads(a.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    model, impl = build(a.model, a.weights)
    files = list_images(a.images) * a.repeat
    t0 = time.perf_counter()
    net = 0.0
    top1 = []
    with torch.inference_mode():
        for i in range(0, len(files), a.batch_size):
            x = torch.from_numpy(np.stack([preprocess(a.model, f) for f in files[i:i + a.batch_size]]))
            t = time.perf_counter()
            logits = model(x)
            net += time.perf_counter() - t
            top1 += logits.argmax(-1).tolist()
    dt = time.perf_counter() - t0
    print(json.dumps({
        "peer": "pytorch", "torch": torch.__version__, "implementation": impl, "model": a.model,
        "threads": a.threads, "batch_size": a.batch_size, "images": len(files),
        "seconds": dt, "images_per_second": len(files) / dt,
        "network_seconds": net, "network_images_per_second": len(files) / net,
        "top1": top1[: len(files) // a.repeat],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
