// Layout launchers: strided copies and transposes, fills, permutes, broadcasts made real, gathers and scatters.
import {LAYOUT} from '../../shaders.js';
import {empty, type Shape, type Tensor} from '../../tensor.js';
import {broadcastStrides, contiguousStrides} from '../shapes.js';
import {select} from '../select.js';
import {LOOP_STEPS_MAX, loopsLimited} from '../device.js';
import {addParts} from '../elementwise/index.js';
import {copyK} from './copy.js';
import {FILL_VARIANTS} from './select.js';

export {copyK} from './copy.js';
export {TRANSPOSE_ROWS_MAX} from './select.js';

export function fillK(t: Tensor, value: number): Tensor {
  if (!t.size) return t;
  if (select(FILL_VARIANTS, {n: t.size}) === 'fill_vec4') {
    LAYOUT.launch('fill_vec4', {buffers: [t.buffer], params: {n: t.size / 4, value}, threads: t.size / 4});
  } else {
    LAYOUT.launch('fill_main', {buffers: [t.buffer], params: {n: t.size, value}, threads: t.size});
  }
  return t;
}

/**
 * `batch` matrices of rows x cols read from `src` through strides (in floats: bs, rs, cs) into a new
 * [batch, drows, dcols] tensor, zeros past rows and cols (dcols a multiple of 4): one dispatch, a thread per row.
 */
export function padRows4K(src: Tensor, m: {batch: number; rows: number; cols: number; bs: number; rs: number;
  cs: number}, drows: number, dcols: number): Tensor {
  if (dcols % 4 || drows < m.rows || dcols < m.cols || !m.rows || !m.cols) {
    throw new Error(`webgpu-transfer: pad: ${m.rows}x${m.cols} cannot be padded to ${drows}x${dcols} vec4 rows`);
  }
  const out = empty([m.batch, drows, dcols]);
  // Rows read in place load as aligned vec4s, shifted (pad4_rows_vec4).
  LAYOUT.launch(m.cs === 1 ? 'pad4_rows_vec4' : 'pad4_rows', {buffers: [src.buffer, out.buffer],
    threads: m.batch * drows, params: {batch: m.batch, rows: m.rows, cols: m.cols, drows, dcols4: dcols / 4,
      src_bs: m.bs, src_rs: m.rs, src_cs: m.cs}});
  return out;
}

export function permuteK(x: Tensor, dims: number[]): Tensor {
  const outShape = dims.map((d) => x.shape[d]);
  const out = empty(outShape, x.dtype);
  const cs = contiguousStrides(x.shape);
  copyK(x, out, outShape, dims.map((d) => cs[d]), contiguousStrides(outShape));
  return out;
}

/** Materialises a broadcast of x to `shape`. */
export function expandK(x: Tensor, shape: Shape): Tensor {
  const out = empty(shape, x.dtype);
  copyK(x, out, shape, broadcastStrides(x.shape, shape), contiguousStrides(shape));
  return out;
}

export function gatherK(x: Tensor, idx: Tensor, outer: number, n: number, inner: number, outShape: Shape): Tensor {
  const out = empty(outShape, x.dtype);
  const m = idx.size;
  if (!out.size) return out;
  LAYOUT.launch('gather_main', {buffers: [x.buffer, idx.buffer, out.buffer], params: {outer, n, inner, m},
    threads: out.size});
  return out;
}

export function scatterAddK(g: Tensor, idx: Tensor, outer: number, n: number, inner: number, outShape: Shape): Tensor {
  // scatter_add_main loops over every index in each thread: past LOOP_STEPS_MAX indices (where llvmpipe would stop
  // the loop short) the indices go in runs, their sums added.
  const m = idx.size;
  if (m > LOOP_STEPS_MAX && loopsLimited()) {
    let total: Tensor | null = null;
    for (let j0 = 0; j0 < m; j0 += LOOP_STEPS_MAX) {
      const len = Math.min(LOOP_STEPS_MAX, m - j0);
      const gi = empty([outer, len, inner]), ii = empty([len], 'i32');
      copyK(g, gi, [outer, len, inner], [m * inner, inner, 1], [len * inner, inner, 1], j0 * inner);
      copyK(idx, ii, [len], [1], [1], j0);
      const part = scatterAddK(gi, ii, outer, n, inner, outShape);
      gi.dispose();
      ii.dispose();
      total = addParts(total, part);
    }
    return total!;
  }
  const out = empty(outShape);
  if (!out.size) return out;
  LAYOUT.launch('scatter_add_main', {buffers: [g.buffer, idx.buffer, out.buffer],
    params: {outer, n, inner, m: idx.size}, threads: out.size});
  return out;
}

export function oneHotK(labels: Tensor, classes: number): Tensor {
  const out = empty([...labels.shape, classes]);
  if (!out.size) return out;
  LAYOUT.launch('one_hot_main', {buffers: [labels.buffer, out.buffer], params: {n: labels.size, classes},
    threads: out.size});
  return out;
}
