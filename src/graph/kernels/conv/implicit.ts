// Convolutions as implicit matrix products on 64 x 64 workgroup tiles, or (forward and input gradient) 128 x 128 ones
// (shaders/conv-implicit.wgsl): no im2col matrix is written, each tile load works out the pixel it stands for. The
// weight gradient's long sum over every output pixel is cut into parts (split-K), each a layer of workgroups, summed
// after.
import {CONV_IMPLICIT} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {dummyBuffer, LOOP_STEPS_MAX, loopsLimited, onCpu} from '../device.js';
import {reduceK} from '../reduce/index.js';
import {convFlops, convNote, type Conv2dGeom} from './geom.js';

const TILE = 64, BK = 16;
/** Loop iterations a thread runs per BK reduction steps (4 staged loads, 16 multiply-add steps, the barriers). */
const STEP_ITERATIONS = 24;
/**
 * The 128 x 128 tiles' reduction steps a stage, and the loop iterations (exit tests included) a thread runs for them:
 * 8 staged loads, 8 steps of 4.
 */
const BK8 = 8, STEP_ITERATIONS_128 = 64;

const params = (g: Conv2dGeom, split = 1) => ({N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, OH: g.OH, OW: g.OW, KH: g.KH,
  KW: g.KW, SH: g.SH, SW: g.SW, PH: g.PH, PW: g.PW, split});
const tiles = (n: number, size = TILE) => Math.ceil(n / size);

/** Whether a reduction of `length` fits one thread's loops (llvmpipe's loop limit; elsewhere any). */
export const implicitReductionFits = (length: number, big = false): boolean => !loopsLimited() ||
  (big ? Math.ceil(length / BK8) * STEP_ITERATIONS_128 : Math.ceil(length / BK) * STEP_ITERATIONS) <= LOOP_STEPS_MAX;

/** The grid's rows and columns must fit 65,535 workgroups each. */
export const implicitGridFits = (rows: number, cols: number): boolean => tiles(rows) <= 65535 && tiles(cols) <= 65535;

/**
 * One pass of implicit_rows (forward, PASS 0: rows the output pixels, columns K; input gradient, PASS 1: rows the input
 * pixels, columns C) into `out`, on 64 x 64 tiles or (big) implicit_rows128's 128 x 128 ones.
 */
function implicitRows(pass: 0 | 1, a: Tensor, w: Tensor, bias: Tensor | null, out: Tensor, rows: number, cols: number,
  g: Conv2dGeom, big: boolean): Tensor {
  const size = big ? 128 : TILE;
  CONV_IMPLICIT.launch(big ? 'implicit_rows128' : 'implicit_rows', {
    buffers: [a.buffer, w.buffer, bias ? bias.buffer : dummyBuffer(), out.buffer], params: params(g),
    workgroups: [tiles(cols, size), tiles(rows, size), 1],
    constants: pass === 0 ? {PASS: 0, HAS_BIAS: bias ? 1 : 0} : {PASS: 1},
    flops: convFlops(g), note: convNote(g)});
  return out;
}

/** big: the 128 x 128 tiles (implicit_rows128). */
export const conv2dImplicitK = (x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, big = false): Tensor =>
  implicitRows(0, x, w, bias, empty([g.N, g.K, g.OH, g.OW]), g.N * g.OH * g.OW, g.K, g, big);

export const conv2dBwdInputImplicitK = (dy: Tensor, w: Tensor, g: Conv2dGeom, big = false): Tensor =>
  implicitRows(1, dy, w, null, empty([g.N, g.C, g.H, g.W]), g.N * g.H * g.W, g.C, g, big);

/**
 * Parts of the weight gradient's sum over N * OH * OW pixels: enough workgroups to fill the device (a few per core
 * on CPU adapters, 256 on a GPU), each part at least 4 BK steps long, and within llvmpipe's loop limit.
 */
export function implicitWeightSplit(g: Conv2dGeom): number {
  const red = g.N * g.OH * g.OW;
  const grid = tiles(g.K) * tiles(g.C * g.KH * g.KW);
  const want = Math.ceil((onCpu() ? 4 : 256) / grid);
  const fewest = loopsLimited() ? Math.ceil(Math.ceil(red / BK) * STEP_ITERATIONS / LOOP_STEPS_MAX) : 1;
  return Math.max(1, fewest, Math.min(want, Math.floor(red / (4 * BK)), 65535));
}

export function conv2dBwdWeightImplicitK(x: Tensor, dy: Tensor, g: Conv2dGeom): Tensor {
  const ckk = g.C * g.KH * g.KW, split = implicitWeightSplit(g);
  const partial = empty(split > 1 ? [split, g.K * ckk] : [g.K, g.C, g.KH, g.KW]);
  CONV_IMPLICIT.launch('implicit_bwd_weight', {buffers: [x.buffer, dy.buffer, dummyBuffer(), partial.buffer],
    params: params(g, split), workgroups: [tiles(ckk), tiles(g.K), split], flops: convFlops(g), note: convNote(g)});
  if (split === 1) return partial;
  const dw = reduceK('sum', partial, 1, split, g.K * ckk);
  partial.dispose();
  return dw.viewAsDispose([g.K, g.C, g.KH, g.KW]);
}
