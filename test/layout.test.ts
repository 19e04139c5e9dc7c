import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('layout');
t('permute [2,3,4,5] -> [3,0,2,1]', () => checkOp({name: 'permute', inputs: [R.randomNd([2, 3, 4, 5], 61)], gpu: ([x]) => wt.permute(x, [3, 0, 2, 1]), ref: ([x]) => R.permute(x, [3, 0, 2, 1])}));
t('transpose [1, 7] and [33, 65]', async () => {
  await checkOp({name: 'transpose', inputs: [R.randomNd([1, 7], 62)], gpu: ([x]) => wt.transpose(x), ref: ([x]) => R.transpose2(x)});
  await checkOp({name: 'transpose', inputs: [R.randomNd([33, 65], 63)], gpu: ([x]) => wt.transpose(x), ref: ([x]) => R.transpose2(x), sample: 50});
});
t('fill: every element, sizes with and without a multiple of 4, vec4 stores on and off', async () => {
  for (const vec4 of [true, false]) {
    await wt.internals.withKernelPrefs({elementwiseVec4: vec4}, async () => {
      for (const shape of [[4], [3, 4, 5], [7], [2, 3, 5], [1025, 4]]) {
        // Over a buffer that held other values, so a skipped element shows.
        const junk = wt.add(wt.zeros(shape), 7);
        junk.dispose();
        const x = wt.full(shape, -2.5);
        const v = await x.data();
        assert.ok(v.every((e) => e === -2.5), `full ${JSON.stringify(shape)} vec4 ${vec4}`);
        x.dispose();
      }
    });
  }
});
// The tile's zero-padded operands: every float exact, zeros past the rows and columns, rows read in place starting at
// every alignment (odd row and batch strides: the shifted vec4 loads) and through strides (a transposed source),
// batches, and a source that ends where its buffer does.
t('padRows4K: values and zeros, every alignment, strides, batches', async () => {
  const src = Float32Array.from({length: 3 * 7 * 11}, (_, i) => i + 1);
  const x = wt.tensor(src, [src.length]);
  const cases = [
    {batch: 1, rows: 5, cols: 7, bs: 0, rs: 7, cs: 1, drows: 5, dcols: 8},
    {batch: 4, rows: 2, cols: 5, bs: 5, rs: 21, cs: 1, drows: 3, dcols: 8}, // batches start at offsets 0, 5, 10, 15
    {batch: 2, rows: 6, cols: 9, bs: 61, rs: 10, cs: 1, drows: 8, dcols: 12},
    {batch: 1, rows: 11, cols: 3, bs: 0, rs: 1, cs: 11, drows: 12, dcols: 4}, // a transposed [3, 11]
    {batch: 3, rows: 7, cols: 11, bs: 77, rs: 11, cs: 1, drows: 7, dcols: 12}, // the last row ends the buffer
    {batch: 1, rows: 4, cols: 8, bs: 0, rs: 9, cs: 1, drows: 4, dcols: 8},
  ];
  for (const c of cases) {
    const y = wt.internals.padRows4K(x, c, c.drows, c.dcols);
    const got = await y.data();
    for (let b = 0; b < c.batch; b++) for (let r = 0; r < c.drows; r++) for (let q = 0; q < c.dcols; q++) {
      const want = r < c.rows && q < c.cols ? src[b * c.bs + r * c.rs + q * c.cs] : 0;
      assert.is(got[(b * c.drows + r) * c.dcols + q], want, `${JSON.stringify(c)}: [${b}, ${r}, ${q}]`);
    }
    y.dispose();
  }
  assert.throws(() => wt.internals.padRows4K(x, cases[0], 5, 6), /pad: 5x7 cannot be padded to 5x6/);
  x.dispose();
});
t('reshape is a view and passes gradients', () => checkOp({name: 'reshape', inputs: [R.randomNd([2, 6], 64)], gpu: ([x]) => wt.mul(wt.reshape(x, [3, -1]), wt.tensor([1, 2, 3, 4], [4])), ref: ([x]) => R.zip([{shape: [3, 4], data: x.data}, R.nd([4], [1, 2, 3, 4])], (a, b) => a * b)}));
t('slice [5, 7, 3] [1:4, 2:7, 0:2]', () => checkOp({name: 'slice', inputs: [R.randomNd([5, 7, 3], 65)], gpu: ([x]) => wt.slice(x, [1, 2, 0], [4, 7, 2]), ref: ([x]) => R.slice(x, [1, 2, 0], [4, 7, 2])}));
t('slice with negative bounds', () => checkOp({name: 'slice', inputs: [R.randomNd([6, 4], 66)], gpu: ([x]) => wt.slice(x, [-3], [-1]), ref: ([x]) => R.slice(x, [3, 0], [5, 4])}));
t('concat along axis 1 of three tensors', () => checkOp({
  name: 'concat', inputs: [R.randomNd([2, 3, 4], 67), R.randomNd([2, 1, 4], 68), R.randomNd([2, 5, 4], 69)],
  gpu: (xs) => wt.concat(xs, 1), ref: (xs) => R.concat(xs, 1),
}));
t('concat along axis 0 (batch 1 pieces)', () => checkOp({name: 'concat', inputs: [R.randomNd([1, 5], 70), R.randomNd([1, 5], 71)], gpu: (xs) => wt.concat(xs, 0), ref: (xs) => R.concat(xs, 0)}));
t('expand [3, 1] -> [2, 3, 5]', () => checkOp({name: 'expand', inputs: [R.randomNd([3, 1], 72)], gpu: ([x]) => wt.expand(x, [2, 3, 5]), ref: ([x]) => R.zip([x, R.nd([2, 3, 5])], (a) => a)}));
t('gather rows with repeats (gradient accumulates)', () => checkOp({
  name: 'gather', inputs: [R.randomNd([5, 3], 73), R.nd([4], [4, 0, 4, 2])], intInputs: [1],
  gpu: ([x, i]) => wt.gather(x, i, 0), ref: ([x]) => R.gather(x, [4, 0, 4, 2], 0),
}));
t('gather along axis 1', () => checkOp({name: 'gather', inputs: [R.randomNd([2, 6, 3], 74), R.nd([2], [5, 1])], intInputs: [1], gpu: ([x, i]) => wt.gather(x, i, 1), ref: ([x]) => R.gather(x, [5, 1], 1)}));
t('gather out of range gives NaN', async () => {
  const v = await wt.gather(wt.ones([3, 2]), wt.tensor([3], [1], {dtype: 'i32'})).data();
  assert.ok(Number.isNaN(v[0]) && Number.isNaN(v[1]));
});
t('oneHot', async () => {
  const v = await wt.oneHot(wt.tensor([2, 0], [2], {dtype: 'i32'}), 3).data();
  assert.equal(Array.from(v), [0, 0, 1, 1, 0, 0]);
});
t('dropout: seeded, scaled, same mask in backward', async () => {
  const x = wt.ones([4000], {requiresGrad: true});
  const y = wt.dropout(x, 0.25, true, 7);
  const v = await y.data();
  const kept = Array.from(v).filter((a) => a !== 0);
  assert.ok(kept.every((a) => Math.abs(a - 4 / 3) < 1e-6), 'kept values scaled by 1/(1-p)');
  assert.ok(Math.abs(kept.length / 4000 - 0.75) < 0.03, `keep rate ${kept.length / 4000}`);
  wt.sum(y).backward();
  assert.equal(Array.from(await x.grad!.data()), Array.from(v));
  assert.equal(Array.from(await wt.dropout(wt.ones([4000]), 0.25, true, 7).data()), Array.from(v), 'same seed, same mask');
  assert.is(wt.dropout(x, 0.25, false), x, 'eval mode is the identity');
});
t('rand is seeded and uniform', async () => {
  const a = await wt.rand([10000], {seed: 3}).data();
  const b = await wt.rand([10000], {seed: 3}).data();
  assert.equal(Array.from(a), Array.from(b));
  const m = Array.from(a).reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(m - 0.5) < 0.02 && a.every((v) => v >= 0 && v < 1));
});
// Permutes that are (batched) 2-D transposes run on transpose4 where every size and stride is a multiple of 4 (after
// merging dimensions: NCHW -> NHWC is a batched [C, H*W] transpose), else on transpose_rows where dst's rows are at
// most TRANSPOSE_ROWS_MAX long, else on copy_main; all must agree with the reference, with the kernel preferences
// on and off. [3, 70] -> [70, 3] writes rows of 3; [70, 3] -> [3, 70] rows of 70 (past the bound: copy_main).
for (const transpose4 of [true, false]) for (const transposeRows of [true, false]) {
  t(`permutes that are transposes (transpose4 ${transpose4 ? 'on' : 'off'}, transpose_rows ${transposeRows ? 'on' : 'off'})`, async () => {
    await wt.internals.withKernelPrefs({transpose4, transposeRows}, async () => {
      for (const [shape, dims] of [[[8, 12], [1, 0]], [[3, 8, 12], [0, 2, 1]], [[4, 8, 3, 4], [0, 2, 3, 1]],
        [[12, 1, 8], [2, 1, 0]], [[2, 6, 10], [0, 2, 1]], [[5, 4, 8], [0, 2, 1]], [[3, 70], [1, 0]], [[70, 3], [1, 0]],
        [[4, 6, 1, 25], [0, 3, 2, 1]]] as [number[], number[]][]) {
        await checkOp({name: `permute ${shape} -> ${dims}`, inputs: [R.randomNd(shape, 76)], gpu: ([x]) => wt.permute(x, dims),
          ref: ([x]) => R.permute(x, dims)});
      }
    });
  });
}
// Copies whose innermost dimension runs along both sides in whole vec4s (every other stride and both offsets multiples
// of 4) run on copy_vec4, the rest on copy_main: a slice, a concat into a region, a permute keeping the last axes, a
// broadcast (stride 0), and ones just off (an offset of 2, an inner run of 6, an inner axis of stride 0); with it off
// too.
for (const copyVec4 of [true, false]) {
  t(`strided copies in whole vec4s (copy_vec4 ${copyVec4 ? 'on' : 'off'})`, async () => {
    await wt.internals.withKernelPrefs({copyVec4}, async () => {
      await checkOp({name: 'slice in vec4s', inputs: [R.randomNd([5, 12, 8], 81)],
        gpu: ([x]) => wt.slice(x, [1, 4, 0], [4, 12, 8]), ref: ([x]) => R.slice(x, [1, 4, 0], [4, 12, 8])});
      await checkOp({name: 'slice off vec4s', inputs: [R.randomNd([5, 12, 8], 82)],
        gpu: ([x]) => wt.slice(x, [1, 4, 2], [4, 12, 8]), ref: ([x]) => R.slice(x, [1, 4, 2], [4, 12, 8])});
      await checkOp({name: 'concat in vec4s', inputs: [R.randomNd([2, 3, 8], 83), R.randomNd([2, 5, 8], 84)],
        gpu: (xs) => wt.concat(xs, 1), ref: (xs) => R.concat(xs, 1)});
      await checkOp({name: 'concat of rows of 6', inputs: [R.randomNd([2, 3, 6], 85), R.randomNd([2, 5, 6], 86)],
        gpu: (xs) => wt.concat(xs, 1), ref: (xs) => R.concat(xs, 1)});
      await checkOp({name: 'permute keeping the last two axes', inputs: [R.randomNd([2, 3, 4, 8], 87)],
        gpu: ([x]) => wt.permute(x, [1, 0, 2, 3]), ref: ([x]) => R.permute(x, [1, 0, 2, 3])});
      await checkOp({name: 'expand along the innermost axis', inputs: [R.randomNd([3, 1], 88)],
        gpu: ([x]) => wt.expand(x, [3, 8]), ref: ([x]) => R.zip([x, R.nd([3, 8])], (a) => a)});
      await checkOp({name: 'expand along the outer axes', inputs: [R.randomNd([3, 1, 8], 89)],
        gpu: ([x]) => wt.expand(x, [2, 3, 5, 8]), ref: ([x]) => R.zip([x, R.nd([2, 3, 5, 8])], (a) => a)});
    });
  });
}
t('large cases: permute [32,6,24,24] -> [0,2,3,1], concat, gather of 3000 rows', async () => {
  await checkOp({name: 'permute large', inputs: [R.randomNd([32, 6, 24, 24], 75)], gpu: ([x]) => wt.permute(x, [0, 2, 3, 1]), ref: ([x]) => R.permute(x, [0, 2, 3, 1]), sample: 64});
  await checkOp({name: 'concat large', inputs: [R.randomNd([300, 257], 76), R.randomNd([300, 131], 77)], gpu: (xs) => wt.concat(xs, 1), ref: (xs) => R.concat(xs, 1), sample: 64});
  const idx = Array.from({length: 3000}, (_, i) => (i * 7919) % 1000);
  await checkOp({name: 'gather large', inputs: [R.randomNd([1000, 33], 78), R.nd([3000], idx)], intInputs: [1], gpu: ([x, i]) => wt.gather(x, i, 0), ref: ([x]) => R.gather(x, idx, 0), sample: 64});
});

t('reshape errors name the shapes', () => {
  assert.throws(() => wt.reshape(wt.zeros([2, 3]), [4, 2]), /reshape: cannot view f32\[2, 3\] as \[4, 2\]/);
});

// 70,000 indices: the gradient's kernel loops over every index in each thread, past the ~65,535 iterations llvmpipe
// runs in one (it stops them short, silently); the indices go in runs there. Along axis 1 of [2, 4, 3].
t('gather of 70,000 indices: the gradient counts every one', async () => {
  const m = 70000, x = wt.randn([2, 4, 3], {seed: 8, requiresGrad: true});
  const idx = wt.tensor(Array.from({length: m}, (_, i) => (i * 3) % 4), [m], {dtype: 'i32'});
  const w = wt.randn([2, m, 3], {seed: 9});
  wt.sum(wt.mul(wt.gather(x, idx, 1), w)).backward();
  const [g, wd] = [await x.grad!.data(), await w.data()];
  const want = new Float64Array(24);
  for (let o = 0; o < 2; o++) for (let j = 0; j < m; j++) for (let k = 0; k < 3; k++) want[(o * 4 + (j * 3) % 4) * 3 + k] += wd[(o * m + j) * 3 + k];
  for (let e = 0; e < 24; e++) assert.ok(Math.abs(g[e] - want[e]) <= 1e-2, `element ${e}: got ${g[e]}, want ${want[e]}`);
  for (const v of [x, idx, w]) v.dispose();
  x.grad!.dispose();
});
t.run();
