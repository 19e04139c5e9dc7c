// Property tests: random shapes (empty ones included) and random values (NaN, +-Inf, +-0 included)
// for the elementwise, reduction, softmax, matmul and layout ops against the float64 references of
// test/lib/reference.ts. fast-check runs them seeded (reproducible: a failure prints its seed and the shrunk
// counterexample) with a bounded number of runs, so the file stays within seconds on a CPU adapter.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as wt from '../src/index.js';
import * as R from './lib/reference.js';

const t = suite('properties (fast-check)');
const SEED = Number(process.env.WGT_PROPERTY_SEED ?? 20261129);
const RUNS = Number(process.env.WGT_PROPERTY_RUNS ?? 150);
const opts = {seed: SEED, numRuns: RUNS, includeErrorInReport: true};

// Values: mostly float32 numbers in [-8, 8], sometimes a special one. Subnormals become 0: CPU adapters flush
// them (as GPUs commonly do), which PyTorch on a CPU does not.
const special = fc.constantFrom(NaN, Infinity, -Infinity, 0, -0);
const finite = fc.float({min: -8, max: 8, noNaN: true, noDefaultInfinity: true}).map((v) => (Math.abs(v) < 1e-30 ? 0 : v));
const value = fc.oneof({weight: 12, arbitrary: finite}, {weight: 1, arbitrary: special});
const shape = fc.array(fc.integer({min: 0, max: 5}), {minLength: 0, maxLength: 3});
const filled = (s: number[], v = value) => fc.array(v, {minLength: R.size(s), maxLength: R.size(s)}).map((d) => R.nd(s, d));
const ndArb = shape.chain((s) => filled(s));

/** NaN matches NaN, an infinity itself, finite values within atol + rtol |want| (float32 kernel, float64 ref). */
function compare(got: ArrayLike<number>, want: ArrayLike<number>, atol = 1e-5, rtol = 1e-4): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = Math.fround(want[i]);
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) return `element ${i}: got ${g}, expected ${w}`;
  }
  return null;
}

/** Runs `make` on fresh input tensors, reads its output and frees everything. */
async function run(inputs: R.Nd[], make: (xs: wt.Tensor[]) => wt.Tensor, intInputs: number[] = []): Promise<{shape: number[]; data: Float32Array | Int32Array}> {
  const out = wt.tidy(() => make(inputs.map((x, i) => wt.tensor(Float32Array.from(x.data), x.shape, {dtype: intInputs.includes(i) ? 'i32' : 'f32'}))));
  const data = await out.data();
  const s = [...out.shape];
  out.dispose();
  return {shape: s, data};
}

async function check(name: string, inputs: R.Nd[], make: (xs: wt.Tensor[]) => wt.Tensor, ref: (xs: R.Nd[]) => R.Nd, atol?: number, rtol?: number, intInputs?: number[]): Promise<void> {
  const got = await run(inputs, make, intInputs);
  const want = ref(inputs);
  assert.equal(got.shape, want.shape, `${name}: output shape`);
  const bad = compare(got.data, want.data, atol, rtol);
  if (bad) throw new Error(`${name} on ${inputs.map((x) => `[${x.shape}] ${JSON.stringify(Array.from(x.data).map(String))}`).join(' and ')}: ${bad}`);
}

// torch's answers written out where JS's Math differs (relu and clamp propagate NaN; Math.max does already).
const relu = (v: number) => (Number.isNaN(v) ? v : Math.max(v, 0));
const UNARY: [string, (x: wt.Tensor) => wt.Tensor, (v: number) => number][] = [
  ['neg', wt.neg, (v) => -v], ['abs', wt.abs, Math.abs], ['square', wt.square, (v) => v * v],
  ['relu', wt.relu, relu], ['leakyRelu', (x) => wt.leakyRelu(x, 0.1), (v) => (v > 0 || Number.isNaN(v) ? v : 0.1 * v)],
  ['exp', wt.exp, Math.exp], ['log', wt.log, Math.log], ['sqrt', wt.sqrt, Math.sqrt],
  ['tanh', wt.tanh, Math.tanh], ['sigmoid', wt.sigmoid, (v) => 1 / (1 + Math.exp(-v))],
  ['clamp', (x) => wt.clamp(x, -1, 2), (v) => (Number.isNaN(v) ? v : Math.min(2, Math.max(-1, v)))],
  ['affine', (x) => wt.internals.affine(x, 2.5, -1), (v) => 2.5 * v - 1],
];

t('elementwise unary ops', async () => {
  await fc.assert(fc.asyncProperty(fc.integer({min: 0, max: UNARY.length - 1}), ndArb, async (k, x) => {
    const [name, f, ref] = UNARY[k];
    await check(name, [x], ([a]) => f(a), ([a]) => R.map(a, ref));
  }), opts);
});

// Two shapes that broadcast: b is a with some dims set to 1 and some leading dims dropped.
const broadcastPair = shape.chain((a) => fc.tuple(fc.constant(a), fc.array(fc.boolean(), {minLength: a.length, maxLength: a.length}), fc.integer({min: 0, max: a.length})))
  .map(([a, ones, drop]) => [a, a.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as [number[], number[]])
  .chain(([sa, sb]) => fc.tuple(filled(sa), filled(sb)).map(([x, y]) => (sa.length % 2 ? [y, x] : [x, y]) as [R.Nd, R.Nd]));

const BINARY: [string, (a: wt.Tensor, b: wt.Tensor) => wt.Tensor, (a: number, b: number) => number][] = [
  ['add', wt.add, (a, b) => a + b], ['sub', wt.sub, (a, b) => a - b], ['mul', wt.mul, (a, b) => a * b],
  ['div', wt.div, (a, b) => a / b], ['maximum', wt.maximum, Math.max], ['minimum', wt.minimum, Math.min],
  ['gt', wt.gt, (a, b) => +(a > b)], ['lt', wt.lt, (a, b) => +(a < b)], ['ge', wt.ge, (a, b) => +(a >= b)],
  ['eq', wt.eq, (a, b) => +(a === b)],
];

t('elementwise binary ops with broadcasting', async () => {
  await fc.assert(fc.asyncProperty(fc.integer({min: 0, max: BINARY.length - 1}), broadcastPair, async (k, [a, b]) => {
    const [name, f, ref] = BINARY[k];
    await check(name, [a, b], ([x, y]) => f(x, y), ([x, y]) => R.zip([x, y], ref));
  }), opts);
});

// A tensor of rank >= 1 and a non-empty subset of its axes.
const withAxes = fc.array(fc.integer({min: 0, max: 5}), {minLength: 1, maxLength: 3})
  .chain((s) => fc.tuple(filled(s), fc.subarray(s.map((_, i) => i), {minLength: 1})));

t('reductions: sum, mean, max, min over random axes', async () => {
  const kinds = ['sum', 'mean', 'max', 'min'] as const;
  await fc.assert(fc.asyncProperty(fc.constantFrom(...kinds), withAxes, async (kind, [x, axes]) => {
    const count = axes.reduce((a, i) => a * x.shape[i], 1);
    if ((kind === 'max' || kind === 'min') && count === 0) {
      assert.throws(() => wt.tidy(() => wt[kind](wt.tensor(Float32Array.from(x.data), x.shape), axes)), /reduction over an empty axis/);
      return;
    }
    const ref = (xs: R.Nd[]) => kind === 'max' ? R.reduce(xs[0], axes, Math.max, -Infinity)
      : kind === 'min' ? R.reduce(xs[0], axes, Math.min, Infinity) : kind === 'sum' ? R.sum(xs[0], axes) : R.mean(xs[0], axes);
    // Sums round once per term in float32: the tolerance scales with the magnitude summed.
    const scale = Math.max(1, ...Array.from(x.data).filter(Number.isFinite).map(Math.abs)) * Math.max(1, count);
    await check(kind, [x], ([a]) => wt[kind](a, axes), ref, 1e-6 * scale, 1e-4);
  }), opts);
});

t('softmax and logSoftmax along a random axis', async () => {
  const arb = fc.array(fc.integer({min: 0, max: 5}), {minLength: 1, maxLength: 3})
    .chain((s) => fc.tuple(filled(s), fc.integer({min: 0, max: s.length - 1}), fc.boolean()));
  await fc.assert(fc.asyncProperty(arb, async ([x, axis, log]) => {
    await check(log ? 'logSoftmax' : 'softmax', [x], ([a]) => (log ? wt.logSoftmax(a, axis) : wt.softmax(a, axis)), ([a]) => R.softmax(a, axis, log), 2e-5, 2e-4);
  }), opts);
});

t('matmul: random sizes (0 included), batches, NaN/Inf', async () => {
  const dims = fc.tuple(fc.integer({min: 0, max: 3}), fc.integer({min: 0, max: 9}), fc.integer({min: 0, max: 9}), fc.integer({min: 0, max: 9}));
  const arb = dims.chain(([batch, m, k, n]) => {
    const sa = batch ? [batch, m, k] : [m, k], sb = batch ? [batch, k, n] : [k, n];
    return fc.tuple(filled(sa), filled(sb));
  });
  await fc.assert(fc.asyncProperty(arb, async ([a, b]) => {
    const k = a.shape[a.shape.length - 1];
    await check('matmul', [a, b], ([x, y]) => wt.matmul(x, y), ([x, y]) => R.matmul(x, y), 1e-5 * 64 * Math.max(1, k), 1e-4);
  }), opts);
});

t('layout: permute, transpose, slice, concat, expand, gather copy values exactly (NaN and Inf too)', async () => {
  const arb = fc.array(fc.integer({min: 0, max: 4}), {minLength: 1, maxLength: 4}).chain((s) => fc.tuple(
    filled(s),
    fc.shuffledSubarray(s.map((_, i) => i), {minLength: s.length, maxLength: s.length}),
    fc.tuple(...s.map((d) => fc.tuple(fc.integer({min: 0, max: d}), fc.integer({min: 0, max: d})))),
    fc.integer({min: 0, max: s.length - 1}),
    fc.array(fc.integer({min: 0, max: 9}), {maxLength: 5}),
  ));
  await fc.assert(fc.asyncProperty(arb, async ([x, dims, bounds, axis, picks]) => {
    await check('permute', [x], ([a]) => wt.permute(a, dims), ([a]) => R.permute(a, dims), 0, 0);
    if (x.shape.length >= 2) {
      const d = x.shape.map((_, i) => i);
      [d[d.length - 2], d[d.length - 1]] = [d[d.length - 1], d[d.length - 2]];
      await check('transpose', [x], ([a]) => wt.transpose(a), ([a]) => R.permute(a, d), 0, 0);
    }
    const starts = bounds.map(([p, q]) => Math.min(p, q)), ends = bounds.map(([p, q]) => Math.max(p, q));
    await check('slice', [x], ([a]) => wt.slice(a, starts, ends), ([a]) => R.slice(a, starts, ends), 0, 0);
    const sliced = R.slice(x, starts, ends);
    await check('concat', [x, sliced].filter((v) => v.shape.every((dd, i) => i === axis || dd === x.shape[i])),
      (ts) => wt.concat(ts, axis), (ns) => R.concat(ns, axis), 0, 0);
    const target = [2, ...x.shape];
    await check('expand', [x], ([a]) => wt.expand(a, target), ([a]) => R.zip([a, R.nd(target)], (v) => v), 0, 0);
    const n = x.shape[axis];
    const idx = n ? picks.map((p) => p % n) : [];
    await check('gather', [x, R.nd([idx.length], idx)], ([a, i]) => wt.gather(a, i, axis), ([a]) => R.gather(a, idx, axis), 0, 0, [1]);
  }), opts);
});

t.run();
