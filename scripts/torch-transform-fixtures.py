#!/usr/bin/python3
"""Makes the torchvision fixtures of the image transforms and ImageFolder (run once; the tests need no Python).

  /usr/bin/python3 scripts/torch-transform-fixtures.py

Needs torch and torchvision (Debian: python3-torch, python3-torchvision, for the system python3) and PIL. Writes:
  test/fixtures/torch-transforms/a.png, b.png   two RGB images (37 wide x 53 high, 64 wide x 48 high): smooth
                        waves plus seeded noise, so a wrong filter weight or offset shows
  test/fixtures/torch-transforms/expected.safetensors   torchvision's outputs on them, as PIL images (U8 [C, H, W])
                        for the PIL-side steps and as float tensors (F32 [C, H, W]) for the eval preset
  test/fixtures/image-folder/...                a tiny ImageFolder: classes needing code-point order, nested
                        folders (os.walk order), upper-case extensions, a grey, a grey+alpha and an RGBA PNG, a
                        JPEG, a lossless WebP, a dot-file image and a .txt file
  test/fixtures/image-folder.json               torchvision.datasets.ImageFolder on it: classes, samples (path
                        relative to the root, label) and each sample's pixels as its loader gives them (RGB HWC)
"""
import importlib.util
import json
import math
import os
import shutil
import sys

import torch
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as F

OUT = "test/fixtures/torch-transforms"
FOLDER = "test/fixtures/image-folder"
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
# safetensors by hand (Debian packages no `safetensors`): the writer of scripts/torch-fixtures.py.
_spec = importlib.util.spec_from_file_location("tf", os.path.join(os.path.dirname(__file__), "torch-fixtures.py"))
_tf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tf)
save = _tf.save


def image(width, height, seed):
    # Channel c at (x, y): waves of a few periods plus uniform noise of +-40, clipped to 0..255.
    g = torch.Generator().manual_seed(seed)
    noise = torch.randint(-40, 41, (height, width, 3), generator=g)
    out = torch.empty(height, width, 3, dtype=torch.uint8)
    for y in range(height):
        for x in range(width):
            for c in range(3):
                v = 128 + 90 * math.sin(0.31 * x + 1.7 * c) * math.cos(0.23 * y - 0.5 * c) + int(noise[y, x, c])
                out[y, x, c] = max(0, min(255, round(v)))
    return Image.fromarray(out.numpy(), "RGB")


def chw(pil):
    # A PIL RGB image as U8 [3, H, W] (PIL's own bytes, before ToTensor's division).
    return torch.from_numpy(__import__("numpy").array(pil, dtype="uint8")).permute(2, 0, 1).contiguous()


def transforms():
    os.makedirs(OUT, exist_ok=True)
    imgs = {"a": image(37, 53, 1), "b": image(64, 48, 2)}
    out = {}
    for name, img in imgs.items():
        img.save(f"{OUT}/{name}.png")
        img = Image.open(f"{OUT}/{name}.png").convert("RGB")  # as read back, to be sure the PNG holds the same bytes
        out[f"{name}.input"] = chw(img)
        out[f"{name}.resize20"] = chw(T.Resize(20)(img))
        out[f"{name}.resize64"] = chw(T.Resize(64)(img))  # an upscale of both sides
        out[f"{name}.resize_own"] = chw(T.Resize(min(img.size))(img))  # the shorter side's own size
        out[f"{name}.center17"] = chw(T.CenterCrop(17)(img))
        out[f"{name}.center32"] = chw(T.CenterCrop(32)(img))  # a: (37 - 32) / 2 = 2.5 rounds to even, 2
        out[f"{name}.resize32_center28"] = chw(T.CenterCrop(28)(T.Resize(32)(img)))
        out[f"{name}.resized_crop"] = chw(F.resized_crop(img, 5, 3, 30, 25, [16, 16]))  # top, left, h, w, size
        out[f"{name}.hflip"] = chw(F.hflip(img))
        for size in (24, 40):
            resize = T.Resize(round(size * 256 / 224))
            preset = T.Compose([resize, T.CenterCrop(size), T.ToTensor(), T.Normalize(MEAN, STD)])
            out[f"{name}.eval{size}"] = preset(img)
    meta = {"made_by": f"torchvision {torchvision.__version__}, torch {torch.__version__}, PIL {Image.__version__}"}
    save(f"{OUT}/expected.safetensors", out, meta)
    print(f"wrote {OUT}: {len(out)} tensors")


def tiny(width, height, mode, seed):
    g = torch.Generator().manual_seed(seed)
    bands = len(mode)
    data = torch.randint(0, 256, (height, width, bands), generator=g, dtype=torch.uint8).numpy()
    return Image.fromarray(data[:, :, 0] if bands == 1 else data, mode)


def image_folder():
    shutil.rmtree(FOLDER, ignore_errors=True)
    files = {
        # Upper-case names sort first (code points), b10 before b2; the nested folders in os.walk's sorted order.
        "Zebra/z1.png": (tiny(3, 2, "RGB", 10), {}),
        "cat/b10.png": (tiny(4, 3, "RGB", 11), {}),
        "cat/b2.png": (tiny(3, 4, "RGB", 12), {}),
        "cat/B.png": (tiny(2, 2, "RGB", 13), {}),
        "cat/a.JPG": (tiny(8, 8, "RGB", 14), {"quality": 95}),
        "cat/grey.png": (tiny(3, 3, "L", 15), {}),
        "cat/sub/c.png": (tiny(2, 3, "RGB", 16), {}),
        "cat/sub-x/d.png": (tiny(3, 2, "RGB", 17), {}),
        "cat/sub/deep/e.png": (tiny(2, 2, "RGB", 18), {}),
        "dog/rgba.png": (tiny(3, 2, "RGBA", 19), {}),
        "dog/la.png": (tiny(2, 3, "LA", 20), {}),
        "dog/x.jpeg": (tiny(8, 8, "RGB", 21), {"quality": 95}),
        "dog/y.WEBP": (tiny(3, 3, "RGB", 22), {"lossless": True}),
        "dog/.hidden.png": (tiny(2, 2, "RGB", 23), {}),
    }
    for rel, (img, opts) in files.items():
        path = os.path.join(FOLDER, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fmt = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}[rel.rsplit(".", 1)[1].lower()]
        img.save(path, fmt, **opts)
    with open(os.path.join(FOLDER, "cat/notes.txt"), "w") as f:
        f.write("not an image: ImageFolder skips it by its extension\n")
    ds = torchvision.datasets.ImageFolder(FOLDER)
    samples, pixels = [], {}
    for path, label in ds.samples:
        rel = os.path.relpath(path, FOLDER).replace(os.sep, "/")
        samples.append([rel, label])
        img = ds.loader(path)  # PIL open + convert("RGB"): grey replicated, alpha dropped
        pixels[rel] = {"height": img.height, "width": img.width, "data": list(img.tobytes())}
    with open(f"{FOLDER}.json", "w") as f:
        json.dump({"made_by": f"torchvision {torchvision.__version__}", "classes": ds.classes, "samples": samples,
                   "pixels": pixels}, f, separators=(",", ":"))
    print(f"wrote {FOLDER}: {len(ds.classes)} classes {ds.classes}, {len(samples)} samples")


if __name__ == "__main__":
    assert sys.byteorder == "little", "safetensors stores little-endian bytes"
    transforms()
    image_folder()
