// Op front-ends, PyTorch names in camelCase. Each validates its inputs (errors name the op and shapes),
// launches kernels (kernels/) and records a node (record.ts) whose gradient rule lives in gradients.ts.
import {binaryK, dropoutMaskK, reverseK, unaryK, uniformK, whereK} from './kernels/elementwise/index.js';
import {copyK, expandK, fillK, gatherK, oneHotK, permuteK} from './kernels/layout/index.js';
import {argmaxK, reduceK, softmaxK, xentK, xentReduceK} from './kernels/reduce/index.js';
import {matmulK, type MatmulAfter, type MatView} from './kernels/matmul/index.js';
import {conv2dK, convGeom, groupedConv2dK, type LoweredCols} from './kernels/conv/index.js';
import {adaptiveAvgPoolK, poolGeom, poolK} from './kernels/pool/index.js';
import {batchNormTrainK} from './kernels/norm/index.js';
import {contiguousStrides} from './kernels/shapes.js';
import {LOOP_STEPS_MAX, loopsLimited} from './kernels/device.js';
import {noGrad, rt} from './engine.js';
import {checkShape, dtypeOf, empty, fmt, fromData, sizeOf, Tensor, type DTypeName, type Shape} from './tensor.js';
import type {UnaryOp} from './op-codes.js';
import {checkArgs, setCurrentOp, type CheckedOp} from './validate.js';
import {anomalyCheck, anomalyHost} from './anomaly.js';
import {mulberry32} from '../rng.js';
import {record, recordNode} from './record.js';
import type {OpName} from './gradients.js';

/** A tensor, or a JS number that ops like add and mul take as a constant operand. */
export type TensorLike = Tensor | number;

// Non-tensor arguments (tensor arguments are checked by checkArgs, validate.ts).
const err = (op: string, msg: string) => new Error(`webgpu-transfer: ${op}: ${msg}`);
function intArg(op: string, what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw err(op, `${what} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}
function intList(op: string, what: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.some((d) => typeof d !== 'number' || !Number.isInteger(d))) throw err(op, `${what} must be an array of integers, got ${JSON.stringify(v)}`);
  return v;
}

const normAxis = (op: string, axis: number, rank: number): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new Error(`webgpu-transfer: ${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
};

// ---------------- creation ----------------
/**
 * Options of the creation ops: dtype (default float32), whether the tensor requires a gradient, a name for
 * messages.
 */
export interface TensorOptions { dtype?: DTypeName; requiresGrad?: boolean; name?: string }

/** Nested arrays of numbers, as tensor() reads them: `[[1, 2], [3, 4]]` is a [2, 2] tensor. */
export type Nested = number | readonly Nested[];
/** Shape and flat values of nested arrays ([[1, 2], [3, 4]] -> [2, 2]); ragged or non-numeric input throws. */
function flattenNested(data: readonly Nested[]): {shape: number[]; flat: number[]} {
  const shape: number[] = [];
  for (let v: Nested = data; Array.isArray(v); v = (v as Nested[])[0]) shape.push((v as Nested[]).length);
  const flat: number[] = [];
  const walk = (v: Nested, d: number, path: string) => {
    if (d === shape.length) {
      if (typeof v !== 'number') throw err('tensor', `element ${path} is ${Array.isArray(v) ? 'an array' : typeof v}, expected a number (ragged nesting?)`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw err('tensor', `nested arrays are ragged: element ${path || '[]'} has ${Array.isArray(v) ? `length ${v.length}` : 'no array'} where ${shape[d]} was expected (inferred shape ${fmt(shape)})`);
    }
    v.forEach((x: Nested, i: number) => walk(x, d + 1, `${path}[${i}]`));
  };
  walk(data, 0, '');
  return {shape, flat};
}

/**
 * A tensor from host values: a flat array or typed array with `shape` (default 1-D), or nested arrays whose
 * shape is inferred (`tensor([[1, 2], [3, 4]])`, as torch.tensor).
 *
 * @example
 * ```ts
 * const x = wt.tensor([1, 2, 3, 4, 5, 6], [2, 3], {requiresGrad: true});   // f32[2, 3]
 * const labels = wt.tensor([0, 2], [2], {dtype: 'i32'});
 * const m = wt.tensor([[1, 0], [0, 1]]);                                   // shape inferred: [2, 2]
 * ```
 */
export function tensor(data: ArrayLike<number> | readonly Nested[], shape?: Shape, opts: TensorOptions = {}): Tensor {
  setCurrentOp('tensor');
  const dtype = dtypeOf(opts.dtype, 'tensor');
  if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
    throw err('tensor', `data must be an array or typed array of numbers, got ${data === null ? 'null' : typeof data}`);
  }
  let values = data as ArrayLike<number>;
  if (Array.isArray(data) && data.some((v) => Array.isArray(v))) {
    const n = flattenNested(data as readonly Nested[]);
    if (shape && (shape.length !== n.shape.length || shape.some((d, i) => d !== n.shape[i]))) {
      throw err('tensor', `shape ${fmt(shape)} given for nested arrays of shape ${fmt(n.shape)}`);
    }
    shape = n.shape;
    values = n.flat;
  } else if (Array.isArray(data)) {
    const bad = data.findIndex((v) => typeof v !== 'number');
    if (bad >= 0) throw err('tensor', `element ${bad} is ${typeof data[bad]} ${JSON.stringify(data[bad])}, expected a number`);
  }
  const t = fromData(values, shape ?? [values.length], dtype, opts.requiresGrad ?? false);
  if (dtype === 'f32') anomalyHost('tensor', values, t.describe());
  if (opts.name) t.name = opts.name;
  return t;
}

function filled(op: string, shape: Shape, value: number, opts: TensorOptions): Tensor {
  setCurrentOp(op);
  checkShape(op, shape);
  const dtype = dtypeOf(opts.dtype, op);
  if (typeof value !== 'number') throw err(op, `value must be a number, got ${typeof value}`);
  if (dtype === 'i32' && !(Number.isInteger(value) && Math.abs(value) < 2 ** 31)) throw err(op, `int32 value ${value} is not an integer in int32 range`);
  // The fill kernel writes float bits, which are the int32 bits only for 0: other int32 values are uploaded.
  const t = dtype === 'i32' && value !== 0 ? fromData(new Int32Array(sizeOf(shape)).fill(value), shape, 'i32') : fillK(empty(shape, dtype), value);
  if (dtype === 'f32') anomalyHost(op, [value], t.describe());
  t.requiresGrad = opts.requiresGrad ?? false;
  setCurrentOp(null);
  return t;
}
/** A tensor of `shape` filled with `value` (an integer in int32 range for dtype i32). */
export const full = (shape: Shape, value: number, opts: TensorOptions = {}) => filled('full', shape, value, opts);
/** A tensor of `shape` filled with 0. */
export const zeros = (shape: Shape, opts: TensorOptions = {}) => filled('zeros', shape, 0, opts);
/** A tensor of `shape` filled with 1. */
export const ones = (shape: Shape, opts: TensorOptions = {}) => filled('ones', shape, 1, opts);

/** Deterministic host RNG (mulberry32) for initialisers and data order. */
export const rng = mulberry32;

/**
 * Normal random values (Box-Muller on the host, seeded: the same seed gives the same tensor), with `mean` and `std`
 * (default 0 and 1).
 */
export function randn(shape: Shape, opts: TensorOptions & {seed?: number; std?: number; mean?: number} = {}): Tensor {
  setCurrentOp('randn');
  checkShape('randn', shape);
  const r = rng(opts.seed ?? 0);
  const n = sizeOf(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12), v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v) * (opts.std ?? 1) + (opts.mean ?? 0);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v) * (opts.std ?? 1) + (opts.mean ?? 0);
  }
  return tensor(out, shape, opts);
}

/** Uniform in [lo, hi), generated on the GPU from a counter-based hash (seeded). */
export function rand(shape: Shape, opts: TensorOptions & {seed?: number; lo?: number; hi?: number} = {}): Tensor {
  setCurrentOp('rand');
  checkShape('rand', shape);
  const t = uniformK(shape, opts.lo ?? 0, opts.hi ?? 1, opts.seed ?? 0);
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

// ---------------- elementwise ----------------
function unary(op: UnaryOp & OpName, x: Tensor, alpha = 0, beta = 0): Tensor {
  checkArgs(op, x);
  return record(unaryK(op, x, alpha, beta), op, [x], {alpha, beta});
}

/** Elementwise -x. */
export const neg = (x: Tensor) => unary('neg', x);
/** Elementwise e^x. */
export const exp = (x: Tensor) => unary('exp', x);
/** Elementwise natural logarithm (log(0) = -Inf, log of a negative number = NaN). */
export const log = (x: Tensor) => unary('log', x);
/** Elementwise square root. */
export const sqrt = (x: Tensor) => unary('sqrt', x);
/** Elementwise max(x, 0) (NaN stays NaN). */
export const relu = (x: Tensor) => unary('relu', x);
/** Elementwise x for x > 0, else slope * x (slope default 0.01). */
export const leakyRelu = (x: Tensor, slope = 0.01) => unary('leakyRelu', x, slope);
/** Elementwise logistic function 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor) => unary('tanh', x);
/** Elementwise absolute value. */
export const abs = (x: Tensor) => unary('abs', x);
/** Elementwise x * x. */
export const square = (x: Tensor) => unary('square', x);
/** Elementwise x limited to [min, max] (either bound may be left open); the gradient is 0 outside. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max)) throw err('clamp', `min and max must be numbers, got ${min}, ${max}`);
  if (min > max) throw new Error(`webgpu-transfer: clamp: min ${min} > max ${max}`);
  return unary('clamp', x, Math.max(min, -3.4e38), Math.min(max, 3.4e38));
}
/**
 * Elementwise min(max(x, 0), 6) (MobileNetV2's activation; NaN stays NaN). As PyTorch's hardtanh, the gradient passes
 * strictly inside (0, 6) and is 0 at 0 and 6 themselves.
 */
export function relu6(x: Tensor): Tensor {
  checkArgs('relu6', x);
  return record(unaryK('clamp', x, 0, 6), 'relu6', [x]);
}
/** x * scale + shift in one kernel. */
export const affine = (x: Tensor, scale: number, shift = 0) => unary('affine', x, scale, shift);

function binary(op: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum', a: Tensor, b: Tensor): Tensor {
  checkArgs(op, a, b);
  return record(binaryK(op, a, b), op, [a, b]);
}

/**
 * Checks `a op b` where b may be a JS number. A number is a constant: inside compile() it is written into the
 * kernel's uniforms at capture and every replay keeps it (a value that must change per step is a RuntimeValue).
 */
function scalarB(op: CheckedOp, a: Tensor, b: TensorLike): b is number {
  checkArgs(op, a, typeof b === 'number' ? a : b);
  return typeof b === 'number';
}

/** a + b elementwise, with NumPy broadcasting; b may be a number. */
export function add(a: Tensor, b: TensorLike): Tensor { return scalarB('add', a, b) ? affine(a, 1, b) : binary('add', a, b); }
/** a - b elementwise, with NumPy broadcasting; b may be a number. */
export function sub(a: Tensor, b: TensorLike): Tensor { return scalarB('sub', a, b) ? affine(a, 1, -b) : binary('sub', a, b); }
/** a * b elementwise, with NumPy broadcasting; b may be a number. */
export function mul(a: Tensor, b: TensorLike): Tensor { return scalarB('mul', a, b) ? affine(a, b, 0) : binary('mul', a, b); }
/** a / b elementwise, with NumPy broadcasting; b may be a nonzero number. */
export function div(a: Tensor, b: TensorLike): Tensor {
  if (scalarB('div', a, b)) {
    if (b === 0) throw new Error('webgpu-transfer: div: division by the scalar 0');
    return affine(a, 1 / b, 0);
  }
  return binary('div', a, b);
}
/** a ** b elementwise, with NumPy broadcasting; b may be a number (2 runs as square). */
export function pow(a: Tensor, b: TensorLike): Tensor {
  if (scalarB('pow', a, b)) return b === 2 ? square(a) : unary('powScalar', a, b);
  return binary('pow', a, b);
}
/** The larger of a and b elementwise (broadcasting; NaN wins, as in PyTorch); ties share the gradient. */
export const maximum = (a: Tensor, b: Tensor) => binary('maximum', a, b);
/** The smaller of a and b elementwise (broadcasting; NaN wins, as in PyTorch); ties share the gradient. */
export const minimum = (a: Tensor, b: Tensor) => binary('minimum', a, b);

function compare(op: 'gt' | 'lt' | 'ge' | 'eq', a: Tensor, b: Tensor): Tensor {
  checkArgs(op, a, b);
  const out = binaryK(op, a, b);
  setCurrentOp(null);
  return out;
}
/** a > b (broadcasting): a float32 mask of 0 and 1, 0 where either side is NaN; it carries no gradient. */
export const gt = (a: Tensor, b: Tensor) => compare('gt', a, b);
/** a < b (broadcasting): a float32 mask of 0 and 1, 0 where either side is NaN; it carries no gradient. */
export const lt = (a: Tensor, b: Tensor) => compare('lt', a, b);
/** a >= b (broadcasting): a float32 mask of 0 and 1, 0 where either side is NaN; it carries no gradient. */
export const ge = (a: Tensor, b: Tensor) => compare('ge', a, b);
/** a == b (broadcasting): a float32 mask of 0 and 1, 0 where either side is NaN; it carries no gradient. */
export const eq = (a: Tensor, b: Tensor) => compare('eq', a, b);

/** a where cond != 0, else b (broadcasting). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  checkArgs('where', cond, a, b);
  return record(whereK(cond, a, b), 'where', [cond, a, b]);
}

// ---------------- shape ----------------
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

// ---------------- reductions ----------------
/** Sorted, de-duplicated non-negative axes; undefined or [] means all (torch 1.13 reads dim=[] so too). */
export function normAxes(op: string, axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined || (Array.isArray(axes) && !axes.length)) return [...Array(rank).keys()];
  const list = (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(op, a, rank));
  return [...new Set(list)].sort((a, b) => a - b);
}

/** Reduces over `axes` one contiguous run at a time (last run first) with the [outer, r, inner] kernel. */
export function reduceAxes(kind: 'sum' | 'max' | 'min', x: Tensor, axes: number[], alpha = 1): Tensor {
  let cur = x;
  let shape = [...x.shape];
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1; else runs.push([a, a + 1]);
  }
  if (!runs.length) return unaryK('affine', x, alpha, 0).viewAsDispose(shape);
  for (let i = runs.length - 1; i >= 0; i--) {
    const [s, e] = runs[i];
    const outer = sizeOf(shape.slice(0, s)), r = sizeOf(shape.slice(s, e)), inner = sizeOf(shape.slice(e));
    const next = reduceK(kind, cur, outer, r, inner, i === 0 ? alpha : 1);
    if (cur !== x) cur.dispose();
    cur = next;
    shape = [...shape.slice(0, s), ...shape.slice(e)];
  }
  return cur.viewAsDispose(shape);
}

function keptShape(shape: number[], axes: number[]): number[] { return shape.map((d, i) => (axes.includes(i) ? 1 : d)); }

function reduceOp(kind: 'sum' | 'mean' | 'max' | 'min', x: Tensor, axes?: number | number[], keepDim = false): Tensor {
  checkArgs(kind, x);
  const ax = normAxes(kind, axes, x.rank);
  const count = ax.reduce((a, i) => a * x.shape[i], 1);
  if ((kind === 'max' || kind === 'min') && count === 0) throw new Error(`webgpu-transfer: ${kind}: reduction over an empty axis of ${x.describe()}`);
  let out = reduceAxes(kind === 'mean' ? 'sum' : kind, x, ax, kind === 'mean' ? 1 / count : 1);
  if (keepDim) out = out.viewAsDispose(keptShape(x.shape, ax));
  return record(out, kind, [x], {axes: ax, keepDim, count});
}
/**
 * Sum over `axes` (negative ones count from the end; a number or a list). No axes, or an empty list, reduce every
 * axis, as torch 1.13 does for dim=[]: the result has shape [] (with keepDim, a 1 for every reduced axis).
 */
export const sum = (x: Tensor, axes?: number | number[], keepDim = false) => reduceOp('sum', x, axes, keepDim);
/**
 * Mean over `axes` (negative ones count from the end; a number or a list). No axes, or an empty list, reduce every
 * axis, as torch 1.13 does for dim=[]: the result has shape [] (with keepDim, a 1 for every reduced axis).
 */
export const mean = (x: Tensor, axes?: number | number[], keepDim = false) => reduceOp('mean', x, axes, keepDim);
/**
 * Maximum over `axes` (negative ones count from the end; a number or a list). No axes, or an empty list, reduce
 * every axis, as torch 1.13 does for dim=[]: the result has shape [] (with keepDim, a 1 for every reduced axis).
 * Tied maxima share the gradient.
 */
export const max = (x: Tensor, axes?: number | number[], keepDim = false) => reduceOp('max', x, axes, keepDim);
/**
 * Minimum over `axes` (negative ones count from the end; a number or a list). No axes, or an empty list, reduce
 * every axis, as torch 1.13 does for dim=[]: the result has shape [] (with keepDim, a 1 for every reduced axis).
 * Tied minima share the gradient.
 */
export const min = (x: Tensor, axes?: number | number[], keepDim = false) => reduceOp('min', x, axes, keepDim);

/** Index of the first maximum along one axis (int32, no gradient). */
export function argmax(x: Tensor, axis = -1): Tensor {
  checkArgs('argmax', x);
  if (!x.size) throw err('argmax', `empty input ${x.describe()}`);
  const a = normAxis('argmax', axis, x.rank);
  const out = argmaxK(x, sizeOf(x.shape.slice(0, a)), x.shape[a], sizeOf(x.shape.slice(a + 1)));
  return out.viewAsDispose([...x.shape.slice(0, a), ...x.shape.slice(a + 1)]);
}

/** Sums g over the axes that broadcasting added, giving a tensor of `shape`. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return reduceAxes('sum', g, axes).viewAsDispose(shape);
}

// ---------------- softmax family ----------------
function rows3(x: Tensor, axis: number): [number, number, number] {
  const a = normAxis('softmax', axis, x.rank);
  return [sizeOf(x.shape.slice(0, a)), x.shape[a], sizeOf(x.shape.slice(a + 1))];
}
/** Softmax along `axis` (default the last): exp(x) / sum(exp(x)), computed stably. */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkArgs('softmax', x);
  const [o, r, i] = rows3(x, axis);
  if (longRows(r)) { const e = shiftedExp(x, axis); return div(e.e, e.s); }
  return record(softmaxK(x, o, r, i, false), 'softmax', [x], {rows: [o, r, i]});
}

/**
 * Rows too long for the one-thread-per-row kernels where loopsLimited() (llvmpipe stops a thread's loops near
 * 65,535 iterations in all): softmax_fwd and xent_bwd loop 3 times over a row. Those rows take composed ops, whose
 * reductions split a long axis over threads.
 */
const longRows = (r: number): boolean => loopsLimited() && 3 * r > LOOP_STEPS_MAX;

/** exp(x - max) along `axis` and its sum (kept dims): the composed softmax of long rows (longRows). */
function shiftedExp(x: Tensor, axis: number): {shifted: Tensor; e: Tensor; s: Tensor} {
  const shifted = sub(x, detach(max(x, axis, true)));
  const e = exp(shifted);
  return {shifted, e, s: sum(e, axis, true)};
}
/** Log of the softmax along `axis` (default the last), computed stably: x - logsumexp(x). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkArgs('logSoftmax', x);
  const [o, r, i] = rows3(x, axis);
  if (longRows(r)) { const e = shiftedExp(x, axis); return sub(e.shifted, log(e.s)); }
  return record(softmaxK(x, o, r, i, true), 'logSoftmax', [x], {rows: [o, r, i]});
}

/** Per-row cross-entropy of logits [N, C] against int32 labels [N] (no reduction). */
export function crossEntropyRows(logits: Tensor, labels: Tensor): Tensor {
  checkXent(logits, labels);
  // Long rows (longRows): -log_softmax at the label, composed (an out-of-range label gives 0, not NaN, there).
  if (longRows(logits.shape[1])) return neg(sum(mul(logSoftmax(logits, 1), oneHot(labels, logits.shape[1])), 1));
  return record(xentK(logits, labels), 'crossEntropyRows', [logits], {labels});
}

function checkXent(logits: Tensor, labels: Tensor): void {
  checkArgs('crossEntropy', logits, labels);
  if (logits.rank !== 2) throw new Error(`webgpu-transfer: crossEntropy: logits must be [N, C], got ${logits.describe()}`);
  if (labels.dtype !== 'i32' || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`webgpu-transfer: crossEntropy: labels must be int32 [${logits.shape[0]}], got ${labels.describe()} for logits ${logits.describe()}`);
  }
}

/** Mean cross-entropy (torch.nn.functional.cross_entropy with integer targets). */
export function crossEntropy(logits: Tensor, labels: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  if (!['mean', 'sum', 'none'].includes(reduction)) throw err('crossEntropy', `reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  // The fused kernel sums in one workgroup: kept to batch-sized losses (an evaluation over a whole data set in one
  // call goes through rows + a tree reduction instead).
  if (reduction !== 'none' && logits?.rank === 2 && logits.shape[0] > 0 && logits.shape[0] <= 65536 &&
    !fusedXentTooLong(logits.shape[0], logits.shape[1])) {
    checkXent(logits, labels);
    // One kernel each way (the loss and its gradient), where rows + mean would take four (see softmax.wgsl).
    const alpha = reduction === 'mean' ? 1 / logits.shape[0] : 1;
    return record(xentReduceK(logits, labels, alpha), 'crossEntropyReduced', [logits], {labels, alpha});
  }
  const rows = crossEntropyRows(logits, labels);
  return reduction === 'none' ? rows : reduction === 'sum' ? sum(rows) : mean(rows);
}

/**
 * Where the fused loss (xent_reduce_fwd: 64 threads, each over 2 passes of its rows; its gradient xent_bwd: 3 passes
 * of a row) would loop past LOOP_STEPS_MAX in a thread where loopsLimited(): e.g. 10,000 rows of 1,000 classes.
 */
const fusedXentTooLong = (rows: number, classes: number): boolean => longRows(classes) ||
  (loopsLimited() && Math.ceil(rows / 64) * 2 * classes + 6 > LOOP_STEPS_MAX);

/**
 * Mean squared error. The shapes must be equal: PyTorch broadcasts [3, 1] against [3] to [3, 3] with only a
 * warning, which is almost always a bug, so here it is an error.
 */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  checkArgs('mseLoss', input, target);
  if (input.rank !== target.rank || input.shape.some((d, i) => d !== target.shape[i])) {
    throw err('mseLoss', `input ${input.describe()} and target ${target.describe()} differ in shape (no broadcasting: reshape one to match)`);
  }
  return mean(square(sub(input, target)));
}

// ---------------- matmul / linear ----------------
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

// ---------------- conv / pool ----------------
/** An int or [h, w] pair of ints >= min, e.g. a stride (min 1) or a padding (min 0). */
function pair(op: string, what: string, v: unknown, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || p.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < min)) {
    throw err(op, `${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p as [number, number];
}

/** Options the kernels do not implement are refused rather than ignored. */
function unsupported(op: string, opts: object, known: string[]): void {
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (known.includes(k) || o[k] === undefined) continue;
    const trivial = (k === 'dilation' || k === 'groups') && (o[k] === 1 || (Array.isArray(o[k]) && (o[k] as unknown[]).every((v) => v === 1)));
    if (!trivial) throw err(op, `option ${k}=${JSON.stringify(o[k])} is not supported (supported: ${known.join(', ')}${k === 'dilation' || k === 'groups' ? `; ${k} must be 1` : ''})`);
  }
}

/**
 * Options of conv2d: stride and zero padding, one number for both spatial dimensions or [h, w] (defaults 1 and 0),
 * and groups (default 1): the channels split into `groups` groups, each convolved with its own K / groups filters
 * of C / groups channels (groups = C: depthwise).
 */
export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  groups?: number;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch): input NCHW [N, C, H, W], weight [K, C / groups, KH, KW],
 * optional bias [K]; output [N, K, OH, OW]. C and K must be multiples of groups.
 *
 * @example
 * ```ts
 * const x = wt.randn([8, 32, 56, 56]);
 * const y = wt.conv2d(x, wt.randn([64, 32, 3, 3]), null, {padding: 1});            // f32[8, 64, 56, 56]
 * const dw = wt.conv2d(x, wt.randn([32, 1, 3, 3]), null, {stride: 2, padding: 1, groups: 32});  // depthwise
 * ```
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  checkArgs('conv2d', x, w, bias);
  unsupported('conv2d', opts, ['stride', 'padding', 'groups', 'bias']);
  if (x.rank !== 4 || w.rank !== 4) {
    const got = `${x.describe()} and ${w.describe()}`;
    throw err('conv2d', `input must be NCHW and weight [K, C / groups, KH, KW], got ${got}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) throw new Error(`webgpu-transfer: conv2d: bias ${bias.describe()} must be [${w.shape[0]}]`);
  const groups = intArg('conv2d', 'groups', opts.groups ?? 1, 1);
  const geom = convGeom(x.shape, w.shape, pair('conv2d', 'stride', opts.stride ?? 1, 1),
    pair('conv2d', 'padding', opts.padding ?? 0, 0), groups);
  const inputs = bias ? [x, w, bias] : [x, w];
  // groups > 1 runs shaders/conv-grouped.wgsl; groups 1 keeps the tuned kernels of conv2dK.
  if (groups > 1) {
    return record(groupedConv2dK(x, w, bias ?? null, geom), 'conv2d', inputs, {geom, cols: null});
  }
  const keep: LoweredCols = {cols: null};
  const y = conv2dK(x, w, bias ?? null, geom, w.requiresGrad ? keep : undefined);
  return owning(record(y, 'conv2d', inputs, {geom, cols: keep.cols}), keep.cols);
}

/** What batchNormTrain returns: y, and the batch mean and biased variance of each channel ([C] each, no gradient). */
export interface BatchNormTrainResult { y: Tensor; mean: Tensor; variance: Tensor }

/**
 * Batch normalisation with batch statistics (BatchNorm's training mode) in fused kernels: x [N, C, ...] normalised per
 * channel (axis 1) by its mean and biased variance over the other axes, y = (x - mean) / sqrt(var + eps) * weight +
 * bias (weight and bias [C], either may be null). Gradients reach x, weight and bias; mean and variance carry none.
 */
export function batchNormTrain(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5):
  BatchNormTrainResult {
  const op = 'batchNormTrain';
  checkArgs(op, x, weight, bias);
  if (x.rank < 2) throw err(op, `input must be [N, C, ...] (rank >= 2), got ${x.describe()}`);
  const [N, C] = x.shape;
  for (const [what, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) {
      throw err(op, `${what} ${t.describe()} must be [${C}] for input ${x.describe()}`);
    }
  }
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
    throw err(op, `eps must be a finite number > 0, got ${eps}`);
  }
  const HW = sizeOf(x.shape.slice(2));
  // As PyTorch: one value per channel has no spread to normalise by.
  if (N * HW < 2) throw err(op, `training needs more than one value per channel, got input ${x.describe()}`);
  const geom = {N, C, HW};
  const {y, mean, variance, stats} = batchNormTrainK(x, weight, bias, geom, eps);
  const inputs = [x, weight, bias].filter((t): t is Tensor => !!t);
  const out = owning(record(y, 'batchNormTrain', inputs, {geom, stats, weight: !!weight, bias: !!bias}), stats);
  return {y: out, mean, variance};
}

/**
 * A tensor the op made for its gradient rule alone: owned by out's node (freed with out), or freed now when no
 * node was recorded (no input needs a gradient).
 */
function owning(out: Tensor, saved: Tensor | null): Tensor {
  if (!saved) return out;
  if (out.node) (out.node.owned ??= []).push(saved);
  else saved.dispose();
  return out;
}

/**
 * Stride and zero padding of the pooling ops: a number or [h, w] (stride defaults to the kernel size, padding to
 * 0).
 */
export interface PoolOptions { stride?: number | [number, number]; padding?: number | [number, number] }

/** Kernel, stride and padding of a pooling op, checked. */
function poolArgs(op: string, kernel: unknown, opts: PoolOptions): [[number, number], [number, number], [number, number]] {
  unsupported(op, opts, ['stride', 'padding']);
  const k = pair(op, 'kernel', kernel, 1);
  return [k, pair(op, 'stride', opts.stride ?? k, 1), pair(op, 'padding', opts.padding ?? 0, 0)];
}

/** Max pooling over NCHW input with a `kernel` (a number or [h, w]) window; the gradient goes to each window's max. */
export function maxPool2d(x: Tensor, kernel: number | [number, number], opts: PoolOptions = {}): Tensor {
  checkArgs('maxPool2d', x);
  const geom = poolGeom('maxPool2d', x.shape, ...poolArgs('maxPool2d', kernel, opts));
  const {y, arg} = poolK(x, geom, true);
  return owning(record(y, 'maxPool2d', [x], {geom, arg}), arg);
}

/**
 * maxPool2d(relu(x)), which equals relu(maxPool2d(x)), in one pass: the relu's full-size output is never written and
 * its backward never runs (the pooling backward masks). nn.Sequential runs it for ReLU next to MaxPool2d.
 */
export function reluMaxPool2d(x: Tensor, kernel: number | [number, number], opts: PoolOptions = {}): Tensor {
  checkArgs('reluMaxPool2d', x);
  const geom = poolGeom('reluMaxPool2d', x.shape, ...poolArgs('reluMaxPool2d', kernel, opts));
  const {y, arg} = poolK(x, geom, true, true);
  return owning(record(y, 'reluMaxPool2d', [x], {geom, arg}), arg);
}

/**
 * Average pooling over NCHW input with a `kernel` (a number or [h, w]) window; padding counts as zeros in the
 * average.
 */
export function avgPool2d(x: Tensor, kernel: number | [number, number], opts: PoolOptions = {}): Tensor {
  checkArgs('avgPool2d', x);
  const geom = poolGeom('avgPool2d', x.shape, ...poolArgs('avgPool2d', kernel, opts));
  return record(poolK(x, geom, false).y, 'avgPool2d', [x], {geom});
}

/** An output size of adaptiveAvgPool2d: a positive integer for both dimensions, or [oh, ow]. */
export type AdaptiveSize = number | [number, number];

/**
 * Adaptive average pooling over NCHW input to an `outputSize` (a number or [oh, ow]) grid of bins, as PyTorch: output
 * row i averages input rows floor(i * H / OH) to ceil((i + 1) * H / OH) - 1 (columns likewise), so bins overlap
 * when OH does not divide H. outputSize 1 is global average pooling (ResNet's head).
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  checkArgs('adaptiveAvgPool2d', x);
  if (x.rank !== 4) throw err('adaptiveAvgPool2d', `input must be NCHW (rank 4), got ${x.describe()}`);
  const o = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(o) || o.length !== 2 || o.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1)) {
    const got = `${JSON.stringify(outputSize)} for input ${x.describe()}`;
    throw err('adaptiveAvgPool2d', `outputSize must be a positive integer or a pair of them, got ${got}`);
  }
  const [N, C, H, W] = x.shape;
  if (!H || !W) throw err('adaptiveAvgPool2d', `input ${x.describe()} has an empty plane: there is nothing to average`);
  const geom = {N, C, H, W, OH: o[0], OW: o[1]};
  return record(adaptiveAvgPoolK(x, geom), 'adaptiveAvgPool2d', [x], {geom});
}

// ---------------- dropout, custom gradients ----------------
let dropoutCounter = 0;
/**
 * Inverted dropout with a counter-based GPU RNG. `seed` fixes the mask of an eager call (default: a per-call
 * counter); inside a captured step each replay advances the seed, so every step draws a fresh mask.
 */
export function dropout(x: Tensor, p = 0.5, training = true, seed?: number): Tensor {
  checkArgs('dropout', x);
  if (!(typeof p === 'number' && p >= 0 && p < 1)) throw new Error(`webgpu-transfer: dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const s = {value: seed ?? 0x5eed + dropoutCounter++};
  rt().onReplay(() => { s.value = (s.value + 0x9e3779b9) >>> 0; });
  const mask = dropoutMaskK(x.shape, p, () => s.value);
  return mul(x, mask);
}

/** An op with a user gradient: forward runs without recording; backward maps g to one gradient per input. */
export function customGrad(inputs: Tensor[], forward: () => Tensor, backward: (g: Tensor) => (Tensor | null)[], name = 'custom'): Tensor {
  if (!Array.isArray(inputs)) throw err(name, 'customGrad: inputs must be an array of tensors');
  checkArgs('customGrad', ...inputs);
  const out = noGrad(forward);
  if (!(out as Tensor | undefined)?.__isTensor) throw err(name, `customGrad: forward() must return a Tensor, got ${typeof out}`);
  return recordNode(out, name, inputs, {}, (g) => backward(g));
}

/**
 * Gradient reversal (the DANN layer, Ganin & Lempitsky 2015): identity forward, gradient multiplied by
 * -lambda, each its own kernel (shaders/reversal.wgsl). lambda is a number >= 0 (a constant: inside compile()
 * every replay keeps it) or a one-element float32 tensor (a RuntimeValue's), which the backward kernel reads
 * from its buffer on every replay, so a schedule set between steps really reaches a compiled step.
 */
export function gradReverse(x: Tensor, lambda: number | Tensor = 1): Tensor {
  checkArgs('gradReverse', x);
  if (typeof lambda === 'number') {
    if (!Number.isFinite(lambda) || lambda < 0) throw err('gradReverse', `lambda must be a finite number >= 0, got ${lambda}`);
  } else if (!lambda?.__isTensor || lambda.size !== 1 || lambda.dtype !== 'f32' || lambda.disposed) {
    const got = lambda?.__isTensor ? lambda.describe() : typeof lambda;
    throw err('gradReverse', `lambda must be a number or a one-element float32 tensor, got ${got}`);
  }
  return record(reverseK(x), 'gradReverse', [x], {lambda});
}
