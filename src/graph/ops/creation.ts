// Creation ops: tensor() from host values, full/zeros/ones, and the seeded random initialisers.
import {uniformK} from '../kernels/elementwise/index.js';
import {fillK} from '../kernels/layout/index.js';
import {checkShape, dtypeOf, empty, fmt, fromData, sizeOf, Tensor, type DTypeName, type Shape} from '../tensor.js';
import {setCurrentOp} from '../validate.js';
import {anomalyHost} from '../anomaly.js';
import {mulberry32} from '../../rng.js';
import {err} from './common.js';

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
