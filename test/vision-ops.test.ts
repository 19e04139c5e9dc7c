// The ops torchvision's ResNets and MobileNetV2 add: grouped and depthwise conv2d, adaptive average pooling and
// relu6. Each forward against a float64 reference, each backward against the float64 analytic gradient and finite
// differences (test/lib/check.ts), on odd shapes; their errors name the op and the shapes.
// Tolerances (float32 against float64): grouped conv forward atol 2e-6 per multiply-add of an output + 1e-5 (rtol
// 1e-4), gradients atol 1e-4 * sqrt(outputs summed into one gradient) + 1e-4 (rtol 1e-3); pooling and relu6 take
// checkOp's defaults, forward 1e-5 (rtol 1e-4), gradients 1e-4 (rtol 1e-3). The two float64 gradient references
// agree within 1e-6 (rtol 1e-5).
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp, throwsWith} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('vision ops: grouped conv2d, adaptiveAvgPool2d, relu6');

interface GroupedCase {
  what: string; x: number[]; w: number[]; groups: number; stride: [number, number]; pad: [number, number];
  bias: boolean;
}
const gc = (what: string, x: number[], w: number[], groups: number, stride: [number, number], pad: [number, number],
  bias: boolean): GroupedCase => ({what, x, w, groups, stride, pad, bias});
// Column stride 1 runs the sliding-window kernels (8 outputs or inputs per thread), other strides the general ones.
const grouped: GroupedCase[] = [
  gc('groups 2, 3 channels per group', [2, 6, 7, 9], [4, 3, 3, 3], 2, [2, 1], [1, 0], true),
  gc('depthwise 3x3 stride 2', [2, 5, 9, 7], [5, 1, 3, 3], 5, [2, 2], [1, 1], true),
  gc('depthwise 3x3 stride 1 (MobileNetV2)', [2, 4, 6, 10], [4, 1, 3, 3], 4, [1, 1], [1, 1], false),
  gc('depthwise, channel multiplier 2', [2, 3, 8, 6], [6, 1, 3, 3], 3, [1, 1], [1, 1], true),
  gc('groups 3, 2 in and 3 out per group, 2x3 kernel', [1, 6, 5, 8], [9, 2, 2, 3], 3, [1, 2], [0, 2], true),
  // 5-wide kernels: the weight gradient takes each kernel row as blocks of 4 taps (the second holds 1).
  gc('depthwise 5x5 stride 1', [2, 3, 9, 11], [3, 1, 5, 5], 3, [1, 1], [2, 2], true),
  gc('depthwise 5x5 stride 2', [1, 4, 11, 9], [4, 1, 5, 5], 4, [2, 2], [2, 2], false),
  // Column stride 2 over rows of several 8-column blocks, unpadded and padded, a multiplier of 2, rows stride 1.
  gc('depthwise 3x3 stride 2, 19 columns, no column padding', [2, 3, 6, 19], [3, 1, 3, 3], 3, [2, 2], [1, 0], true),
  gc('depthwise 4x4 stride [1, 2], multiplier 2, 17 columns', [1, 2, 5, 17], [4, 1, 4, 4], 2, [1, 2], [2, 3], false),
  gc('depthwise 3x3 stride 3 (the one-input-a-thread input gradient)', [1, 2, 7, 10], [2, 1, 3, 3], 2, [3, 3], [1, 1],
    true),
  // 80 output rows: the weight gradient's threads take whole rows (the cases above cut rows into segments).
  gc('depthwise, more output rows than a workgroup has threads', [4, 2, 20, 5], [2, 1, 3, 3], 2, [1, 1], [1, 1], false),
  // MobileNetV2's small maps; the generated kernels read and write whole planes as vec4s.
  gc('depthwise 4x4 maps', [3, 6, 4, 4], [6, 1, 3, 3], 6, [1, 1], [1, 1], false),
  gc('depthwise 2x2 maps', [2, 5, 2, 2], [5, 1, 3, 3], 5, [1, 1], [1, 1], true),
  gc('depthwise 8x8 stride 2 (rows of whole vec4s)', [2, 4, 8, 8], [4, 1, 3, 3], 4, [2, 2], [1, 1], false),
  // Planes past a thread's budget of multiply-adds: the generated kernels take blocks of rows, padded at run time.
  gc('depthwise 12x12, planes in blocks of rows', [2, 3, 12, 12], [3, 1, 3, 3], 3, [1, 1], [1, 1], true),
  gc('depthwise 40x16 stride 2, planes in blocks of rows', [1, 4, 40, 16], [4, 1, 3, 3], 4, [2, 2], [1, 1], false),
  gc('depthwise 34x10 stride 2 5x5, blocks of rows of odd width', [2, 2, 34, 10], [2, 1, 5, 5], 2, [2, 2], [2, 2],
    true),
];
const GROUPED_FAMILIES = ['conv.groupedForward', 'conv.groupedInput', 'conv.groupedWeight'];
// Each case with each set of kernels: the hand-written rows with either weight gradient, and (depthwise cases) the
// generated planes, checked to be the variants that ran.
const kernelSets = [
  {what: 'rows, weight gradient tree', prefs: {groupedForward: 'rows', groupedInput: 'rows', groupedWeight: 'tree'}},
  {what: 'rows, weight gradient serial',
    prefs: {groupedForward: 'rows', groupedInput: 'rows', groupedWeight: 'serial'}},
  {what: 'generated planes', prefs: {groupedForward: 'planes', groupedInput: 'planes', groupedWeight: 'planes'}},
] as const;
for (const c of grouped) for (const set of kernelSets) {
  const depthwise = c.groups === c.x[1] && c.w[0] === c.x[1];
  if (set.what === 'generated planes' && !depthwise) continue;
  const taps = c.w[1] * c.w[2] * c.w[3];
  const shapes = `x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} groups ${c.groups} stride ${c.stride} pad ${c.pad}`;
  const title = `conv2d ${c.what}: ${shapes}, ${set.what}`;
  const conv = (x: wt.Tensor, w: wt.Tensor, b?: wt.Tensor) =>
    wt.conv2d(x, w, b ?? null, {stride: c.stride, padding: c.pad, groups: c.groups});
  t(title, () => wt.internals.withKernelPrefs(set.prefs, () => {
    if (set.what === 'generated planes') {
      const ran = wt.internals.recordCases(() => wt.tidy(() => {
        const w = wt.zeros(c.w, {requiresGrad: true});
        wt.sum(conv(wt.zeros(c.x, {requiresGrad: true}), w)).backward();
      })).filter((r) => GROUPED_FAMILIES.includes(r.family.name));
      assert.equal(ran.map((r) => `${r.family.name} ${wt.internals.chooseVariant(r.family, r.c)}`).sort(),
        GROUPED_FAMILIES.map((f) => `${f} planes`));
    }
    return checkOp({
      name: `conv2d groups ${c.groups}`,
      inputs: [R.randomNd(c.x, 61), R.randomNd(c.w, 62), ...(c.bias ? [R.randomNd([c.w[0]], 63)] : [])],
      gpu: ([x, w, b]) => conv(x, w, b),
      ref: ([x, w, b]) => R.conv2dGrouped(x, w, b ?? null, c.stride, c.pad, c.groups),
      refGrad: ([x, w], up) => R.conv2dGroupedGrad(x, w, up, c.stride, c.pad, c.groups).slice(0, c.bias ? 3 : 2),
      atol: 2e-6 * taps + 1e-5, sample: 48, gatol: 1e-4 * Math.sqrt(c.x[0] * c.x[2] * c.x[3]) + 1e-4,
    });
  }));
}

t('conv2d groups 1 given explicitly is the ordinary conv', async () => {
  const x = wt.randn([2, 3, 6, 5], {seed: 3}), w = wt.randn([4, 3, 3, 3], {seed: 4});
  assert.equal(Array.from(await wt.conv2d(x, w, null, {padding: 1, groups: 1}).data()),
    Array.from(await wt.conv2d(x, w, null, {padding: 1}).data()));
});

t('conv2d with groups: errors name the op, the shapes and groups', () => {
  const conv = (x: number[], w: number[], opts: object) => () =>
    wt.conv2d(wt.zeros(x), wt.zeros(w), null, opts as wt.Conv2dOptions);
  const names = 'conv2d: input [1, 4, 6, 6] and weight';
  throwsWith(conv([1, 5, 6, 6], [4, 2, 3, 3], {groups: 2}),
    'conv2d: input [1, 5, 6, 6] and weight [4, 2, 3, 3] with groups 2: the 5 input channels do not divide into 2');
  throwsWith(conv([1, 4, 6, 6], [3, 2, 3, 3], {groups: 2}),
    `${names} [3, 2, 3, 3] with groups 2: the 3 output channels do not divide into 2 groups`);
  throwsWith(conv([1, 4, 6, 6], [4, 4, 3, 3], {groups: 2}),
    `${names} [4, 4, 3, 3] with groups 2: the weight must have C / groups = 2 input channels, got 4`);
  throwsWith(conv([1, 4, 6, 6], [4, 1, 3, 3], {groups: 0}), 'conv2d: groups must be an integer >= 1, got 0');
  throwsWith(conv([1, 4, 6, 6], [4, 1, 3, 3], {groups: 1.5}), 'conv2d: groups must be an integer >= 1, got 1.5');
  throwsWith(conv([1, 4, 6, 6], [4, 1, 3, 3], {groups: 4, dilation: 2}), 'conv2d: option dilation=2 is not supported');
});

t('Conv2d layer with groups: weight [out, in / groups, kh, kw], PyTorch bound, runs forward and backward', async () => {
  const layer = new wt.Conv2d(6, 12, 3, {groups: 3, padding: 1});
  assert.equal(layer.weight.shape, [12, 2, 3, 3]);
  assert.equal(layer.bias!.shape, [12]);
  const bound = 1 / Math.sqrt(2 * 3 * 3);
  const w = await layer.weight.data();
  assert.ok(w.every((v) => Math.abs(v) <= bound), `weights within +-${bound}`);
  assert.ok(w.some((v) => Math.abs(v) > bound / 2), 'the bound of in / groups, not of in');
  const depthwise = new wt.Conv2d(8, 8, 3, {groups: 8, stride: 2, padding: 1, bias: false});
  assert.equal(depthwise.weight.shape, [8, 1, 3, 3]);
  const x = R.randomNd([2, 6, 5, 7], 64);
  const y = layer.forward(wt.tensor(Float32Array.from(x.data), x.shape));
  const want = R.conv2dGrouped(x, R.nd(layer.weight.shape, w), R.nd([12], await layer.bias!.data()), [1, 1], [1, 1], 3);
  const r = R.closeness(await y.data(), want.data, 1e-4, 1e-4);
  assert.ok(r.ok, r.msg);
  wt.sum(y).backward();
  assert.equal(layer.weight.grad?.shape, [12, 2, 3, 3]);
  throwsWith(() => new wt.Conv2d(5, 4, 3, {groups: 2}), 'Conv2d: inChannels 5 is not divisible by groups 2');
  throwsWith(() => new wt.Conv2d(4, 6, 3, {groups: 4}), 'Conv2d: outChannels 6 is not divisible by groups 4');
  throwsWith(() => new wt.Conv2d(4, 4, 3, {groups: 0}), 'Conv2d: groups must be a positive integer, got 0');
});

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

// llvmpipe cuts a thread's loops short past ~65,535 iterations (docs/kernel-measurements.md#llvmpipe-loop-limit):
// windows and bins past LOOP_STEPS_MAX are refused there, never computed wrong; other adapters compute them (the
// 260 x 260 average of ones is 1, which llvmpipe's cut loop gave as 0.962).
t('pooling windows and adaptive bins past llvmpipe\'s loop limit: refused there, right elsewhere', async () => {
  const limited = wt.internals.loopsLimited();
  const x = wt.ones([1, 1, 260, 260]);
  const cases: [() => wt.Tensor, string][] = [
    [() => wt.avgPool2d(x, 260),
      'average pooling: a 260x260 window (67600 values, 68122 loop steps) is more than one llvmpipe thread'],
    [() => wt.maxPool2d(x, 260), 'max pooling: a 260x260 window (67600 values, 68122 loop steps)'],
    [() => wt.adaptiveAvgPool2d(wt.ones([1, 1, 520, 520]), 2),
      'adaptiveAvgPool2d: 520x520 -> 2x2 makes bins of up to 68121 values'],
    // 64,000 values, but with the loops' tests 68,002 steps (the count once read 64,000 and passed).
    [() => wt.avgPool2d(wt.ones([1, 1, 2000, 32]), [2000, 32]), 'average pooling: a 2000x32 window (64000 values'],
  ];
  for (const [run, message] of cases) {
    if (limited) throwsWith(run, message);
    else for (const v of await run().data()) assert.ok(Math.abs(v - 1) < 1e-5, `${message.split(':')[0]}: ${v}`);
  }
  assert.equal(Array.from(await wt.adaptiveAvgPool2d(x, 1).data()), [1], 'global pooling reduces in parts: no limit');
  x.dispose();
  // One input in 70,000 bins: its gradient's thread visits them all (adaptive_bwd's declared loop steps).
  const one = wt.ones([1, 1, 1, 1], {requiresGrad: true});
  const y = wt.adaptiveAvgPool2d(one, [70000, 1]);
  const backward = () => wt.sum(y).backward();
  if (limited) throwsWith(backward, 'adaptive-pool.wgsl adaptive_bwd (1x1x1x1<-70000x1): one thread would run');
  else {
    backward();
    assert.equal(Array.from(await one.grad!.data()), [70000]);
  }
  for (const v of [one, y, one.grad]) v?.dispose();
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

t('a MobileNetV2 block (1x1 expand, depthwise 3x3 stride 2, 1x1 project) and a ResNet head train a step', async () => {
  const block = new wt.Sequential(
    new wt.Conv2d(4, 12, 1, {bias: false}), new wt.BatchNorm2d(12), new wt.ReLU6(),
    new wt.Conv2d(12, 12, 3, {stride: 2, padding: 1, groups: 12, bias: false}), new wt.BatchNorm2d(12), new wt.ReLU6(),
    new wt.Conv2d(12, 6, 1, {bias: false}), new wt.AdaptiveAvgPool2d(1), new wt.Flatten(), new wt.Linear(6, 3),
  );
  const x = wt.randn([4, 4, 9, 9], {seed: 5});
  const labels = wt.tensor([0, 1, 2, 1], [4], {dtype: 'i32'});
  const opt = new wt.SGD(block.parameters(), {lr: 0.1});
  const loss0 = wt.crossEntropy(block.forward(x), labels);
  loss0.backward();
  for (const p of block.parameters()) assert.ok(p.grad, `${p.describe()} has a gradient`);
  opt.step();
  const before = (await loss0.data())[0], after = (await wt.crossEntropy(block.forward(x), labels).data())[0];
  assert.ok(Number.isFinite(before) && after < before, `loss ${before} -> ${after}`);
});

t.run();
