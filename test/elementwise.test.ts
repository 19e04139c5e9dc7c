import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp, expectClose} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('elementwise');
const sig = (x: number) => 1 / (1 + Math.exp(-x));

// Unary ops on an awkward shape (not a multiple of the 256 workgroup), batch 1, and a large case.
// [name, op, float64 reference, its derivative (the analytic reference gradient), input domain]
const unary: [string, (x: wt.Tensor) => wt.Tensor, (v: number) => number, (v: number) => number, 'any' | 'pos' | 'kink'][] = [
  ['neg', wt.neg, (v) => -v, () => -1, 'any'],
  ['exp', wt.exp, Math.exp, Math.exp, 'any'],
  ['log', wt.log, Math.log, (v) => 1 / v, 'pos'],
  ['sqrt', wt.sqrt, Math.sqrt, (v) => 0.5 / Math.sqrt(v), 'pos'],
  ['relu', wt.relu, (v) => Math.max(v, 0), (v) => (v > 0 ? 1 : 0), 'kink'],
  ['leakyRelu', (x) => wt.leakyRelu(x, 0.1), (v) => (v > 0 ? v : 0.1 * v), (v) => (v > 0 ? 1 : 0.1), 'kink'],
  ['sigmoid', wt.sigmoid, sig, (v) => sig(v) * (1 - sig(v)), 'any'],
  ['tanh', wt.tanh, Math.tanh, (v) => 1 - Math.tanh(v) ** 2, 'any'],
  ['abs', wt.abs, Math.abs, Math.sign, 'kink'],
  ['square', wt.square, (v) => v * v, (v) => 2 * v, 'any'],
  ['clamp', (x) => wt.clamp(x, -0.5, 0.6), (v) => Math.min(0.6, Math.max(-0.5, v)), (v) => (v >= -0.5 && v <= 0.6 ? 1 : 0), 'kink'],
  ['pow 3', (x) => wt.pow(x, 3), (v) => v ** 3, (v) => 3 * v * v, 'any'],
  ['pow 0.5', (x) => wt.pow(x, 0.5), (v) => v ** 0.5, (v) => 0.5 * v ** -0.5, 'pos'],
  ['affine', (x) => wt.internals.affine(x, 2.5, -1), (v) => 2.5 * v - 1, () => 2.5, 'any'],
];
// Sizes that are multiples of 4 ([4, 6], [2, 4, 1025]) run four elements per thread (unary_vec4, binary_vec4 for
// the gradients' same-shape products) unless kernelPrefs.elementwiseVec4 is off, as in the 'one per thread' cases.
const withVec4 = (on: boolean, f: () => Promise<void>): Promise<void> =>
  wt.internals.withKernelPrefs({elementwiseVec4: on}, f);
for (const [name, f, ref, deriv, domain] of unary) {
  for (const [shape, vec4] of [[[3, 7, 13], true], [[1], true], [[70001], true], [[4, 6], true], [[4, 6], false], [[2, 4, 1025], true]] as [number[], boolean][]) {
    t(`${name} ${JSON.stringify(shape)}${vec4 ? '' : ', one per thread'}`, () => withVec4(vec4, async () => {
      const seed = shape[0] * 31 + name.length;
      let x = domain === 'pos' ? R.randomNd(shape, seed, 0.2, 2) : domain === 'kink' ? R.awayFromZero(shape, seed) : R.randomNd(shape, seed, -2, 2);
      if (name === 'clamp') x = R.map(x, (v) => (Math.abs(v + 0.5) < 0.05 || Math.abs(v - 0.6) < 0.05 ? v + 0.12 : v));
      await checkOp({name, inputs: [x], gpu: ([a]) => f(a), ref: ([a]) => R.map(a, ref), refGrad: (xs, up) => R.zipGrad(xs, up, [deriv]), sample: 64, gatol: 2e-4, grtol: 2e-3});
    }));
  }
}

// Binary ops with broadcasting corners: same shape, row/col vectors, scalar, leading dims, batch 1.
type Partial = (a: number, b: number) => number;
/** maximum / minimum: the winner's partial is 1, a tie gives each side half (torch). */
const share = (wins: boolean, tie: boolean) => (wins ? 1 : tie ? 0.5 : 0);
const binary: [string, (a: wt.Tensor, b: wt.Tensor) => wt.Tensor, (a: number, b: number) => number, [Partial, Partial]][] = [
  ['add', wt.add, (a, b) => a + b, [() => 1, () => 1]],
  ['sub', wt.sub, (a, b) => a - b, [() => 1, () => -1]],
  ['mul', wt.mul, (a, b) => a * b, [(_, b) => b, (a) => a]],
  ['div', wt.div, (a, b) => a / b, [(_, b) => 1 / b, (a, b) => -a / (b * b)]],
  ['pow', wt.pow, (a, b) => a ** b, [(a, b) => b * a ** (b - 1), (a, b) => a ** b * Math.log(a)]],
  ['maximum', wt.maximum, Math.max, [(a, b) => share(a > b, a === b), (a, b) => share(b > a, a === b)]],
  ['minimum', wt.minimum, Math.min, [(a, b) => share(a < b, a === b), (a, b) => share(b < a, a === b)]],
];
// The last five broadcast b as one value per run of elements (channel4 where a run is a multiple of 4 long): a
// per-output-channel scale of conv weights (runs of 72; of 45, not a multiple of 4), a per-channel bias cycling over
// images, a single value, and a middle block of dimensions.
const shapes: [number[], number[]][] = [[[5, 9], [5, 9]], [[6, 8], [6, 8]], [[5, 9], [1, 9]], [[5, 9], [5, 1]], [[5, 9], [1]], [[2, 3, 5], [5]], [[1, 1], [4, 1, 3]], [[257, 33], [33]],
  [[4, 8, 3, 3], [4, 1, 1, 1]], [[6, 5, 3, 3], [6, 1, 1, 1]], [[2, 3, 4, 5], [3, 1, 1]], [[2, 4], [1]], [[2, 3, 4, 8], [3, 4, 1]]];
for (const [name, f, ref, partials] of binary) {
  for (const [sa, sb] of shapes) {
    t(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, async () => {
      const a = name === 'pow' ? R.randomNd(sa, 3, 0.5, 2) : R.randomNd(sa, 3, -2, 2);
      const b = name === 'div' || name === 'pow' ? R.randomNd(sb, 4, 0.5, 2) : R.randomNd(sb, 4, -2, 2);
      await checkOp({name, inputs: [a, b], gpu: ([x, y]) => f(x, y), ref: ([x, y]) => R.zip([x, y], ref), refGrad: (xs, up) => R.zipGrad(xs, up, partials), sample: 48, gatol: 3e-4, grtol: 2e-3});
    });
  }
}

t('a per-channel operand runs as channel4 where its runs are whole vec4s, by strides where not', () => {
  const variantOf = (sa: number[], sb: number[]) => {
    const ran = wt.internals.recordCases(() => wt.tidy(() => { wt.mul(wt.zeros(sa), wt.zeros(sb)); }));
    const c = ran.find((r) => r.family.name === 'elementwise')!;
    return wt.internals.chooseVariant(c.family, c.c);
  };
  assert.is(variantOf([4, 8, 3, 3], [4, 1, 1, 1]), 'channel4');
  assert.is(variantOf([2, 3, 4, 8], [3, 4, 1]), 'channel4');
  assert.is(variantOf([6, 5, 3, 3], [6, 1, 1, 1]), 'main');
  assert.is(variantOf([5, 9], [1, 9]), 'main');
});

// Past TEXTURE_MIN_FLOATS the vec4 entries read their first operand through the staging texture on llvmpipe.
t('large vec4 operands (relu, add, a per-channel product) against the reference', async () => {
  const a = R.randomNd([300, 256], 21, -2, 2), b = R.randomNd([300, 256], 22, -2, 2), c = R.randomNd([300, 1], 23, -2, 2);
  const [ta, tb, tc] = [a, b, c].map((x) => wt.tensor(Float32Array.from(x.data), x.shape));
  const [relu, sum, scaled] = [wt.relu(ta), wt.add(ta, tb), wt.mul(ta, tc)];
  expectClose(await relu.data(), a.data.map((v) => Math.max(v, 0)), 0, 0, 'relu');
  expectClose(await sum.data(), a.data.map((v, i) => v + b.data[i]), 1e-6, 1e-6, 'add');
  expectClose(await scaled.data(), a.data.map((v, i) => v * c.data[Math.floor(i / 256)]), 1e-6, 1e-6, 'channel product');
  for (const x of [ta, tb, tc, relu, sum, scaled]) x.dispose();
});

t('where broadcasts condition and operands', async () => {
  const c = R.nd([4, 1], [1, 0, 1, 0]);
  const a = R.randomNd([4, 6], 5), b = R.randomNd([6], 6);
  await checkOp({name: 'where', inputs: [c, a, b], gradOf: [1, 2], gpu: ([cc, x, y]) => wt.where(cc, x, y), ref: ([cc, x, y]) => R.zip([cc, x, y], (q, u, v) => (q ? u : v))});
});

t('scalar operands and comparisons', async () => {
  const x = wt.tensor([1, -2, 3.5], [3]);
  expectClose(await wt.add(x, 1).data(), [2, -1, 4.5], 0, 0, 'x + 1');
  expectClose(await wt.div(wt.sub(wt.mul(x, 2), 1), 4).data(), [0.25, -1.25, 1.5], 1e-6, 0, '(2x - 1) / 4');
  const m = await wt.gt(x, wt.tensor([0], [1])).data();
  if (Array.from(m).join() !== '1,0,1') throw new Error(`gt gave ${m}`);
  const p = await wt.pow(wt.tensor([-2, -8, 4], [3]), 3).data();
  if (Array.from(p).join() !== '-8,-512,64') throw new Error(`pow of negative base by 3 gave ${p}`);
  const nan = await wt.pow(wt.tensor([-2], [1]), 0.5).data();
  if (!Number.isNaN(nan[0])) throw new Error('pow(-2, 0.5) should be NaN');
});

// Derivative conventions at single points, as torch: exact values, independent of finite differences.
const gradOf = async (x: wt.Tensor) => Array.from(await x.grad!.data());

t('pow(x, 0) has gradient 0 everywhere, x = 0 and -0 included (not 0 * x^-1 = NaN)', async () => {
  const x = wt.tensor([0, -0, 2, -3], [4], {requiresGrad: true});
  wt.sum(wt.pow(x, 0)).backward();
  assert.equal(await gradOf(x), [0, 0, 0, 0]);
});

t('pow(x, e), tensor e: d/dx 0 where e = 0; d/de 0 at x = 0 for e >= 0, -inf for e < 0, NaN for x < 0', async () => {
  const x = wt.tensor([0, 0, 0, 0, -0, -2, 1], [7], {requiresGrad: true});
  const e = wt.tensor([0, 0.5, 2, -1, 0, 2, 0.5], [7], {requiresGrad: true});
  wt.sum(wt.pow(x, e)).backward();
  assert.equal(await gradOf(x), [0, Infinity, 0, -Infinity, 0, -4, 0.5]);
  assert.equal(await gradOf(e), [0, 0, 0, -Infinity, 0, NaN, 0]);
});

t('maximum and minimum split the gradient at ties: 0.5 to each side (a NaN side gives both all of it)', async () => {
  for (const [op, winsA] of [[wt.maximum, [0.5, 1, 0, 1]], [wt.minimum, [0.5, 0, 1, 1]]] as const) {
    const a = wt.tensor([1, 2, 3, NaN], [4], {requiresGrad: true});
    const b = wt.tensor([1, 0, 5, 1], [4], {requiresGrad: true});
    wt.sum(op(a, b)).backward();
    assert.equal(await gradOf(a), winsA);
    assert.equal(await gradOf(b), winsA.map((w, i) => (i === 3 ? 1 : 1 - w)));
  }
  // Broadcast: b's gradient sums its halves over the rows.
  const a = wt.tensor([2, 2, 2, 5], [2, 2], {requiresGrad: true}), b = wt.tensor([2, 3], [2], {requiresGrad: true});
  wt.sum(wt.maximum(a, b)).backward();
  assert.equal(await gradOf(a), [0.5, 0, 0.5, 1]);
  assert.equal(await gradOf(b), [1, 1]);
});

t('more than 65,535 workgroups: the grid folds into 2-D and every element is still visited once', async () => {
  const n = 65535 * 256 + 4097; // past one grid dimension of 256-thread workgroups
  const x = wt.rand([n], {seed: 4});
  const y = wt.internals.affine(x, 2, 1);
  const [xv, yv] = [await x.data(), await y.data()];
  let bad = -1;
  for (let i = 0; i < n; i++) if (Math.abs(yv[i] - (2 * xv[i] + 1)) > 1e-6) { bad = i; break; }
  assert.is(bad, -1, `first wrong element ${bad}`);
  // and a reduction with more than 65,535 * 64 outputs
  const rows = 65535 * 64 + 333;
  const s = await wt.sum(wt.reshape(wt.ones([rows * 2]), [rows, 2]), 1).data();
  assert.ok(s.length === rows && s.every((v) => v === 2));
  [x, y].forEach((t) => t.dispose());
});

t('shape errors name the op and shapes', () => {
  const a = wt.zeros([2, 3]), b = wt.zeros([4]);
  let msg = '';
  try { wt.add(a, b); } catch (e) { msg = (e as Error).message; }
  if (!/add: shapes \[2, 3\] and \[4\] do not broadcast/.test(msg)) throw new Error(`unexpected message: ${msg}`);
});

t.run();
