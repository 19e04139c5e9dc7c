// Convolutions lowered to matrix products on the tuned matmul kernels: im2col, a product, and a scatter back. Where
// each runs: the tables in select.ts. The lowered matrix has one row per output pixel (n, oh, ow) and one column per
// tap (c, kh, kw); its rows are C*KH*KW rounded up to 4 long, so the matmul kernels read them as vec4 (im2col writes
// the padding as zeros). Then
//   forward         Y^T   [N*OH*OW, K]       = cols @ W^T (matmulK lays the rows out as NCHW, with the bias)
//   weight gradient dW    [K, C*KH*KW]       = dY^T @ cols (dY^T: dy as [K, N*OH*OW])
//   input gradient  dcols [N*OH*OW, C*KH*KW] = dY @ W (dY: dy as [N*OH*OW, K]; the padding columns are not read),
//                   folded back onto the input by col2im_rows (a gather, so each input value is written once and the
//                   sum has a fixed order).
import {CONV_KERNELS, IM2COL_ROWS, IM2COL_ROWS_TEXTURE} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {dummyBuffer, sourceBinding} from '../device.js';
import {copyK, fillK, permuteK} from '../layout/index.js';
import {matmulK, type MatView} from '../matmul/index.js';
import {choose} from '../select.js';
import {ceil4} from '../shapes.js';
import {convNote, convParams, type Conv2dGeom} from './geom.js';
import {convLowersToGemm, convWeightGemmTransposed, IM2COL, loweredImages, pointwiseWeightWhen} from './select.js';

const matView = (t: Tensor, rows: number, cols: number): MatView =>
  ({t, batch: 1, rows, cols, trans: false, batchStride: 0});

/**
 * The lowered input: [N*OH*OW, C*KH*KW rounded up to 4], padding columns zero; of `count` images from image n0 (by
 * default all of them). On llvmpipe it may read x through the staging texture (IM2COL in select.ts).
 */
export function im2colK(x: Tensor, g: Conv2dGeom, n0 = 0, count = g.N): Tensor {
  const width = ceil4(g.C * g.KH * g.KW), part = {...g, N: count};
  const cols = empty([count * g.OH * g.OW, width]);
  const texture = choose(IM2COL, {g: part, xFloats: x.size}) === 'texture';
  (texture ? IM2COL_ROWS_TEXTURE : IM2COL_ROWS).launch('main', {buffers: [sourceBinding(x, texture), cols.buffer],
    params: {...convParams(part, width / 4), n0}, threads: count * g.OH * g.OW * g.C, note: convNote(part)});
  return cols;
}

/** The lowered input transposed: cols^T [C*KH*KW, N*OH*OW]. */
function im2colColsK(x: Tensor, g: Conv2dGeom): Tensor {
  const colsT = empty([g.C * g.KH * g.KW, g.N * g.OH * g.OW]);
  CONV_KERNELS.im2col_cols.launch('main', {buffers: [x.buffer, colsT.buffer], params: convParams(g, 1),
    threads: g.C * g.KH * g.N * g.OH, note: convNote(g)});
  return colsT;
}

/**
 * Where a lowered forward leaves its im2col matrix for the weight gradient, which would otherwise lower x again
 * (docs/kernel-measurements.md#conv-keep-cols). Kept up to KEEP_COLS_BYTES: past that, memory held from forward to
 * backward costs more than the second lowering.
 */
export interface LoweredCols { cols: Tensor | null }
const KEEP_COLS_BYTES = 64 * 2 ** 20;

/** The forward as W @ cols^T (convGemmTransposed). */
export function conv2dGemmTransposedK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom): Tensor {
  const ckk = g.C * g.KH * g.KW, rows = g.N * g.OH * g.OW;
  const colsT = im2colColsK(x, g);
  const y = matmulK(matView(w, g.K, ckk), matView(colsT, ckk, rows));
  colsT.dispose();
  const out = empty([g.N, g.K, g.OH, g.OW]);
  CONV_KERNELS.rows_to_nchw.launch('main', {buffers: [y.buffer, bias ? bias.buffer : dummyBuffer(), out.buffer],
    params: convParams(g, 1), threads: out.size, constants: {HAS_BIAS: bias ? 1 : 0}});
  y.dispose();
  return out;
}

/**
 * The forward as cols @ W^T; `keep`: where the weight gradient may reuse cols (LoweredCols). Where all the images'
 * cols would not fit one binding, chunks of images (chunkedLoweringFits), each product written into y's images.
 */
export function conv2dGemmK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, keep?: LoweredCols): Tensor {
  const ckk = g.C * g.KH * g.KW, width = ceil4(ckk), kPad = ceil4(g.K), rows = g.N * g.OH * g.OW;
  // W^T [C*KH*KW, K] zero-padded to [width, kPad]: padding must be zeros, not whatever the pooled buffer held.
  const wt = empty([width, kPad]);
  if (width !== ckk || kPad !== g.K) fillK(wt, 0);
  copyK(w, wt, [g.K, ckk], [ckk, 1], [1, kPad]);
  const chunk = loweredImages(g);
  if (chunk < g.N) {
    const y = empty([g.N, g.K, g.OH, g.OW]), plane = g.OH * g.OW;
    for (let n0 = 0; n0 < g.N; n0 += chunk) {
      const count = Math.min(chunk, g.N - n0), cols = im2colK(x, g, n0, count);
      matmulK(matView(cols, count * plane, width), matView(wt, width, kPad), 1,
        {bias, nchw: {plane, channels: g.K, into: y, image0: n0}});
      cols.dispose();
    }
    wt.dispose();
    return y;
  }
  const cols = im2colK(x, g);
  // The product's rows are the output pixels; matmulK lays them out as images (the panels write them so).
  const y = matmulK(matView(cols, rows, width), matView(wt, width, kPad), 1,
    {bias, nchw: {plane: g.OH * g.OW, channels: g.K}});
  wt.dispose();
  const keepCols = keep && convLowersToGemm(g, 'weight') && !convWeightGemmTransposed(g, true) &&
    !pointwiseWeightWhen(g) && 4 * cols.size <= KEEP_COLS_BYTES;
  if (keepCols) keep.cols = cols;
  else cols.dispose();
  return y.viewAsDispose([g.N, g.K, g.OH, g.OW]);
}

/** The input gradient as dy rows @ W, then col2im. */
export function conv2dBwdInputGemmK(dy: Tensor, w: Tensor, g: Conv2dGeom): Tensor {
  const ckk = g.C * g.KH * g.KW, width = ceil4(ckk), rows = g.N * g.OH * g.OW;
  const dyRows = permuteK(dy, [0, 2, 3, 1]); // [N, OH, OW, K]: one row per output pixel
  // W [K, C*KH*KW] with rows padded to `width` (the padding columns of dcols are never read: no fill needed).
  let wp = w;
  if (width !== ckk) { wp = empty([g.K, width]); copyK(w, wp, [g.K, ckk], [ckk, 1], [width, 1]); }
  const dcols = matmulK(matView(dyRows, rows, g.K), matView(wp, g.K, width));
  dyRows.dispose();
  if (wp !== w) wp.dispose();
  const dx = empty([g.N, g.C, g.H, g.W]);
  CONV_KERNELS.col2im_rows.launch('main', {buffers: [dcols.buffer, dx.buffer], params: convParams(g, width / 4), threads: dx.size,
    note: convNote(g)});
  dcols.dispose();
  return dx;
}

/** The weight gradient as cols^T @ dy (convWeightGemmTransposed), transposed into dW [K, C, KH, KW]. */
export function conv2dBwdWeightGemmTransposedK(x: Tensor, dy: Tensor, g: Conv2dGeom): Tensor {
  const ckk = g.C * g.KH * g.KW, rows = g.N * g.OH * g.OW;
  const colsT = im2colColsK(x, g);
  const dyRows = permuteK(dy, [0, 2, 3, 1]); // [N*OH*OW, K]
  const dwT = matmulK(matView(colsT, ckk, rows), matView(dyRows, rows, g.K));
  colsT.dispose();
  dyRows.dispose();
  const dw = empty([g.K, g.C, g.KH, g.KW]);
  copyK(dwT, dw, [g.K, ckk], [1, g.K], [ckk, 1]);
  dwT.dispose();
  return dw;
}

/** The weight gradient as dy^T @ cols, on the forward's cols where it kept them (`saved`). */
export function conv2dBwdWeightGemmK(x: Tensor, dy: Tensor, g: Conv2dGeom, saved: Tensor | null): Tensor {
  const ckk = g.C * g.KH * g.KW, width = ceil4(ckk), rows = g.N * g.OH * g.OW;
  const cols = saved ?? im2colK(x, g);
  const dyT = permuteK(dy, [1, 0, 2, 3]); // [K, N, OH, OW]: dy^T as [K, N*OH*OW]
  const dwPad = matmulK(matView(dyT, g.K, rows), matView(cols, rows, width));
  if (!saved) cols.dispose();
  dyT.dispose();
  if (width === ckk) return dwPad.viewAsDispose([g.K, g.C, g.KH, g.KW]);
  const dw = empty([g.K, g.C, g.KH, g.KW]);
  copyK(dwPad, dw, [g.K, ckk], [width, 1], [ckk, 1]);
  dwPad.dispose();
  return dw;
}
