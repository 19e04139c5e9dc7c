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

function sgdRef(lr: number, momentum: number, dampening: number, wd: number, nesterov: boolean): Float64Array {
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
  });
  return p;
}

function adamRef(lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean): Float64Array {
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

t('bad hyper-parameters are rejected', () => {
  assert.throws(() => new wt.SGD([wt.ones([1])], {lr: -1}), /SGD: lr must be >= 0/);
  assert.throws(() => new wt.SGD([wt.ones([1])], {nesterov: true}), /Nesterov momentum requires momentum > 0/);
  assert.throws(() => new wt.Adam([wt.ones([1])], {beta1: 1}), /betas must be in \[0, 1\)/);
});

t.run();
