// @test node-only: loads MNIST through the Node dataset module
// DANN and multitask transfer: gradient reversal kernels (eager and under replay with a changing lambda), the
// DANN schedules and combined gradient against finite differences of the float64 objective, multitask weighting
// (uncertainty gradients, GradNorm's tap and weights), PCA against a known spectrum, the domain-gap numbers, and
// refusals. Fine-tuning, conservative training and layer transfer are in transfer.test.ts.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import type {ImageSet} from '../src/data/image-set.js';
import {TrainingLoop} from '../src/train/loop.js';
import {Dann, dannLambda, dannLr, MultiTask, sharedTrunk, type MultiTaskOptions} from '../src/transfer/index.js';
import {covariance, domainGap, jacobiEigen, pca, topEigen} from '../src/analysis/pca.js';
import {featuresAt, gpuCovariance} from '../src/analysis/features.js';
import {expectClose} from './lib/check.js';

const t = suite('DANN, multitask, PCA');

/** n images of 1 x 1 x 3 values in [-1, 1), labels i % classes. */
function tinySet(n: number, classes: number, seed: number, channels = 1): ImageSet {
  const r = wt.internals.rng(seed);
  const images = Float32Array.from({length: n * 3 * channels}, () => r() * 2 - 1);
  const labels = Int32Array.from({length: n}, (_, i) => i % classes);
  return {images, labels, n, channels, height: 1, width: 3, classes};
}

// ---- gradient reversal ----
t('gradient reversal kernels: identity forward, -lambda * g backward (float64 reference), any size', async () => {
  for (const [shape, lambda] of [[[1], 0.3], [[3, 5, 7], 1], [[1000], 0.77], [[2, 300, 3], 0]] as [number[], number][]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const r = wt.internals.rng(n);
    const xv = Float32Array.from({length: n}, () => r() * 4 - 2), cv = Float32Array.from({length: n}, () => r() * 2 - 1);
    for (const asTensor of [false, true]) {
      const x = wt.tensor(xv, shape, {requiresGrad: true}), c = wt.tensor(cv, shape);
      const lam = asTensor ? wt.tensor([lambda], [1]) : lambda;
      const y = wt.gradReverse(x, lam);
      assert.equal(Array.from(await y.data()), Array.from(xv), `forward is the identity (${shape}, lambda ${asTensor ? 'tensor' : 'number'})`);
      wt.sum(wt.mul(y, c)).backward();
      // d/dx sum(rev(x) * c) = -lambda * c, computed in float64 (one float32 product: exact to rounding).
      expectClose(await x.grad!.data(), Array.from(cv, (v) => -lambda * v), 1e-7, 1e-6, `backward ${shape} lambda ${lambda}`);
      x.dispose(); c.dispose(); y.dispose();
      if (typeof lam !== 'number') lam.dispose();
    }
  }
});

t('gradient reversal under compile(): lambda from a runtime value changes on every replay, as eager', async () => {
  const lam = wt.internals.runtimeValue(0, 'lambda');
  const xv = [0.5, -1, 2, 3], n = xv.length;
  const w = wt.tensor([0.1, 0.2, 0.3, 0.4], [4], {requiresGrad: true});
  // Loss sum(rev(w * x) * x): d/dw = -lambda * x^2 (through the reversal), replayed with new lambdas.
  const body = (x: wt.Tensor) => wt.tidy(() => {
    const y = wt.sum(wt.mul(wt.gradReverse(wt.mul(w, x), lam.tensor), x));
    y.backward();
    const g = wt.keep(wt.mul(w.grad!, 1));
    w.grad!.dispose(); w.grad = null;
    return g;
  });
  const step = wt.compile([{shape: [n]}], [xv], body);
  const lambdas = [0.25, 0.9, 0.0, 1.7];
  for (const l of lambdas) {
    lam.set(l);
    const x2 = xv.map((v) => v * (1 + l)); // new inputs too
    step.run([x2]);
    const eager = body(wt.tensor(x2, [n]));
    const want = x2.map((v) => -l * v * v);
    expectClose(await step.output.data(), want, 1e-6, 1e-5, `replay, lambda ${l}`);
    expectClose(await eager.data(), want, 1e-6, 1e-5, `eager, lambda ${l}`);
    eager.dispose();
  }
  step.output.dispose(); step.dispose(); lam.dispose(); w.dispose();
});

t('gradient reversal refuses a NaN, infinite or negative lambda and a non-scalar lambda tensor', () => {
  const x = wt.tensor([1, 2], [2], {requiresGrad: true});
  for (const l of [NaN, -0.5, Infinity]) assert.throws(() => wt.gradReverse(x, l), new RegExp(`gradReverse: lambda must be a finite number >= 0, got ${l}`));
  assert.throws(() => wt.gradReverse(x, wt.tensor([1, 2], [2])), /gradReverse: lambda must be a number or a one-element float32 tensor, got .*\[2\]/);
  assert.throws(() => wt.internals.runtimeValue(NaN, 'dann.lambda'), /runtime value 'dann.lambda': expected a finite number, got NaN/);
  x.dispose();
});

// ---- DANN ----
t('DANN schedules: lambda_p = 2 / (1 + exp(-10 p)) - 1 and lr_p = lr0 / (1 + 10 p)^0.75, set before each step', () => {
  const cases: [number, number, number][] = [[0, 0, 0.01], [0.1, 0.46211715726000974, 0.01 / 2 ** 0.75], [0.5, 0.9866142981514305, 0.01 / 6 ** 0.75], [1, 0.9999092042625951, 0.01 / 11 ** 0.75]];
  for (const [p, lam, lr] of cases) {
    expectClose([dannLambda(p)], [lam], 1e-12, 1e-12, `lambda_p at p=${p}`);
    expectClose([dannLr(0.01, p)], [lr], 1e-15, 1e-12, `lr_p at p=${p}`);
  }
  expectClose([dannLambda(0.3, 10, 0.5)], [0.5 * (2 / (1 + Math.exp(-3)) - 1)], 1e-12, 1e-12, 'lambda max 0.5');
  const src = tinySet(8, 3, 1), tgt = tinySet(8, 3, 2);
  const model = {features: new wt.Sequential(new wt.Flatten(), new wt.Linear(3, 4), new wt.Tanh()), classifier: new wt.Linear(4, 3), domain: new wt.Linear(4, 1)};
  const s = new Dann({source: src, target: tgt, model, batch: 4, lr: 0.02});
  for (const [step, total] of [[0, 11], [5, 11], [10, 11]]) {
    s.beforeStep(step, total);
    const p = step / (total - 1);
    expectClose([s.lambda.value], [dannLambda(p)], 1e-12, 1e-12, `lambda at step ${step}`);
    expectClose([s.optimizer.lr], [dannLr(0.02, p)], 1e-12, 1e-12, `lr at step ${step}`);
  }
  s.dispose(); s.model.dispose();
});

t('one DANN schedule: DannLR and the Dann strategy follow the paper at p = step / (steps - 1), p = 0 and 1 included', () => {
  // Ganin and Lempitsky 2015, in float64 here: lr_p = lr0 / (1 + 10 p)^0.75, lambda_p = 2 / (1 + exp(-10 p)) - 1.
  const paperLr = (lr0: number, p: number) => lr0 / Math.pow(1 + 10 * p, 0.75);
  const paperLambda = (p: number) => 2 / (1 + Math.exp(-10 * p)) - 1;
  const lr0 = 0.01, steps = 9;
  const progress = Array.from({length: steps}, (_, k) => k / (steps - 1)); // 0, 0.125, ..., 1
  assert.equal([progress[0], progress[4], progress[steps - 1]], [0, 0.5, 1]);
  // DannLR in the loop's use (applySchedule at each 0-based step) and in torch's (step() after each update).
  const opt = new wt.SGD([wt.ones([1], {requiresGrad: true})], {lr: lr0});
  const applied = new wt.transfer.DannLR(opt, steps);
  const stepped = new wt.transfer.DannLR(new wt.SGD([wt.ones([1], {requiresGrad: true})], {lr: lr0}), steps);
  const src = tinySet(8, 3, 1), tgt = tinySet(8, 3, 2);
  const model = {features: new wt.Sequential(new wt.Flatten(), new wt.Linear(3, 4), new wt.Tanh()), classifier: new wt.Linear(4, 3), domain: new wt.Linear(4, 1)};
  const s = new Dann({source: src, target: tgt, model, batch: 4, lr: lr0});
  progress.forEach((p, k) => {
    assert.is(wt.transfer.dannProgress(k, steps), p, `progress of step ${k}`);
    wt.internals.applySchedule(applied, k);
    if (k > 0) stepped.step();
    s.beforeStep(k, steps);
    for (const [what, lr] of [['DannLR (applied)', opt.lr], ['DannLR (stepped)', stepped.optimizer.lr], ['Dann', s.optimizer.lr]] as const) {
      expectClose([lr], [paperLr(lr0, p)], 0, 1e-15, `${what} lr at p = ${p}`);
    }
    expectClose([s.lambda.value], [paperLambda(p)], 0, 1e-15, `Dann lambda at p = ${p}`);
    expectClose([dannLambda(p)], [paperLambda(p)], 0, 1e-15, `dannLambda at p = ${p}`);
  });
  // The optimizer by name (SGD, momentum 0.9 by default) or from a factory given one group; lr0 is its lr.
  assert.ok(s.optimizer instanceof wt.SGD);
  assert.is((s.optimizer.groups[0].options as Required<wt.SGDOptions>).momentum, 0.9);
  const adam = new Dann({source: src, target: tgt, model, batch: 4, optimizer: 'adam'});
  assert.ok(adam.optimizer instanceof wt.Adam);
  assert.is(adam.lr0, 1e-3);
  adam.dispose();
  let seen: wt.ParamGroupSpec[] = [];
  const made = new Dann({source: src, target: tgt, model, batch: 4, optimizer: (groups) => {
    seen = groups;
    return new wt.Adam(groups, {lr: 0.004});
  }});
  assert.equal(seen.map((g) => [g.params.length, g.lr]), [[model.features.parameters().length + 4, undefined]]);
  assert.is(made.lr0, 0.004);
  made.beforeStep(4, 9);
  assert.is(made.optimizer.lr, paperLr(0.004, 0.5));
  made.dispose();
  // The ends: lr0 and no reversal at the first step; lr0 / 11^0.75 and lambda ~1 at the last.
  assert.is(wt.transfer.dannProgress(0, steps), 0);
  assert.is(wt.transfer.dannProgress(steps - 1, steps), 1);
  expectClose([paperLr(lr0, 1), paperLambda(1)], [lr0 / 11 ** 0.75, 0.9999092042625951], 0, 1e-15, 'the paper at p = 1');
  s.dispose(); s.model.dispose();
});

type Lin = {w: Float64Array; b: Float64Array; out: number; inp: number};
const f64 = async (x: wt.Tensor) => Float64Array.from(await x.data());
const linOf = async (l: wt.Linear): Promise<Lin> => ({w: await f64(l.weight), b: await f64(l.bias!), out: l.outFeatures, inp: l.inFeatures});
const applyLin = (l: Lin, x: number[]) => Array.from({length: l.out}, (_, o) => l.b[o] + x.reduce((a, v, i) => a + l.w[o * l.inp + i] * v, 0));
const lse = (z: number[]) => { const m = Math.max(...z); return m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)); };

t('DANN: loss terms match float64 and the combined gradient matches finite differences (reversal included)', async () => {
  const src = tinySet(4, 3, 3), tgt = tinySet(4, 3, 4);
  wt.manualSeed(7);
  const f1 = new wt.Linear(3, 4), cls = new wt.Linear(4, 3), dom = new wt.Linear(4, 1);
  const s = new Dann({source: src, target: tgt, model: {features: new wt.Sequential(new wt.Flatten(), f1, new wt.Tanh()), classifier: cls, domain: dom},
    batch: 4, normalize: false});
  const lambda = 0.6;
  s.lambda.set(lambda);
  const xs = wt.tensor(src.images, [4, 1, 1, 3]), ys = wt.tensor(src.labels, [4], {dtype: 'i32'}), xt = wt.tensor(tgt.images, [4, 1, 1, 3]);
  const out = s.loss([xs, ys, xt]);
  const P = {f: await linOf(f1), c: await linOf(cls), d: await linOf(dom)};
  // The float64 objective, its two parts: ce over the source half, bce over both halves (source 0, target 1).
  const parts = (p: typeof P) => {
    const feat = (img: Float32Array, i: number) => applyLin(p.f, Array.from(img.subarray(i * 3, i * 3 + 3))).map(Math.tanh);
    let ce = 0, bce = 0;
    for (let i = 0; i < 4; i++) {
      const h = feat(src.images, i), z = applyLin(p.c, h);
      ce += lse(z) - z[src.labels[i]];
      const zd = applyLin(p.d, h)[0];
      bce += Math.log1p(Math.exp(zd)); // label 0: -log(1 - sigmoid)
      const zt = applyLin(p.d, feat(tgt.images, i))[0];
      bce += Math.log1p(Math.exp(-zt)); // label 1: -log sigmoid
    }
    return {ce: ce / 4, bce: bce / 8};
  };
  const ref = parts(P);
  expectClose([await out.terms!.ce.item()], [ref.ce], 1e-6, 1e-5, 'ce');
  expectClose([await out.terms!.domain.item()], [ref.bce], 1e-6, 1e-5, 'domain bce');
  out.loss.backward();
  // Features see d(ce)/dθ - lambda d(bce)/dθ; the domain classifier d(bce)/dθ; the label predictor d(ce)/dθ.
  const eps = 1e-6;
  const fd = (mut: (p: typeof P, d: number) => typeof P, combine: (r: {ce: number; bce: number}) => number) =>
    (combine(parts(mut(P, eps))) - combine(parts(mut(P, -eps)))) / (2 * eps);
  const bump = (k: 'f' | 'c' | 'd', field: 'w' | 'b', i: number) => (p: typeof P, d: number) => {
    const l = {...p[k], [field]: p[k][field].slice()};
    l[field][i] += d;
    return {...p, [k]: l};
  };
  const checks: [string, wt.Tensor, 'f' | 'c' | 'd', 'w' | 'b', (r: {ce: number; bce: number}) => number][] = [
    ['feature weight', f1.weight, 'f', 'w', (r) => r.ce - lambda * r.bce],
    ['feature bias', f1.bias!, 'f', 'b', (r) => r.ce - lambda * r.bce],
    ['label predictor weight', cls.weight, 'c', 'w', (r) => r.ce],
    ['domain classifier weight', dom.weight, 'd', 'w', (r) => r.bce],
    ['domain classifier bias', dom.bias!, 'd', 'b', (r) => r.bce],
  ];
  for (const [what, p, k, field, combine] of checks) {
    const want = Array.from({length: p.size}, (_, i) => fd(bump(k, field, i), combine));
    expectClose(await p.grad!.data(), want, 1e-5, 1e-3, `gradient of the ${what}`);
  }
  s.dispose(); s.model.dispose();
});

t('DANN under the loop: lambda follows the schedule on every replay; refusals name the problem', async () => {
  const src = tinySet(16, 3, 5), tgt = tinySet(16, 3, 6);
  const make = (o: Partial<ConstructorParameters<typeof Dann>[0]> = {}) => {
    wt.manualSeed(9);
    return new Dann({source: src, target: tgt, batch: 4, lr: 0.05, model: {features: new wt.Sequential(new wt.Flatten(), new wt.Linear(3, 4), new wt.Tanh()),
      classifier: new wt.Linear(4, 3), domain: new wt.Linear(4, 1)}, ...o});
  };
  const s = make();
  const lambdas: number[] = [];
  const loop = new TrainingLoop(s, {steps: 6, logEvery: 1, sinks: [{record: (r) => lambdas.push(r.terms.lambda)}]});
  await loop.fit();
  expectClose(lambdas, [0, 1, 2, 3, 4, 5].map((k) => dannLambda(k / 5)), 1e-6, 1e-5, 'logged lambda term = schedule');
  loop.dispose(); s.dispose(); s.model.dispose();
  const cases: [string, () => unknown, RegExp][] = [
    ['target of another image shape', () => new Dann({source: src, target: tinySet(8, 3, 1, 3)}), /target images are \[3, 1, 3\] but source images are \[1, 1, 3\]/],
    ['NaN lambda', () => make({lambda: {max: NaN}}), /lambda.max must be a finite number >= 0, got NaN/],
    ['negative lambda', () => make({lambda: {max: -1}}), /lambda.max must be a finite number >= 0, got -1/],
    ['negative lr', () => make({lr: -0.1}), /lr must be a finite number > 0, got -0.1/],
    ['bad mode', () => make({mode: 'adversarial' as 'dann'}), /mode must be 'dann' or 'source-only'/],
  ];
  for (const [what, f, re] of cases) {
    try { f(); assert.unreachable(what); } catch (e) { assert.match((e as Error).message, re, what); }
  }
});

// ---- multitask ----
function twoTasks(weighting: 'fixed' | 'uncertainty' | 'gradnorm',
  extra: {scale?: number; weights?: [number, number]; shared?: boolean; options?: Partial<MultiTaskOptions>} = {}) {
  wt.manualSeed(21);
  const trunk = new wt.Sequential(new wt.Flatten(), new wt.Linear(3, 4), new wt.Tanh());
  const a = tinySet(8, 3, 11), b = extra.shared ? {...a, labels: a.labels.map((l) => l % 2), classes: 2} : tinySet(8, 2, 12);
  const heads = [new wt.Linear(4, 3), new wt.Linear(4, 2)];
  const s = new MultiTask({trunk, weighting, batch: 8, lr: 0.05, ...extra.options, tasks: [
    {name: 'a', head: heads[0], train: a, weight: extra.weights?.[0], lossScale: extra.scale, inputs: extra.shared ? 'x' : undefined},
    {name: 'b', head: heads[1], train: b, weight: extra.weights?.[1], inputs: extra.shared ? 'x' : undefined},
  ]});
  return {s, trunk, heads, a, b};
}

t('multitask uncertainty weighting: loss = sum L_i / (2 e^s_i) + s_i / 2, gradients match finite differences', async () => {
  const {s, trunk, heads, a, b} = twoTasks('uncertainty', {scale: 3});
  const sv = [0.4, -0.7];
  wt.noGrad(() => wt.internals.assign(s.taskParam!, wt.tensor(sv, [2])));
  const batch = s.nextBatch();
  const ins = s.inputs().map((spec, i) => wt.tensor(batch[i], spec.shape, {dtype: spec.dtype}));
  const out = s.loss(ins);
  const f1 = await linOf(trunk.layers[1] as wt.Linear), h0 = await linOf(heads[0]), h1 = await linOf(heads[1]);
  const order = [Array.from(batch[2] as Int32Array), Array.from(batch[3] as Int32Array)];
  const imgs = [batch[0] as Float32Array, batch[1] as Float32Array];
  const ceOf = (f: Lin, h: Lin, img: Float32Array, labels: number[]) => labels.reduce((acc, y, i) => {
    const z = applyLin(h, applyLin(f, Array.from(img.subarray(i * 3, i * 3 + 3))).map(Math.tanh));
    return acc + lse(z) - z[y];
  }, 0) / labels.length;
  const obj = (f: Lin, hs: [Lin, Lin], s2: number[]) => {
    const L = [3 * ceOf(f, hs[0], imgs[0], order[0]), ceOf(f, hs[1], imgs[1], order[1])];
    return {L, total: L.reduce((acc, l, i) => acc + l / (2 * Math.exp(s2[i])) + s2[i] / 2, 0)};
  };
  const ref = obj(f1, [h0, h1], sv);
  expectClose([await out.terms!.a.item(), await out.terms!.b.item()], ref.L, 1e-6, 1e-5, 'task losses (a scaled x3)');
  expectClose([await out.loss.item()], [ref.total], 1e-6, 1e-5, 'weighted loss');
  out.loss.backward();
  // d/ds_i = -L_i / (2 e^s_i) + 1/2
  expectClose(await s.taskParam!.grad!.data(), ref.L.map((l, i) => -l / (2 * Math.exp(sv[i])) + 0.5), 1e-6, 1e-5, 'gradient of s');
  const eps = 1e-6;
  const fdTrunk = Array.from({length: 12}, (_, i) => {
    const p = {...f1, w: f1.w.slice()}, m = {...f1, w: f1.w.slice()};
    p.w[i] += eps; m.w[i] -= eps;
    return (obj(p, [h0, h1], sv).total - obj(m, [h0, h1], sv).total) / (2 * eps);
  });
  expectClose(await (trunk.layers[1] as wt.Linear).weight.grad!.data(), fdTrunk, 1e-5, 1e-3, 'gradient of the shared layer');
  const fdHead = Array.from({length: 8}, (_, i) => {
    const p = {...h1, w: h1.w.slice()}, m = {...h1, w: h1.w.slice()};
    p.w[i] += eps; m.w[i] -= eps;
    return (obj(f1, [h0, p], sv).total - obj(f1, [h0, m], sv).total) / (2 * eps);
  });
  expectClose(await heads[1].weight.grad!.data(), fdHead, 1e-5, 1e-3, 'gradient of head b');
  assert.is(a.n + b.n, 16);
  s.dispose();
});

t('multitask: fixed weights, shared inputs with own labels, GradNorm moves weight away from a x100 loss', async () => {
  // Fixed weights: loss = 2 L_a + 0.5 L_b.
  const fx = twoTasks('fixed', {weights: [2, 0.5], shared: true});
  const batch = fx.s.nextBatch();
  assert.is(batch.length, 3, 'one image input (shared) and two label inputs');
  assert.equal(Array.from(batch[2] as Int32Array), Array.from(batch[1] as Int32Array).map((l) => l % 2), 'task b reads its own labels of the same images');
  const ins = fx.s.inputs().map((spec, i) => wt.tensor(batch[i], spec.shape, {dtype: spec.dtype}));
  const o = fx.s.loss(ins);
  expectClose([await o.loss.item()], [2 * await o.terms!.a.item() + 0.5 * await o.terms!.b.item()], 1e-6, 1e-5, 'fixed weighting');
  fx.s.dispose();
  // GradNorm under the loop (compiled, replayed): the task whose loss is x100 loses weight, the sum stays 2.
  const gn = twoTasks('gradnorm', {scale: 100});
  const loop = new TrainingLoop(gn.s, {steps: 30, logEvery: 30});
  await loop.fit();
  const w = await gn.s.taskWeights();
  assert.ok(w.a < 0.6 && w.b > 1.4, `weights after 30 steps: ${JSON.stringify(w)}`);
  expectClose([w.a + w.b], [2], 1e-5, 1e-5, 'sum of weights = number of tasks');
  loop.dispose(); gn.s.dispose();
  // Uncertainty weighting under the loop: s of the x100 task rises (its weight 1/(2 e^s) falls).
  const un = twoTasks('uncertainty', {scale: 100});
  const loop2 = new TrainingLoop(un.s, {steps: 30, logEvery: 30});
  await loop2.fit();
  const u = await un.s.taskWeights();
  assert.ok(u.a < u.b, `uncertainty weights: ${JSON.stringify(u)}`);
  loop2.dispose(); un.s.dispose();
});

t('multitask: the optimizer by name or from a factory (GradNorm weights keep Adam); cosine decay of the network only', async () => {
  const lrs = (o: wt.Optimizer<wt.GroupOptions>) => o.groups.map((g) => g.options.lr);
  // 'uncertainty' with SGD: one SGD, momentum 0.9, trains the network and the log-variances.
  const un = twoTasks('uncertainty', {options: {optimizer: 'sgd', schedule: 'cosine'}});
  assert.ok(un.s.optimizer instanceof wt.SGD);
  assert.equal(un.s.optimizer.groups.map((g) => (g.options as Required<wt.SGDOptions>).momentum), [0.9, 0.9]);
  assert.equal(lrs(un.s.optimizer), [0.05, 0.025]);
  for (const [step, total] of [[0, 12], [3, 12], [12, 12]]) {
    un.s.beforeStep(step, total);
    expectClose(lrs(un.s.optimizer), [0.05 * (1 + Math.cos(Math.PI * step / total)) / 2, 0.025], 1e-17, 1e-15, `lrs at step ${step} of ${total}`);
  }
  un.s.dispose();
  // GradNorm with Adam: one Adam, the weights as its second group.
  const ga = twoTasks('gradnorm');
  assert.ok(ga.s.optimizer instanceof wt.Adam);
  assert.equal(lrs(ga.s.optimizer), [0.05, 0.025]);
  ga.s.dispose();
  // GradNorm with a factory: it gets the network's group; the weights still take Adam steps of their own.
  let seen: wt.ParamGroupSpec[] = [];
  const gn = twoTasks('gradnorm', {scale: 100, options: {optimizer: (groups) => {
    seen = groups;
    return new wt.SGD(groups, {momentum: 0.5});
  }}});
  assert.equal(seen.map((g) => [g.params.length, g.lr]), [[6, 0.05]], 'trunk and two heads (weight, bias each), lr 0.05');
  assert.equal([lrs(gn.s.optimizer), (gn.s.optimizer.groups[0].options as Required<wt.SGDOptions>).momentum], [[0.05], 0.5]);
  const loop = new TrainingLoop(gn.s, {steps: 30, logEvery: 30});
  await loop.fit();
  const w = await gn.s.taskWeights();
  assert.ok(w.a < w.b, `weights after 30 steps: ${JSON.stringify(w)}`);
  expectClose([w.a + w.b], [2], 1e-5, 1e-5, 'sum of weights = number of tasks');
  loop.dispose(); gn.s.dispose();
  assert.throws(() => twoTasks('fixed', {options: {optimizer: (() => ({})) as never}}),
    /MultiTask: the optimizer factory must return an Optimizer, got \[object Object\]/);
  assert.throws(() => twoTasks('fixed', {options: {schedule: 'linear' as never}}), /MultiTask: schedule must be 'none' or 'cosine', got 'linear'/);
});

t('multitask refusals: a head that does not fit the trunk names the task; NaN or negative weights', () => {
  const set = tinySet(8, 3, 1);
  const trunk = () => new wt.Sequential(new wt.Flatten(), new wt.Linear(3, 4), new wt.Tanh());
  const cases: [string, () => unknown, RegExp][] = [
    ['head input size', () => new MultiTask({trunk: trunk(), tasks: [{name: 'digits', head: new wt.Linear(4, 3), train: set}, {name: 'fashion', head: new wt.Linear(5, 3), train: set}]}),
      /task 'fashion': its head expects 5 input features but the trunk gives \[1, 4\]/],
    ['NaN weight', () => new MultiTask({trunk: trunk(), tasks: [{name: 'a', head: new wt.Linear(4, 3), train: set, weight: NaN}]}), /task 'a': weight must be a finite number >= 0, got NaN/],
    ['negative weight', () => new MultiTask({trunk: trunk(), tasks: [{name: 'a', head: new wt.Linear(4, 3), train: set, weight: -1}]}), /task 'a': weight must be a finite number >= 0, got -1/],
    ['all weights zero', () => new MultiTask({trunk: trunk(), tasks: [{name: 'a', head: new wt.Linear(4, 3), train: set, weight: 0}]}), /every task weight is 0/],
    ['weights under learned weighting', () => new MultiTask({trunk: trunk(), weighting: 'uncertainty', tasks: [{name: 'a', head: new wt.Linear(4, 3), train: set, weight: 1}]}), /learned under 'uncertainty'/],
    ['unknown weighting', () => new MultiTask({trunk: trunk(), weighting: 'dwa' as 'fixed', tasks: [{name: 'a', head: new wt.Linear(4, 3), train: set}]}), /weighting must be 'fixed', 'uncertainty' or 'gradnorm'/],
    ['duplicate names', () => new MultiTask({trunk: trunk(), tasks: [{name: 'a', head: new wt.Linear(4, 3), train: set}, {name: 'a', head: new wt.Linear(4, 3), train: set}]}), /two tasks are named 'a'/],
    ['shared inputs that differ', () => new MultiTask({trunk: trunk(), tasks: [{name: 'a', head: new wt.Linear(4, 3), train: set, inputs: 'x'}, {name: 'b', head: new wt.Linear(4, 3), train: tinySet(8, 3, 2), inputs: 'x'}]}),
      /tasks 'a' and 'b' share inputs 'x' but their training images differ/],
    ['trunk as a suffix', () => sharedTrunk(wt.leNet5(1, 10), {last: 2}), /a trunk is a prefix/],
  ];
  for (const [what, f, re] of cases) {
    try { f(); assert.unreachable(what); } catch (e) { assert.match((e as Error).message, re, `${what}: ${(e as Error).message}`); }
  }
  const {trunk: lt, rest} = sharedTrunk(wt.leNet5(1, 10), {first: 4});
  assert.is(lt.layers.length, 11, 'conv1 .. fc2 with their ReLU / pool / flatten');
  assert.is(rest.length, 1, 'the 10-way head is left out');
});

// ---- PCA and the domain-gap numbers ----
t('PCA recovers a known spectrum and its directions; covariance and Jacobi match a float64 reference', () => {
  const n = 500, d = 12;
  const spectrum = [9, 4, 2.25, 1, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005];
  const r = wt.internals.rng(3);
  // A random orthogonal Q (Gram-Schmidt of a random matrix) and centred orthonormal scores U (n x d):
  // X = sqrt(n - 1) U diag(sqrt(spectrum)) Q^T has sample covariance exactly Q diag(spectrum) Q^T.
  const gs = (cols: Float64Array[]) => {
    for (let i = 0; i < cols.length; i++) {
      for (let j = 0; j < i; j++) { const q = cols[i].reduce((a, v, k) => a + v * cols[j][k], 0); cols[i] = cols[i].map((v, k) => v - q * cols[j][k]); }
      const nr = Math.hypot(...cols[i]);
      cols[i] = cols[i].map((v) => v / nr);
    }
    return cols;
  };
  const Q = gs(Array.from({length: d}, () => Float64Array.from({length: d}, () => r() * 2 - 1)));
  const U = gs(Array.from({length: d}, () => { const c = Float64Array.from({length: n}, () => r() * 2 - 1); const m = c.reduce((a, b) => a + b, 0) / n; return c.map((v) => v - m); }));
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
    let v = 0;
    for (let k = 0; k < d; k++) v += U[k][i] * Math.sqrt(spectrum[k]) * Q[k][j];
    X[i * d + j] = Math.sqrt(n - 1) * v + 5; // an offset: PCA must centre
  }
  const res = pca(X, n, d, 3);
  expectClose(res.variances, spectrum.slice(0, 3), 1e-9, 1e-9, 'top 3 variances');
  const total = spectrum.reduce((a, b) => a + b, 0);
  expectClose(res.explained, spectrum.slice(0, 3).map((v) => v / total), 1e-9, 1e-9, 'explained variance ratios');
  for (let k = 0; k < 3; k++) {
    const dot = res.components[k].reduce((a, v, j) => a + v * Q[k][j], 0);
    expectClose([Math.abs(dot)], [1], 1e-7, 0, `component ${k} is the known direction (up to sign)`);
  }
  // Projections: centred coordinates along the components.
  const p0 = res.projected[0][0], want = X.subarray(0, d).reduce((a, v, j) => a + (v - res.mean[j]) * res.components[0][j], 0);
  expectClose([p0], [want], 1e-9, 1e-9, 'projection of point 0');
  // Covariance against a direct float64 sum, Jacobi eigenvalues against the known spectrum (full).
  const C = covariance(X, n, d);
  const direct = (a: number, b: number) => { let s = 0; for (let i = 0; i < n; i++) s += (X[i * d + a] - res.mean[a]) * (X[i * d + b] - res.mean[b]); return s / (n - 1); };
  expectClose([C[0], C[5 * d + 7], C[11 * d + 11]], [direct(0, 0), direct(5, 7), direct(11, 11)], 1e-9, 1e-9, 'covariance entries');
  expectClose(jacobiEigen(C, d).values, spectrum, 1e-9, 1e-9, 'Jacobi: the whole spectrum');
  expectClose(topEigen(C, d, 5).values, spectrum.slice(0, 5), 1e-9, 1e-9, 'subspace iteration: top 5');
  assert.throws(() => pca(X, n, d, 0), /k must be an integer in 1..12, got 0/);
  assert.throws(() => pca([1, NaN, 3, 4], 2, 2), /value 1 \(point 0\) is NaN/);
});

t('domain gap: separated clouds -> probe ~100%, mean distance large; one distribution -> ~50%, small', () => {
  const r = wt.internals.rng(8);
  const g = () => { const u = Math.max(r(), 1e-12), v = r(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); };
  const d = 6, n = 400;
  const cloud = (shift: number) => Float64Array.from({length: n * d}, (_, i) => g() + (i % d === 0 ? shift : 0));
  const apart = domainGap(cloud(0), n, cloud(4), n, d);
  assert.ok(apart.probeAccuracy > 0.95, `separated: ${JSON.stringify(apart)}`);
  expectClose([apart.meanDistance], [4], 0.3, 0, 'distance of means ~ the shift');
  const same = domainGap(cloud(0), n, cloud(0), n, d);
  assert.ok(Math.abs(same.probeAccuracy - 0.5) < 0.08, `same distribution: ${JSON.stringify(same)}`);
  assert.ok(same.relativeDistance < 0.2 && apart.relativeDistance > 1.5, `relative distances ${same.relativeDistance}, ${apart.relativeDistance}`);
});

t('features at a named layer equal the forward pass up to that layer', async () => {
  wt.manualSeed(4);
  const set = tinySet(10, 3, 9);
  const model = new wt.Sequential(new wt.Flatten(), new wt.Linear(3, 5), new wt.ReLU(), new wt.Linear(5, 3));
  const f = await featuresAt(model, '2', set, 10, 4);
  assert.equal([f.n, f.d], [10, 5]);
  const want = wt.relu(model.layers[1].forward(wt.flatten(wt.tensor(set.images, [10, 1, 1, 3]), 1)));
  expectClose(f.data, await want.data(), 1e-6, 1e-6, 'features');
  try { await featuresAt(model, '9', set); assert.unreachable('unknown layer'); } catch (e) { assert.match((e as Error).message, /no child '9'/); }
  assert.is(model.layers[2].forward, wt.ReLU.prototype.forward, 'the layer is left as it was');
});

t('GPU covariance (centred X^T X with our matmul) matches the float64 covariance; PCA accepts it', async () => {
  const n = 300, d = 40, r = wt.internals.rng(17);
  // Correlated columns with offsets: x_j = z_j + 0.5 z_{j-1} + j / 10.
  const z = Float64Array.from({length: n * d}, () => r() * 2 - 1);
  const x = Float32Array.from({length: n * d}, (_, i) => z[i] + (i % d ? 0.5 * z[i - 1] : 0) + (i % d) / 10);
  const want = covariance(x, n, d);
  const got = await gpuCovariance(x, n, d);
  expectClose(got, want, 1e-5, 1e-4, 'covariance entries');
  const a = pca(x, n, d, 2), b = pca(x, n, d, 2, {covariance: got});
  expectClose(b.variances, a.variances, 1e-6, 1e-4, 'top variances from either covariance');
  assert.throws(() => pca(x, n, d, 2, {covariance: new Float64Array(4)}), /the given covariance has 4 entries, expected 40 x 40/);
});

t.run();
