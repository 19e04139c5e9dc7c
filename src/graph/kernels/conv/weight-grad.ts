// The direct conv weight gradient: the generated tile over a kernel row's taps (tile-weight.ts), the lane-per-
// output-channel kernel (SwiftShader), or the hand-written conv_bwd_weight8 / conv_bwd_weight; partial sums over
// parts of the batch are added after.
import {CONV_KERNELS, DIRECT_WEIGHT_STORE_STEPS, directWeightImageSteps} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {grid1d} from '../../../gpu/runtime.js';
import {dummyBuffer, LOOP_STEPS_MAX, loopsLimited, loopSteps, onCompatCpu, sourceBinding, splitThreads} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import {reduceK, sumRows4K, sumRows4SplitK} from '../reduce/index.js';
import {ceil4} from '../shapes.js';
import {convFlops, convNote, convParams, type Conv2dGeom} from './geom.js';
import {weightTile} from './select.js';
import {convBwdWeightKernel, convBwdWeightLanesKernel} from './tile-weight.js';
import {hoistedPixels, weightGradRows, withLanes} from './tiles.js';

/** Where a weight-gradient launcher can sum the bias gradient too, it sets `db` (else leaves it null). */
export interface BiasGradOut { db: Tensor | null }

/**
 * The weight gradient by the generated tile (`tiled`) or, without one, conv_bwd_weight8 (`taps8`) or
 * conv_bwd_weight, its work split over the images (the tile: the image rows) so that enough threads run. With
 * `bias`, the tile sums the bias gradient as well where it visits every pixel of dy (no padded row skipped); with
 * `texture`, it reads x and dy through staging textures.
 */
export function conv2dBwdWeightDirectK(x: Tensor, dy: Tensor, g: Conv2dGeom, tiled: boolean, taps8: boolean,
  bias?: BiasGradOut, texture = false): Tensor {
  const ckk = g.C * g.KH * g.KW;
  const chosen = tiled ? weightTile(g) : null;
  const hoisted = chosen && hoistedPixels(chosen, g.OW, g.KW, g.SW, 'weight', g.W % 4 === 0 && g.PW % 4 === 0);
  const laned = hoisted && withLanes({...hoisted, rows: weightGradRows(hoisted, g),
    dyDirect4: kernelPrefs.convDyDirect4 && g.OW % 4 === 0 && hoisted.pixels % 4 === 0}, g.K);
  // Nothing the tile reads falls outside (ConvTile.exact) where, besides these, its rows divide KH. Several rows per
  // thread off llvmpipe only in exact tiles (weightGradRows).
  const inside = !!laned && kernelPrefs.convExact && g.PH === 0 && g.PW === 0 && g.OW % laned.pixels === 0 &&
    g.K % (laned.lanes ?? 4 * laned.groups) === 0;
  const tile = laned && {...laned, rows: onCompatCpu() || inside ? laned.rows : 1};
  if (tile) tile.exact = inside && g.KH % tile.rows === 0;
  // A tile of one kernel row skips an output row whose input row is padding: there its dy would go unsummed.
  if (tile && bias) tile.bias = g.PH === 0 || tile.rows > 1 || tile.exact;
  const groups = tile ? tile.groups * Math.ceil(g.K / (4 * tile.groups)) : taps8 ? Math.ceil(g.K / 8)
    : Math.ceil(g.K / 4);
  const base = tile ? (groups / tile.groups) * g.C * Math.ceil(g.KH / tile.rows)
    : taps8 ? groups * g.C * Math.ceil(g.KH * g.KW / 4) : groups * g.C * g.KH * Math.ceil(g.KW / 4);
  // Split the work so enough threads run: a few workgroups per core on CPU adapters (llvmpipe runs a workgroup on
  // one core; docs/kernel-measurements.md#conv-weight-split), thousands on GPUs.
  const pref = kernelPrefs.convSplitTarget;
  const target = pref !== 'auto' ? pref : splitThreads();
  // The generated tile splits the N * OH (image, output row) pairs, the hand-written kernels the images.
  // The tile's thread loops over its pairs and, in each, over the row in steps of its pixels: kept within
  // LOOP_STEPS_MAX iterations where loopsLimited() by more parts.
  // A pair costs its iteration and its row's loop (weightTileSteps).
  const split = tile ? pairParts(g, base, target, 1 + loopSteps(Math.ceil(g.OW / tile.pixels)))
    : imageParts(g, base, target);
  if (tile) {
    // Where dy's rows are a multiple of 4 wide the tile reads it in place as vec4s of pixels (ConvTile.dyDirect4);
    // else as [N, OH, OW, Kpad], a pixel's output channels as contiguous vec4s, so the tile loads 4 channels at once
    // (faster, transpose included, than reading dy in place as scalars:
    // docs/kernel-measurements.md#conv-dy-transpose).
    const dyT = tile.dyDirect4 ? null : empty([g.N, g.OH, g.OW, groups * 4]);
    if (dyT) {
      const quads = (g.OH * g.OW) % 4 === 0;
      CONV_KERNELS[quads ? 'nchw4_to_pixels4' : 'nchw_to_pixels4'].launch('main', {buffers: [dy.buffer, dyT.buffer],
        params: convParams(g, groups), threads: g.N * g.OH * g.OW / (quads ? 4 : 1), note: convNote(g)});
    }
    const out = pairOutputs(g, split, tile.bias ? bias : undefined);
    // Through staging textures (`texture`): x from slot 0, dy from slot 1.
    convBwdWeightKernel({...tile, texture}, g.KW, g.SW).launch('main', {buffers: [sourceBinding(x, texture),
      sourceBinding(dyT ?? dy, texture, 1), ...out.bindings],
      params: convParams(g, groups, split), threads: split * base, flops: convFlops(g), note: convNote(g)});
    dyT?.dispose();
    return out.finish();
  }
  const partial = empty([split, g.K, g.C, g.KH, g.KW]);
  const padded = g.PH > 0 || g.PW > 0;
  CONV_KERNELS[taps8 ? 'conv_bwd_weight8' : 'conv_bwd_weight'].launch('main', {buffers: [x.buffer, dy.buffer, partial.buffer],
    params: convParams(g, groups, split), threads: split * base,
    constants: taps8 ? {PADDED: padded ? 1 : 0} : undefined,
    flops: convFlops(g), note: convNote(g)});
  if (split === 1) return partial.viewAsDispose([g.K, g.C, g.KH, g.KW]);
  const dw = reduceK('sum', partial, 1, split, g.K * ckk);
  partial.dispose();
  return dw.viewAsDispose([g.K, g.C, g.KH, g.KW]);
}

/**
 * Parts of a weight gradient that splits the N * OH (image, output row) pairs into contiguous runs (the generated
 * tile, the lanes kernel): about target / base, and no more than the runs of ceil(pairs / parts), so none is empty.
 */
function pairParts(g: Conv2dGeom, base: number, target: number, stepsPerPair = 1): number {
  const units = g.N * g.OH;
  // At least enough parts that a thread's loops stay within LOOP_STEPS_MAX iterations where loopsLimited() (llvmpipe
  // stops them short past about 65,535: a 56 x 56 layer at batch 128 has 7,168 pairs of up to 16 steps), with a
  // margin for the loops' exits (weightTileSteps).
  const fewest = loopsLimited() ? Math.ceil(units * stepsPerPair / (LOOP_STEPS_MAX - 16)) : 1;
  const split = Math.max(1, fewest, Math.min(units, Math.ceil(target / base)));
  return Math.ceil(units / Math.ceil(units / split));
}

/**
 * Parts of the images for the hand-written kernels (thread s takes images s, s + parts, ...): about target / base,
 * and at least enough that a thread's loops stay within LOOP_STEPS_MAX iterations where loopsLimited().
 */
function imageParts(g: Conv2dGeom, base: number, target: number): number {
  const perThread = Math.floor((LOOP_STEPS_MAX - DIRECT_WEIGHT_STORE_STEPS) / directWeightImageSteps(g));
  const fewest = loopsLimited() ? Math.ceil(g.N / Math.max(1, perThread)) : 1;
  return Math.max(1, fewest, Math.min(g.N, Math.ceil(target / base)));
}

/**
 * Partial sums of `split` pair parts, each padded to whole vec4s for reduce_rows4 (with the bias's K after dW's
 * values where `bias`); one part is dW itself.
 */
const pairPartials = (g: Conv2dGeom, split: number, bias = false): Tensor =>
  (split > 1 ? empty([split, ceil4(g.K * g.C * g.KH * g.KW + (bias ? g.K : 0))]) : empty([g.K, g.C, g.KH, g.KW]));

/**
 * Where a pair-split weight kernel (the tile, the lanes kernel) writes: pairPartials and, with `bias`, the bias
 * gradient (after dW's values in each part, or a tensor of its own in one part). `bindings` follow x and dy;
 * `finish` sums the parts a vec4 at a time into dW, and sets bias.db.
 */
function pairOutputs(g: Conv2dGeom, split: number, bias?: BiasGradOut): {bindings: GPUBuffer[]; finish: () => Tensor} {
  const partial = pairPartials(g, split, !!bias);
  const db = bias && split === 1 ? empty([g.K]) : null;
  const dwSize = g.K * g.C * g.KH * g.KW;
  const finish = (): Tensor => {
    if (split === 1) {
      if (db) bias!.db = db;
      return partial;
    }
    let dw: Tensor;
    if (bias) ({head: dw, tail: bias.db} = sumRows4SplitK(partial, split, dwSize, g.K));
    else dw = sumRows4K(partial, split, dwSize);
    partial.dispose();
    return dw.viewAsDispose([g.K, g.C, g.KH, g.KW]);
  };
  return {bindings: bias ? [partial.buffer, db ? db.buffer : dummyBuffer()] : [partial.buffer], finish};
}

/**
 * dW by convBwdWeightLanesKernel: workgroups of 4 invocations (one SIMD subgroup on SwiftShader), each holding up to
 * 4 output channels 4 apart (16 per workgroup); the split aims at 128 threads
 * (docs/kernel-measurements.md#conv-weight-lanes-shape).
 */
export function conv2dBwdWeightLanesK(x: Tensor, dy: Tensor, g: Conv2dGeom, bias?: BiasGradOut): Tensor {
  const lanes = 4, perLane = Math.min(4, Math.ceil(g.K / 4));
  const blocks = Math.ceil(g.K / (lanes * perLane));
  const base = lanes * g.C * blocks;
  const pref = kernelPrefs.convSplitTarget;
  const split = pairParts(g, base, pref !== 'auto' ? pref : 128);
  // Unpadded: every pixel of dy is loaded, so the bias gradient can be summed on the way.
  const out = pairOutputs(g, split, bias);
  const kernel = convBwdWeightLanesKernel({KH: g.KH, KW: g.KW, OW4: g.OW / 4, W: g.W, lanes, perLane, bias: !!bias});
  kernel.launch('main', {buffers: [x.buffer, dy.buffer, ...out.bindings],
    params: convParams(g, Math.ceil(g.K / 4), split), workgroups: grid1d(split * g.C * blocks, 1), flops: convFlops(g),
    note: convNote(g)});
  return out.finish();
}
