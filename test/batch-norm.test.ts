// batchNormTrain, BatchNorm's training mode in fused kernels (shaders/batch-norm/): forward, batch mean and biased
// variance against float64 references, backward against the float64 closed form and finite differences (test/lib/
// check.ts), on ranks 2 to 4, planes of whole vec4s or not, and several workgroup strides per channel; then the fused
// and composed BatchNorm paths (kernelPrefs.fusedBatchNorm) against each other. Each case runs both kernels of the
// per-channel sums (kernelPrefs.batchNormSums: a workgroup tree, a thread per channel, and where planes are whole vec4s
// a thread per plane), and there both runs of the normalisation and dx passes (kernelPrefs.batchNormVec4s: 1 and 8).
// Tolerances (float32 against float64): forward atol 2e-5 (rtol 1e-4), mean and variance rtol 1e-5 (atol 1e-6),
// gradients checkOp's 1e-4 (rtol 1e-3); x = 100 + U(-0.5, 0.5) takes forward atol 5e-5 (the f32 mean near 100 is
// within 4e-6, 1.4e-5 of xhat) and gradients 3e-4. Fused against composed: 1e-5 on outputs and running statistics,
// 1e-4 on gradients (rtol 1e-4 and 1e-3).
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp, throwsWith, expectClose, toTensor} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('batch norm: batchNormTrain');

/** y of batchNormTrain, its mean and variance freed (checkOp reads one output). */
const normed = (x: wt.Tensor, w: wt.Tensor | null, b: wt.Tensor | null): wt.Tensor => {
  const r = wt.internals.batchNormTrain(x, w, b);
  r.mean.dispose();
  r.variance.dispose();
  return r.y;
};

/** 100 + U(-0.5, 0.5) in float32: a large offset over a small spread. */
const offset = (shape: number[], seed: number): R.Nd => R.nd(shape, Float32Array.from(R.randomNd(shape, seed, -0.5, 0.5).data,
  (v) => 100 + v));

interface Case { what: string; shape: number[]; affine: boolean; x?: (shape: number[]) => R.Nd }
const cases: Case[] = [
  {what: 'rank 2', shape: [3, 5], affine: true},
  {what: 'rank 2 without affine', shape: [6, 4], affine: false},
  {what: 'rank 3', shape: [2, 3, 7], affine: true},
  {what: 'rank 3 without affine', shape: [2, 3, 7], affine: false},
  {what: 'rank 4, odd planes', shape: [2, 5, 7, 9], affine: true},
  {what: 'rank 4, planes of vec4s', shape: [3, 2, 4, 6], affine: true},
  {what: 'rank 4, planes of vec4s, without affine', shape: [2, 3, 2, 2], affine: false},
  // 15 vec4s a plane: a run of 8 and one of 7.
  {what: 'rank 4, planes of 15 vec4s', shape: [2, 3, 5, 12], affine: true},
  {what: 'batch 1, 2 values per channel', shape: [1, 3, 1, 2], affine: true},
  // 4620 values per channel: 18 strides of a 256-thread workgroup; the vec4 case 4.5 strides of vec4s.
  {what: 'large, odd planes', shape: [4, 3, 33, 35], affine: true},
  {what: 'large, planes of vec4s', shape: [4, 3, 32, 36], affine: false},
  // 32,768 values per channel, past the serial sums' bound (llvmpipe would cut their loops short): both run the tree.
  {what: 'past the serial bound', shape: [2, 2, 128, 128], affine: false},
  {what: 'mean 100, small spread', shape: [4, 3, 5, 7], affine: true, x: (s) => offset(s, 95)},
  {what: 'mean 100, small spread, planes of vec4s', shape: [8, 2, 8, 8], affine: false, x: (s) => offset(s, 96)},
];

/** fn with kernelPrefs.batchNormSums and batchNormVec4s forced, restored after. */
async function withSums<T>(sums: Sums, run: number, fn: () => T | Promise<T>): Promise<T> {
  return wt.internals.withKernelPrefs({batchNormSums: sums, batchNormVec4s: run}, async () => await fn());
}

type Sums = 'serial' | 'workgroup' | 'planes';
const vec4Planes = (c: Pick<Case, 'shape'>) => c.shape.slice(2).reduce((a, b) => a * b, 1) % 4 === 0;
const runsOf = (c: Pick<Case, 'shape'>) => (vec4Planes(c) ? [1, 8] : [1]);
// The planes sums take planes of whole vec4s only.
const sumsOf = (c: Pick<Case, 'shape'>): Sums[] =>
  (vec4Planes(c) ? ['workgroup', 'serial', 'planes'] : ['workgroup', 'serial']);
for (const c of cases) for (const sums of sumsOf(c)) for (const run of runsOf(c)) {
  const C = c.shape[1];
  const offsetX = !!c.x;
  const inputs = [c.x ? c.x(c.shape) : R.randomNd(c.shape, 91, -2, 2),
    ...(c.affine ? [R.randomNd([C], 92, 0.5, 1.5), R.randomNd([C], 93)] : [])];
  const label = `${c.what} ${JSON.stringify(c.shape)}, ${sums} sums${runsOf(c).length > 1 ? `, runs of ${run}` : ''}`;
  t(`${label}: forward and gradients against float64 and finite differences`, () => withSums(sums, run, () => checkOp({
    name: `batchNormTrain ${JSON.stringify(c.shape)}`, inputs,
    gpu: ([x, w, b]) => normed(x, w ?? null, b ?? null),
    ref: ([x, w, b]) => R.batchNormTrain(x, w ?? null, b ?? null),
    refGrad: ([x, w], up) => R.batchNormTrainGrad(x, w ?? null, up).slice(0, c.affine ? 3 : 1),
    atol: offsetX ? 5e-5 : 2e-5, gatol: offsetX ? 3e-4 : 1e-4, sample: 48,
  })));
  t(`${label}: batch mean and biased variance`, () => withSums(sums, run, async () => {
    const x = toTensor(inputs[0]);
    const {y, mean, variance} = wt.internals.batchNormTrain(x, null, null);
    const want = R.batchNormStats(inputs[0]);
    assert.equal(mean.shape, [C]);
    assert.equal(variance.shape, [C]);
    expectClose(await mean.data(), want.mean, 1e-6, 1e-5, 'mean');
    expectClose(await variance.data(), want.variance, 1e-6, 1e-5, 'variance');
    for (const u of [x, y, mean, variance]) u.dispose();
  }));
}

// With the activation in the same passes: relu(y) or relu6(y) and their gradients (g where 0 < y, and y < 6 for
// relu6), against the float64 forward and the closed form with the masked gradient. Weights and shifts of 2 to 4 put
// values past both of relu6's bounds. Both sums, and runs of 1 and 8 vec4s where planes are whole vec4s.
const activated = (y: R.Nd, act: 'relu' | 'relu6'): R.Nd =>
  R.nd(y.shape, y.data.map((v) => (act === 'relu' ? Math.max(v, 0) : Math.min(Math.max(v, 0), 6))));
const passes = (z: number, act: 'relu' | 'relu6') => z > 0 && (act === 'relu' || z < 6);
const actCases: {shape: number[]; act: 'relu' | 'relu6'}[] = [
  {shape: [2, 5, 7, 9], act: 'relu6'}, {shape: [2, 3, 5, 12], act: 'relu6'}, {shape: [3, 2, 4, 6], act: 'relu'},
  {shape: [4, 3, 32, 36], act: 'relu'}, {shape: [6, 4], act: 'relu6'},
];
// With the planes sums, the backward passes take the activation's gradient from the output or from x
// (batchNormActFrom).
type ActFrom = 'output' | 'input';
const actFromOf = (sums: Sums): ActFrom[] => (sums === 'planes' ? ['output', 'input'] : ['output']);
for (const {shape, act} of actCases) for (const sums of sumsOf({shape})) for (const run of runsOf({shape}))
for (const actFrom of actFromOf(sums)) {
  const C = shape[1];
  const inputs = [R.randomNd(shape, 81, -2, 2), R.randomNd([C], 82, 2, 4), R.randomNd([C], 83, 2, 4)];
  const from = sums === 'planes' ? `, gradient from the ${actFrom}` : '';
  t(`with ${act} ${JSON.stringify(shape)}, ${sums} sums, runs of ${run}${from}: forward and gradients against float64`,
    () => wt.internals.withKernelPrefs({batchNormActFrom: actFrom}, () => withSums(sums, run, async () => {
      const z = R.batchNormTrain(inputs[0], inputs[1], inputs[2]);
      assert.ok(z.data.some((v) => !passes(v, act) && v > 0) || act === 'relu', 'values past 6');
      await checkOp({
        name: `batchNormTrain ${JSON.stringify(shape)} with ${act}`, inputs,
        gpu: ([x, w, b]) => { const r = wt.internals.batchNormTrain(x, w, b, 1e-5, act); r.mean.dispose();
          r.variance.dispose(); return r.y; },
        ref: ([x, w, b]) => activated(R.batchNormTrain(x, w, b), act),
        refGrad: ([x, w, b], up) => {
          const zr = R.batchNormTrain(x, w, b);
          return R.batchNormTrainGrad(x, w, R.nd(up.shape, up.data.map((u, i) => (passes(zr.data[i], act) ? u : 0))));
        },
        atol: 2e-5, sample: 48,
      });
    })));
}

// The activation's gradient recomputed from x against the output read back, bit for bit, where it matters: 64 values
// of each channel are consecutive float32s around the x whose normalised value meets a kink (relu's 0; relu6's 0 and
// 6, 32 each), so some land either side of it by an ulp. 48 channels with their own weight and shift meet the kinks
// under 48 roundings. The rest of a channel is spread out, fixing its mean and deviation. Each pass's label shows
// which source ran.
for (const act of ['relu', 'relu6'] as const) {
  t(`with ${act}: the gradient taken from x equals the one from the output, bit for bit, an ulp from the kinks`,
    async () => {
      const [N, C, H, W] = [2, 48, 16, 16], HW = H * W, kinks = act === 'relu' ? [0] : [0, 6];
      // relu6's kinks lie 6 / w apart: weights from 3.5 keep both within the bulk's spread.
      const weights = R.randomNd([C], 73, act === 'relu' ? 0.5 : 3.5, act === 'relu' ? 2 : 5).data;
      const shifts = R.randomNd([C], 74, -1.5, 1.5).data;
      const x = new Float32Array(N * C * HW), bulk = R.randomNd([N * C * HW], 71, -2, 2).data;
      const perKink = 64 / kinks.length;
      // Every 8th value of a channel is a probe: the kth probe of the channel meets kink floor(k / perKink).
      const probeOf = (k: number) => (k % 8 === 1 ? (k - 1) / 8 : -1);
      // Channel c's shift puts 0's kink at the normalised value -b / w = s (relu) or s / 4 - 0.7 (relu6, 6's kink
      // 1.2-1.7 above it).
      const b = Float32Array.from(shifts, (s, c) => -(act === 'relu' ? s : s / 4 - 0.7) * weights[c]);
      for (let c = 0; c < C; c++) {
        const at = (k: number) => { const n = Math.floor(k / HW); return (n * C + c) * HW + k % HW; };
        for (let k = 0; k < N * HW; k++) x[at(k)] = bulk[at(k)] * (c % 5 + 1);
        // The probes' centres, where (x - mean) / sd * w + b = kink, refined as the probes move mean and sd.
        for (let iter = 0; iter < 30; iter++) {
          const vals = Array.from({length: N * HW}, (_, k) => x[at(k)]);
          const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
          const sd = Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length + 1e-5);
          for (let k = 0; k < N * HW; k++) {
            const j = probeOf(k);
            if (j < 0) continue;
            const kink = kinks[Math.floor(j / perKink)];
            x[at(k)] = nextFloat(Math.fround(mean + (kink - b[c]) / weights[c] * sd), j % perKink - perKink / 2);
          }
        }
      }
      const up = R.randomNd([N, C, H, W], 72, -1, 1).data;
      const prefs = (actFrom: ActFrom) => ({batchNormSums: 'planes', batchNormActFrom: actFrom} as const);
      const run = (actFrom: ActFrom) => wt.internals.withKernelPrefs(prefs(actFrom), async () => {
        const xIn = wt.tensor(x, [N, C, H, W], {requiresGrad: true});
        const wIn = wt.tensor(weights, [C], {requiresGrad: true}), bIn = wt.tensor(b, [C], {requiresGrad: true});
        const upstream = wt.tensor(up, [N, C, H, W]);
        let y: wt.Tensor | null = null;
        const p = await wt.debug.profile(() => {
          const r = wt.internals.batchNormTrain(xIn, wIn, bIn, 1e-5, act);
          r.mean.dispose();
          r.variance.dispose();
          y = r.y;
          wt.sum(wt.mul(r.y, upstream)).backward();
        }, {steps: 1, warmup: 0});
        const labels = p.rows.map((r) => r.kernel).filter((k) => /bn_(dx4|plane_grad_sums4)/.test(k));
        const out = {y: await y!.data(), dx: await xIn.grad!.data(), dw: await wIn.grad!.data(),
          db: await bIn.grad!.data(), labels};
        for (const t of [xIn, wIn, bIn, upstream, y!]) t.dispose();
        return out;
      });
      const fromY = await run('output'), fromX = await run('input');
      // Each channel's probes of each kink: some at the kink (masked), some just past it.
      let crossed = 0;
      for (let c = 0; c < C; c++) for (const [i, kink] of kinks.entries()) {
        const ys: number[] = [];
        for (let k = 0; k < N * HW; k++) {
          const j = probeOf(k);
          if (j >= 0 && Math.floor(j / perKink) === i) ys.push(fromY.y[(Math.floor(k / HW) * C + c) * HW + k % HW]);
        }
        if (ys.some((v) => v === kink) && ys.some((v) => v !== kink && Math.abs(v - kink) < 1e-5)) crossed++;
      }
      assert.ok(crossed >= 0.9 * C * kinks.length, `probes either side of the kink: ${crossed} of ${C * kinks.length}`);
      assert.equal(Array.from(fromX.y), Array.from(fromY.y), 'outputs');
      assert.equal(Array.from(fromX.dx), Array.from(fromY.dx), 'dx bit for bit');
      assert.equal(Array.from(fromX.dw), Array.from(fromY.dw), 'dweight bit for bit');
      assert.equal(Array.from(fromX.db), Array.from(fromY.db), 'dbias bit for bit');
      for (const [ran, flag] of [[fromY, 0], [fromX, 1]] as const) {
        const labels = ran.labels.join();
        assert.ok(ran.labels.length === 2 && ran.labels.every((k) => k.includes(`ACT_FROM_INPUT=${flag}`)), labels);
      }
    });
}

/** The float32 `steps` ulps from v (a nonzero float32) away from 0, or toward it where steps < 0. */
function nextFloat(v: number, steps: number): number {
  const f = new Float32Array([v]), i = new Int32Array(f.buffer);
  i[0] += v > 0 ? steps : -steps;
  return f[0];
}

t('batchNormTrain: an unknown activation is refused, naming it', () => {
  throwsWith(() => wt.internals.batchNormTrain(wt.zeros([2, 3, 4]), null, null, 1e-5, 'gelu' as 'relu'),
    `batchNormTrain: activation must be 'none', 'relu' or 'relu6', got "gelu"`);
});

// Frozen inputs: no x gradient (the dx kernel does not run), or only x's.
for (const [what, gradOf] of [['x frozen', [1, 2]], ['weight and bias frozen', [0]]] as const) {
  t(`${what}: the other gradients alone`, () => checkOp({
    name: `batchNormTrain, ${what}`, inputs: [R.randomNd([2, 3, 4, 5], 97), R.randomNd([3], 98), R.randomNd([3], 99)],
    gpu: ([x, w, b]) => normed(x, w, b), ref: ([x, w, b]) => R.batchNormTrain(x, w, b), gradOf: [...gradOf],
    refGrad: ([x, w], up) => R.batchNormTrainGrad(x, w, up), atol: 2e-5,
  }));
}

t('one value per channel is refused in training (as PyTorch), by the op and by the layer on either path', () => {
  throwsWith(() => wt.internals.batchNormTrain(wt.zeros([1, 4, 1, 1]), null, null),
    'batchNormTrain: training needs more than one value per channel, got input f32[1, 4, 1, 1]');
  throwsWith(() => wt.internals.batchNormTrain(wt.zeros([1, 4]), null, null), 'more than one value per channel');
  for (const fused of [true, false]) {
    wt.internals.withKernelPrefs({fusedBatchNorm: fused}, () =>
      throwsWith(() => new wt.BatchNorm2d(4).forward(wt.zeros([1, 4, 1, 1])),
        'BatchNorm2d: training needs more than one value per channel, got input f32[1, 4, 1, 1]'));
  }
  const bn = new wt.BatchNorm2d(4);
  bn.eval();
  assert.equal(bn.forward(wt.zeros([1, 4, 1, 1])).shape, [1, 4, 1, 1]);
});

t('batchNormTrain: errors name the op and the shapes', () => {
  const x = wt.zeros([2, 3, 4]);
  throwsWith(() => wt.internals.batchNormTrain(wt.zeros([5]), null, null),
    'batchNormTrain: input must be [N, C, ...] (rank >= 2), got f32[5]');
  throwsWith(() => wt.internals.batchNormTrain(x, wt.ones([4]), null),
    'batchNormTrain: weight f32[4] must be [3] for input f32[2, 3, 4]');
  throwsWith(() => wt.internals.batchNormTrain(x, null, wt.ones([3, 1])),
    'batchNormTrain: bias f32[3, 1] must be [3] for input f32[2, 3, 4]');
  throwsWith(() => wt.internals.batchNormTrain(x, null, null, 0), 'batchNormTrain: eps must be a finite number > 0, got 0');
  throwsWith(() => wt.internals.batchNormTrain(wt.zeros([2, 3], {dtype: 'i32'}), null, null), 'batchNormTrain');
});

/** A BatchNorm's outputs, gradients (x, weight, bias) and buffers after two training steps, on the chosen path. */
async function twoSteps(fused: boolean, make: () => wt.internals.BatchNorm, shape: number[]) {
  return wt.internals.withKernelPrefs({fusedBatchNorm: fused}, async () => {
    wt.manualSeed(3);
    const bn = make();
    const out: number[][] = [];
    for (const seed of [1, 2]) {
      const x = wt.randn(shape, {seed, mean: seed, std: 2, requiresGrad: true});
      const y = bn.forward(x);
      wt.sum(wt.mul(y, wt.randn(shape, {seed: 10 + seed}))).backward();
      out.push(Array.from(await y.data()), Array.from(await x.grad!.data()));
      for (const p of bn.parameters()) { out.push(Array.from(await p.grad!.data())); p.grad = null; }
    }
    out.push(Array.from(await bn.runningMean.data()), Array.from(await bn.runningVar.data()));
    bn.syncCounters();
    out.push(Array.from(await bn.numBatchesTracked.data()));
    return {out, ops: (() => { const y = bn.forward(wt.randn(shape, {requiresGrad: true})); return y.node?.op; })()};
  });
}

for (const [what, make, shape] of [
  ['BatchNorm2d(5)', () => new wt.BatchNorm2d(5), [4, 5, 6, 8]],
  ['BatchNorm2d(3), odd planes, momentum 0.3, eps 1e-3', () => new wt.BatchNorm2d(3, {momentum: 0.3, eps: 1e-3}), [2, 3, 5, 7]],
  ['BatchNorm1d(4) on [N, C]', () => new wt.BatchNorm1d(4), [9, 4]],
] as const) {
  t(`${what}: the fused and composed paths agree on outputs, gradients and running statistics`, async () => {
    const fused = await twoSteps(true, make, [...shape]), composed = await twoSteps(false, make, [...shape]);
    assert.is(fused.ops, 'batchNormTrain');
    assert.is(composed.ops, 'add');
    const names = ['y', 'dx', 'dweight', 'dbias', 'y', 'dx', 'dweight', 'dbias', 'running_mean', 'running_var', 'batches'];
    fused.out.forEach((v, i) => {
      const grad = names[i].startsWith('d');
      expectClose(v, composed.out[i], grad ? 1e-4 : 1e-5, grad ? 1e-3 : 1e-4, `${what} ${names[i]} (#${i})`);
    });
  });
}

// The running statistics' update in place, as BatchNorm makes it after each training batch: one dispatch, the float64
// formula within f32 rounding, the batch's statistics given with kept dimensions, and its errors.
t('batchNormRunningUpdate: one dispatch, values, errors', async () => {
  const C = 7, momentum = 0.1, count = 50;
  const rm0 = R.randomNd([C], 81), rv0 = R.randomNd([C], 82, 0.5, 2);
  const m = R.randomNd([C], 83), v = R.randomNd([C], 84, 0, 3);
  const rm = toTensor(rm0), rv = toTensor(rv0), mean = toTensor(m).viewAs([1, C, 1, 1]), variance = toTensor(v);
  const r = wt.internals.rt(), d0 = r.stats.dispatches;
  wt.internals.batchNormRunningUpdate(rm, rv, mean, variance, momentum, count);
  assert.is(r.stats.dispatches - d0, 1, 'one dispatch');
  expectClose(await rm.data(), Array.from(rm0.data, (x, i) => (1 - momentum) * x + momentum * m.data[i]), 1e-6, 1e-5,
    'running mean');
  expectClose(await rv.data(), Array.from(rv0.data, (x, i) => (1 - momentum) * x + momentum * v.data[i] * count /
    (count - 1)), 1e-6, 1e-5, 'running variance');
  const up = (a: wt.Tensor, mo: number, n: number) => () =>
    wt.internals.batchNormRunningUpdate(rm, rv, a, variance, mo, n);
  throwsWith(up(wt.zeros([6]), momentum, count),
    'batchNormRunningUpdate: mean f32[6] must hold 7 values, as runningMean f32[7]');
  throwsWith(up(mean, 1.5, count), 'batchNormRunningUpdate: momentum must be in [0, 1], got 1.5');
  throwsWith(up(mean, momentum, 1), 'batchNormRunningUpdate: count must be an integer >= 2, got 1');
  for (const x of [rm, rv, mean, variance]) x.dispose();
});

t('a compiled step replays the fused batch norm: outputs and running statistics as eager steps', async () => {
  const xs = [1, 2, 3].map((seed) => Float32Array.from(R.randomNd([2, 3, 4, 4], seed, -1, 2).data));
  const run = async (compiled: boolean) => {
    wt.manualSeed(4);
    const bn = new wt.BatchNorm2d(3);
    const body = (x: wt.Tensor) => wt.tidy(() => {
      const y = bn.forward(x);
      wt.sum(wt.mul(y, y)).backward();
      for (const p of bn.parameters()) { p.grad!.dispose(); p.grad = null; }
      return y;
    });
    const ys: number[][] = [];
    if (compiled) {
      const step = wt.compile([{shape: [2, 3, 4, 4]}], [xs[0]], body);
      ys.push(Array.from(await step.output.data()));
      for (const x of xs.slice(1)) ys.push(Array.from(await step.run([x]).data()));
      step.output.dispose();
      step.dispose();
    } else {
      for (const x of xs) ys.push(Array.from(await body(wt.tensor(x, [2, 3, 4, 4])).data()));
    }
    return {ys, mean: Array.from(await bn.runningMean.data()), variance: Array.from(await bn.runningVar.data())};
  };
  const eager = await run(false), compiled = await run(true);
  eager.ys.forEach((y, i) => expectClose(compiled.ys[i], y, 1e-6, 1e-5, `step ${i} output`));
  expectClose(compiled.mean, eager.mean, 1e-6, 1e-5, 'running_mean');
  expectClose(compiled.variance, eager.variance, 1e-6, 1e-5, 'running_var');
});

t.run();
