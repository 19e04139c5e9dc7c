// NaN/Inf cases with the values PyTorch gives, shared by test/numerics.test.ts (Node, both CPU adapters) and
// test/browser/entry.ts (Chromium), so every adapter answers the same table.
import * as wt from '../../src/index.js';

const N = NaN;
const I = Infinity;

/** Same values, NaN equal to NaN, +0 equal to -0 (float32 of the expected values). */
export function sameValues(got: ArrayLike<number>, want: number[]): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = Math.fround(want[i]);
    const ok = Number.isNaN(w) ? Number.isNaN(g) : g === w || Math.abs(g - w) <= 1e-6 * Math.abs(w);
    if (!ok) return `element ${i}: got ${g}, expected ${w}`;
  }
  return null;
}

// [op, its call on the inputs, inputs, the values torch gives]
export const NAN_CASES: [string, (...x: wt.Tensor[]) => wt.Tensor, number[][], number[]][] = [
  ['relu', wt.relu, [[N, -I, I, -1, 2]], [N, 0, I, 0, 2]],
  ['leakyRelu', (x) => wt.leakyRelu(x, 0.5), [[N, -I, I, -2]], [N, -I, I, -1]],
  ['clamp(-1, 1)', (x) => wt.clamp(x, -1, 1), [[N, -I, I, 0.5]], [N, -1, 1, 0.5]],
  ['log', wt.log, [[0, -0, -1, N, I, -I, 1]], [-I, -I, N, N, I, N, 0]],
  ['exp', wt.exp, [[N, I, -I, 100, -200, 0]], [N, I, 0, I, 0, 1]],
  ['sqrt', wt.sqrt, [[-1, N, I, -I, 4, 0]], [N, N, I, N, 2, 0]],
  ['tanh', wt.tanh, [[N, I, -I, 100, -100, 0]], [N, 1, -1, 1, -1, 0]],
  ['sigmoid', wt.sigmoid, [[N, I, -I, 0]], [N, 1, 0, 0.5]],
  ['abs', wt.abs, [[N, -I, I]], [N, I, I]],
  ['neg', wt.neg, [[N, -I, I]], [N, I, -I]],
  ['square', wt.square, [[N, -I, 1e30]], [N, I, I]],
  ['pow(x, 3)', (x) => wt.pow(x, 3), [[N, -I, -2, 0]], [N, -I, -8, 0]],
  ['pow(x, 0)', (x) => wt.pow(x, 0), [[N, I, -I, 0]], [1, 1, 1, 1]],
  ['pow(x, 0.5)', (x) => wt.pow(x, 0.5), [[-4, N, I, 0, 4]], [N, N, I, 0, 2]],
  ['pow(x, -1)', (x) => wt.pow(x, -1), [[0, I, -2, N]], [I, 0, -0.5, N]],
  ['pow(a, b)', wt.pow, [[N, 1, -8, 0, 2, -2, 10], [0, N, 1 / 3, -1, I, 3, 100]], [1, 1, N, I, I, -8, I]],
  ['div', wt.div, [[1, -1, 0, N, I], [0, 0, 0, 1, I]], [I, -I, N, N, N]],
  ['add', wt.add, [[I, I, N], [-I, 1, 1]], [N, I, N]],
  ['maximum', wt.maximum, [[N, 1, -I], [1, N, 0]], [N, N, 0]],
  ['minimum', wt.minimum, [[N, 1, I], [1, N, 0]], [N, N, 0]],
  ['gt', wt.gt, [[N, 1, N, I], [1, N, N, 1]], [0, 0, 0, 1]],
  ['lt', wt.lt, [[N, 1, -I], [1, N, 0]], [0, 0, 1]],
  ['ge', wt.ge, [[N, 1, I], [1, N, I]], [0, 0, 1]],
  ['eq', wt.eq, [[N, 1, I], [N, N, I]], [0, 0, 1]],
  ['max', (x) => wt.max(x), [[1, N, 3]], [N]],
  ['min', (x) => wt.min(x), [[1, N, -3]], [N]],
  ['max over rows', (x) => wt.max(wt.reshape(x, [2, 3]), 1), [[1, N, 3, 4, 5, 6]], [N, 6]],
  ['max of -Inf', (x) => wt.max(x), [[-I, -I]], [-I]],
  ['sum', (x) => wt.sum(x), [[I, -I, 1]], [N]],
  ['mean', (x) => wt.mean(x), [[I, 1]], [I]],
  ['softmax with a NaN', (x) => wt.softmax(x), [[1, N, 3]], [N, N, N]],
  ['softmax with +Inf', (x) => wt.softmax(x), [[1, I, 3]], [N, N, N]],
  ['softmax with -Inf', (x) => wt.softmax(x), [[-I, 0, 0]], [0, 0.5, 0.5]],
  ['logSoftmax with -Inf', (x) => wt.logSoftmax(x), [[-I, 0, 0]], [-I, Math.log(0.5), Math.log(0.5)]],
  ['maxPool2d', (x) => wt.maxPool2d(wt.reshape(x, [1, 1, 2, 4]), 2), [[1, N, 5, 6, 3, 4, 7, 8]], [N, 8]],
  ['crossEntropy with a NaN logit', (x) => wt.crossEntropy(wt.reshape(x, [2, 2]), wt.tensor([0, 1], [2], {dtype: 'i32'}), 'none'), [[N, 1, 0, 0]], [N, Math.log(2)]],
];

