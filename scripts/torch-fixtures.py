#!/usr/bin/python3
"""Makes the PyTorch fixtures of test/fixtures/torch-lenet5 (run once; the tests need no Python).

  /usr/bin/python3 scripts/torch-fixtures.py OURS.safetensors test/fixtures/torch-lenet5

Needs only PyTorch (Debian: apt-get install python3-torch, for the system python3); safetensors files are
written and read here by hand (8-byte little-endian header length, JSON header, raw little-endian bytes), since
Debian packages no `safetensors` for Python. OURS is a LeNet-5 checkpoint written by webgpu-transfer
(model.safetensors of `webgpu-transfer train`). Writes into the output folder:
  torch.safetensors     a LeNet-5 state dict made by PyTorch (torch.manual_seed(0), default init), as PyTorch names it
  ours.safetensors      a copy of OURS
  expected.safetensors  x: 4 fixed inputs [4,1,28,28]; torch_logits: the PyTorch model on x; ours_logits: PyTorch
                        running OURS (loaded with load_state_dict(strict=True)) on x
"""
import json
import shutil
import struct
import sys

import torch
from torch import nn

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}
TORCH = {v: k for k, v in DTYPES.items()}


def lenet5(channels=1, classes=10):
    # The same layers and order as leNet5() in src/nn/layers.ts, so the state-dict names agree (0.weight, ...).
    return nn.Sequential(
        nn.Conv2d(channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes),
    )


def save(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().tobytes()  # little-endian: checked in main()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header with spaces to a multiple of 8
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        t = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=TORCH[h["dtype"]])
        out[name] = t.reshape(h["shape"])
    return out


def main():
    assert sys.byteorder == "little", "safetensors stores little-endian bytes"
    ours_path, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model = lenet5().eval()
    save(f"{out}/torch.safetensors", model.state_dict(), {"format": "pt", "made_by": f"torch {torch.__version__}"})

    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    ours = lenet5().eval()
    ours.load_state_dict(load(ours_path), strict=True)  # our checkpoint, read by PyTorch
    shutil.copyfile(ours_path, f"{out}/ours.safetensors")
    with torch.no_grad():
        expected = {"x": x, "torch_logits": model(x), "ours_logits": ours(x)}
    save(f"{out}/expected.safetensors", expected, {"made_by": f"torch {torch.__version__}"})
    print(f"wrote {out}: torch {torch.__version__}; logits[0] {expected['torch_logits'][0, :3].tolist()}")


if __name__ == "__main__":
    main()
