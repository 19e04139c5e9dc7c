#!/usr/bin/python3
"""Makes test/fixtures/torch-capsnet (run once; the tests need no Python):

  /usr/bin/python3 scripts/torch-capsnet-fixture.py test/fixtures/torch-capsnet

A small CapsNet written here in PyTorch from the paper (Sabour, Frosst & Hinton 2017), independently of ours:
Conv1 4@3x3 on 12x12 images, PrimaryCaps 2 channels of 3-D capsules @3x3 stride 2, DigitCaps 3 x 4-D with 3 routing
iterations from zero logits, decoder 12 -> 8 -> 144. Its state dict uses the names CapsNet in src/capsnet/model.ts
gives its parameters, so test/pytorch.test.ts loads it into our model and compares. Writes:
  torch.safetensors     the state dict (torch.manual_seed(0); DigitCaps weights N(0, 1.5^2), so the capsules have lengths well inside (0, 1))
  expected.safetensors  x [3,1,12,12]; v: class capsules [3,3,4]; lengths [3,3]; recon: the decoder's output
                        masked by the longest capsule [3,144]; recon_label: masked by label 0 for every input
"""
import sys

import torch
from torch import nn

sys.path.insert(0, "scripts")
from importlib import import_module

fixtures = import_module("torch-fixtures")


class Holder(nn.Module):
    pass


def squash(s):
    n2 = (s * s).sum(-1, keepdim=True)
    return s * n2.sqrt() / (1 + n2)


class CapsNet(nn.Module):
    def __init__(self, side=12, classes=3, conv1=4, k1=3, caps_channels=2, caps_dim=3, k2=3, stride=2, out_dim=4, hidden=8):
        super().__init__()
        self.conv1 = nn.Conv2d(1, conv1, k1)
        self.primary = Holder()
        self.primary.conv = nn.Conv2d(conv1, caps_channels * caps_dim, k2, stride=stride)
        self.grid = (side - k1 + 1 - k2) // stride + 1
        self.caps_channels, self.caps_dim, self.classes = caps_channels, caps_dim, classes
        n = caps_channels * self.grid * self.grid
        self.digit = Holder()
        self.digit.weight = nn.Parameter(torch.randn(n, classes, out_dim, caps_dim) * 1.5)
        self.decoder = nn.Sequential(nn.Linear(classes * out_dim, hidden), nn.ReLU(), nn.Linear(hidden, side * side), nn.Sigmoid())

    def capsules(self, x, iterations=3):
        p = self.primary.conv(torch.relu(self.conv1(x)))                      # [B, caps_channels * caps_dim, g, g]
        b = p.shape[0]
        # Channel k * dim + d is component d of capsule channel k; capsules ordered (channel, row, column).
        u = squash(p.view(b, self.caps_channels, self.caps_dim, -1).permute(0, 1, 3, 2).reshape(b, -1, self.caps_dim))
        uhat = torch.einsum("ijod,bid->bijo", self.digit.weight, u)
        logits = torch.zeros(uhat.shape[:3])
        for it in range(iterations):
            c = torch.softmax(logits, dim=2)
            v = squash(torch.einsum("bij,bijo->bjo", c, uhat))
            if it < iterations - 1:
                logits = logits + torch.einsum("bijo,bjo->bij", uhat, v)
        return v

    def reconstruct(self, v, classes):
        mask = nn.functional.one_hot(classes, self.classes).to(v.dtype)
        return self.decoder((v * mask[..., None]).flatten(1))


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = CapsNet().eval()
    fixtures.save(f"{out}/torch.safetensors", model.state_dict(), {"format": "pt", "made_by": f"torch {torch.__version__}"})
    x = torch.rand(3, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        v = model.capsules(x)
        lengths = v.norm(dim=-1)
        expected = {"x": x, "v": v, "lengths": lengths, "recon": model.reconstruct(v, lengths.argmax(1)),
                    "recon_label": model.reconstruct(v, torch.zeros(3, dtype=torch.int64))}
    fixtures.save(f"{out}/expected.safetensors", expected, {"made_by": f"torch {torch.__version__}"})
    print(f"wrote {out}: torch {torch.__version__}; lengths {lengths.tolist()}")


if __name__ == "__main__":
    main()
