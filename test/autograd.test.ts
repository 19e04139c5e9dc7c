import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {expectClose} from './lib/check.js';

const t = suite('autograd');
const data = async (x: wt.Tensor) => Array.from(await x.data());

t('shared subgraph accumulates: y = x*x + x*x*x', async () => {
  const x = wt.tensor([0.5, -1, 2], [3], {requiresGrad: true});
  const sq = wt.mul(x, x);
  wt.sum(wt.add(sq, wt.mul(sq, x))).backward();
  expectClose(await x.grad!.data(), [0.5 * 2 + 3 * 0.25, -2 + 3, 4 + 12], 1e-5, 1e-5, 'dy/dx = 2x + 3x^2');
});

t('the same tensor used twice in one op: x * x', async () => {
  const x = wt.tensor([3, -4], [2], {requiresGrad: true});
  wt.sum(wt.mul(x, x)).backward();
  assert.equal(await data(x.grad!), [6, -8]);
});

t('backward twice accumulates into .grad (like PyTorch)', async () => {
  const x = wt.tensor([1, 2], [2], {requiresGrad: true});
  wt.sum(wt.mul(x, 3)).backward();
  wt.sum(wt.mul(x, 3)).backward();
  assert.equal(await data(x.grad!), [6, 6]);
});

t('detach stops gradients', async () => {
  const x = wt.tensor([1, 2], [2], {requiresGrad: true});
  const y = wt.add(wt.mul(x, x), wt.detach(wt.mul(x, 10)));
  wt.sum(y).backward();
  assert.equal(await data(x.grad!), [2, 4]);
});

t('noGrad records nothing', () => {
  const x = wt.tensor([1], [1], {requiresGrad: true});
  const y = wt.noGrad(() => wt.mul(x, 2));
  assert.not.ok(y.requiresGrad);
  assert.throws(() => y.backward(), /does not require grad/);
});

t('frozen leaves get no gradient', async () => {
  const w = wt.tensor([1, 2], [2], {requiresGrad: false});
  const x = wt.tensor([3, 4], [2], {requiresGrad: true});
  wt.sum(wt.mul(w, x)).backward();
  assert.is(w.grad, null);
  assert.equal(await data(x.grad!), [1, 2]);
});

t('custom gradient: gradient reversal multiplies by -lambda, identity forward', async () => {
  const x = wt.tensor([1, -2, 3], [3], {requiresGrad: true});
  const y = wt.gradReverse(x, 0.5);
  assert.equal(await data(y), [1, -2, 3]);
  wt.sum(wt.mul(y, wt.tensor([1, 2, 3], [3]))).backward();
  assert.equal(await data(x.grad!), [-0.5, -1, -1.5]);
});

t('customGrad with a user rule', async () => {
  const x = wt.tensor([2, 3], [2], {requiresGrad: true});
  // straight-through estimator: forward rounds, backward passes g unchanged
  const y = wt.internals.customGrad([x], () => wt.tensor([2, 3], [2]), (g) => [g], 'straightThrough');
  wt.sum(wt.mul(y, y)).backward();
  assert.equal(await data(x.grad!), [4, 6]);
});

t('non-scalar backward needs an explicit gradient', async () => {
  const x = wt.tensor([1, 2], [2], {requiresGrad: true});
  const y = wt.mul(x, 2);
  assert.throws(() => y.backward(), /is not a scalar/);
  y.backward(wt.tensor([1, 10], [2]));
  assert.equal(await data(x.grad!), [2, 20]);
});

t('a deep chain (500 ops) does not overflow the stack', async () => {
  const x = wt.tensor([1], [1], {requiresGrad: true});
  let y = x;
  for (let i = 0; i < 500; i++) y = wt.add(y, 0.001);
  y.backward();
  assert.equal(await data(x.grad!), [1]);
});

t('gradients of different shapes for one input accumulate (a reshape and a direct use)', async () => {
  const x = wt.tensor([1, 2, 3, 4, 5, 6], [2, 3], {requiresGrad: true});
  const flat = wt.reshape(x, [6]);
  const y = wt.add(wt.sum(wt.mul(flat, wt.tensor([1, 2, 3, 4, 5, 6], [6]))), wt.sum(wt.mul(x, x)));
  y.backward();
  assert.equal(await data(x.grad!), [3, 6, 9, 12, 15, 18]);
  assert.equal(x.grad!.shape, [2, 3]);
});

t('backward frees each intermediate gradient once used: only the leaf gradient stays', async () => {
  const x = wt.rand([100000], {seed: 1});
  x.requiresGrad = true;
  let y = x;
  for (let i = 0; i < 10; i++) y = wt.mul(wt.add(y, 1), 0.5);
  const loss = wt.sum(y);
  const before = wt.memory().liveBytes;
  loss.backward();
  const grown = wt.memory().liveBytes - before;
  assert.ok(grown <= x.grad!.buffer.size + 1024, `backward left ${grown} bytes alive; x.grad takes ${x.grad!.buffer.size}`);
  const g = await x.grad!.data();
  assert.ok(Math.abs(g[0] - 0.5 ** 10) < 1e-9 && Math.abs(g[99999] - 0.5 ** 10) < 1e-9);
});

t('a custom rule may hand back a tensor it does not own: backward never frees it', async () => {
  const keepMe = wt.tensor([7, 7], [2]);
  const x = wt.tensor([1, 2], [2], {requiresGrad: true});
  const y = wt.internals.customGrad([x], () => wt.mul(x, 1), () => [keepMe], 'constGrad');
  wt.sum(y).backward();
  assert.equal(Array.from(await keepMe.data()), [7, 7]);
  assert.equal(Array.from(await x.grad!.data()), [7, 7]);
});

t('tidy frees intermediates and keeps the result', () => {
  const pool = wt.internals.rt().pool;
  const x = wt.ones([1000]);
  const before = pool.inUseBytes;
  const y = wt.tidy(() => wt.mul(wt.add(wt.exp(x), 1), 2));
  assert.is(pool.inUseBytes - before, y.buffer.size, 'only the result stays in use');
  y.dispose();
  assert.is(pool.inUseBytes, before);
});

t('int32 tensors reject values that would be truncated', () => {
  assert.throws(() => wt.tensor([1, 1.5], [2], {dtype: 'i32'}), /int32 value 1.5 at index 1 is not an integer/);
  assert.throws(() => wt.tensor([3e9], [1], {dtype: 'i32'}), /int32 value 3000000000/);
  assert.throws(() => wt.tensor([1, 2, 3], [2, 2]), /3 values do not fill shape \[2, 2\]/);
});

t('a disposed tensor cannot be used', () => {
  const x = wt.ones([2]);
  x.dispose();
  assert.throws(() => wt.exp(x), /was disposed/);
});

t.run();
