#!/usr/bin/python3
"""Makes test/fixtures/torch-grads: PyTorch's forward values and gradients at edge points (run once; the tests
need no Python).

  /usr/bin/python3 scripts/torch-grad-fixtures.py test/fixtures/torch-grads

Needs only PyTorch (Debian: apt-get install python3-torch, for the system python3); the safetensors writer is
save() of scripts/torch-fixtures.py. Everything is computed in float64 from inputs that float32 holds exactly,
and written as F64. Each case is op(inputs).backward(g) with a fixed upstream gradient g (so a rule that forgets
to multiply by g, or multiplies a masked 0 by it, shows). Writes grads.safetensors with, per case:
  pow_scalar.*   x [8] (negatives, 0), exponents [E]; y, dx [E, 8]: torch.pow(x, float(exponents[k]))
  pow_tensor.*   x, e [10, 9]: every base in 10 (negatives, -0, 0, inf, NaN) with every exponent in 9
                 (negatives, -0, 0, fractions); y, dx, de
  pow_bcast.*    x [3, 1] and e [1, 3] broadcast (0 among the bases and exponents); y, dx, de
  maximum.*, minimum.*   a, b [12]: ties (equal, +-0, +-inf), NaN on either side or both; y, da, db
  maximum_bcast.*, minimum_bcast.*   a [2, 4], b [4] with ties; y, da, db
  reduce_all.{sum,mean,amax,amin}[.keepdim].*   x [2, 3] with a three-way tie, reduced with dim=[]
                 (which torch treats as every dimension, as it does dim=()); g 2; y, dx
"""
import importlib.util
import sys
from pathlib import Path

import torch

F64 = torch.float64
NAN, INF = float("nan"), float("inf")


def load_writer():
    # scripts/torch-fixtures.py has a hyphen in its name, so it is loaded by path rather than imported.
    spec = importlib.util.spec_from_file_location("torch_fixtures", Path(__file__).with_name("torch-fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.save


def upstream(shape):
    # Non-zero, float32-exact, of both signs; the same pattern the test rebuilds from the stored copy.
    cycle = torch.tensor([1.0, -0.5, 2.0, 0.75, -1.25], dtype=F64)
    n = 1
    for d in shape:
        n *= d
    return cycle.repeat(n // 5 + 1)[:n].reshape(shape)


def grads(f, *inputs):
    """f(*inputs) and the gradient of each input for the upstream gradient upstream(y.shape)."""
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    y = f(*leaves)
    g = upstream(y.shape)
    y.backward(g)
    return y.detach(), g, [t.grad for t in leaves]


def pow_cases(out):
    # No -0 here: torch's scalar pow takes sqrt / rsqrt for exponents +-0.5, so pow(-0, -0.5) is -inf there but
    # +inf (IEEE pow) with a tensor exponent; ours follows IEEE pow. The tensor-exponent grid below has -0.
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0], dtype=F64)
    exponents = [0.0, 1.0, 2.0, 3.0, 0.5, 1.5, -1.0, -2.0, -0.5]
    ys, dxs = [], []
    for e in exponents:
        y, g, (dx,) = grads(lambda t: torch.pow(t, e), x)
        ys.append(y)
        dxs.append(dx)
    out.update({"pow_scalar.x": x, "pow_scalar.g": g, "pow_scalar.exponents": torch.tensor(exponents, dtype=F64),
                "pow_scalar.y": torch.stack(ys), "pow_scalar.dx": torch.stack(dxs)})

    bases = torch.tensor([-2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, INF, NAN], dtype=F64)
    powers = torch.tensor([-1.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 2.5], dtype=F64)
    x, e = bases[:, None].expand(10, 9).contiguous(), powers[None, :].expand(10, 9).contiguous()
    y, g, (dx, de) = grads(torch.pow, x, e)
    out.update({"pow_tensor.x": x, "pow_tensor.e": e, "pow_tensor.g": g, "pow_tensor.y": y,
                "pow_tensor.dx": dx, "pow_tensor.de": de})

    x, e = torch.tensor([[0.0], [0.5], [2.0]], dtype=F64), torch.tensor([[0.0, 1.0, 2.0]], dtype=F64)
    y, g, (dx, de) = grads(torch.pow, x, e)
    out.update({"pow_bcast.x": x, "pow_bcast.e": e, "pow_bcast.g": g, "pow_bcast.y": y,
                "pow_bcast.dx": dx, "pow_bcast.de": de})


def extremum_cases(out):
    a = torch.tensor([1.0, 2.0, 3.0, 3.0, 0.0, -0.0, INF, -INF, NAN, 1.0, NAN, -2.0], dtype=F64)
    b = torch.tensor([2.0, 1.0, 3.0, 3.0, -0.0, 0.0, INF, -INF, 1.0, NAN, NAN, -2.0], dtype=F64)
    a2 = torch.tensor([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]], dtype=F64)
    b2 = torch.tensor([2.0, 2.0, 3.0, 1.0], dtype=F64)
    for name, f in (("maximum", torch.maximum), ("minimum", torch.minimum)):
        for case, (x, z) in ((name, (a, b)), (f"{name}_bcast", (a2, b2))):
            y, g, (da, db) = grads(f, x, z)
            out.update({f"{case}.a": x, f"{case}.b": z, f"{case}.g": g, f"{case}.y": y,
                        f"{case}.da": da, f"{case}.db": db})


def reduce_all_cases(out):
    x = torch.tensor([[1.0, 3.0, 3.0], [0.0, 3.0, -1.0]], dtype=F64)
    out["reduce_all.x"] = x
    for name in ("sum", "mean", "amax", "amin"):
        f = getattr(torch, name)
        for keepdim in (False, True):
            leaf = x.clone().requires_grad_(True)
            y = f(leaf, dim=[], keepdim=keepdim)
            # dim=[] and dim=() both reduce every dimension in this torch, like giving every dim.
            assert torch.equal(y, f(x, dim=(), keepdim=keepdim)) and torch.equal(y, f(x, dim=[0, 1], keepdim=keepdim))
            assert y.shape == ((1, 1) if keepdim else ()), y.shape
            y.backward(torch.full(y.shape, 2.0, dtype=F64))
            key = f"reduce_all.{name}{'.keepdim' if keepdim else ''}"
            out[f"{key}.y"], out[f"{key}.dx"] = y.detach(), leaf.grad


def main():
    assert sys.byteorder == "little", "safetensors stores little-endian bytes"
    save = load_writer()
    out = {}
    pow_cases(out)
    extremum_cases(out)
    reduce_all_cases(out)
    for name, t in out.items():
        if t.dtype == F64 and not name.endswith((".y", ".dx", ".de", ".da", ".db")):
            # Inputs and upstream gradients must be float32-exact so the float32 side sees the same points.
            assert torch.allclose(t.float().double(), t, rtol=0, atol=0, equal_nan=True), name
    path = Path(sys.argv[1]) / "grads.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    save(path, out, {"made_by": f"torch {torch.__version__}"})
    print(f"wrote {path}: {len(out)} tensors, torch {torch.__version__}")


if __name__ == "__main__":
    main()
