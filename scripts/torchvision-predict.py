#!/usr/bin/python3
"""Predicts with a webgpu-transfer weights file in torchvision: `webgpu-transfer predict --json`'s check.

  /usr/bin/python3 scripts/torchvision-predict.py WEIGHTS.safetensors IMAGE...

Needs Debian's python3-torch and python3-torchvision (and PIL). The model comes from the file's header (arch,
arch_spec, image_size, class_names), as finetune, the page's export and `experiment pretrain` write them; the weights
load with load_state_dict(strict=True). Each image goes through Resize(round(size * 256 / 224)), CenterCrop(size),
ToTensor and Normalize (ImageNet statistics), as predict does. Prints one JSON line per image: file, logits, top.
"""
import importlib.util
import json
import os
import struct
import sys

import torch
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.models.resnet import BasicBlock, Bottleneck

_here = os.path.dirname(__file__)
_spec = importlib.util.spec_from_file_location("tvf", os.path.join(_here, "torch-vision-fixtures.py"))
tvf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tvf)


def header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


def build(spec):
    arch, classes = spec["arch"], spec["classes"]
    width = spec.get("width", 64)
    if arch == "cifar_resnet":
        return tvf.small_resnet(BasicBlock, spec.get("layers", [2, 2, 2, 2]), width, classes, cifar=True)
    if arch in ("resnet18", "resnet34", "resnet50"):
        block = Bottleneck if arch == "resnet50" else BasicBlock
        layers = {"resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3], "resnet50": [3, 4, 6, 3]}[arch]
        return tvf.small_resnet(block, layers, width, classes, cifar=spec.get("stem") == "cifar")
    if arch == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(num_classes=classes, width_mult=spec.get("widthMult", 1.0))
    raise SystemExit(f"unknown architecture {arch}")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    path, images = sys.argv[1], sys.argv[2:]
    meta = header(path)
    if "arch_spec" not in meta:
        raise SystemExit(f"{path} has no arch_spec in its header")
    spec = json.loads(meta["arch_spec"])
    model = build(spec)
    model.load_state_dict(tvf.tf.load(path), strict=True)
    model.eval()
    size = int(meta.get("image_size") or spec.get("inputSize") or 224)
    names = json.loads(meta["class_names"]) if "class_names" in meta else [str(i) for i in range(spec["classes"])]
    t = transforms.Compose([transforms.Resize(round(size * 256 / 224)), transforms.CenterCrop(size), transforms.ToTensor(),
                            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    with torch.no_grad():
        for f in images:
            logits = model(t(Image.open(f).convert("RGB")).unsqueeze(0))[0]
            p = torch.softmax(logits, 0)
            top = [[names[i], float(p[i])] for i in torch.argsort(p, descending=True)[:5].tolist()]
            print(json.dumps({"file": f, "logits": [float(v) for v in logits], "top": top}))


if __name__ == "__main__":
    main()
