// The direct conv forward: the generated tile (tile-forward.ts) or the hand-written conv_fwd8 / conv_fwd, and the
// pad-first form that copies a padded input into a zero-bordered tensor for the unpadded tile.
import {CONV_KERNELS} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {dummyBuffer, sourceBinding} from '../device.js';
import {copyK, fillK} from '../layout/index.js';
import {kernelPrefs} from '../prefs.js';
import {contiguousStrides} from '../shapes.js';
import {convFlops, convNote, convParams, uniformWeightVec4s, weightBinding, type Conv2dGeom} from './geom.js';
import {forwardTile} from './select.js';
import {convFwdKernel} from './tile-forward.js';
import {hoistedPixels, imagesPerThread, NATIVE_WEIGHT_ROWS, withLanes, withStores4} from './tiles.js';

/** The unpadded convolution of x copied into a zero border (`conv`: the forward that then runs). */
export function conv2dPadFirstK(x: Tensor, g: Conv2dGeom,
  conv: (xp: Tensor, g: Conv2dGeom) => Tensor): Tensor {
  const H = g.H + 2 * g.PH, W = g.W + 2 * g.PW;
  const xp = fillK(empty([g.N, g.C, H, W]), 0);
  copyK(x, xp, x.shape, contiguousStrides(x.shape), contiguousStrides(xp.shape), 0, g.PH * W + g.PW);
  const y = conv(xp, {...g, H, W, PH: 0, PW: 0});
  xp.dispose();
  return y;
}

/**
 * The forward by the generated tile (`tiled`; reading x through the staging texture with `texture`) or, without one,
 * conv_fwd8 (`k8`) or conv_fwd.
 */
export function conv2dDirectK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, tiled: boolean,
  k8: boolean, texture = false): Tensor {
  return directForward(x, w, bias, g, tiled, k8, texture, false).y;
}

/**
 * The generated hoisting tile's forward (unpadded) followed by relu and 2x2 max pooling (stride 2) in its output
 * write: reluMaxPool2d's output and argmaxima ([N, K, OH / 2, OW / 2]) without the convolution's output being written.
 */
export function conv2dReluPoolK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, texture: boolean)
  : {y: Tensor; arg: Tensor} {
  const {y, arg} = directForward(x, w, bias, g, true, true, texture, true);
  return {y, arg: arg!};
}

function directForward(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, tiled: boolean, k8: boolean,
  texture: boolean, pool: boolean): {y: Tensor; arg: Tensor | null} {
  const padded = g.PH > 0 || g.PW > 0;
  const pooledShape = [g.N, g.K, Math.floor(g.OH / 2), Math.floor(g.OW / 2)];
  const out = empty(pool ? pooledShape : [g.N, g.K, g.OH, g.OW]);
  const arg = pool ? empty(pooledShape, 'i32') : null;
  const chosen = tiled ? forwardTile(g) : null;
  // Unpadded here: the input segment starts 4-aligned when rows are a multiple of 4 wide.
  const fitted = chosen && withLanes(withStores4(hoistedPixels(chosen, g.OW, g.KW, g.SW, 'forward',
    !!chosen.hoist && g.W % 4 === 0), g.OW), g.K);
  // Pooling in the write: whole windows per thread (an even pixel count) and scalar stores of the pooled values.
  const tile = fitted && pool ? {...fitted, pixels: fitted.pixels + (fitted.pixels % 2), stores4: false} : fitted;
  const groups4 = tile ? tile.groups * Math.ceil(g.K / (4 * tile.groups)) : k8 ? 2 * Math.ceil(g.K / 8)
    : Math.ceil(g.K / 4);
  const ckk = g.C * g.KH * g.KW;
  // Weights read in place (ConvTile.nativeWeights), or re-laid out [K, C*KH*KW] -> [C*KH*KW, Kpad]: rows of output
  // channels read as vec4.
  const nativeU = tile && tile.hoist && groups4 === tile.groups && kernelPrefs.convNativeWeights &&
    g.C * g.KH <= NATIVE_WEIGHT_ROWS ? uniformWeightVec4s(w) : 0;
  const wt = nativeU ? w : empty([ckk, groups4 * 4]);
  if (!nativeU) copyK(w, wt, [g.K, ckk], [ckk, 1], [1, groups4 * 4]);
  // Only the generated tiles can read the weights as uniforms.
  const u = nativeU || (tile ? uniformWeightVec4s(wt) : 0);
  const launch = {buffers: [sourceBinding(x, !!tile && texture), weightBinding(wt, u), bias ? bias.buffer : dummyBuffer(),
    out.buffer, ...(arg ? [arg.buffer] : [])],
    params: convParams(g, groups4), flops: convFlops(g), note: convNote(g)};
  if (tile) {
    const images = nativeU || !tile.hoist || pool ? 1 : imagesPerThread(tile, kernelPrefs.convForwardImages, g.N, g.C > 1);
    const rows = pool ? Math.floor(g.OH / 2) : g.OH;
    const threads = Math.ceil(g.N / images) * (groups4 / tile.groups) * rows * Math.ceil(g.OW / tile.pixels);
    const run = {...tile, texture, ...(nativeU ? {nativeWeights: {C: g.C, KH: g.KH, K: g.K}} : {images})};
    convFwdKernel(run, !!bias, g.KW, g.SW, u, pool).launch('main', {...launch, threads});
  } else {
    const threads = g.N * (k8 ? groups4 / 2 : groups4) * g.OH * Math.ceil(g.OW / 4);
    const constants: Record<string, number> = {HAS_BIAS: bias ? 1 : 0};
    if (k8) constants.PADDED = padded ? 1 : 0;
    CONV_KERNELS[k8 ? 'conv_fwd8' : 'conv_fwd'].launch('main', {...launch, threads, constants});
  }
  if (!nativeU) wt.dispose();
  return {y: out, arg};
}
