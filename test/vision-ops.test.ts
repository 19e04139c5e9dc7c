// The ops torchvision's ResNets and MobileNetV2 add: adaptive average pooling and relu6. Each forward against a float64 reference, each backward against
// the float64 analytic gradient and finite differences (test/lib/check.ts).
// Tolerances: forward atol 1e-5 (rtol 1e-4); gradients atol 1e-4 (rtol 1e-3): float32 against float64.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('vision ops: adaptiveAvgPool2d, relu6');

/** Throws an error whose message contains `text`. */
function throwsWith(f: () => unknown, text: string): void {
  try { f(); } catch (e) {
    const msg = (e as Error).message;
    assert.ok(msg.includes(text), `message "${msg}" lacks "${text}"`);
    return;
  }
  assert.unreachable(`no error; expected one containing "${text}"`);
}

// ---- adaptive average pooling ----
const adaptive: {x: number[]; out: number | [number, number]; what: string}[] = [
  {x: [2, 3, 7, 9], out: [3, 4], what: 'overlapping bins both ways'},
  {x: [2, 3, 5, 5], out: 1, what: 'global'},
  {x: [1, 2, 6, 6], out: 2, what: 'divisible bins'},
  {x: [1, 2, 6, 6], out: 4, what: 'overlapping bins'},
  {x: [1, 2, 3, 4], out: [5, 6], what: 'more bins than inputs'},
  {x: [1, 2, 24, 23], out: 1, what: 'global over a long plane (split over threads)'},
];
for (const c of adaptive) {
  const [oh, ow] = typeof c.out === 'number' ? [c.out, c.out] : c.out;
  t(`adaptiveAvgPool2d ${c.what}: x${JSON.stringify(c.x)} -> ${JSON.stringify(c.out)}`, () => checkOp({
    name: 'adaptiveAvgPool2d', inputs: [R.randomNd(c.x, 71)],
    gpu: ([x]) => wt.adaptiveAvgPool2d(x, c.out), ref: ([x]) => R.adaptiveAvgPool2d(x, oh, ow),
    refGrad: ([x], up) => [R.adaptiveAvgPool2dGrad(x, up)], sample: 64,
  }));
}

t('adaptiveAvgPool2d: errors name the op, the output size and the input', () => {
  const x = wt.zeros([1, 2, 4, 4]);
  for (const bad of [0, 1.5, [2], [2, -1], [2, 2, 2], '2']) {
    throwsWith(() => wt.adaptiveAvgPool2d(x, bad as number),
      `adaptiveAvgPool2d: outputSize must be a positive integer or a pair of them, got ${JSON.stringify(bad)} for ` +
      'input f32[1, 2, 4, 4]');
  }
  throwsWith(() => wt.adaptiveAvgPool2d(wt.zeros([2, 4, 4]), 1),
    'adaptiveAvgPool2d: input must be NCHW (rank 4), got f32[2, 4, 4]');
  throwsWith(() => new wt.AdaptiveAvgPool2d(0), 'AdaptiveAvgPool2d: outputSize must be a positive integer, got 0');
  throwsWith(() => new wt.AdaptiveAvgPool2d([3] as unknown as number),
    'AdaptiveAvgPool2d: outputSize must be a positive integer or a pair of them, got [3]');
});

t('AdaptiveAvgPool2d layer: global pooling to [N, C, 1, 1]', async () => {
  const y = new wt.AdaptiveAvgPool2d(1).forward(wt.tensor(Array.from({length: 12}, (_, i) => i), [1, 3, 2, 2]));
  assert.equal(y.shape, [1, 3, 1, 1]);
  assert.equal(Array.from(await y.data()), [1.5, 5.5, 9.5]);
  assert.equal(new wt.AdaptiveAvgPool2d([2, 3]).forward(wt.zeros([1, 1, 5, 5])).shape, [1, 1, 2, 3]);
});

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
