// The conv2d launchers: each pass picks its variant from its table in select.ts and runs it. They take and return
// tensors but record no autograd; ops.ts wraps them with gradients.
import type {Tensor} from '../../tensor.js';
import {onCompatCpu} from '../device.js';
import type {PoolGeom} from '../pool/geom.js';
import {POOL_FORWARD} from '../pool/select.js';
import {kernelPrefs} from '../prefs.js';
import {choose} from '../select.js';
import {conv2dPadFirstK, conv2dDirectK, conv2dReluPoolK} from './forward.js';
import {conv2dBwdInputGemmK, conv2dBwdWeightGemmK, conv2dBwdWeightGemmTransposedK, conv2dGemmK, conv2dGemmTransposedK,
  type LoweredCols} from './gemm.js';
import type {Conv2dGeom} from './geom.js';
import {conv2dBwdInputImplicitK, conv2dBwdWeightImplicitK, conv2dImplicitK} from './implicit.js';
import {conv2dBwdInputDirectK} from './input-grad.js';
import {conv2dBwdWeightPointwiseK} from './pointwise-weight.js';
import {conv2dWinogradK, inputGradientGeom, winogradPanels, type WinogradSize} from './winograd.js';
import {conv2dWinogradRowsK, winogradChannelRows} from './winograd-channel-rows.js';
import {winogradWeightK} from './winograd-weight.js';
import {CONV_FORWARD, CONV_INPUT, CONV_WEIGHT, forwardTile} from './select.js';
import {conv2dBwdWeightDirectK, conv2dBwdWeightLanesK, type BiasGradOut} from './weight-grad.js';

export {convGeom, UNIFORM_WEIGHTS_MAX_BYTES, type Conv2dGeom} from './geom.js';
export type {LoweredCols} from './gemm.js';
export type {BiasGradOut} from './weight-grad.js';
export type {ConvTile} from './tile-gen.js';
export {convGemmTransposed, convLowersToGemm, convWeightGemmTransposed, FORWARD_VARIANTS, INPUT_VARIANTS,
  WEIGHT_VARIANTS, CONV_FORWARD, CONV_INPUT, CONV_WEIGHT} from './select.js';
export {CONV_FWD_AUTO, CONV_GRAD_AUTO, hoistedPixels, NATIVE_WEIGHT_ROWS, SWIFTSHADER_WEIGHT_SEGMENT, weightGradRows,
  WHOLE_ROW_MAX} from './tiles.js';
export {groupedConv2dK, groupedConv2dBwdInputK, groupedConv2dBwdWeightK} from './grouped.js';

/** Winograd's forward: on the panels with output channels as the products' rows where that pays, else tiles. */
function winogradForwardK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, m: WinogradSize, flip = false)
  : Tensor {
  const panels = winogradPanels();
  if (panels && winogradChannelRows(g, m)) return conv2dWinogradRowsK(x, w, bias, g, m, flip, panels.textureA);
  return conv2dWinogradK(x, w, bias, g, m, flip);
}

/** keep: where a lowered forward may leave its im2col matrix for conv2dBwdWeightK (the caller then owns it). */
export function conv2dK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, keep?: LoweredCols): Tensor {
  const variant = choose(CONV_FORWARD, g);
  switch (variant) {
    case 'implicit': return conv2dImplicitK(x, w, bias, g);
    case 'implicit128': return conv2dImplicitK(x, w, bias, g, true);
    case 'winograd4': return winogradForwardK(x, w, bias, g, 4);
    case 'winograd2': return winogradForwardK(x, w, bias, g, 2);
    case 'gemm-transposed': return conv2dGemmTransposedK(x, w, bias, g);
    case 'gemm': return conv2dGemmK(x, w, bias, g, keep);
    case 'pad-first': return conv2dPadFirstK(x, g, (xp, gp) => conv2dK(xp, w, bias, gp));
    default: return conv2dDirectK(x, w, bias, g, variant.startsWith('tile'), variant !== 'conv_fwd',
      variant === 'tile-texture');
  }
}

/**
 * The convolution, relu and 2x2 max pooling (stride 2) in one kernel where the forward's table takes a generated tile
 * that holds its row segments (the tile pools in its output write): reluMaxPool2d's output and argmaxima. Null
 * elsewhere (a forced tile without hoisting too): the caller runs the convolution and the pooling apart.
 */
export function conv2dReluMaxPoolK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, pool: PoolGeom)
  : {y: Tensor; arg: Tensor} | null {
  const pref = kernelPrefs.convPoolWrite;
  if (!(pref === 'auto' ? onCompatCpu() : pref) || g.groups > 1) return null;
  const variant = choose(CONV_FORWARD, g);
  // The table's tile rows take unpadded convolutions only.
  if ((variant !== 'tile' && variant !== 'tile-texture') || !forwardTile(g)?.hoist) return null;
  // The pooling the tile takes over stays a case of its family, recorded and measured like the others: a measured
  // choice that moves the convolution off the tile runs the two apart, and finds that case measured too.
  choose(POOL_FORWARD, pool);
  return conv2dReluPoolK(x, w, bias, g, variant === 'tile-texture');
}

export function conv2dBwdInputK(dy: Tensor, w: Tensor, g: Conv2dGeom): Tensor {
  const variant = choose(CONV_INPUT, g);
  if (variant === 'implicit' || variant === 'implicit128') {
    return conv2dBwdInputImplicitK(dy, w, g, variant === 'implicit128');
  }
  // The input gradient of a 3x3 stride-1 convolution is a Winograd forward of dy with w rotated (inputGradientGeom).
  if (variant === 'winograd4' || variant === 'winograd2') {
    return winogradForwardK(dy, w, null, inputGradientGeom(g), variant === 'winograd4' ? 4 : 2, true);
  }
  if (variant === 'gemm') return conv2dBwdInputGemmK(dy, w, g);
  return conv2dBwdInputDirectK(dy, w, g, variant.startsWith('tile'), variant !== 'conv_bwd_input',
    variant === 'tile-texture');
}

/**
 * cols: the forward's im2col matrix of x where it kept one (conv2dK's keep), else it is lowered again. `bias`: set to
 * the bias gradient where the chosen kernel sums it as well (the generated direct tile, the lanes kernel), else left
 * null.
 */
export function conv2dBwdWeightK(x: Tensor, dy: Tensor, g: Conv2dGeom, cols: Tensor | null = null,
  bias?: BiasGradOut): Tensor {
  const variant = choose(CONV_WEIGHT, {g, kept: !!cols});
  switch (variant) {
    case 'implicit': return conv2dBwdWeightImplicitK(x, dy, g);
    case 'winograd4': return winogradWeightK(x, dy, g, 4);
    case 'winograd2': return winogradWeightK(x, dy, g, 2);
    case 'gemm-transposed': return conv2dBwdWeightGemmTransposedK(x, dy, g);
    case 'gemm': return conv2dBwdWeightGemmK(x, dy, g, cols);
    case 'lanes': return conv2dBwdWeightLanesK(x, dy, g, bias);
    case 'pointwise8': return conv2dBwdWeightPointwiseK(x, dy, g, 8);
    case 'pointwise4': return conv2dBwdWeightPointwiseK(x, dy, g, 4);
    default: return conv2dBwdWeightDirectK(x, dy, g, variant.startsWith('tile'), variant !== 'conv_bwd_weight', bias,
      variant === 'tile-texture');
  }
}
