import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('reduce');
// Axes: one, several adjacent, non-adjacent, all; shapes with odd sizes, batch 1 and large cases.
const cases: [number[], number[] | undefined][] = [
  [[7, 13], [1]], [[7, 13], [0]], [[3, 5, 7], [1]], [[3, 5, 7], [0, 2]], [[2, 3, 4, 5], [1, 2]],
  [[2, 3, 4, 5], [0, 3]], [[1, 9], undefined], [[1], [0]], [[130, 1031], [1]], [[4097], undefined],
  // Around kept axes (a conv's bias gradient): rows of vec4s; LeNet's conv1 at batch 16; past llvmpipe's loop limit.
  [[5, 3, 8], [0, 2]], [[16, 6, 24, 24], [0, 2, 3]], [[20000, 3, 1], [0, 2]],
];
for (const [shape, axes] of cases) {
  const all = axes ?? shape.map((_, i) => i);
  const tag = `${JSON.stringify(shape)} axes ${JSON.stringify(axes ?? 'all')}`;
  // d(sum)/dx broadcasts the upstream gradient back over the reduced axes; mean divides it by the count.
  const kept = shape.map((d, i) => (all.includes(i) ? 1 : d));
  const count = all.reduce((a, i) => a * shape[i], 1);
  const back = (x: R.Nd, up: R.Nd, scale: number) => R.zip([x, {shape: kept, data: up.data}], (_, u) => u * scale);
  t(`sum ${tag}`, () => checkOp({name: 'sum', inputs: [R.randomNd(shape, 1)], gpu: ([x]) => wt.sum(x, axes), ref: ([x]) => R.sum(x, all), refGrad: ([x], up) => [back(x, up, 1)], atol: 1e-4, sample: 64}));
  t(`mean ${tag}`, () => checkOp({name: 'mean', inputs: [R.randomNd(shape, 2)], gpu: ([x]) => wt.mean(x, axes), ref: ([x]) => R.mean(x, all), refGrad: ([x], up) => [back(x, up, 1 / count)], sample: 64}));
  t(`max ${tag}`, () => checkOp({name: 'max', inputs: [R.distinct(shape, 3)], gpu: ([x]) => wt.max(x, axes), ref: ([x]) => R.max(x, all), sample: 64}));
}

// Every reduction kernel on the cases above, forced ('auto' is the chunked one on CPU adapters): a workgroup tree
// per output, and subgroup sums where the adapter has the feature (SwiftShader: yes; llvmpipe: no).
const forced: wt.internals.KernelPrefs['reduce'][] = ['tree', 'subgroup'];
for (const reduce of forced) {
  for (const [shape, axes] of cases) {
    const all = axes ?? shape.map((_, i) => i);
    const tag = `reduce '${reduce}': ${JSON.stringify(shape)} axes ${JSON.stringify(axes ?? 'all')}`;
    t(`sum, mean, max, min ${tag}`, () => wt.internals.withKernelPrefs({reduce}, async () => {
      const x = R.distinct(shape, 5);
      const neg = (v: R.Nd): R.Nd => ({shape: v.shape, data: v.data.map((e) => -e)});
      const min = (v: R.Nd, a: number[]) => neg(R.max(neg(v), a));
      for (const [op, ref] of [['sum', R.sum], ['mean', R.mean], ['max', R.max], ['min', min]] as const) {
        await checkOp({name: `${op} (${reduce})`, inputs: [x], gpu: ([v]) => wt[op](v, axes), ref: ([v]) => ref(v, all),
          atol: 1e-4, sample: 64, gradOf: []});
      }
    }));
  }
}

t('keepDim and negative axes', async () => {
  const x = R.randomNd([2, 3, 4], 7);
  await checkOp({name: 'sum keepDim', inputs: [x], gpu: ([a]) => wt.sum(a, -1, true), ref: ([a]) => ({shape: [2, 3, 1], data: R.sum(a, [2]).data})});
});

t('max splits the gradient among ties', async () => {
  const x = wt.tensor([1, 3, 3, 2], [4], {requiresGrad: true});
  wt.max(x).backward();
  assert.equal(Array.from(await x.grad!.data()), [0, 0.5, 0.5, 0]);
});

t('axes [] reduce every axis (torch\'s dim=[]), like no axes: shape [] (keepDim: all 1), gradient', async () => {
  const x = wt.tensor([1, 2, 3, 4, 5, 6], [2, 3], {requiresGrad: true});
  const s = wt.sum(x, []), m = wt.mean(x, []);
  assert.equal([s.shape, m.shape], [wt.sum(x).shape, []]);
  assert.equal([await s.item(), await m.item()], [21, 3.5]);
  assert.equal([await wt.max(x, []).item(), await wt.min(x, []).item()], [6, 1]);
  const kept = wt.sum(x, [], true);
  assert.equal(kept.shape, [1, 1]);
  assert.equal(Array.from(await kept.data()), [21]);
  wt.add(s, wt.mul(m, 6)).backward();
  assert.equal(Array.from(await x.grad!.data()), [2, 2, 2, 2, 2, 2]);
});

t('argmax picks the first maximum', async () => {
  const x = wt.tensor([1, 5, 5, 2, 9, 0, 0, 9, -1], [3, 3]);
  assert.equal(Array.from(await wt.argmax(x, 1).data()), [1, 1, 1]);
  assert.equal(Array.from(await wt.argmax(x, 0).data()), [1, 1, 0]);
  const big = R.distinct([3, 1001], 4);
  const got = await wt.argmax(wt.tensor(Float32Array.from(big.data), [3, 1001]), 1).data();
  for (let r = 0; r < 3; r++) {
    const row = Array.from(big.data.slice(r * 1001, (r + 1) * 1001));
    assert.is(got[r], row.indexOf(Math.max(...row)));
  }
});

t('axis errors are clear', () => {
  assert.throws(() => wt.sum(wt.zeros([2, 3]), 2), /sum: axis 2 out of range for rank 2/);
});

// An axis of 70,000: past the ~65,535 loop iterations llvmpipe runs in one thread (it stops them short, silently), so
// the axis is split into runs. The first maximum across runs (a tie later keeps the earlier index), NaN first, and a
// middle axis (inner 3).
t('argmax over an axis of 70,000: first maximum across runs, first NaN, middle axis', async () => {
  const r = 70000, a = new Float32Array(2 * r);
  for (let j = 0; j < r; j++) { a[j] = Math.sin(j); a[r + j] = Math.cos(j); }
  a[50000] = 5; a[69995] = 5; a[r + 69990] = 7; a[r + 60000] = NaN; a[r + 65000] = NaN;
  assert.equal(Array.from(await wt.argmax(wt.tensor(a, [2, r]), 1).data()), [50000, 60000]);
  const m = new Float32Array(r * 3);
  for (let j = 0; j < r; j++) for (let k = 0; k < 3; k++) m[j * 3 + k] = Math.sin(j * 3 + k);
  m[66001 * 3 + 0] = 2; m[4097 * 3 + 1] = 2; m[69999 * 3 + 2] = 2;
  assert.equal(Array.from(await wt.argmax(wt.tensor(m, [1, r, 3]), 1).data()), [66001, 4097, 69999]);
});

// Max and min over an axis of 66,000 with 256 outputs (enough threads without splitting the axis): one thread's loop
// would pass llvmpipe's limit, so the axis goes in chunks there. Each row's extreme sits at its end.
t('max and min over an axis of 66,000 with 256 outputs: chunked where loops are limited', async () => {
  const rows = 256, r = 66000, a = new Float32Array(rows * r);
  for (let i = 0; i < rows; i++) for (let j = 0; j < r; j++) a[i * r + j] = (j * 7 + i) % 1000;
  for (let i = 0; i < rows; i++) { a[i * r + r - 1] = 2000 + i; a[i * r + r - 2] = -1 - i; }
  const x = wt.tensor(a, [rows, r]);
  const [mx, mn] = [await wt.max(x, 1).data(), await wt.min(x, 1).data()];
  for (let i = 0; i < rows; i++) {
    assert.is(mx[i], 2000 + i, `max of row ${i}`);
    assert.is(mn[i], -1 - i, `min of row ${i}`);
  }
  x.dispose();
});

t.run();
