// The ops torchvision's MobileNetV2 adds: relu6. Each forward against a float64 reference, each backward against
// the float64 analytic gradient and finite differences (test/lib/check.ts).
// Tolerances: forward atol 1e-5 (rtol 1e-4); gradients atol 1e-4 (rtol 1e-3): float32 against float64.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('vision ops: relu6');

// ---- relu6 ----
const relu6Ref = (v: number) => Math.min(Math.max(v, 0), 6);
t('relu6 away from its kinks: forward and gradient against references and finite differences', () => checkOp({
  name: 'relu6', inputs: [R.nd([2, 12], [-3, -1, -0.2, 0.05, 0.3, 1, 2.5, 4, 5.5, 5.95, 6.05, 7,
    -0.4, 0.1, 0.6, 1.7, 2.2, 3.3, 4.4, 5.1, 5.8, 6.2, 8, 100].map(Math.fround))],
  gpu: ([x]) => wt.relu6(x), ref: ([x]) => R.map(x, relu6Ref),
  refGrad: ([x], up) => R.zipGrad([x], up, [(v) => (v > 0 && v < 6 ? 1 : 0)]),
}));

t('relu6 at 0 and 6 exactly: gradient 0 there (PyTorch hardtanh_backward: passes only where 0 < x < 6)', async () => {
  const v = [-1, -0, 0, 1e-6, 3, 6 - 1e-5, 6, 6.5, NaN];
  const x = wt.tensor(v, [v.length], {requiresGrad: true});
  const y = wt.relu6(x);
  wt.sum(wt.mul(y, wt.tensor(v.map((_, i) => i + 1), [v.length]))).backward();
  const got = Array.from(await y.data());
  assert.equal(got.slice(0, 8), [0, 0, 0, Math.fround(1e-6), 3, Math.fround(6 - 1e-5), 6, 6]);
  assert.ok(Number.isNaN(got[8]), 'NaN stays NaN');
  // torch: hardtanh_backward(g, x, 0, 6) = g where not (x <= 0 or x >= 6); NaN compares false, so g passes.
  assert.equal(Array.from(await x.grad!.data()), [0, 0, 0, 4, 5, 6, 0, 0, 9]);
  // clamp's gradient differs at the bounds (torch.clamp passes g where min <= x <= max).
  const xc = wt.tensor([0, 6], [2], {requiresGrad: true});
  wt.sum(wt.clamp(xc, 0, 6)).backward();
  assert.equal(Array.from(await xc.grad!.data()), [1, 1]);
});

t('ReLU6 layer', async () => {
  const y = new wt.ReLU6().forward(wt.tensor([-2, 0.5, 6, 9], [4]));
  assert.equal(Array.from(await y.data()), [0, 0.5, 6, 6]);
});

t.run();
