// Transfer strategies (platform-free: this file runs in Node and in the browser suite): loss terms against float64 references, gradients against finite differences, runtime
// values under replay against eager, freezing skips work, clear refusals of models that do not fit.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {DataLoader} from '../src/data/loader.js';
import type {ImageSet} from '../src/data/image-set.js';
import {TrainingLoop} from '../src/train/loop.js';
import {Conservative, FineTune, LayerTransfer, parameterLayers, type FineTuneOptions} from '../src/transfer/index.js';
import {expectClose} from './lib/check.js';
import {mlp, tinySet} from './lib/tiny-models.js';

const t = suite('transfer');

// ---- float64 reference of the tiny MLP and the conservative objective ----
type P = {w1: Float64Array; b1: Float64Array; w2: Float64Array; b2: Float64Array};
const f64 = async (t: wt.Tensor) => Float64Array.from(await t.data());
async function hostParams(m: wt.Module, from = 1): Promise<P> {
  const ls = parameterLayers(m);
  return {w1: await f64((ls[0].module as wt.Linear).weight), b1: await f64((ls[0].module as wt.Linear).bias!),
    w2: await f64((ls[from].module as wt.Linear).weight), b2: await f64((ls[from].module as wt.Linear).bias!)};
}
function mlpRef(p: P, x: Float64Array, n: number, classes: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const h = Array.from({length: 4}, (_, j) => Math.tanh(p.b1[j] + [0, 1, 2].reduce((a, k) => a + p.w1[j * 3 + k] * x[i * 3 + k], 0)));
    out.push(Float64Array.from({length: classes}, (_, c) => p.b2[c] + h.reduce((a, v, j) => a + p.w2[c * 4 + j] * v, 0)));
  }
  return out;
}
const logSoftmax = (z: Float64Array, T = 1) => {
  const m = Math.max(...z);
  const lse = m / T + Math.log(z.reduce((a, v) => a + Math.exp((v - m) / T), 0));
  return Array.from(z, (v) => v / T - lse);
};
const sq = (a: Float64Array, b?: Float64Array) => a.reduce((s, v, i) => s + (v - (b ? b[i] : 0)) ** 2, 0);

/** The conservative objective in float64: ce + alpha/2 |w - w0|^2 + beta/2 |w_new|^2 + weight * T^2 KL. */
function objective(tgt: P, srcHead: {w2: Float64Array; b2: Float64Array}, src: P, x: Float64Array, y: Int32Array,
  o: {alpha: number; beta: number; weight: number; T: number}): {ce: number; l2sp: number; kl: number} {
  const n = y.length;
  const z = mlpRef(tgt, x, n, 3);
  const ce = z.reduce((a, zi, i) => a - logSoftmax(zi)[y[i]], 0) / n;
  // Transferred: layer 1 and the kept source head (trained by distillation); new: the target head.
  const l2sp = o.alpha / 2 * (sq(tgt.w1, src.w1) + sq(tgt.b1, src.b1) + sq(srcHead.w2, src.w2) + sq(srcHead.b2, src.b2)) +
    o.beta / 2 * (sq(tgt.w2) + sq(tgt.b2));
  const student = mlpRef({...tgt, ...srcHead}, x, n, 2), teacher = mlpRef(src, x, n, 2);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    const lp = logSoftmax(teacher[i], o.T), lq = logSoftmax(student[i], o.T);
    kl += lp.reduce((a, v, c) => a + Math.exp(v) * (v - lq[c]), 0);
  }
  return {ce, l2sp, kl: o.weight * o.T * o.T * kl / n};
}

t('conservative terms (L2-SP, KL) match float64, and their gradients match finite differences', async () => {
  const set = tinySet(6, 3, 1);
  const source = mlp(2, 11);
  // Move the target's transferred weights away from the source's, so the L2-SP term is not zero.
  const model = mlp(3, 12);
  const hp = {alpha: 0.7, beta: 0.3, weight: 0.9, T: 2.5};
  const s = new Conservative({source, model, loader: new DataLoader(set, {batch: 6, shuffle: false}), l2sp: {alpha: hp.alpha, beta: hp.beta}, distill: {weight: hp.weight, temperature: hp.T}});
  const w1 = (parameterLayers(model)[0].module as wt.Linear).weight;
  wt.noGrad(() => wt.internals.assign(w1, wt.add(w1, wt.mul(wt.ones(w1.shape), 0.05))));
  const headLayer = parameterLayers(s.model).find((l) => l.name.startsWith('source_head'))!.module as wt.Linear;
  // Shift the two logits apart (an equal shift would leave the softmax, and so the KL term, unchanged).
  wt.noGrad(() => wt.internals.assign(headLayer.bias!, wt.add(headLayer.bias!, wt.tensor([0.8, -0.4]))));

  const x = wt.tensor(set.images, [6, 1, 1, 3]), y = wt.tensor(set.labels, [6], {dtype: 'i32'});
  s.beforeStep(0, 10);
  const out = s.loss([x, y]);
  const src = await hostParams(source), tgt = await hostParams(model);
  const head = {w2: await f64(headLayer.weight), b2: await f64(headLayer.bias!)};
  const xs = Float64Array.from(set.images);
  const ref = objective(tgt, head, src, xs, set.labels, hp);
  for (const k of ['ce', 'l2sp', 'kl'] as const) expectClose([await out.terms![k].item()], [ref[k]], 1e-6, 1e-4, `term ${k} (${ref[k]})`);
  expectClose([await out.loss.item()], [ref.ce + ref.l2sp + ref.kl], 1e-5, 1e-4, 'loss');

  out.loss.backward();
  // Central differences of the float64 objective for every weight of layer 1, the new head and the kept head.
  const total = (p: P, h: typeof head) => { const r = objective(p, h, src, xs, set.labels, hp); return r.ce + r.l2sp + r.kl; };
  const checks: [string, wt.Tensor, (d: number, i: number) => number][] = [
    ['layer 1 weight', w1, (d, i) => { const p = {...tgt, w1: tgt.w1.slice()}; p.w1[i] += d; return total(p, head); }],
    ['new head weight', (parameterLayers(model)[1].module as wt.Linear).weight, (d, i) => { const p = {...tgt, w2: tgt.w2.slice()}; p.w2[i] += d; return total(p, head); }],
    ['kept source head bias', headLayer.bias!, (d, i) => { const h = {...head, b2: head.b2.slice()}; h.b2[i] += d; return total(tgt, h); }],
  ];
  for (const [what, p, f] of checks) {
    const eps = 1e-6;
    const fd = Array.from({length: p.size}, (_, i) => (f(eps, i) - f(-eps, i)) / (2 * eps));
    expectClose(await p.grad!.data(), fd, 1e-4, 1e-3, `gradient of ${what}`);
  }
  s.dispose();
});

/** Losses of `steps` steps of a conservative run with a ramped KL weight: compiled by the loop, or eager. */
async function rampedLosses(compiled: boolean, steps: number): Promise<number[]> {
  const set = tinySet(8, 3, 2);
  const s = new Conservative({source: mlp(3, 21), model: mlp(3, 22), task: 'same', loader: new DataLoader(set, {batch: 4, seed: 1}), lr: 0.05,
    distill: {weight: 2, temperature: 2}, l2sp: {alpha: 1}, rampSteps: 3});
  const losses: number[] = [];
  if (compiled) {
    const loop = new TrainingLoop(s, {steps, logEvery: 1, sinks: [{record: (r) => losses.push(r.loss)}]});
    await loop.fit();
    loop.dispose();
  } else {
    for (let i = 0; i < steps; i++) {
      s.beforeStep(i, steps);
      const [x, y] = s.nextBatch();
      const xt = wt.tensor(x, [4, 1, 1, 3]), yt = wt.tensor(y, [4], {dtype: 'i32'});
      const out = s.loss([xt, yt]);
      out.loss.backward();
      s.optimizer.step();
      s.optimizer.zeroGrad();
      losses.push(await out.loss.item());
    }
  }
  s.dispose();
  return losses;
}

t('a ramped loss weight under compile() gives the same losses as eager', async () => {
  const eager = await rampedLosses(false, 5), replayed = await rampedLosses(true, 5);
  expectClose(replayed, eager, 1e-5, 1e-4, 'losses, compiled vs eager');
  // The ramp really acts: with the weight frozen at its first value (0) the losses would differ.
  assert.ok(new Set(eager.map((v) => v.toFixed(6))).size === 5, `losses change step to step: ${eager}`);
});

t('runtime values: gradReverse lambda changes on every replay', async () => {
  const lam = wt.internals.runtimeValue(0.5, 'lambda');
  const x = wt.tensor([1, 2, 3], [3], {requiresGrad: true});
  const step = wt.compile([], [], () => wt.tidy(() => {
    const y = wt.sum(wt.mul(wt.gradReverse(x, lam.tensor), x));
    y.backward();
    const g = wt.keep(wt.mul(x.grad!, 1));
    x.grad!.dispose(); x.grad = null;
    return g;
  }));
  // d/dx sum(rev(x) * x) = x - lambda * x
  expectClose(await step.output.data(), [0.5, 1, 1.5], 1e-6, 1e-6, 'lambda 0.5 (capture)');
  for (const l of [2, -1]) {
    lam.set(l);
    step.run([]);
    expectClose(await step.output.data(), [1, 2, 3].map((v) => v - l * v), 1e-6, 1e-6, `lambda ${l} (replay)`);
  }
  assert.throws(() => lam.set(NaN), /runtime value 'lambda': expected a finite number, got NaN/);
  step.output.dispose(); step.dispose(); lam.dispose(); x.dispose();
});

function lenetSetup(k: number, fineTune: boolean) {
  const set: ImageSet = {...tinySet(16, 5, 3), channels: 1, height: 28, width: 28, images: Float32Array.from({length: 16 * 784}, (_, i) => (i * 7919 % 255) / 255)};
  wt.manualSeed(31);
  const source = wt.leNet5(1, 5);
  wt.manualSeed(32);
  const model = wt.leNet5(1, 5);
  return {source, model, s: new LayerTransfer({source, model, loader: new DataLoader(set, {batch: 8, seed: 1}), layers: {first: k}, fineTune})};
}

t('layer transfer: frozen layers run no gradient kernels or updates, and stay bit-identical', async () => {
  const counts: number[] = [], copies: number[] = [];
  for (const fineTune of [true, false]) {
    const {s} = lenetSetup(2, fineTune);
    const step = wt.compile(s.inputs(), s.nextBatch(), (...ins) => wt.tidy(() => {
      const o = s.loss(ins); o.loss.backward(); s.optimizer.step(); s.optimizer.zeroGrad(); return o.loss;
    }));
    counts.push(step.dispatchCount);
    copies.push(step.copyCount);
    step.output.dispose(); step.dispose(); s.dispose();
  }
  // Freezing conv1 and conv2 drops 2 weight gradients, 2 bias gradients and conv2's input gradient (nothing below
  // needs it) at least; their 4 optimizer updates leave the one multi-tensor dispatch, with their 3 copies each
  // (gradient and parameter into the arenas, parameter back).
  assert.ok(counts[0] - counts[1] >= 5, `dispatches: copy+fine-tune ${counts[0]}, copy+freeze ${counts[1]}`);
  assert.is(copies[0] - copies[1], 12, `arena copies: copy+fine-tune ${copies[0]}, copy+freeze ${copies[1]}`);

  const {source, model, s} = lenetSetup(2, false);
  const layers = parameterLayers(model);
  const before = await Promise.all(layers.map((l) => l.module.parameters()[0].data()));
  const loop = new TrainingLoop(s, {steps: 4, logEvery: 4});
  await loop.fit();
  const after = await Promise.all(layers.map((l) => l.module.parameters()[0].data()));
  const srcW = await parameterLayers(source)[0].module.parameters()[0].data();
  assert.equal(Array.from(after[0]), Array.from(srcW), 'conv1 holds the source weights, bit for bit');
  assert.equal(Array.from(after[0]), Array.from(before[0]), 'conv1 unchanged');
  assert.equal(Array.from(after[1]), Array.from(before[1]), 'conv2 unchanged');
  assert.ok(Array.from(after[2]).some((v, i) => v !== before[2][i]), 'fc1 trained');
  loop.dispose(); s.dispose();
});

t('fine-tuning: copied layers take transferredLr, a new head starts fresh, the source head is kept', async () => {
  const {source, model} = lenetSetup(0, false);
  wt.manualSeed(40);
  const model10 = wt.leNet5(1, 10);
  const loader = new DataLoader({...tinySet(16, 5, 3), height: 28, width: 28, images: new Float32Array(16 * 784)}, {batch: 8});
  const s = new FineTune({source, model: model10, loader, lr: 1e-3, transferredLr: 1e-4});
  assert.is(s.copied.length, 4, 'conv1, conv2, fc1, fc2 copied; the 10-way head is new');
  assert.is(s.sharedHead, false);
  assert.equal(s.optimizer.groups.map((g) => [g.params.length, g.options.lr]), [[2, 1e-3], [8, 1e-4]]);
  const same = new FineTune({source, model, loader, task: 'same'});
  assert.is(same.sharedHead, true, 'same label space: the head is copied too');
  s.dispose(); same.dispose();
});

t('forgetting view: copied layers as trained, the source\'s own layers elsewhere', async () => {
  const {source, model, s} = lenetSetup(2, false);
  const x = wt.rand([2, 1, 28, 28], {seed: 5});
  await new TrainingLoop(s, {steps: 3, logEvery: 3}).fit();
  // Frozen conv layers + the source's fc layers: exactly the source network, so nothing is forgotten.
  expectClose(await s.sourceView().forward(x).data(), await source.forward(x).data(), 1e-6, 1e-5, 'frozen transfer keeps the source network');
  const ft = new FineTune({source, model: model, loader: s.o.loader, copy: {first: 4}, lr: 0.05});
  await new TrainingLoop(ft, {steps: 3, logEvery: 3}).fit();
  const drifted = await ft.sourceView().forward(x).data(), orig = await source.forward(x).data();
  assert.ok(drifted.some((v, i) => Math.abs(v - orig[i]) > 1e-3), 'fine-tuned shared layers change the source network');
  s.dispose(); ft.dispose();
});

t('FineTune: the optimizer by name or from a factory given its groups; cosine decay over the run (CosineLR)', () => {
  const set = tinySet(8, 3, 2);
  // task 'new': layer 1 is copied (the transferred group), the head starts fresh (the first group).
  const make = (o: Partial<FineTuneOptions>) => new FineTune({source: mlp(3, 31), model: mlp(3, 32), task: 'new',
    loader: new DataLoader(set, {batch: 4}), ...o});
  const lrs = (s: FineTune) => s.optimizer.groups.map((g) => g.options.lr);
  const adam = make({});
  assert.ok(adam.optimizer instanceof wt.Adam);
  assert.equal(lrs(adam), [1e-3, 1e-3]);
  const sgd = make({optimizer: 'sgd', transferredLr: 1e-3, weightDecay: 1e-4});
  assert.ok(sgd.optimizer instanceof wt.SGD);
  assert.equal(sgd.optimizer.groups.map((g) => [g.options.lr, g.options.weightDecay, (g.options as Required<wt.SGDOptions>).momentum]),
    [[0.01, 1e-4, 0.9], [1e-3, 1e-4, 0.9]]);
  let seen: wt.ParamGroupSpec[] = [];
  const mine = new wt.SGD([wt.ones([1], {requiresGrad: true})]);
  const built = make({lr: 0.03, transferredLr: 0.003, optimizer: (groups) => { seen = groups; return mine; }});
  assert.is(built.optimizer, mine);
  assert.equal(seen.map((g) => [g.params.length, g.lr]), [[2, 0.03], [2, 0.003]], 'head (weight, bias), then layer 1');
  // Cosine: every group from its own base lr, as CosineLR over the loop's total.
  const cos = make({lr: 0.02, transferredLr: 0.002, schedule: 'cosine'});
  for (const [step, total] of [[0, 10], [3, 10], [10, 10], [5, 20]]) {
    cos.beforeStep(step, total);
    const f = (1 + Math.cos(Math.PI * step / total)) / 2;
    expectClose(lrs(cos), [0.02 * f, 0.002 * f], 1e-18, 1e-15, `lrs at step ${step} of ${total}`);
  }
  assert.throws(() => make({schedule: 'linear' as never}), /FineTune: schedule must be 'none' or 'cosine', got 'linear'/);
  assert.throws(() => make({optimizer: 'lion' as never}), /FineTune: optimizer must be 'adam', 'adamw' or 'sgd', got 'lion'/);
  for (const s of [adam, sgd, built, cos]) s.dispose();
});

t('strategies refuse models and settings that do not fit, naming the layer or setting', () => {
  const {source, model} = lenetSetup(0, false);
  const loader = new DataLoader({...tinySet(16, 5, 3), height: 28, width: 28, images: new Float32Array(16 * 784)}, {batch: 8});
  wt.manualSeed(50);
  const model10 = wt.leNet5(1, 10);
  // An MLP: layers 1, 3, 5; LeNet's 3 is a convolution, and 1 and 5 are not LeNet names.
  const mlp10 = new wt.Sequential(new wt.Flatten(), new wt.Linear(784, 32), new wt.ReLU(), new wt.Linear(32, 16), new wt.ReLU(), new wt.Linear(16, 10));
  const cases: [string, () => unknown, RegExp][] = [
    ['k larger than the layers', () => new LayerTransfer({source, model, loader, layers: {first: 6}}), /k must be an integer in 0..5 \(the model's layers with parameters: 0, 3, 7, 9, 11\)/],
    ['negative k', () => new LayerTransfer({source, model, loader, layers: {last: -1}}), /k must be an integer in 0..5/],
    ['unknown layer name', () => new LayerTransfer({source, model, loader, layers: {names: ['conv9']}}), /no layer with parameters named 'conv9'/],
    ['shape mismatch when copying', () => new LayerTransfer({source, model: model10, loader, layers: {last: 1}}), /layer '11' differs in shape: source weight\[5, 84\] bias\[5\], target weight\[10, 84\] bias\[10\]/],
    ['negative alpha', () => new Conservative({source, model, loader, task: 'new', l2sp: {alpha: -1}}), /l2sp.alpha must be a finite number >= 0, got -1/],
    ['negative beta', () => new Conservative({source, model, loader, task: 'new', l2sp: {alpha: 1, beta: -0.5}}), /l2sp.beta must be a finite number >= 0, got -0.5/],
    ['zero temperature', () => new Conservative({source, model, loader, task: 'new', distill: {weight: 1, temperature: 0}}), /distill.temperature must be a finite number > 0, got 0/],
    ['NaN distillation weight', () => new Conservative({source, model, loader, task: 'new', distill: {weight: NaN}}), /distill.weight must be a finite number >= 0, got NaN/],
    ['no conservative term', () => new Conservative({source, model, loader, task: 'new'}), /give l2sp and\/or distill/],
    ['everything frozen', () => new LayerTransfer({source, model, loader, layers: {first: 5}}), /nothing to train/],
    ['same-shaped heads without saying the task', () => new FineTune({source, model, loader}), /heads have the same shape: say task: 'same'/],
    ['task same with a differently shaped head', () => new FineTune({source, model: model10, loader, task: 'same'}), /task 'same' but the heads differ in shape \(layers 11\)/],
    ['a model that is not a Sequential', () => new FineTune({source, model: new wt.Linear(3, 2), loader}), /must be a Sequential/],
    ['negative lr', () => new FineTune({source, model, loader, task: 'new', lr: -1}), /lr must be a finite number > 0, got -1/],
    ['a target with no layer of the source', () => new FineTune({source, model: mlp10, loader}), new RegExp(
      "^webgpu-transfer: FineTune: no layer of the source model matches the target model by name and shapes, so " +
      "nothing would be copied \\(target '1' has no source layer of that name; target '3' weight\\[16, 32\\] " +
      "bias\\[16\\] differs in shape from the source's weight\\[16, 6, 5, 5\\] bias\\[16\\]\\)\\. Source layers: " +
      '0 weight\\[6, 1, 5, 5\\] bias\\[6\\], 3 .*; target layers: 1 weight\\[32, 784\\] bias\\[32\\], 3 .*, 5 ' +
      "weight\\[10, 16\\] bias\\[10\\]\\. Build the target from the source's architecture, or pass copy: \\{first: 0\\}")],
  ];
  for (const [what, f, re] of cases) {
    try { f(); assert.unreachable(what); } catch (e) { assert.match((e as Error).message, re, what); }
  }
});



t.run();
