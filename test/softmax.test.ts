import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp, expectClose} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('softmax');
for (const [shape, axis] of [[[5, 7], 1], [[5, 7], 0], [[2, 3, 4], 1], [[1, 10], 1], [[1, 1], 1], [[64, 1000], 1]] as [number[], number][]) {
  const tag = `${JSON.stringify(shape)} axis ${axis}`;
  const last = shape.length === 2 && axis === 1; // the analytic reference covers the last axis of 2-D inputs
  t(`softmax ${tag}`, () => checkOp({name: 'softmax', inputs: [R.randomNd(shape, 11, -3, 3)], gpu: ([x]) => wt.softmax(x, axis), ref: ([x]) => R.softmax(x, axis), refGrad: last ? ([x], up) => [R.softmaxGrad(x, up, false)] : undefined, sample: 64}));
  t(`logSoftmax ${tag}`, () => checkOp({name: 'logSoftmax', inputs: [R.randomNd(shape, 12, -3, 3)], gpu: ([x]) => wt.logSoftmax(x, axis), ref: ([x]) => R.softmax(x, axis, true), refGrad: last ? ([x], up) => [R.softmaxGrad(x, up, true)] : undefined, sample: 64}));
}

t('softmax is stable for large logits', async () => {
  const y = await wt.softmax(wt.tensor([1000, 1001, 999], [1, 3])).data();
  assert.ok(Array.from(y).every(Number.isFinite));
  assert.ok(Math.abs(y[0] + y[1] + y[2] - 1) < 1e-6);
});

for (const [n, c] of [[1, 10], [7, 3], [64, 10], [300, 101]]) {
  t(`crossEntropy [${n}, ${c}] (mean) against reference, gradient by finite differences`, async () => {
    const logits = R.randomNd([n, c], n + c, -4, 4);
    const labels = Array.from({length: n}, (_, i) => (i * 7 + 3) % c);
    const lab = R.nd([n], labels);
    await checkOp({
      name: 'crossEntropy', inputs: [logits, lab], intInputs: [1],
      gpu: ([x, l]) => wt.crossEntropy(x, l),
      ref: ([x]) => R.nd([], [R.crossEntropyRows(x, labels).data.reduce((a, b) => a + b, 0) / n]),
      refGrad: ([x], up) => [R.crossEntropyGrad(x, labels, up), null],
      sample: 64,
    });
  });
}

// backward() with no gradient seeds the loss with the runtime's unit 1, and the forward has written the gradient
// for it: the same bits as backward(ones) through xent_bwd, for mean and sum, an out-of-range label's NaN row
// included; a second backward through the same loss computes it again (the leaf's grad accumulates).
for (const [n, c, reduction] of [[1, 10, 'mean'], [64, 10, 'mean'], [300, 101, 'sum'], [5, 4, 'mean']] as const) {
  t(`crossEntropy ${reduction} [${n}, ${c}]: backward() from the loss gives backward(ones)'s gradient`, async () => {
    const logits = R.randomNd([n, c], 3 * n + c, -4, 4);
    const labels = Array.from({length: n}, (_, i) => (n === 5 && i === 2 ? c : (i * 7 + 3) % c));
    const l = wt.tensor(labels, [n], {dtype: 'i32'});
    const gradOf = async (seed: boolean, twice = false) => {
      const x = wt.tensor(Float32Array.from(logits.data), [n, c], {requiresGrad: true});
      const loss = wt.crossEntropy(x, l, reduction);
      const ones = wt.ones([]);
      loss.backward(seed ? undefined : ones);
      if (twice) loss.backward();
      const g = Float32Array.from(await x.grad!.data());
      loss.dispose(); ones.dispose(); x.grad!.dispose(); x.dispose();
      return g;
    };
    const fromUnit = await gradOf(true), fromOnes = await gradOf(false), twice = await gradOf(true, true);
    assert.equal(Array.from(fromUnit), Array.from(fromOnes));
    assert.equal(Array.from(twice), Array.from(fromUnit).map((v) => v + v));
    const ref = R.crossEntropyGrad(logits, labels, R.nd([], [reduction === 'sum' ? n : 1]));
    const bad = (i: number) => labels[Math.floor(i / c)] >= c;
    assert.ok(fromUnit.every((v, i) => bad(i) === Number.isNaN(v)), 'NaN exactly on the out-of-range label\'s row');
    expectClose(fromUnit.filter((_, i) => !bad(i)), ref.data.filter((_, i) => !bad(i)), 1e-6, 1e-5, 'gradient');
    l.dispose();
  });
}

t('crossEntropy rejects wrong label shapes and dtypes', () => {
  const x = wt.zeros([4, 3]);
  assert.throws(() => wt.crossEntropy(x, wt.tensor([0, 1, 2], [3], {dtype: 'i32'})), /labels must be int32 \[4\]/);
  assert.throws(() => wt.crossEntropy(x, wt.zeros([4])), /labels must be int32/);
});

t('an out-of-range label gives NaN, not a clamped loss', async () => {
  const loss = await wt.crossEntropy(wt.zeros([2, 3]), wt.tensor([1, 3], [2], {dtype: 'i32'})).item();
  assert.ok(Number.isNaN(loss));
});

t('crossEntropy sum [300, 11] against reference; mean and sum one kernel forward and backward, rows + mean five', async () => {
  const n = 300, c = 11;
  const logits = R.randomNd([n, c], 9, -4, 4);
  const labels = Array.from({length: n}, (_, i) => (i * 5 + 1) % c);
  await checkOp({
    name: 'crossEntropy sum', inputs: [logits, R.nd([n], labels)], intInputs: [1],
    gpu: ([x, l]) => wt.crossEntropy(x, l, 'sum'),
    ref: ([x]) => R.nd([], [R.crossEntropyRows(x, labels).data.reduce((a, b) => a + b, 0)]),
    // The reference is the mean's gradient: times n for the sum.
    refGrad: ([x], up) => { const g = R.crossEntropyGrad(x, labels, up); return [{shape: g.shape, data: g.data.map((v) => v * n)}, null]; },
    sample: 64,
  });
  // Dispatches of forward + backward from the unit seed: fused, one (the forward writes the gradient); composed, five.
  const x = wt.tensor(Float32Array.from(logits.data), [n, c], {requiresGrad: true});
  const l = wt.tensor(labels, [n], {dtype: 'i32'});
  const count = (loss: () => wt.Tensor) => {
    const r = wt.internals.rt(), d0 = r.stats.dispatches;
    const v = loss();
    v.backward();
    const d = r.stats.dispatches - d0;
    v.dispose(); x.grad?.dispose(); x.grad = null;
    return d;
  };
  const fused = count(() => wt.crossEntropy(x, l));
  const composed = count(() => wt.mean(wt.crossEntropy(x, l, 'none')));
  assert.is(fused, 1, `dispatches: fused ${fused}`);
  assert.is(composed, 5, `dispatches: rows + mean ${composed}`);
  x.dispose(); l.dispose();
});

// Rows past 21,845: the one-thread-per-row kernels loop 3 times over a row, past the ~65,535 loop iterations llvmpipe
// runs in a thread (it stops them short, silently); such rows take composed ops there. Gradients against the
// analytic references (finite differences over rows this long cost seconds).
async function longRowCase(x: R.Nd, f: (x: wt.Tensor) => wt.Tensor, want: R.Nd, wantGrad: (up: R.Nd) => R.Nd, what: string,
  rtol = 1e-4): Promise<void> {
  const xt = wt.tensor(Float32Array.from(x.data), x.shape, {requiresGrad: true});
  const y = f(xt);
  expectClose(await y.data(), want.data, 1e-6, rtol, `${what} forward`);
  const up = R.randomNd(want.shape, 99);
  wt.sum(wt.mul(y, wt.tensor(Float32Array.from(up.data), up.shape))).backward();
  expectClose(await xt.grad!.data(), wantGrad(up).data, 1e-9, 2e-3, `${what} gradient`);
  xt.grad!.dispose(); xt.dispose(); y.dispose();
}
for (const log of [false, true]) {
  t(`${log ? 'logSoftmax' : 'softmax'} [1, 30000] axis 1 (long rows)`, async () => {
    const x = R.randomNd([1, 30000], 13, -3, 3);
    await longRowCase(x, (v) => (log ? wt.logSoftmax(v, 1) : wt.softmax(v, 1)), R.softmax(x, 1, log),
      (up) => R.softmaxGrad(x, up, log), 'softmax long');
  });
}
for (const reduction of ['mean', 'none'] as const) {
  t(`crossEntropy [2, 30000] (${reduction}, long rows) against reference`, async () => {
    const n = 2, labels = [29999, 7], x = R.randomNd([n, 30000], 14, -4, 4);
    const rows = R.crossEntropyRows(x, labels);
    const lab = wt.tensor(labels, [n], {dtype: 'i32'});
    const mean = reduction === 'mean';
    await longRowCase(x, (v) => (mean ? wt.crossEntropy(v, lab) : wt.crossEntropy(v, lab, 'none')),
      mean ? R.nd([], [(rows.data[0] + rows.data[1]) / n]) : rows,
      // crossEntropyGrad is the mean's gradient for an upstream scalar; per row, upstream up[i] times n.
      (up) => { const g = R.crossEntropyGrad(x, labels, R.nd([], [mean ? up.data[0] : n]));
        return mean ? g : {shape: g.shape, data: g.data.map((v, k) => v * up.data[Math.floor(k / 30000)])}; },
      'crossEntropy long', 1e-5);
    lab.dispose();
  });
}
// 65 rows of 17,000 classes: a thread of the fused loss (64 threads) would loop 2 x 2 x 17,000 times, past llvmpipe's
// limit; it takes rows + mean there.
t('crossEntropy [65, 17000] (mean: rows x classes past the fused loss\'s loops) against reference, forward only', async () => {
  const n = 65, c = 17000;
  const labels = Array.from({length: n}, (_, i) => (i * 7 + 3) % c);
  await checkOp({
    name: 'crossEntropy many', inputs: [R.randomNd([n, c], 15, -4, 4), R.nd([n], labels)], intInputs: [1],
    gpu: ([x, l]) => wt.crossEntropy(x, l),
    ref: ([x]) => R.nd([], [R.crossEntropyRows(x, labels).data.reduce((a, b) => a + b, 0) / n]),
    gradOf: [], rtol: 1e-5,
  });
});

t.run();
