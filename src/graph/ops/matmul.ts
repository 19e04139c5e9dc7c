// Matrix products: matmul, the strided mm the gradient rules use, and linear (with its fused relu).
import {matmulK, type MatmulAfter, type MatView} from '../kernels/matmul/index.js';
import {Tensor} from '../tensor.js';
import {checkArgs} from '../validate.js';
import {record} from '../record.js';

/** Matrix product with PyTorch semantics for rank 1..3 (batch dims must match, or one side is 2-D). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkArgs('matmul', a, b);
  if (a.rank < 1 || b.rank < 1 || a.rank > 3 || b.rank > 3) throw new Error(`webgpu-transfer: matmul: ranks 1..3 supported, got ${a.describe()} @ ${b.describe()}`);
  const a3 = a.rank === 1 ? [1, 1, a.shape[0]] : a.rank === 2 ? [1, ...a.shape] : a.shape;
  const b3 = b.rank === 1 ? [1, b.shape[0], 1] : b.rank === 2 ? [1, ...b.shape] : b.shape;
  if (a3[2] !== b3[1]) throw new Error(`webgpu-transfer: matmul: ${a.describe()} @ ${b.describe()}: inner dimensions ${a3[2]} and ${b3[1]} differ`);
  if (a3[0] !== b3[0] && a3[0] !== 1 && b3[0] !== 1) throw new Error(`webgpu-transfer: matmul: batch dims of ${a.describe()} and ${b.describe()} differ`);
  const out3 = mm(a, a3, false, b, b3, false);
  const outShape = [...(a.rank === 3 || b.rank === 3 ? [out3.shape[0]] : []), ...(a.rank > 1 ? [a3[1]] : []), ...(b.rank > 1 ? [b3[2]] : [])];
  return record(out3.viewAsDispose(outShape), 'matmul', [a, b], {a3, b3});
}

/** op(a) @ op(b) for [batch, rows, cols] views; batch 1 broadcasts (stride 0). */
export function mm(a: Tensor, a3: number[], ta: boolean, b: Tensor, b3: number[], tb: boolean, after: MatmulAfter = {}): Tensor {
  const view = (t: Tensor, s: number[], trans: boolean): MatView => ({t, batch: s[0], rows: s[1], cols: s[2], trans, batchStride: s[0] > 1 ? s[1] * s[2] : 0});
  return matmulK(view(a, a3, ta), view(b, b3, tb), 1, after);
}

/** x @ w^T + b with PyTorch's weight layout [out, in]; the bias is added in the product's output write. */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  const {y, rows} = linearK('linear', x, w, b ?? null, false);
  return record(y, 'linear', b ? [x, w, b] : [x, w], {rows});
}

/**
 * relu(linear(x, w, b)) in one dispatch where the matmul tile takes the epilogue (bias and relu in its output
 * write); nn.Sequential runs it for Linear followed by ReLU.
 */
export function linearRelu(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  const {y, rows} = linearK('linearRelu', x, w, b ?? null, true);
  return record(y, 'linearRelu', b ? [x, w, b] : [x, w], {rows});
}

function linearK(op: 'linear' | 'linearRelu', x: Tensor, w: Tensor, b: Tensor | null, relu: boolean): {y: Tensor; rows: number} {
  checkArgs(op, x, w, b);
  if (x.shape[x.rank - 1] !== w.shape[1] || w.rank !== 2) throw new Error(`webgpu-transfer: ${op}: input ${x.describe()} does not match weight ${w.describe()} ([out, in])`);
  const rows = x.size / w.shape[1];
  if (b && (b.rank !== 1 || b.shape[0] !== w.shape[0])) throw new Error(`webgpu-transfer: ${op}: bias ${b.describe()} must be [${w.shape[0]}]`);
  const y = mm(x, [1, rows, w.shape[1]], false, w, [1, w.shape[0], w.shape[1]], true, {bias: b, relu});
  return {y: y.viewAsDispose([...x.shape.slice(0, -1), w.shape[0]]), rows};
}
