import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {expectClose} from './lib/check.js';
import {rng} from './lib/reference.js';

const t = suite('optimizer kernels');
const N = 1031; // not a multiple of the workgroup
const r = rng(5);
const p0 = Float64Array.from({length: N}, () => r() * 2 - 1);
const grads = [0, 1, 2].map(() => Float64Array.from({length: N}, () => r() * 2 - 1));

/** Runs 3 steps with fixed gradients on the GPU; returns the parameter. */
async function gpuSteps(make: (p: wt.Tensor[]) => wt.Optimizer<wt.GroupOptions>): Promise<Float32Array> {
  const p = wt.tensor(Float32Array.from(p0), [N], {requiresGrad: true});
  const opt = make([p]);
  for (const g of grads) {
    p.grad = wt.keep(wt.tensor(Float32Array.from(g), [N]));
    opt.step();
    opt.zeroGrad();
  }
  const out = (await p.data()) as Float32Array;
  opt.dispose();
  return out;
}

/** Runs after each reference step (the step hooks' test halves the weights there). */
type AfterStep = (p: Float64Array) => void;

function sgdRef(lr: number, momentum: number, dampening: number, wd: number, nesterov: boolean, after?: AfterStep): Float64Array {
  const p = Float64Array.from(p0), buf = new Float64Array(N);
  grads.forEach((g0, step) => {
    for (let i = 0; i < N; i++) {
      let g = g0[i] + wd * p[i];
      if (momentum) {
        buf[i] = step === 0 ? g : momentum * buf[i] + (1 - dampening) * g;
        g = nesterov ? g + momentum * buf[i] : buf[i];
      }
      p[i] -= lr * g;
    }
    after?.(p);
  });
  return p;
}

function adamRef(lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean, after?: AfterStep): Float64Array {
  const p = Float64Array.from(p0), m = new Float64Array(N), v = new Float64Array(N);
  grads.forEach((g0, step) => {
    const t1 = step + 1;
    for (let i = 0; i < N; i++) {
      let g = g0[i];
      if (decoupled) p[i] *= 1 - lr * wd; else g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const mh = m[i] / (1 - b1 ** t1), vh = v[i] / (1 - b2 ** t1);
      p[i] -= lr * mh / (Math.sqrt(vh) + eps);
    }
    after?.(p);
  });
  return p;
}

for (const [mom, damp, wd, nest] of [[0, 0, 0, false], [0.9, 0, 0, false], [0.9, 0.1, 1e-2, false], [0.9, 0, 5e-4, true]] as [number, number, number, boolean][]) {
  t(`SGD momentum ${mom} dampening ${damp} weightDecay ${wd} nesterov ${nest} vs float64`, async () => {
    const got = await gpuSteps((p) => new wt.SGD(p, {lr: 0.1, momentum: mom, dampening: damp, weightDecay: wd, nesterov: nest}));
    expectClose(got, sgdRef(0.1, mom, damp, wd, nest), 1e-6, 1e-5, 'SGD parameters after 3 steps');
  });
}
for (const [wd, decoupled] of [[0, false], [0.01, false], [0.05, true]] as [number, boolean][]) {
  t(`${decoupled ? 'AdamW' : 'Adam'} weightDecay ${wd} vs float64`, async () => {
    const got = await gpuSteps((p) => decoupled ? new wt.AdamW(p, {lr: 0.01, weightDecay: wd}) : new wt.Adam(p, {lr: 0.01, weightDecay: wd}));
    expectClose(got, adamRef(0.01, 0.9, 0.999, 1e-8, wd, decoupled), 1e-6, 1e-4, 'Adam parameters after 3 steps');
  });
}

t('large update (300,007 parameters): SGD with Nesterov momentum vs float64', async () => {
  const n = 300007;
  const rr = rng(8);
  const p0 = Float64Array.from({length: n}, () => rr() * 2 - 1);
  const g0 = Float64Array.from({length: n}, () => rr() * 2 - 1);
  const p = wt.tensor(Float32Array.from(p0), [n], {requiresGrad: true});
  const opt = new wt.SGD([p], {lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3});
  for (let s = 0; s < 2; s++) { p.grad = wt.keep(wt.tensor(Float32Array.from(g0), [n])); opt.step(); opt.zeroGrad(); }
  const want = Float64Array.from(p0), buf = new Float64Array(n);
  for (let s = 0; s < 2; s++) for (let i = 0; i < n; i++) {
    const g = g0[i] + 1e-3 * want[i];
    buf[i] = s === 0 ? g : 0.9 * buf[i] + g;
    want[i] -= 0.05 * (g + 0.9 * buf[i]);
  }
  expectClose(await p.data(), want, 1e-6, 1e-5, 'parameters after 2 steps');
  opt.dispose();
});

t('parameter groups keep their own lr; frozen parameters are untouched', async () => {
  const a = wt.tensor([1, 1], [2], {requiresGrad: true});
  const b = wt.tensor([1, 1], [2], {requiresGrad: true});
  const frozen = wt.tensor([1, 1], [2], {requiresGrad: false});
  const opt = new wt.SGD([{params: [a], lr: 0.1}, {params: [b, frozen]}], {lr: 0.01});
  for (const p of [a, b, frozen]) p.grad = wt.keep(wt.ones([2]));
  opt.step();
  expectClose(await a.data(), [0.9, 0.9], 1e-7, 0, 'group 1');
  expectClose(await b.data(), [0.99, 0.99], 1e-7, 0, 'group 2');
  assert.equal(Array.from(await frozen.data()), [1, 1]);
});
// ---- step hooks of the base Optimizer (what GradNorm uses: its weights' gradient before, renormalising after) ----
const halve: AfterStep = (p) => { for (let i = 0; i < N; i++) p[i] *= 0.5; };
const HOOKED: [string, (ps: wt.Tensor[]) => wt.Optimizer<wt.GroupOptions>, () => Float64Array][] = [
  ['SGD momentum 0.9', (ps) => new wt.SGD(ps, {lr: 0.1, momentum: 0.9}), () => sgdRef(0.1, 0.9, 0, 0, false, halve)],
  ['Adam', (ps) => new wt.Adam(ps, {lr: 0.01}), () => adamRef(0.01, 0.9, 0.999, 1e-8, 0, false, halve)],
];
for (const [name, make, ref] of HOOKED) {
  for (const compiled of [false, true]) {
    t(`${name}: onStep hooks run around the update${compiled ? ', recorded by compile() and replayed' : ''} (float64)`, async () => {
      const p = wt.tensor(Float32Array.from(p0), [N], {requiresGrad: true});
      const opt = make([p]);
      let g: wt.Tensor | null = null; // this step's gradient, which only the before hook hands to the optimizer
      const calls: string[] = [];
      const remove = opt.onStep({
        before: () => { calls.push(`before, step count ${opt.stepCount}`); p.grad = wt.mul(g!, 1); },
        after: () => { calls.push(`after, step count ${opt.stepCount}`); wt.noGrad(() => wt.internals.assign(p, wt.mul(p, 0.5))); },
      });
      if (compiled) {
        const step = wt.compile([{shape: [N]}], [Float32Array.from(grads[0])], (gi) => { g = gi; opt.step(); opt.zeroGrad(); return null; });
        for (const gs of grads.slice(1)) step.run([Float32Array.from(gs)]);
        step.dispose();
        // Host code runs once, while recording; the replays rerun what the hooks recorded.
        assert.equal(calls, ['before, step count 0', 'after, step count 1']);
      } else {
        for (const gs of grads) {
          g = wt.tensor(Float32Array.from(gs), [N]);
          opt.step();
          opt.zeroGrad();
          g.dispose();
        }
        assert.equal(calls, [0, 1, 2].flatMap((k) => [`before, step count ${k}`, `after, step count ${k + 1}`]));
      }
      assert.is(opt.stepCount, 3);
      expectClose(await p.data(), ref(), 1e-6, 1e-4, `${name} with hooks, 3 steps`);
      // Removed: a step without gradients then leaves the weights alone (no halving) and calls nothing.
      remove();
      const kept = Array.from(await p.data());
      opt.step();
      assert.equal(Array.from(await p.data()), kept);
      assert.is(calls.length, compiled ? 2 : 6);
      opt.dispose();
      p.dispose();
    });
  }
}

// ---- the optimizer choice by name (src/optim/factory.ts) ----
t('createOptimizer: kinds, defaults (SGD momentum 0.9), own group lrs, refusals', () => {
  const ps = () => [wt.ones([2], {requiresGrad: true})];
  const sgd = wt.createOptimizer(ps(), {kind: 'sgd'});
  assert.ok(sgd instanceof wt.SGD);
  assert.equal(sgd.groups[0].options, {lr: 0.01, weightDecay: 0, momentum: wt.internals.SGD_MOMENTUM, dampening: 0, nesterov: false});
  assert.is(wt.internals.SGD_MOMENTUM, 0.9);
  assert.is((wt.createOptimizer(ps(), {kind: 'sgd', momentum: 0}) as wt.SGD).groups[0].options.momentum, 0);
  const adam = wt.createOptimizer(ps(), {kind: 'adam', lr: 0.002, momentum: 0.5});
  assert.ok(adam instanceof wt.Adam && !(adam instanceof wt.AdamW));
  assert.equal([adam.lr, adam.groups[0].options.weightDecay], [0.002, 0]);
  // AdamW keeps its own weight decay default when none is given.
  const adamw = wt.createOptimizer(ps(), {kind: 'adamw'});
  assert.ok(adamw instanceof wt.AdamW);
  assert.equal([adamw.lr, adamw.groups[0].options.weightDecay], [1e-3, 0.01]);
  // A group's own lr wins; a group without one takes the spec's.
  const two = wt.createOptimizer([{params: ps(), lr: 0.5}, {params: ps()}], {kind: 'sgd', lr: 0.05, weightDecay: 1e-4});
  assert.equal(two.groups.map((gr) => [gr.options.lr, gr.options.weightDecay]), [[0.5, 1e-4], [0.05, 1e-4]]);
  assert.equal([...wt.internals.OPTIMIZER_KINDS], ['adam', 'adamw', 'sgd']);
  assert.throws(() => wt.createOptimizer(ps(), {kind: 'rmsprop' as wt.OptimizerKind}, 'Here'),
    /Here: optimizer must be 'adam', 'adamw' or 'sgd', got 'rmsprop'/);
  assert.throws(() => wt.createOptimizer(ps(), {kind: 'adam', lr: 0}, 'Here'), /Here: lr must be a finite number > 0, got 0/);
  assert.throws(() => wt.createOptimizer(ps(), {kind: 'sgd', momentum: -1}, 'Here'), /Here: momentum must be a finite number >= 0, got -1/);
  assert.throws(() => wt.createOptimizer(ps(), {kind: 'adam', weightDecay: NaN}), /optimizer: weightDecay must be a finite number >= 0, got NaN/);
});

t('bad hyper-parameters are rejected', () => {
  assert.throws(() => new wt.SGD([wt.ones([1])], {lr: -1}), /SGD: lr must be a finite number >= 0, got -1/);
  assert.throws(() => new wt.SGD([wt.ones([1])], {nesterov: true}), /Nesterov momentum requires momentum > 0/);
  assert.throws(() => new wt.Adam([wt.ones([1])], {beta1: 1}), /betas must be in \[0, 1\)/);
});

// ---- multi-tensor updates (one dispatch per group) against the one-tensor-per-dispatch kernels ----
// Sizes: a bias, sizes around the 4096-element block of the multi-tensor kernels, an empty tensor, several blocks.
const SIZES = [6, 255, 1025, 4096, 0, 4097, 9000];

/**
 * Runs `steps` steps of an optimizer over SIZES parameters with fixed gradients; parameter 1 has no gradient at
 * step 0 (it starts a step later: its own step count and momentum start), parameter 3 none at step 2.
 */
async function multiRun(make: (ps: wt.Tensor[]) => wt.Optimizer<wt.GroupOptions>, multiTensor: boolean, steps = 4) {
  const rr = rng(21);
  const ps = SIZES.map((n) => wt.tensor(Float32Array.from({length: n}, () => rr() * 2 - 1), [n], {requiresGrad: true}));
  const gs = Array.from({length: steps}, () => SIZES.map((n) => Float32Array.from({length: n}, () => rr() * 2 - 1)));
  const opt = make(ps);
  opt.multiTensor = multiTensor;
  let dispatches = 0;
  for (let s = 0; s < steps; s++) {
    // Counted from step 2, once every parameter has started (state creation dispatches fills).
    if (s === 2) dispatches = wt.internals.rt().stats.dispatches;
    ps.forEach((p, i) => { if (!(i === 1 && s === 0) && !(i === 3 && s === 2)) p.grad = wt.keep(wt.tensor(gs[s][i], [SIZES[i]])); });
    opt.step();
    opt.zeroGrad();
  }
  const out = await Promise.all(ps.map(async (p) => Array.from(await p.data())));
  const count = wt.internals.rt().stats.dispatches - dispatches;
  opt.dispose();
  for (const p of ps) p.dispose();
  return {out, count};
}

const MULTI_CASES: [string, (ps: wt.Tensor[]) => wt.Optimizer<wt.GroupOptions>][] = [
  ['SGD', (ps) => new wt.SGD(ps, {lr: 0.1})],
  ['SGD momentum 0.9 dampening 0.1 weightDecay 1e-2', (ps) => new wt.SGD(ps, {lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2})],
  ['SGD Nesterov, two groups', (ps) => new wt.SGD([{params: ps.slice(0, 3), lr: 0.05}, {params: ps.slice(3)}], {lr: 0.1, momentum: 0.9, nesterov: true})],
  ['Adam', (ps) => new wt.Adam(ps, {lr: 0.01, weightDecay: 0.01})],
  ['AdamW', (ps) => new wt.AdamW(ps, {lr: 0.01})],
];
for (const [name, make] of MULTI_CASES) {
  t(`${name}: one dispatch per group, bit-identical to one dispatch per tensor`, async () => {
    const single = await multiRun(make, false), multi = await multiRun(make, true);
    // Adam: parameter 1 started a step late, so its bias corrections differ: a second dispatch.
    const groups = name.includes('two groups') ? 2 : 1, starts = name.startsWith('Adam') ? 2 : 1;
    assert.is(multi.count, 2 * groups * starts, 'multi-tensor dispatches (steps 2 and 3)');
    assert.is(single.count, 2 * SIZES.length - 1, 'one-tensor dispatches (steps 2 and 3, one gradient missing)');
    SIZES.forEach((_, i) => assert.equal(multi.out[i], single.out[i], `parameter ${i} (${SIZES[i]} values)`));
  });
}

t('multi-tensor Adam: a replayed step submits once, allocates nothing and dispatches one update', async () => {
  wt.manualSeed(3);
  const model = new wt.Sequential(new wt.Linear(5, 7), new wt.ReLU(), new wt.Linear(7, 3));
  const opt = new wt.Adam(model.parameters(), {lr: 1e-2});
  const x = Array.from({length: 4 * 5}, (_, i) => Math.sin(i)), y = [0, 1, 2, 1];
  const body = (xs: wt.Tensor, ys: wt.Tensor) => wt.tidy(() => {
    const loss = wt.crossEntropy(model.forward(xs), ys);
    loss.backward(); opt.step(); opt.zeroGrad();
    return loss;
  });
  const step = wt.compile([{shape: [4, 5]}, {shape: [4], dtype: 'i32'}], [x, y], body);
  const r = wt.internals.rt();
  const kernels = step.dispatchCount;
  assert.is(step.copyCount, 3 * 4, 'copies: gradient and parameter in, parameter out, for 4 parameters');
  step.run([x, y]);
  await step.output.item();
  const created = r.pool.created, submits = r.stats.submits;
  for (let i = 0; i < 5; i++) step.run([x, y]);
  const loss = await step.output.item();
  assert.is(r.pool.created, created, 'buffers created by replays');
  assert.is(r.stats.submits - submits, 5 + 1, 'one submit per replay, one for the read-back');
  assert.ok(Number.isFinite(loss));
  // The same model with one dispatch per tensor: 3 more kernels.
  const opt2 = new wt.Adam(model.parameters(), {lr: 1e-2});
  opt2.multiTensor = false;
  const step2 = wt.compile([{shape: [4, 5]}, {shape: [4], dtype: 'i32'}], [x, y], (xs, ys) => wt.tidy(() => {
    const l = wt.crossEntropy(model.forward(xs), ys); l.backward(); opt2.step(); opt2.zeroGrad(); return l;
  }));
  assert.is(step2.dispatchCount, kernels + 3, 'one-tensor updates: 4 dispatches instead of 1');
  assert.is(step2.copyCount, 0);
  assert.is(step2.textureCopyCount, step.textureCopyCount, 'updates read no staging textures in either form');
  step.output.dispose(); step.dispose(); step2.output.dispose(); step2.dispose();
  opt.dispose(); opt2.dispose(); model.dispose();
});

for (const multiTensor of [true, false]) {
  t(`optimizer state save and load (${multiTensor ? 'multi-tensor' : 'one tensor per dispatch'}): resumed steps match`, async () => {
    const rr = rng(4);
    const init = [Float32Array.from({length: 300}, () => rr()), Float32Array.from({length: 7}, () => rr())];
    const gs = Array.from({length: 4}, () => init.map((a) => Float32Array.from({length: a.length}, () => rr() * 2 - 1)));
    const make = () => {
      const ps = init.map((a) => wt.tensor(a, [a.length], {requiresGrad: true}));
      const opt = new wt.SGD(ps, {lr: 0.1, momentum: 0.9, dampening: 0.2});
      opt.multiTensor = multiTensor;
      return {ps, opt};
    };
    const run = (o: {ps: wt.Tensor[]; opt: wt.Optimizer<wt.GroupOptions>}, from: number, to: number) => {
      for (let s = from; s < to; s++) { o.ps.forEach((p, i) => { p.grad = wt.keep(wt.tensor(gs[s][i], [gs[s][i].length])); }); o.opt.step(); o.opt.zeroGrad(); }
    };
    const a = make();
    run(a, 0, 2);
    const at2 = await Promise.all(a.ps.map((p) => p.data()));
    const {tensors, meta} = a.opt.stateDict(new Map(a.ps.map((p, i) => [p, `p${i}`])));
    assert.equal([...tensors.keys()].sort(), ['p0.momentum', 'p1.momentum']);
    const host = new Map<string, {data: Float32Array}>();
    for (const [k, v] of tensors) { host.set(k, {data: (await v.data()) as Float32Array}); v.dispose(); }
    run(a, 2, 4);
    // A fresh optimizer over parameters holding step 2's values loads the state and continues.
    const fresh = make();
    fresh.ps.forEach((p, i) => wt.internals.rt().write(p.buffer, at2[i]));
    fresh.opt.loadStateDict(new Map(fresh.ps.map((p, i) => [p, `p${i}`])), host, meta);
    assert.is(fresh.opt.stepCount, 2);
    run(fresh, 2, 4);
    for (let i = 0; i < 2; i++) assert.equal(Array.from(await fresh.ps[i].data()), Array.from(await a.ps[i].data()), `parameter ${i} after resuming`);
    for (const o of [a, fresh]) { o.opt.dispose(); for (const p of o.ps) p.dispose(); }
  });
}

t.run();
