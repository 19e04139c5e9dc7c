// Strided copies: a batched 2-D transpose where the copy is one (transpose4, transpose_rows), else copy_vec4 where it
// runs in whole vec4s, else copy_main.
import {LAYOUT} from '../../shaders.js';
import {sizeOf, type Shape, type Tensor} from '../../tensor.js';
import {select} from '../select.js';
import {COPY_VARIANTS, copyRun} from './select.js';

/**
 * A strided copy that is a batched 2-D transpose with both inner strides 1: dst[b][i][j] = src[b][j][i], with
 * dst rows `I` x columns `J`, row strides, batch strides (sbs, dbs) and the offsets, all in floats.
 */
export interface Transpose {
  batch: number; I: number; J: number; dst_rs: number; src_rs: number; sbs: number; dbs: number;
  inOffset: number; outOffset: number;
}

/**
 * A copy's dimensions with size-1 ones dropped, and neighbours merged where both sides hold them as one run (a permute
 * of NCHW to NHWC is then a batched transpose of [C, H*W]).
 */
function merged(shape0: Shape, a0: number[], o0: number[]): {shape: number[]; a: number[]; o: number[]} {
  const shape: number[] = [], a: number[] = [], o: number[] = [];
  shape0.forEach((d, k) => {
    if (d === 1) return;
    const last = shape.length - 1;
    if (last >= 0 && a[last] === a0[k] * d && o[last] === o0[k] * d) {
      shape[last] *= d; a[last] = a0[k]; o[last] = o0[k];
    } else { shape.push(d); a.push(a0[k]); o.push(o0[k]); }
  });
  return {shape, a, o};
}

/** The copy as a Transpose; null where it is none. */
export function transposeOf(shape0: Shape, a0: number[], o0: number[], inOffset: number,
  outOffset: number): Transpose | null {
  const {shape, a, o} = merged(shape0, a0, o0);
  if (shape.length < 2 || shape.length > 3) return null;
  const r = shape.length;
  const [R, C] = [shape[r - 2], shape[r - 1]];
  const batch = r === 3 ? shape[0] : 1;
  const [sbs, dbs] = r === 3 ? [a[0], o[0]] : [0, 0];
  // Either dst runs along C (rows i = R, columns j = C) and src along R, or the other way round.
  const t = o[r - 1] === 1 && a[r - 2] === 1 ? {I: R, J: C, dst_rs: o[r - 2], src_rs: a[r - 1]}
    : a[r - 1] === 1 && o[r - 2] === 1 ? {I: C, J: R, dst_rs: o[r - 1], src_rs: a[r - 2]} : null;
  if (!t || t.dst_rs === 1 || t.src_rs === 1) return null;
  return {batch, ...t, sbs, dbs, inOffset, outOffset};
}

/** transpose4's params (every value in vec4s) or transpose_rows' (in floats). */
const transposeParams = (t: Transpose, q: number) => ({batch: t.batch, bi: t.I / q, bj: t.J / q, src_rs: t.src_rs / q,
  dst_rs: t.dst_rs / q, src_bs: t.sbs / q, dst_bs: t.dbs / q, src_off: t.inOffset / q, dst_off: t.outOffset / q});

/** A strided copy's shape, strides and offsets; in vec4s, where it runs in them. */
export interface CopyGeom { shape: number[]; inStrides: number[]; outStrides: number[]; inOffset: number;
  outOffset: number }

/**
 * The copy in vec4s, where its innermost (merged) dimension runs along both sides over whole vec4s and every other
 * stride and both offsets are multiples of 4; null where it does not.
 */
export function vec4sOf(shape0: Shape, a0: number[], o0: number[], inOffset: number,
  outOffset: number): CopyGeom | null {
  const {shape, a, o} = merged(shape0, a0, o0);
  const r = shape.length;
  if (!r || a[r - 1] !== 1 || o[r - 1] !== 1 || shape[r - 1] % 4) return null;
  if ([...a.slice(0, -1), ...o.slice(0, -1), inOffset, outOffset].some((v) => v % 4)) return null;
  const fourth = (s: number[]) => [...s.slice(0, -1).map((v) => v / 4), 1];
  return {shape: [...shape.slice(0, -1), shape[r - 1] / 4], inStrides: fourth(a), outStrides: fourth(o),
    inOffset: inOffset / 4, outOffset: outOffset / 4};
}

/** Strided copy: iterate `shape`, read src[inOffset + idx.inStrides], write dst[outOffset + idx.outStrides]. */
export function copyK(src: Tensor, dst: Tensor, shape: Shape, inStrides: number[], outStrides: number[], inOffset = 0,
  outOffset = 0): void {
  const n = sizeOf(shape);
  if (!n) return;
  const f32 = src.dtype === 'f32' && dst.dtype === 'f32';
  const transpose = f32 ? transposeOf(shape, inStrides, outStrides, inOffset, outOffset) : null;
  const vec4s = f32 ? vec4sOf(shape, inStrides, outStrides, inOffset, outOffset) : null;
  const variant = select(COPY_VARIANTS, {f32, transpose, vec4s: !!vec4s});
  if (variant === 'transpose4' || variant === 'transpose_rows') {
    // transpose4: a thread per 4 x 4 block; transpose_rows: a thread per dst row.
    const vec4 = variant === 'transpose4';
    const p = transposeParams(transpose!, vec4 ? 4 : 1);
    LAYOUT.launch(variant, {buffers: [src.buffer, dst.buffer], threads: p.batch * p.bi * (vec4 ? p.bj : 1), params: p});
    return;
  }
  // copy_main, copy_vec4: one thread per run of COPY_RUN elements or vec4s (shaders/layout.wgsl).
  const c: CopyGeom = variant === 'copy_vec4' ? vec4s! : {shape: [...shape], inStrides, outStrides, inOffset,
    outOffset};
  const run = copyRun(), units = sizeOf(c.shape);
  LAYOUT.launch(variant, {buffers: [src.buffer, dst.buffer], threads: Math.ceil(units / run),
    constants: {RANK: Math.max(1, c.shape.length), COPY_RUN: run},
    params: {n: units, rank: c.shape.length, in_offset: c.inOffset, out_offset: c.outOffset, shape: c.shape,
      in_strides: c.inStrides, out_strides: c.outStrides}});
}
