// Reductions over axes (sum, mean, max, min), argmax, and the helpers the gradient rules reduce with.
import {unaryK} from '../kernels/elementwise/index.js';
import {argmaxK, reduceK, sumChannelsK} from '../kernels/reduce/index.js';
import {sizeOf, Tensor, type Shape} from '../tensor.js';
import {checkArgs} from '../validate.js';
import {record} from '../record.js';
import {err, normAxis} from './common.js';

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
  // A sum over leading and trailing axes around kept ones (a conv's bias gradient over [0, 2, 3]): one op.
  if (kind === 'sum' && runs.length === 2 && runs[0][0] === 0 && runs[1][1] === x.rank) {
    const [[, s], [e]] = runs;
    const outer = sizeOf(shape.slice(0, s)), channels = sizeOf(shape.slice(s, e)), inner = sizeOf(shape.slice(e));
    return sumChannelsK(x, outer, channels, inner, alpha).viewAsDispose(shape.slice(s, e));
  }
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
