// The matmul launcher: copies out a transposed operand where that unlocks a faster kernel, picks the kernel from
// MATMUL_VARIANTS (select.ts) and runs it; bias and relu go into the kernel's output write or run after.
import {empty, type Tensor} from '../../tensor.js';
import {dummyBuffer, LOOP_STEPS_MAX, loopsLimited, sourceBinding} from '../device.js';
import {addParts, binaryK, unaryK} from '../elementwise/index.js';
import {copyK, fillK, padRows4K} from '../layout/index.js';
import {reduceK} from '../reduce/index.js';
import {kernelPrefs} from '../prefs.js';
import {choose} from '../select.js';
import {ceil4} from '../shapes.js';
import {launchHandWritten, TILED} from './hand-written.js';
import {matmulTileKernel, tileFits, tileGrid, type MatmulTile} from './register-tile.js';
import {panelMatmul} from './uniform-panel.js';
import {MATMUL, matmulTile, strides, tilePads, transposedAForTile, transposedBForTile, transposedBForVec4,
  type MatView} from './select.js';

export type {MatView} from './select.js';
export {matmulTile, MATMUL_VARIANTS, panelsPreferred} from './select.js';

/**
 * What matmulK does to C after the product: + bias over the columns (a [N] tensor), then relu; `nchw`: C's rows are
 * the pixels of images of `plane` pixels, one image after another, and the result is laid out as images of
 * `channels` planes ([M / plane, channels, plane]) from C's first `channels` columns, bias and relu included.
 */
export interface MatmulAfter { bias?: Tensor | null; relu?: boolean; nchw?: NchwOutput }
/** C's rows laid out as images; `into`: written into that tensor's images from `image0` on (returned as is). */
export interface NchwOutput { plane: number; channels: number; into?: Tensor; image0?: number }

/**
 * C[b] = op(A[b]) @ op(B[b]) where op transposes when `trans` is set. A batchStride of 0 shares one matrix
 * across the batch. Picks the variant: workgroup tiles on hardware GPUs, vec4 registers on CPU adapters.
 */
export function matmulK(a: MatView, b: MatView, alpha = 1, after: MatmulAfter = {}): Tensor {
  const {nchw, ...rest} = after;
  if (!nchw) return matmulRows(a, b, alpha, rest, null);
  const M = a.trans ? a.cols : a.rows, N = b.trans ? b.rows : b.cols, {plane, channels} = nchw;
  if (Math.max(a.batch, b.batch) !== 1 || M % plane !== 0 || channels > N) {
    throw new Error(`webgpu-transfer: matmul: ${M}x${N} does not lay out as images of ${plane} pixels and ` +
      `${channels} channels`);
  }
  const image0 = nchw.into ? nchw.image0 ?? 0 : 0;
  if (nchw.into && nchw.into.size < (image0 + M / plane) * channels * plane) {
    throw new Error(`webgpu-transfer: matmul: ${nchw.into.describe()} has no room for images ${image0}..` +
      `${image0 + M / plane - 1} of ${channels} x ${plane}`);
  }
  // The uniform panels write the images themselves; any other variant's rows are laid out after.
  const images = {y: nchw.into ?? null, image0, written: false};
  const rows = matmulRows(a, b, alpha, rest, {plane, channels, images});
  if (images.written) { rows.dispose(); return images.y!; }
  let y = empty([M / plane, channels, plane]);
  copyK(rows, y, [M / plane, channels, plane], [plane * N, 1, N], [channels * plane, plane, 1]);
  rows.dispose();
  if (after.bias) {
    const column = after.bias.viewAs([channels, 1]), yb = binaryK('add', y, column);
    column.dispose();
    y.dispose();
    y = yb;
  }
  if (after.relu) { const yr = unaryK('relu', y); y.dispose(); y = yr; }
  if (!nchw.into) return y;
  copyK(y, nchw.into, [y.size], [1], [1], 0, image0 * channels * plane);
  y.dispose();
  return nchw.into;
}

/**
 * The product as rows [batch, M, N]. With `nchw`, the uniform panels write the images into nchw.images.y (bias and
 * relu included); other variants leave bias and relu to the caller.
 */
function matmulRows(a: MatView, b: MatView, alpha: number, after: MatmulAfter,
  nchw: {plane: number; channels: number; images: {y: Tensor | null; image0: number; written: boolean}} | null): Tensor {
  // Bias and relu wait for the layout unless the panels take the product.
  const epilogue = after;
  if (nchw) after = {};
  const M = a.trans ? a.cols : a.rows;
  const K = a.trans ? a.rows : a.cols;
  const K2 = b.trans ? b.cols : b.rows;
  const N = b.trans ? b.rows : b.cols;
  if (K !== K2) throw new Error(`webgpu-transfer: matmul: inner dimensions differ (${M}x${K} @ ${K2}x${N})`);
  const batch = Math.max(a.batch, b.batch);
  const out = empty([batch, M, N]);
  if (!out.size) return out;
  if (K === 0) return applyAfter(fillK(out, 0), after);
  const tile = matmulTile(M, N);
  const temps: Tensor[] = [];
  // A transposed operand copied out as a plain [rows, cols] matrix per batch (or one, when shared).
  const materialise = (v: MatView, rows: number, cols: number): MatView => {
    const plain = plainView(v, rows, cols);
    const t = empty([plain.batch, rows, cols]);
    copyK(v.t, t, [plain.batch, rows, cols], [v.batchStride, 1, v.cols], [rows * cols, cols, 1]);
    temps.push(t);
    return {...plain, t};
  };
  // A transposed operand to be copied out as a plain matrix: the case sees the copy, which is made only for a variant
  // that needs it (A: the vec4 tiles, panels and matmul_nt_vec4; B: the variants reading B as vec4 rows); the others
  // read the operand in place through its strides.
  const aCopy = transposedAForTile({M, N, K, a, tile});
  const aPlain = aCopy ? plainView(a, M, K) : a;
  const bForTile = transposedBForTile({M, N, K, av: aPlain, b, tile});
  const bCopy = transposedBForVec4({M, N, K, a, b, bForTile});
  const variant = choose(MATMUL, {M, N, K, a, b, av: aPlain, bv: bCopy ? plainView(b, K, N) : b, tile, bForTile,
    epilogue: {bias: !!epilogue.bias, relu: !!epilogue.relu}});
  const av = aCopy && A_PLAIN.has(variant) ? materialise(a, M, K) : a;
  const bv = bCopy && B_PLAIN.has(variant) ? materialise(b, K, N) : b;
  if (loopsLimited() && kSteps(variant, tile?.kvec ?? false, K) > LOOP_STEPS_MAX) {
    for (const t of temps) t.dispose();
    out.dispose();
    return applyAfter(splitK(a, b, M, N, K, alpha, kSteps(variant, tile?.kvec ?? false, K)), after);
  }
  const [ars, acs] = strides(av);
  const [brs, bcs] = strides(bv);
  if (batch > 65535) throw new Error(`webgpu-transfer: matmul: batch ${batch} exceeds 65535`);
  // tile_padded makes its own copies of the operands (it is in neither A_PLAIN nor B_PLAIN: `temps` is empty).
  if (variant === 'tile_padded') {
    out.dispose();
    return paddedTile(a, b, {M, N, K, batch, alpha}, tile!, after);
  }
  // One params object for every variant, hand-written or generated: all are declared with MATMUL_UNIFORMS.
  // matmul_tiled may cut K into parts, each summed into its own slice of `target`, added up after (split-K).
  const split = variant === 'matmul_tiled' || variant === 'matmul_tiled128'
    ? tiledSplit(M, N, K, batch, TILED[variant].size) : 1;
  const target = split > 1 ? empty([split * batch * M * N]) : out;
  const launch = {
    buffers: [av.t.buffer, bv.t.buffer, target.buffer],
    params: {M, N, K, a_bs: av.batchStride, a_rs: ars, a_cs: acs, b_bs: bv.batchStride, b_rs: brs, b_cs: bcs,
      c_bs: M * N, alpha, split},
    flops: 2 * batch * M * N * K, note: `${batch > 1 ? `${batch}x` : ''}${M}x${K}x${N}${split > 1 ? ` in ${split} parts` : ''}`,
  };
  let epilogueDone = false;
  if (variant === 'tile' || variant === 'tile_nt' || variant === 'tile_texture' || variant === 'tile_nt_texture') {
    // The tile applies bias and relu in its output write (one dispatch instead of three); its texture twin reads A
    // and B through the staging textures.
    const bias = after.bias ?? null, texture = variant.endsWith('_texture');
    const operands = [sourceBinding(av.t, texture), sourceBinding(bv.t, texture, 1), target.buffer];
    matmulTileKernel(tile!, {bias: !!bias, relu: after.relu}, variant.startsWith('tile_nt'), false, texture)
      .launch('main', {...launch, buffers: bias ? [...operands, bias.buffer] : operands,
        workgroups: tileGrid(tile!, M, N, batch)});
    epilogueDone = true;
  } else if (variant === 'panels' || variant === 'panels_texture') {
    const target = nchw ? (nchw.images.y ??= empty([M / nchw.plane, nchw.channels, nchw.plane])) : out;
    if (nchw) nchw.images.written = true;
    panelMatmul({t: av.t, rowStride: ars, batchStride: av.batchStride}, {t: bv.t, brs, bcs, bbs: bv.batchStride},
      target, {M, N, K, batch, alpha}, epilogue.bias ?? null, !!epilogue.relu, variant === 'panels_texture',
      {nchw: nchw && {plane: nchw.plane, channels: nchw.channels, image0: nchw.images.image0}});
    epilogueDone = true;
  } else {
    // Bias and relu in the output write, except where parts of K are summed after.
    const fuse = split === 1 && kernelPrefs.fuseEpilogues;
    const bias = fuse ? after.bias ?? null : null, relu = fuse && !!after.relu;
    launchHandWritten(variant, {...launch, buffers: [...launch.buffers, bias ? bias.buffer : dummyBuffer()],
      constants: {HAS_BIAS: bias ? 1 : 0, RELU: relu ? 1 : 0}}, M, N, batch * split);
    epilogueDone = fuse;
  }
  for (const t of temps) t.dispose();
  if (split > 1) {
    out.dispose();
    const total = reduceK('sum', target, 1, split, batch * M * N);
    target.dispose();
    return applyAfter(total.viewAsDispose([batch, M, N]), after);
  }
  return epilogueDone ? out : applyAfter(out, after);
}

/**
 * tile_padded: the tile on A copied out as [M, K4] rows and B as [K4, N4] (zeros past K and N, transposes undone in
 * the same copies). An operand the tile can read as it is is not copied. Where N is padded the tile writes C's rows
 * of N float by float (narrowC); bias and relu go into its write either way.
 */
function paddedTile(a: MatView, b: MatView, s: {M: number; N: number; K: number; batch: number; alpha: number},
  tile: MatmulTile, after: MatmulAfter): Tensor {
  const {M, N, K, batch, alpha} = s;
  const pads = tilePads({N, K, tile});
  const K4 = pads.K ? ceil4(K) : K, N4 = ceil4(N);
  const temps: Tensor[] = [];
  const padded = (v: MatView, rows: number, cols: number, rows4: number, cols4: number): MatView => {
    const plain = plainView(v, rows4, cols4);
    const [rs, cs] = strides(v);
    const t = padRows4K(v.t, {batch: plain.batch, rows, cols, bs: v.batchStride, rs, cs}, rows4, cols4);
    temps.push(t);
    return {...plain, t};
  };
  // A copied out has rows of whole vec4s (K4, or K rounded up where the tile reads scalars along K: the zeros past K
  // are never read).
  const av = !a.trans && tileFits(tile, false, K, a.cols, a.batchStride) ? a
    : padded(a, M, K, M, ceil4(K));
  const bv = !b.trans && !pads.K && !pads.N ? b : padded(b, K, N, K4, N4);
  const bias = after.bias ?? null;
  const out = empty([batch, M, N]);
  const [ars, acs] = strides(av);
  matmulTileKernel(tile, {bias: !!bias, relu: !!after.relu}, false, pads.N).launch('main', {
    buffers: [av.t.buffer, bv.t.buffer, out.buffer, ...(bias ? [bias.buffer] : [])],
    params: {M, N, K: K4, a_bs: av.batchStride, a_rs: ars, a_cs: acs, b_bs: bv.batchStride, b_rs: N4, b_cs: 1,
      c_bs: M * N, alpha, split: 1},
    workgroups: tileGrid(tile, M, N4, batch), flops: 2 * batch * M * N * K,
    note: `${batch > 1 ? `${batch}x` : ''}${M}x${K}x${N} padded to ${K4}x${N4}`});
  for (const t of temps) t.dispose();
  return out;
}

/** The variants that read A only as plain rows (vec4 along K), so a transposed A is copied out for them. */
const A_PLAIN: ReadonlySet<string> = new Set(['tile', 'tile_texture', 'tile_nt', 'tile_nt_texture', 'panels',
  'panels_texture', 'matmul_nt_vec4']);
/** The variants that read B only as plain vec4 rows, so a transposed B is copied out for them. */
const B_PLAIN: ReadonlySet<string> = new Set(['tile', 'tile_texture', 'matmul_vec4']);
/** The view a transposed operand will have once copied out (its tensor still the original: the rules read shapes). */
const plainView = (v: MatView, rows: number, cols: number): MatView => {
  const nb = v.batchStride ? v.batch : 1;
  return {t: v.t, batch: nb, rows, cols, trans: false, batchStride: nb > 1 ? rows * cols : 0};
};

/**
 * Parts of K for the workgroup-tiled kernels: where their tiles (64 x 64, or 128 x 128) are too few to fill a GPU
 * (under 256 workgroups) and K is long (from 1,024), enough parts of at least 256 to make 256 workgroups: the
 * 1152 x 20736 x 256 product of the paper CapsNet ran at a third of matmul_tiled's rate on 72 workgroups.
 */
export function tiledSplit(M: number, N: number, K: number, batch: number, size = 64): number {
  const tiles = Math.ceil(M / size) * Math.ceil(N / size) * batch;
  if (K < 1024 || tiles >= 256) return 1;
  return Math.max(1, Math.min(Math.ceil(256 / tiles), Math.floor(K / 256), Math.floor(65535 / batch)));
}

/** Iterations of a variant's loop over K in each thread (the workgroup tiles: GPUs only, never split for the limit). */
function kSteps(variant: string, kvec: boolean, K: number): number {
  if (variant.startsWith('matmul_tiled') || variant.startsWith('panels')) return 0;
  return (variant.startsWith('tile') && kvec) || variant === 'matmul_nt_vec4' ? Math.ceil(K / 4) : K;
}

/**
 * op(A) @ op(B) as the sum of products over runs of K, each copied out plain: where one product's K loop would pass
 * LOOP_STEPS_MAX iterations per thread (llvmpipe stops it short: a conv weight gradient lowered to a product over
 * N * OH * OW rows). The copies are M x run and run x N floats against M x N x run multiply-adds.
 */
function splitK(a: MatView, b: MatView, M: number, N: number, K: number, alpha: number, steps: number): Tensor {
  const parts = Math.ceil(steps / LOOP_STEPS_MAX);
  const run = Math.ceil(Math.ceil(K / parts) / 4) * 4;
  const [ars, acs] = strides(a);
  const [brs, bcs] = strides(b);
  const na = a.batchStride ? a.batch : 1, nb = b.batchStride ? b.batch : 1;
  let total: Tensor | null = null;
  for (let k0 = 0; k0 < K; k0 += run) {
    const kc = Math.min(run, K - k0);
    const as = empty([na, M, kc]), bs = empty([nb, kc, N]);
    copyK(a.t, as, [na, M, kc], [a.batchStride, ars, acs], [M * kc, kc, 1], k0 * acs);
    copyK(b.t, bs, [nb, kc, N], [b.batchStride, brs, bcs], [kc * N, N, 1], k0 * brs);
    const part = matmulK({t: as, batch: na, rows: M, cols: kc, trans: false, batchStride: na > 1 ? M * kc : 0},
      {t: bs, batch: nb, rows: kc, cols: N, trans: false, batchStride: nb > 1 ? kc * N : 0}, alpha);
    as.dispose();
    bs.dispose();
    total = addParts(total, part);
  }
  return total!;
}

/** bias and relu as their own dispatches: after parts of K are summed, or for an empty K (c is consumed). */
function applyAfter(c: Tensor, after: MatmulAfter): Tensor {
  if (after.bias) { const cb = binaryK('add', c, after.bias); c.dispose(); c = cb; }
  if (after.relu) { const cr = unaryK('relu', c); c.dispose(); c = cr; }
  return c;
}
