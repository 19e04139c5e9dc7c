import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp, expectClose, toTensor} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('matmul');
// Shapes off the 4x8 register tile and the 64x64 workgroup tile, N % 4 == 0 (vec4 path) and not, batch 1.
const cases: [number[], number[]][] = [
  [[1, 1], [1, 1]], [[1, 7], [7, 1]], [[5, 3], [3, 8]], [[13, 17], [17, 19]], [[33, 64], [64, 12]],
  [[2, 5, 6], [2, 6, 7]], [[3, 4, 9], [9, 8]], [[1, 9, 5], [1, 5, 4]], [[67, 130], [130, 65]],
];
// Every variant runs on every case, whatever the adapter would pick (the tiled ones are the hardware-GPU path).
for (const variant of ['auto', 'tiled', 'tiled128', 'vec4', 'reg', 'small'] as const) for (const [sa, sb] of cases) {
  const K = sa[sa.length - 1];
  t(`matmul[${variant}] ${JSON.stringify(sa)} @ ${JSON.stringify(sb)}`, () => withMatmul(variant, () => checkOp({
    name: 'matmul', refKey: '', inputs: [R.randomNd(sa, 21), R.randomNd(sb, 22)],
    gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b),
    refGrad: sa.length === 2 && sb.length === 2 ? ([a, b], up) => R.matmulGrad(a, b, up) : undefined,
    atol: 2e-6 * K + 1e-5, sample: 40, gatol: 2e-5 * K + 1e-4,
  })));
}

const withMatmul = (v: wt.internals.KernelPrefs['matmul'], f: () => Promise<void>): Promise<void> =>
  wt.internals.withKernelPrefs({matmul: v}, f);

for (const variant of ['tiled', 'tiled128', 'vec4'] as const) {
  t(`matmul[${variant}] large 130x200 @ 200x132, forward only`, () => withMatmul(variant, () => checkOp({
    name: 'matmul large', inputs: [R.randomNd([130, 200], 25), R.randomNd([200, 132], 26)], gradOf: [],
    gpu: ([x, y]) => wt.matmul(x, y), ref: ([x, y]) => R.matmul(x, y), atol: 1e-3,
  })));
}

// K past 65,535: llvmpipe stops a thread's loop over K short there (matmulK splits K); the scalar-K kernels, plain and
// with A transposed.
for (const [variant, tile] of [['reg', 'auto'], ['vec4', 'fixed'], ['small', 'auto']] as const) for (const trans of [false, true]) {
  t(`matmul[${variant}] K = 70,000${trans ? ', A transposed' : ''}, forward only`, () => wt.internals.withKernelPrefs(
    {matmul: variant, matmulTile: tile}, () => checkOp({
      name: 'matmul long K', inputs: [R.randomNd(trans ? [70000, 4] : [4, 70000], 29), R.randomNd([70000, 8], 30)],
      gradOf: [], gpu: ([x, y]) => wt.matmul(trans ? wt.transpose(x, 0, 1) : x, y),
      ref: ([x, y]) => R.matmul(trans ? R.transpose2(x) : x, y), atol: 2e-3,
    })));
}

for (const variant of ['auto', 'tiled', 'tiled128', 'reg', 'small'] as const) {
  for (const [rows, inp, out] of [[5, 12, 7], [33, 64, 10], [1, 4, 1], [9, 20, 13]]) {
    t(`matmul[${variant}] A @ B^T via linear [${rows},${inp}] x [${out},${inp}]^T (K % 4 == 0: the nt_vec4 kernel)`, () => withMatmul(variant, () => checkOp({
      name: 'linear nt', refKey: '', inputs: [R.randomNd([rows, inp], 27), R.randomNd([out, inp], 28)],
      gpu: ([x, w]) => wt.linear(x, w), ref: ([x, w]) => R.matmul(x, R.transpose2(w)), atol: 2e-6 * inp + 1e-5, gatol: 2e-5 * inp + 1e-4,
    })));
  }
}

t('matmul large (257x300 @ 300x129), forward only', async () => {
  const a = R.randomNd([257, 300], 23), b = R.randomNd([300, 129], 24);
  await checkOp({name: 'matmul large', inputs: [a, b], gradOf: [], gpu: ([x, y]) => wt.matmul(x, y), ref: ([x, y]) => R.matmul(x, y), atol: 1e-3});
});

for (const [rows, inp, out] of [[1, 3, 2], [7, 9, 12], [64, 256, 120], [5, 84, 10]]) {
  t(`linear x[${rows},${inp}] w[${out},${inp}] + b`, () => checkOp({
    name: 'linear', inputs: [R.randomNd([rows, inp], 31), R.randomNd([out, inp], 32), R.randomNd([out], 33)],
    gpu: ([x, w, b]) => wt.linear(x, w, b),
    ref: ([x, w, b]) => R.zip([R.matmul(x, R.transpose2(w)), b], (u, v) => u + v),
    // y = x W^T + b: dx = R W, dW = R^T x, db = column sums of R
    refGrad: ([x, w], up) => [R.matmul(up, w), R.matmul(R.transpose2(up), x), R.sum(up, [0])],
    atol: 2e-6 * inp + 1e-5, sample: 40, gatol: 2e-5 * Math.max(inp, rows) + 1e-4,
  }));
}

// The uniform-panel kernels (A from storage, and from the staging texture), forced: several windows of K (256 rows each) and a last partial one, a last panel of
// 4 or 36 of its 64 columns, A batched against a shared B, B transposed (linear), and linearRelu's bias + relu
// written with the last window. Shapes it cannot read (K % 4 != 0) fall back to the table.
for (const pref of ['panels', 'panels-texture'] as const) for (const [sa, sb] of [[[37, 600], [600, 68]],
  [[2, 70, 260], [260, 100]], [[9, 512], [512, 4]], [[5, 6], [6, 8]], [[8, 7], [7, 12]]] as [number[], number[]][]) {
  const K = sa[sa.length - 1];
  t(`matmul[${pref}] ${JSON.stringify(sa)} @ ${JSON.stringify(sb)}`, () => withMatmul(pref, () => checkOp({
    name: 'matmul', refKey: '', inputs: [R.randomNd(sa, 43), R.randomNd(sb, 44)],
    gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b),
    refGrad: sa.length === 2 ? ([a, b], up) => R.matmulGrad(a, b, up) : undefined,
    atol: 2e-6 * K + 1e-5, sample: 40, gatol: 2e-5 * K + 1e-4,
  })));
}
for (const pref of ['panels', 'panels-texture'] as const) for (const relu of [false, true]) {
  const op = relu ? 'linearRelu' : 'linear';
  t(`${op}[${pref}] x[70,300] w[72,300] + b: bias and relu with the last window`, () => withMatmul(pref, () => checkOp({
    name: op, refKey: '', inputs: [R.randomNd([70, 300], 45), R.randomNd([72, 300], 46), R.randomNd([72], 47)],
    gpu: ([x, w, b]) => (relu ? wt.internals.linearRelu : wt.linear)(x, w, b),
    ref: ([x, w, b]) => R.zip([R.matmul(x, R.transpose2(w)), b], (u, v) => (relu ? Math.max(u + v, 0) : u + v)),
    atol: 1e-3, sample: 40, gatol: 1e-2,
  })));
}

// The hand-written kernels write bias and relu with the product: forced, on N off and on multiples of 4 (10 and 20
// columns), B^T read in place or copied out, and K long enough for matmul_tiled to sum 4 parts of it (there bias
// and relu run after the parts are added). Where K is summed whole, bias and relu add no dispatch.
for (const pref of ['reg', 'vec4', 'small', 'tiled', 'tiled128'] as const) {
  for (const [rows, inp, out] of [[13, 16, 20], [5, 8, 10], [70, 1100, 12]]) for (const relu of [false, true]) {
    const op = relu ? 'linearRelu' : 'linear';
    t(`${op}[${pref}] x[${rows},${inp}] w[${out},${inp}] + b: bias and relu in the output write`, () => withMatmul(pref,
      async () => {
        const f = (x: wt.Tensor, w: wt.Tensor, b?: wt.Tensor) => (relu ? wt.internals.linearRelu : wt.linear)(x, w, b);
        await checkOp({
          name: op, refKey: '', inputs: [R.randomNd([rows, inp], 55), R.randomNd([out, inp], 56), R.randomNd([out], 57)],
          gpu: ([x, w, b]) => f(x, w, b),
          ref: ([x, w, b]) => R.zip([R.matmul(x, R.transpose2(w)), b], (u, v) => (relu ? Math.max(u + v, 0) : u + v)),
          atol: 2e-6 * inp + 1e-5, sample: 40, gatol: 2e-5 * Math.max(inp, rows) + 1e-4,
        });
        if (inp > 1024) return;
        const x = wt.randn([rows, inp], {seed: 58}), w = wt.randn([out, inp], {seed: 59}), b = wt.randn([out], {seed: 60});
        const r = wt.internals.rt();
        const count = (withBias: boolean) => {
          const d0 = r.stats.dispatches;
          const y = withBias ? f(x, w, b) : relu ? wt.internals.linearRelu(x, w) : wt.linear(x, w);
          y.dispose();
          return r.stats.dispatches - d0;
        };
        assert.is(count(true), count(false), 'dispatches with the bias and without');
        for (const v of [x, w, b]) v.dispose();
      }));
  }
}

t('matmul shape errors name both shapes', () => {
  assert.throws(() => wt.matmul(wt.zeros([2, 3]), wt.zeros([4, 5])), /matmul: f32\[2, 3\] @ f32\[4, 5\]: inner dimensions 3 and 4 differ/);
});


// Every generated register tile the autotuner may pick (src/graph/kernels/matmul/register-tile.ts), forced, on shapes off each
// tile's edges, batched, K % 4 == 0 (A read as vec4 along K) and not (those fall back to matmul_vec4).
{
  const tileCases: [number[], number[]][] = [
    [[5, 4], [4, 8]], [[13, 16], [16, 20]], [[33, 64], [64, 12]], [[2, 5, 8], [2, 8, 12]], [[3, 4, 12], [12, 8]],
    [[9, 7], [7, 16]], [[67, 132], [132, 68]],
    [[12, 16], [16, 8]], // its weight-like gradient A^T @ up (16 x 12 @ 12 x 8) copies A^T to run on the tile
  ];
  const withTile = (tile: wt.internals.KernelPrefs['matmulTile'], f: () => Promise<void>) =>
    wt.internals.withKernelPrefs({matmul: 'vec4', matmulTile: tile}, f);
  // The candidates, and the narrowed tiles 'auto' may run (wt.internals.narrowedTile: a row-lane tile with half its columns).
  const narrowed = wt.internals.MATMUL_CANDIDATES.map((c) => wt.internals.narrowedTile(c, 4))
    .filter((c) => !wt.internals.MATMUL_CANDIDATES.some((d) => wt.internals.tileName(d) === wt.internals.tileName(c)));
  for (const tile of [...wt.internals.MATMUL_CANDIDATES, ...narrowed, 'fixed' as const]) for (const [sa, sb] of tileCases) {
    const K = sa[sa.length - 1];
    const name = typeof tile === 'string' ? tile : wt.internals.tileName(tile);
    t(`matmul[tile ${name}] ${JSON.stringify(sa)} @ ${JSON.stringify(sb)}`, () => withTile(tile, () => checkOp({
      name: 'matmul', refKey: '', inputs: [R.randomNd(sa, 41), R.randomNd(sb, 42)],
      gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b),
      refGrad: sa.length === 2 && sb.length === 2 ? ([a, b], up) => R.matmulGrad(a, b, up) : undefined,
      atol: 2e-6 * K + 1e-5, sample: 40, gatol: 2e-5 * K + 1e-4,
    })));
  }
  // linear and linearRelu put bias (and relu) in the tile's output write: every tile, on a product the tile takes
  // (N % 4 == 0, B^T copied out) and one it does not (5 rows: matmul_nt_vec4, which writes them itself).
  for (const tile of [...wt.internals.MATMUL_CANDIDATES, ...narrowed]) for (const [rows, inp, out] of [[13, 16, 20], [5, 8, 12]]) {
    for (const relu of [false, true]) {
      const op = relu ? 'linearRelu' : 'linear';
      t(`${op}[tile ${wt.internals.tileName(tile)}] x[${rows},${inp}] w[${out},${inp}] + b`, () => withTile(tile, () => checkOp({
        name: op, refKey: '', inputs: [R.randomNd([rows, inp], 34), R.randomNd([out, inp], 35), R.randomNd([out], 36)],
        gpu: ([x, w, b]) => (relu ? wt.internals.linearRelu : wt.linear)(x, w, b),
        ref: ([x, w, b]) => R.zip([R.matmul(x, R.transpose2(w)), b], (u, v) => (relu ? Math.max(u + v, 0) : u + v)),
        atol: 2e-6 * inp + 1e-5, sample: 40, gatol: 2e-5 * Math.max(inp, rows) + 1e-4,
      })));
    }
  }
  // tile_padded: the tile on zero-padded copies where K (a kvec tile) or N is not a multiple of 4, forced on the
  // product (forward) for every tile: odd K and N, operands transposed, batched with one operand shared, and a linear
  // layer's bias and relu in the tile's write (floats where N is padded, vec4s where not). Tolerance: atol
  // 2e-6 * K + 1e-5 against the float64 reference.
  const padded: {name: string; inputs: R.Nd[]; gpu: (t: wt.Tensor[]) => wt.Tensor; ref: (t: R.Nd[]) => R.Nd;
    K: number}[] = [
    {name: '[9, 7] @ [7, 12]', inputs: [R.randomNd([9, 7], 55), R.randomNd([7, 12], 56)], K: 7,
      gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b)},
    {name: '[13, 16] @ [16, 10]', inputs: [R.randomNd([13, 16], 57), R.randomNd([16, 10], 58)], K: 16,
      gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b)},
    {name: '[21, 33]^T @ [29, 21]^T (both transposed)', inputs: [R.randomNd([21, 33], 59), R.randomNd([29, 21], 60)],
      K: 21, gpu: ([a, b]) => wt.matmul(wt.transpose(a, 0, 1), wt.transpose(b, 0, 1)),
      ref: ([a, b]) => R.matmul(R.transpose2(a), R.transpose2(b))},
    {name: '[3, 10, 6] @ [6, 5] (B shared)', inputs: [R.randomNd([3, 10, 6], 61), R.randomNd([6, 5], 62)], K: 6,
      gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b)},
    {name: 'linear x[17, 11] w[7, 11] + b', inputs: [R.randomNd([17, 11], 63), R.randomNd([7, 11], 64),
      R.randomNd([7], 65)], K: 11, gpu: ([x, w, b]) => wt.linear(x, w, b),
    ref: ([x, w, b]) => R.zip([R.matmul(x, R.transpose2(w)), b], (u, v) => u + v)},
    {name: 'linearRelu x[17, 11] w[8, 11] + b', inputs: [R.randomNd([17, 11], 66), R.randomNd([8, 11], 67),
      R.randomNd([8], 68)], K: 11, gpu: ([x, w, b]) => wt.internals.linearRelu(x, w, b),
    ref: ([x, w, b]) => R.zip([R.matmul(x, R.transpose2(w)), b], (u, v) => Math.max(u + v, 0))},
    {name: 'linearRelu x[17, 11] w[6, 11] + b', inputs: [R.randomNd([17, 11], 69), R.randomNd([6, 11], 70),
      R.randomNd([6], 71)], K: 11, gpu: ([x, w, b]) => wt.internals.linearRelu(x, w, b),
    ref: ([x, w, b]) => R.zip([R.matmul(x, R.transpose2(w)), b], (u, v) => Math.max(u + v, 0))},
  ];
  for (const tile of wt.internals.MATMUL_CANDIDATES) {
    t(`matmul[tile_padded, tile ${wt.internals.tileName(tile)}]: odd K and N, transposes, batches, bias and relu`,
      () => withTile(tile, async () => {
        for (const c of padded) {
          const xs = c.inputs.map((a) => toTensor(a));
          const run = () => c.gpu(xs);
          const cases = wt.internals.recordCases(() => wt.tidy(() => { run(); }));
          const mm = cases.find((r) => r.family.name === 'matmul')!;
          const key = mm.family.key(mm.c as never);
          const y = wt.internals.withForcedVariant('matmul', key, 'tile_padded', run);
          const want = c.ref(c.inputs);
          assert.equal(y.shape, want.shape, c.name);
          expectClose(await y.data(), want.data, 2e-6 * c.K + 1e-5, 0, `${c.name} (${key}) as tile_padded`);
          y.dispose();
          for (const x of xs) x.dispose();
        }
      }));
  }
  // B's gradient A^T @ dY [130, 67] x [67, 65] on every tile: past PADDED_MIN, so tile_padded copies A^T out, in rows
  // of whole vec4s even where the tile reads A along K by scalars (K = 67). Tolerance atol 2e-6 * 67 + 1e-5.
  t('matmul backward: A^T @ dY with K = 67 and N = 65 on every tile (tile_padded where taken)', async () => {
    const a = R.randomNd([67, 130], 74), b = R.randomNd([130, 65], 75), r = R.randomNd([67, 65], 76);
    const want = R.matmul(R.transpose2(a), r);
    for (const tile of wt.internals.MATMUL_CANDIDATES) {
      await wt.internals.withKernelPrefs({matmulTile: tile}, async () => {
        const at = toTensor(a, 'f32', true), bt = toTensor(b, 'f32', true), rt = toTensor(r);
        wt.sum(wt.mul(wt.matmul(at, bt), rt)).backward();
        expectClose(await bt.grad!.data(), want.data, 2e-6 * 67 + 1e-5, 0, `dB on ${wt.internals.tileName(tile)}`);
        for (const x of [at, bt, rt]) x.dispose();
      });
    }
  });
  t('linearRelu: NaN passes, as relu(linear(...)), values and gradients', async () => {
    const x = wt.tensor(Float32Array.from([1, 2, NaN, 4, -1, -2, -3, -4, 0, 0, 0, 0, 5, 6, 7, 8, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]), [8, 4]);
    const w = wt.randn([8, 4], {seed: 37, requiresGrad: true}), b = wt.randn([8], {seed: 38, requiresGrad: true});
    const run = async (fused: boolean) => {
      const y = fused ? wt.internals.linearRelu(x, w, b) : wt.relu(wt.linear(x, w, b));
      wt.sum(wt.mul(y, y)).backward();
      const out = {y: Array.from(await y.data()), dw: Array.from(await w.grad!.data()), db: Array.from(await b.grad!.data())};
      w.grad!.dispose(); b.grad!.dispose(); w.grad = null; b.grad = null; y.dispose();
      return out;
    };
    for (const tile of [wt.internals.MATMUL_CANDIDATES[0], 'fixed' as const]) await withTile(tile, async () => {
      const fused = await run(true), apart = await run(false);
      assert.equal(fused, apart);
      assert.ok(fused.y.slice(0, 8).every(Number.isNaN), 'the row with a NaN input is NaN');
    });
    x.dispose(); w.dispose(); b.dispose();
  });
  // linearRelu's backward sums the bias gradient in the dispatch that takes the gradient through the relu, up to
  // RELU_COL_SUMS_MAX_ROWS rows (one thread a column loops over them), and as a reduction of its own past that.
  const maxRows = wt.internals.RELU_COL_SUMS_MAX_ROWS;
  for (const rows of [3, maxRows, maxRows + 1]) {
    t(`linearRelu x[${rows},8] w[12,8] + b: gradients, the bias sum ${rows > maxRows ? 'apart' : 'with the relu\'s'}`,
      async () => {
        await checkOp({
          name: 'linearRelu', refKey: '', inputs: [R.randomNd([rows, 8], 48), R.randomNd([12, 8], 49), R.randomNd([12], 50)],
          gpu: ([x, w, b]) => wt.internals.linearRelu(x, w, b),
          ref: ([x, w, b]) => R.zip([R.matmul(x, R.transpose2(w)), b], (u, v) => Math.max(u + v, 0)),
          atol: 1e-4, sample: 40, gatol: 2e-5 * rows + 1e-4,
        });
        // Only the bias needs a gradient: one dispatch with the relu's; apart, the relu's and a reduction (split in
        // passes over long axes).
        const x = wt.randn([rows, 8], {seed: 51}), w = wt.randn([12, 8], {seed: 52});
        const b = wt.randn([12], {seed: 53, requiresGrad: true}), g = wt.randn([rows, 12], {seed: 54});
        const y = wt.internals.linearRelu(x, w, b);
        const r = wt.internals.rt(), d0 = r.stats.dispatches;
        y.backward(g);
        const d = r.stats.dispatches - d0;
        if (rows > maxRows) assert.ok(d >= 2, `${d} dispatches`); else assert.is(d, 1);
        for (const v of [x, w, b, g, y, b.grad!]) v.dispose();
      });
  }
  t('narrowedTile: half the columns of a row-lane tile where N wastes far fewer, else the tile', () => {
    const [r32c8, r16c2s] = [{rows: 32, cols4: 8, kvec: true, spread: false, wgx: 8, wgy: 1, lanes: 'rows' as const},
      {rows: 16, cols4: 2, kvec: true, spread: true, wgx: 8, wgy: 4}];
    assert.is(wt.internals.tileName(wt.internals.narrowedTile(r32c8, 48)), 'r32c4k4L_8x1');   // 64 columns computed -> 48
    assert.is(wt.internals.tileName(wt.internals.narrowedTile(r32c8, 64)), 'r32c8k4L_8x1');   // no waste
    assert.is(wt.internals.tileName(wt.internals.narrowedTile(r32c8, 800)), 'r32c8k4L_8x1');  // 800 = 25 x 32
    assert.is(wt.internals.tileName(wt.internals.narrowedTile(r16c2s, 84)), 'r16c2k4s_8x4');  // not a row-lane tile: kept
    assert.ok(narrowed.length > 0 && narrowed.every((c) => c.lanes === 'rows'));
  });
  t('shapedTile: the measured tile with the least modeled time, padding counted; unmeasured tiles never', () => {
    // r32c8k4L covers 256 rows x 32 columns per workgroup, r16c4k4s 32 x 128, r8c8k4s 16 x 256.
    const ms = {fixed: 30, r32c8k4L_8x1: 7, r16c4k4s_8x2: 9, r8c8k4s_8x2: 10, unknown_tile: 1};
    const fallback = wt.internals.MATMUL_CANDIDATES[0];
    const pick = (M: number, N: number) => wt.internals.tileName(wt.internals.shapedTile(ms, M, N, fallback));
    assert.is(pick(1024, 1024), 'r32c8k4L_8x1');  // no padding anywhere: the fastest
    assert.is(pick(256, 20736), 'r32c8k4L_8x1');
    // 288 rows: r32c8k4L computes 512 (cost 7 x 512 = 3584 per column), r16c4k4s 288 (9 x 288 = 2592).
    assert.is(pick(288, 256), 'r16c4k4s_8x2');
    // 48 rows: 256 against 64 against 48, columns 800 -> 800, 896, 1024: 7 x 256 x 800 > 9 x 64 x 896 > 10 x 48 x 1024.
    assert.is(pick(48, 800), 'r8c8k4s_8x2');
    assert.is(wt.internals.tileName(wt.internals.shapedTile({}, 288, 256, fallback)), wt.internals.tileName(fallback));  // nothing measured
  });
  t('matmul autotune: each candidate is timed on its own kernel, not on one the table puts first', async () => {
    // 128^3 is past the panels' minimum on llvmpipe and the workgroup tiles' on GPUs, which 'auto' would run.
    const a = wt.randn([128, 128], {seed: 45}), b = wt.randn([128, 128], {seed: 46});
    const I = wt.internals, tiles = I.MATMUL_CANDIDATES;
    for (const tile of ['fixed', tiles[0], tiles[tiles.length - 1]] as const) {
      const p = await I.withKernelPrefs(I.candidatePrefs(tile), () =>
        wt.debug.profile(() => wt.matmul(a, b).dispose(), {steps: 1, warmup: 0}));
      // A generated tile's file may name its write's form after the tile (+looped, where writesInLoops()), and its
      // reads through the staging textures (+tex, where the tables prefer them: llvmpipe before Mesa 26).
      const want = tile === 'fixed' ? 'matmul/vec4:' : `matmul-gen/${I.tileName(tile)}(\\+looped)?(\\+tex)?:`;
      const found = p.rows.some((r) => new RegExp(`^${want}`).test(r.kernel));
      assert.ok(found, `${want} in ${p.rows.map((r) => r.kernel).join(', ')}`);
    }
    a.dispose(); b.dispose();
  });
  t('matmul autotune, fake timer: one product ranks all; the fixed kernel and four finalists get two rounds', async () => {
    const names = wt.internals.MATMUL_CANDIDATES.map((c) => wt.internals.tileName(c));
    // Candidate k takes 10 + k ms; in the timed rounds the fourth takes 20 and the fifth 5, which it does not reach.
    const calls: {candidate: string; runs: number; shape: number[]}[] = [];
    const fake = (fixedMs: number): wt.internals.MatmulTimer => async (c) => {
      calls.push(c);
      if (c.candidate === 'fixed') return fixedMs;
      const k = names.indexOf(c.candidate);
      if (c.runs === 3 && (k === 3 || k === 4)) return k === 3 ? 20 : 5;
      return 10 + k;
    };
    const r = await wt.internals.autotune({size: 96, force: true, persist: false, timer: fake(50)});
    for (const [pick, M] of [[r.large, 96], [r.small, 64]] as const) {
      const mine = calls.filter((c) => c.shape[0] === M);
      const once = mine.filter((c) => c.runs === 1).map((c) => c.candidate);
      assert.equal(once, ['fixed', ...names], 'one product each, in turn');
      const finals = ['fixed', ...names.slice(0, 4)];
      const timed = mine.filter((c) => c.runs === 3).map((c) => c.candidate);
      assert.equal(timed, [...finals, ...finals], 'two rounds of the finalists');
      assert.is(pick.choice, names[0], 'the fastest finalist');
      assert.is(pick.ms[names[0]], 10);
      // shapedTile reads these times: no eliminated tile may look faster than a finalist it lost to.
      assert.is(pick.ms[names[4]], 20, 'an eliminated tile: its one product (14), raised to the slowest finalist');
      assert.is(pick.ms[names[names.length - 1]], 10 + names.length - 1, 'slower than the slowest finalist: its own time');
      assert.is(Object.keys(pick.ms).length, names.length + 1);
    }
    // The fixed kernel keeps the job unless a finalist is at least 3% faster.
    calls.length = 0;
    const close = await wt.internals.autotune({size: 96, force: true, persist: false, timer: fake(10.2)});
    assert.is(close.large.choice, 'fixed');
    await wt.internals.autotune(); // back to this adapter's measured pick (the cache, or a fresh tune)
  });
  t('matmul autotune: picks a candidate or the fixed kernel per shape, and matmul agrees with both picks', async () => {
    const r = await wt.internals.autotune({size: 128, force: true, persist: false});
    for (const pick of [r.large, r.small]) {
      assert.ok(pick.choice === 'fixed' || wt.internals.MATMUL_CANDIDATES.some((c) => wt.internals.tileName(c) === pick.choice), pick.choice);
      assert.ok(Number.isFinite(pick.ms.fixed));
      assert.is(Object.keys(pick.ms).length, wt.internals.MATMUL_CANDIDATES.length + 1);
    }
    assert.equal([r.large.shape, r.small.shape], [[128, 128, 128], [64, 128, 128]]);
    assert.is(r.largeFrom, 65);
    // Rows below largeFrom run on the small pick, from it on the large one.
    for (const M of [20, 64, 65, 100]) {
      await checkOp({name: `matmul tuned, ${M} rows`, inputs: [R.randomNd([M, 32], 43), R.randomNd([32, 24], 44)], gradOf: [],
        gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b), atol: 1e-4});
    }
    await wt.internals.autotune(); // back to this adapter's measured pick (the cache, or a fresh tune)
  });
}
t.run();
