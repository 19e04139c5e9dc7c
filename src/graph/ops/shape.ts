// Shape ops: views and copies that move values without computing on them (reshape, permute, slice, concat,
// gather, ...), and assign/detach.
import {copyK, expandK, fillK, gatherK, oneHotK, permuteK} from '../kernels/layout/index.js';
import {contiguousStrides} from '../kernels/shapes.js';
import {checkShape, empty, fmt, sizeOf, Tensor} from '../tensor.js';
import {checkArgs, setCurrentOp} from '../validate.js';
import {anomalyCheck} from '../anomaly.js';
import {record} from '../record.js';
import {err, intArg, intList, normAxis} from './common.js';

/** The same values in a new shape of the same size (a view: no copy); one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: number[]): Tensor {
  checkArgs('reshape', x);
  intList('reshape', 'shape', shape);
  const infer = shape.indexOf(-1);
  if (shape.some((d) => d < -1) || shape.indexOf(-1, infer + 1) >= 0) {
    throw err('reshape', `invalid shape ${fmt(shape)} for ${x.describe()}: dimensions are non-negative, with at most one -1 (inferred)`);
  }
  let s = shape;
  if (infer >= 0) {
    const known = shape.reduce((a, d, i) => (i === infer ? a : a * d), 1);
    if (known === 0 || x.size % known) throw new Error(`webgpu-transfer: reshape: cannot infer -1 for ${x.describe()} -> ${fmt(shape)}`);
    s = shape.map((d, i) => (i === infer ? x.size / known : d));
  }
  const out = x.viewAs(s);
  return record(out, 'reshape', [x], {shape: x.shape});
}

/** Merges the dimensions from `startDim` (default 1) on into one: [N, C, H, W] -> [N, C*H*W]. */
export function flatten(x: Tensor, startDim = 1): Tensor {
  checkArgs('flatten', x);
  const d = intArg('flatten', 'startDim', startDim < 0 ? startDim + x.rank : startDim, 0);
  if (d > x.rank) throw err('flatten', `startDim ${startDim} out of range for ${x.describe()}`);
  return reshape(x, [...x.shape.slice(0, d), -1]);
}

/** Reorders the dimensions: output dimension i is input dimension dims[i]. */
export function permute(x: Tensor, dims: number[]): Tensor {
  checkArgs('permute', x);
  intList('permute', 'dims', dims);
  if (dims.length !== x.rank || [...dims].sort((a, b) => a - b).some((d, i) => d !== i)) throw new Error(`webgpu-transfer: permute: ${fmt(dims)} is not a permutation of the ${x.rank} dims of ${x.describe()}`);
  return record(permuteK(x, dims), 'permute', [x], {dims});
}

/** Swaps two dimensions (default the last two). */
export function transpose(x: Tensor, d0 = -2, d1 = -1): Tensor {
  checkArgs('transpose', x);
  const a = normAxis('transpose', d0, x.rank), b = normAxis('transpose', d1, x.rank);
  const dims = x.shape.map((_, i) => i);
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

/** Broadcasts x to `shape` (materialised). */
export function expand(x: Tensor, shape: number[]): Tensor {
  checkArgs('expand', x);
  checkShape('expand', shape);
  // Broadcasting may only stretch dims of size 1 (and add leading dims) to reach exactly `shape`.
  const lead = shape.length - x.rank;
  if (lead < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[lead + i])) {
    throw err('expand', `cannot expand ${x.describe()} to ${fmt(shape)}: each dim must equal the target or be 1 (and the target rank must be >= ${x.rank})`);
  }
  return record(expandK(x, shape), 'expand', [x], {shape: x.shape});
}

/** x[starts[i]:ends[i]] along every axis (ends exclusive; missing axes taken whole). */
export function slice(x: Tensor, starts: number[], ends: number[]): Tensor {
  checkArgs('slice', x);
  intList('slice', 'starts', starts);
  intList('slice', 'ends', ends);
  if (starts.length > x.rank || ends.length > x.rank) throw err('slice', `${starts.length} starts and ${ends.length} ends for ${x.describe()} (rank ${x.rank})`);
  const s = x.shape.map((d, i) => Math.min(Math.max(0, (starts[i] ?? 0) < 0 ? d + starts[i] : starts[i] ?? 0), d));
  const e = x.shape.map((d, i) => Math.min(Math.max(0, (ends[i] ?? d) < 0 ? d + ends[i] : ends[i] ?? d), d));
  const shape = s.map((v, i) => Math.max(0, e[i] - v));
  const cs = contiguousStrides(x.shape);
  const out = empty(shape, x.dtype);
  copyK(x, out, shape, cs, contiguousStrides(shape), s.reduce((a, v, i) => a + v * cs[i], 0));
  return record(out, 'slice', [x], {starts: s, shape: x.shape});
}

/** Writes g into a zero tensor of `shape` at `starts` (the gradient of slice; also padding). */
export function padInto(g: Tensor, shape: number[], starts: number[]): Tensor {
  const out = fillK(empty(shape), 0);
  const cs = contiguousStrides(shape);
  const offset = starts.reduce((a, v, i) => a + v * cs[i], 0);
  copyK(g, out, g.shape, contiguousStrides(g.shape), cs, 0, offset);
  return out;
}

/** Joins tensors along `axis` (default 0); their other dimensions and dtypes must agree. */
export function concat(xs: Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs)) throw err('concat', `expects an array of tensors, got ${typeof xs}`);
  if (!xs.length) throw new Error('webgpu-transfer: concat: no tensors');
  checkArgs('concat', ...xs);
  const ax = normAxis('concat', axis, xs[0].rank);
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== ax && d !== xs[0].shape[i]) || t.dtype !== xs[0].dtype) {
      throw new Error(`webgpu-transfer: concat: shapes ${xs.map((t) => t.describe()).join(', ')} differ outside axis ${ax}`);
    }
  }
  const shape = [...xs[0].shape];
  shape[ax] = xs.reduce((a, t) => a + t.shape[ax], 0);
  const out = empty(shape, xs[0].dtype);
  const cs = contiguousStrides(shape);
  let off = 0;
  const offsets: number[] = [];
  for (const t of xs) {
    offsets.push(off);
    copyK(t, out, t.shape, contiguousStrides(t.shape), cs, 0, off * cs[ax]);
    off += t.shape[ax];
  }
  return record(out, 'concat', xs, {axis: ax, offsets});
}

/** Rows of x along `axis` picked by integer indices (torch.index_select). */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  checkArgs('gather', x, indices);
  const ax = normAxis('gather', axis, x.rank);
  const outer = sizeOf(x.shape.slice(0, ax)), n = x.shape[ax], inner = sizeOf(x.shape.slice(ax + 1));
  const shape = [...x.shape.slice(0, ax), indices.size, ...x.shape.slice(ax + 1)];
  const out = gatherK(x, indices, outer, n, inner, shape);
  return record(out, 'gather', [x], {indices, axis: ax, outer, n, inner});
}

/** One row per label; an out-of-range label gives a row of NaN (as gather and crossEntropy), never zeros. */
export function oneHot(labels: Tensor, classes: number): Tensor {
  checkArgs('oneHot', labels);
  intArg('oneHot', 'classes', classes, 1);
  const out = oneHotK(labels, classes);
  anomalyCheck('oneHot', [labels], [out]);
  setCurrentOp(null);
  return out;
}

/** Copies src's values into dst in place (same size; no gradient). Used for running statistics and loading. */
export function assign(dst: Tensor, src: Tensor): Tensor {
  checkArgs('assign', dst, src);
  if (dst.size !== src.size || dst.dtype !== src.dtype) throw new Error(`webgpu-transfer: assign: cannot copy ${src.describe()} into ${dst.describe()}`);
  if (dst.storage !== src.storage) copyK(src, dst, [src.size], [1], [1]);
  return dst;
}

/** A tensor sharing x's data that is cut from the graph. */
export function detach(x: Tensor): Tensor { checkArgs('detach', x); return x.viewAs(x.shape); }
