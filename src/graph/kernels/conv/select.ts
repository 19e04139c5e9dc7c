// Which kernel each pass of a convolution runs: lowered to matrix products (gemm.ts), a generated tile (forward.ts,
// input-grad.ts, weight-grad.ts) or a hand-written kernel of shaders/conv2d/. One table per pass; grouped
// convolutions: select-grouped.ts.
import {rt} from '../../engine.js';
import {DIRECT_WEIGHT_STORE_STEPS, directForwardSteps, directInputSteps, directWeightImageSteps} from '../../shaders.js';
import {LOOP_STEPS_MAX, loopsLimited, onCompatCpu, onCpu, readsThroughTexture, textureTwinFits} from '../device.js';
import {kernelPrefs, tuned} from '../prefs.js';
import type {Choice, Family} from '../select.js';
import {ceil4} from '../shapes.js';
import {shapedPick} from '../matmul/register-tile.js';
import {panelsPreferred} from '../matmul/select.js';
import type {Conv2dGeom} from './geom.js';
import type {PointwiseRows} from './pointwise-weight.js';
import type {ConvTile} from './tile-gen.js';
import {implicitGridFits, implicitReductionFits} from './implicit.js';
import {winogradFits, winogradInputFits, type WinogradSize} from './winograd.js';
import {winogradWeightFits} from './winograd-weight.js';
import {CONV_FWD_AUTO, CONV_GRAD_AUTO, inputTileApplies, stridedWeightTile} from './tiles.js';

export type ConvPass = 'forward' | 'input' | 'weight';

/**
 * Whether a convolution can be lowered at all: the lowered matrices must fit one storage binding (128 MiB on
 * llvmpipe: the paper's CapsNet at batch 64 would need 191 MiB), and their rows the matmul grid (65,535 workgroups
 * of at least 8 rows); past either the direct kernels run, which need neither, even when 'gemm' is preferred.
 */
export function loweredFits(g: Conv2dGeom): boolean {
  return loweredImages(g) >= g.N;
}

/**
 * How many images a lowering takes at once: as many as fit one storage binding and the matmul grid, at most
 * kernelPrefs.convLoweringImages (loweredFits: all of them).
 */
export function loweredImages(g: Conv2dGeom): number {
  const rows = g.OH * g.OW, widest = Math.max(ceil4(g.C * g.KH * g.KW), ceil4(g.K)), pref = kernelPrefs.convLoweringImages;
  return Math.min(g.N, Math.floor(rt().maxTensorBytes.bytes / (4 * rows * widest)), Math.floor(65535 * 8 / rows),
    pref === 'auto' ? Infinity : pref);
}

/**
 * A lowered forward too large for one binding runs in chunks of images, each product written into the output's
 * images by the uniform panels: on llvmpipe under 'auto', for a batch of ImageNet photos whose stem would otherwise
 * take a direct kernel at a third of the rate (docs/kernel-measurements.md#conv-gemm-chunks).
 */
export const chunkedLoweringFits = (g: Conv2dGeom): boolean => !loweredFits(g) && loweredImages(g) >= 1 &&
  (kernelPrefs.convLoweringImages !== 'auto' || panelsPreferred(g.OH * g.OW * loweredImages(g), ceil4(g.K),
    g.C * g.KH * g.KW));

/** A 1x1 convolution at stride 1 without padding: every pass is one matrix product over the pixels. */
export const pointwise = (g: Conv2dGeom): boolean => g.KH === 1 && g.KW === 1 && g.SH === 1 && g.SW === 1 &&
  g.PH === 0 && g.PW === 0;

/**
 * Whether a convolution pass runs as matrix products. 'auto': from 8 input and 64 output channels (input gradients a
 * generated tile serves: 128), where the tuned matmul tiles beat the direct kernels
 * (docs/kernel-measurements.md#conv-lowering); and a pointwise weight gradient from 96 input channels, whatever its
 * output channels: a MobileNetV2's projections, on both CPU adapters
 * (docs/kernel-measurements.md#conv-pointwise-weight).
 */
export function convLowersToGemm(g: Conv2dGeom, pass: ConvPass): boolean {
  const pref = kernelPrefs.convLowering;
  if (pref === 'direct' || !(loweredFits(g) || (pass === 'forward' && chunkedLoweringFits(g)))) return false;
  if (pref === 'gemm') return true;
  if (pass === 'weight' && pointwise(g) && g.C >= 96) return true;
  // Few channels make a thin product, unless the window is wide (an ImageNet stem: 3 channels x 7x7 = 147 columns).
  // The stem's weight gradient stays on the generated tile on llvmpipe: 1.2-2.6x faster than its long product
  // (docs/kernel-measurements.md#conv-stem-lowering).
  if (g.C < 8 && (g.C * g.KH * g.KW < 128 || (pass === 'weight' && onCompatCpu()))) return false;
  return g.K >= (pass === 'input' && inputTileApplies(g) ? 128 : 64);
}

/**
 * Whether a lowered forward runs as Y [K, N*OH*OW] = W @ cols^T (kernelPrefs.convGemmTransposed): W is read in place
 * (no re-laid copy) and the product has K rows. 'auto' takes it where both products are large (the tuned large tile's
 * rows) and the tiles' model (shapedPick: measured time x padded rows x padded columns) favours it, e.g. where the
 * usual product's rows would pad a 256-row tile to nearly twice (docs/kernel-measurements.md#conv-gemm-transposed).
 * The weight gradient then lowers x again (it reads cols, not cols^T).
 */
export function convGemmTransposed(g: Conv2dGeom): boolean {
  const pref = kernelPrefs.convGemmTransposed;
  const rows = g.N * g.OH * g.OW;
  if (pref !== 'auto') return pref === 'always';
  // llvmpipe only: on SwiftShader the forward gained less than the weight gradient's second im2col may cost.
  if (rows % 4 !== 0 || !onCompatCpu()) return false;
  // The uniform panels take the usual product whole (a few dispatches); flipped, K rows would leave cores idle.
  if (panelsPreferred(rows, g.K, g.C * g.KH * g.KW)) return false;
  if (tuned.device !== rt().device || g.K < tuned.largeFrom || rows < tuned.largeFrom) return false;
  const usual = shapedPick(tuned.largeMs, rows, ceil4(g.K)), flipped = shapedPick(tuned.largeMs, g.K, rows);
  return !!usual && !!flipped && flipped.cost < usual.cost;
}

/**
 * Whether a lowered weight gradient runs as dW^T [C*KH*KW, K] = cols^T @ dy (kernelPrefs.convWeightGemmTransposed);
 * `kept`: the forward left its cols. 'auto', on CPU adapters (GPUs: not measured), where K rows fall short of the
 * tuned large tile's rows and C*KH*KW rows reach them; on llvmpipe only where the forward kept no cols (reusing
 * them was faster there; docs/kernel-measurements.md#conv-weight-gemm-transposed).
 */
export function convWeightGemmTransposed(g: Conv2dGeom, kept: boolean): boolean {
  const pref = kernelPrefs.convWeightGemmTransposed;
  if (pref !== 'auto') return pref === 'always';
  // Pointwise: on SwiftShader every weight gradient of a MobileNetV2 measured 1.3-14x faster so, cols kept or not; on
  // llvmpipe those with no cols kept (docs/kernel-measurements.md#conv-pointwise-weight).
  if (onCpu() && pointwise(g) && (!kept || !onCompatCpu())) return true;
  if (tuned.device !== rt().device || !onCpu()) return false;
  if (g.K >= tuned.largeFrom || g.C * g.KH * g.KW < tuned.largeFrom) return false;
  return !kept || !onCompatCpu();
}

const padded = (g: Conv2dGeom) => g.PH > 0 || g.PW > 0;

/** The generated forward tile to fit (forced, or CONV_FWD_AUTO under 'auto'); unpadded convolutions only. */
export function forwardTile(g: Conv2dGeom): ConvTile | null {
  const pref = kernelPrefs.convForward;
  if (padded(g)) return null;
  return typeof pref === 'object' ? pref : pref === 'auto' ? CONV_FWD_AUTO.tile : null;
}

/** The generated input-gradient tile to fit: at stride 1, or strided over whole rows (inputTileApplies). */
export function inputTile(g: Conv2dGeom): ConvTile | null {
  const pref = kernelPrefs.convInput;
  if (!inputTileApplies(g)) return null;
  return typeof pref === 'object' ? pref : pref === 'auto' ? CONV_GRAD_AUTO.input : null;
}

/** The generated weight-gradient tile to fit (any stride and padding; 'auto' widens a strided one). */
export function weightTile(g: Conv2dGeom): ConvTile | null {
  const pref = kernelPrefs.convWeight;
  if (typeof pref === 'object') return pref;
  return pref === 'auto' && CONV_GRAD_AUTO.weight ? stridedWeightTile(CONV_GRAD_AUTO.weight, g) : null;
}

/**
 * Whether the lane-per-output-channel weight gradient (tile-weight.ts, convBwdWeightLanesKernel) takes this shape:
 * unpadded, column stride 1, dy rows a multiple of 4 wide, and a body small enough to unroll. 'auto' takes it on
 * CPU adapters in core mode (SwiftShader) for output channels in multiples of 16, where no lane idles; llvmpipe
 * keeps the tile, its loads being cheaper (docs/kernel-measurements.md#conv-weight-lanes).
 */
export function weightLanesApply(g: Conv2dGeom): boolean {
  const pref = kernelPrefs.convWeightLanes;
  if (pref === false || (pref === 'auto' && !(onCpu() && !onCompatCpu() && g.K % 16 === 0))) return false;
  return lanesShape(g);
}

/** The shapes the lane kernel takes at all. */
const lanesShape = (g: Conv2dGeom): boolean => g.PH === 0 && g.PW === 0 && g.SW === 1 && g.OW % 4 === 0 &&
  g.KH * g.KW <= 64 && g.KH * g.KW * (g.OW / 4) <= 256;

// The generated tiles through staging textures: x (forward), dy (input gradient), or both (the weight gradient, whose
// dy may be a copy padded to whole channel groups of up to 16: sized for that).
const inputFloats = (g: Conv2dGeom) => g.N * g.C * g.H * g.W;
const outputFloats = (g: Conv2dGeom) => g.N * g.K * g.OH * g.OW;
const weightSourceFloats = (g: Conv2dGeom) => Math.max(inputFloats(g), g.N * Math.ceil(g.K / 16) * 16 * g.OH * g.OW);
const tileTextureWhen = (floats: number) => kernelPrefs.convTileTexture && readsThroughTexture(floats);
const TILE_TEXTURE_WHY = 'the generated tile reading its activations through staging textures: llvmpipe before Mesa ' +
  '26, whose storage loads cost several texture loads (docs/kernel-measurements.md#conv-tile-texture)';

export type ForwardVariant = 'implicit128' | 'implicit' | 'winograd4' | 'winograd2' | 'gemm-transposed' | 'gemm' |
  'pad-first' | 'tile-texture' | 'tile' | 'conv_fwd' | 'conv_fwd8';
export type InputVariant = 'implicit128' | 'implicit' | 'winograd4' | 'winograd2' | 'gemm' | 'tile-texture' | 'tile' |
  'conv_bwd_input' | 'conv_bwd_input8';
export type WeightVariant = 'implicit' | 'pointwise8' | 'pointwise4' | 'winograd4' | 'winograd2' | 'gemm-transposed' |
  'gemm' | 'lanes' | 'tile-texture' | 'tile' | 'conv_bwd_weight' | 'conv_bwd_weight8';

/** A weight gradient: its geometry and whether the forward kept its im2col matrix. */
export interface WeightCase { g: Conv2dGeom; kept: boolean }

// The implicit products: rows of output pixels (forward) or input pixels (input gradient) on the grid, and the
// reduction over the taps within llvmpipe's loop limit.
// big: the 128 x 128 tiles, half the grid of the 64 x 64 ones and their own count of loop iterations.
const implicitForwardFits = (g: Conv2dGeom, big = false) => implicitGridFits(g.N * g.OH * g.OW, g.K) &&
  implicitReductionFits(g.C * g.KH * g.KW, big);
const implicitInputFits = (g: Conv2dGeom, big = false) => implicitGridFits(g.N * g.H * g.W, g.C) &&
  implicitReductionFits(g.K * g.KH * g.KW, big);
const IMPLICIT128_WHY = 'implicit products on 128 x 128 workgroup tiles, 8 x 8 outputs a thread: forced, or where ' +
  'tune measured them faster (GPUs; not yet timed on one)';
// The hand-written kernels loop over a whole window (forward: C x KH x KW taps, input gradient: KH x KW x K) or, for
// the weight gradient, over every output pixel of their images: within llvmpipe's loop limit where it has one.
// The step counts are llvmpipe's, loop tests included, measured (docs/kernel-measurements.md#llvmpipe-loop-limit);
// the weight gradient's launcher splits the images so a thread's stay within.
export const withinLoops = (steps: number) => !loopsLimited() || steps <= LOOP_STEPS_MAX;
const directForwardFits = (g: Conv2dGeom) => withinLoops(directForwardSteps(g));
const directInputFits = (g: Conv2dGeom) => withinLoops(directInputSteps(g));
const directWeightFits = (g: Conv2dGeom) => withinLoops(directWeightImageSteps(g) + DIRECT_WEIGHT_STORE_STEPS);

// Implicit products: on hardware GPUs under 'auto', as tfjs-backend-webgpu's conv2d_mm runs every convolution there;
// not yet timed on a GPU here (`webgpu-transfer tune` measures it against the others on the adapter at hand).
const implicitWhen = () => kernelPrefs.convLowering === 'implicit' || kernelPrefs.convLowering === 'implicit128' ||
  (kernelPrefs.convLowering === 'auto' && !onCpu());
const IMPLICIT_WHY = 'implicit products on 64 x 64 workgroup tiles, no im2col matrix: hardware GPUs';

/**
 * Winograd's F(m x m, 3x3) for 3x3 stride-1 forwards (and input gradients, which are such forwards): forced by its
 * preference, or under 'auto' on CPU adapters from 16 input and output channels and WINOGRAD2_TILES tiles (a
 * product's rows: fewer than a panel workgroup's 64 made ResNet-18's small maps 1.7-8x slower than the direct kernels,
 * docs/kernel-measurements.md#small-maps). On llvmpipe F(4x4) where its tiles make at least WINOGRAD4_TILES rows of
 * each product (three of the panel kernel's 64-row workgroups: fewer leave cores idle), else F(2x2)
 * (docs/kernel-measurements.md#conv-winograd); on other CPU adapters, whose products run on the register tiles, the
 * size of lesser cost (cheaperWinograd; docs/kernel-measurements.md#conv-winograd-swiftshader).
 */
export function winogradSize(g: Conv2dGeom): WinogradSize | null {
  const pref = kernelPrefs.convWinograd;
  if (pref === 'off') return null;
  if (pref !== 'auto') return pref === 'f4' ? 4 : 2;
  if (kernelPrefs.convLowering !== 'auto' || !onCpu() || g.C < 16 || g.K < 16) return null;
  if (g.N * Math.ceil(g.OH / 2) * Math.ceil(g.OW / 2) < WINOGRAD2_TILES) return null;
  if (!onCompatCpu()) return cheaperWinograd(g);
  return g.N * Math.ceil(g.OH / 4) * Math.ceil(g.OW / 4) >= WINOGRAD4_TILES ? 4 : 2;
}
export const WINOGRAD4_TILES = 192;
export const WINOGRAD2_TILES = 64;

/**
 * Of F(2x2) and F(4x4), the one of lesser cost, counted as (m+2)^2 products, each of its tiles plus
 * WINOGRAD_PRODUCT_TILES: what a product costs besides its tiles (its launch, and in a weight gradient its C x K
 * outputs, written and then transformed), fitted to measured cases (docs/kernel-measurements.md#conv-winograd-weight).
 */
function cheaperWinograd(g: Conv2dGeom): WinogradSize {
  const tiles = (m: WinogradSize) => g.N * Math.ceil(g.OH / m) * Math.ceil(g.OW / m);
  const cost = (m: WinogradSize) => (m + 2) ** 2 * (tiles(m) + WINOGRAD_PRODUCT_TILES);
  return cost(4) < cost(2) ? 4 : 2;
}
export const WINOGRAD_PRODUCT_TILES = 64;

/**
 * The weight gradient's F(m x m, 3x3): forced, or under 'auto' where the forward's rule takes Winograd, on llvmpipe
 * only where both channel counts reach WINOGRAD_WEIGHT_CHANNELS (fewer lost to the generated tile there); the size of
 * lesser cost. Its products have C rows and sum over the tiles, so llvmpipe's forward rule on rows does not apply
 * (docs/kernel-measurements.md#conv-winograd-weight).
 */
export function winogradWeightSize(g: Conv2dGeom): WinogradSize | null {
  const m = winogradSize(g);
  if (m === null || kernelPrefs.convWinograd !== 'auto') return m;
  if (onCompatCpu() && Math.min(g.C, g.K) < WINOGRAD_WEIGHT_CHANNELS) return null;
  return cheaperWinograd(g);
}
export const WINOGRAD_WEIGHT_CHANNELS = 64;
const winogradRow = (m: WinogradSize): Choice<ForwardVariant, Conv2dGeom> => ({variant: `winograd${m}`,
  when: (g) => winogradSize(g) === m && winogradFits(g, m), fits: (g) => winogradFits(g, m),
  why: `F(${m}x${m}, 3x3): ${m === 2 ? '2.25' : '4'}x fewer multiply-adds than im2col, in batched channel products`});

export const FORWARD_VARIANTS: readonly Choice<ForwardVariant, Conv2dGeom>[] = [
  {variant: 'implicit128', when: (g) => kernelPrefs.convLowering === 'implicit128' && implicitForwardFits(g, true),
    fits: (g) => implicitForwardFits(g, true), why: IMPLICIT128_WHY},
  {variant: 'implicit', when: (g) => implicitWhen() && implicitForwardFits(g), fits: (g) => implicitForwardFits(g),
    why: IMPLICIT_WHY},
  winogradRow(4),
  winogradRow(2),
  {variant: 'gemm-transposed', when: (g) => convLowersToGemm(g, 'forward') && convGemmTransposed(g),
    fits: (g) => loweredFits(g) && (g.N * g.OH * g.OW) % 4 === 0,
    why: 'W @ cols^T where the tiles\' model favours K rows (docs/kernel-measurements.md#conv-gemm-transposed)'},
  {variant: 'gemm', when: (g) => convLowersToGemm(g, 'forward'), fits: (g) => loweredFits(g) || chunkedLoweringFits(g),
    why: 'im2col and the tuned matmul tiles from 8 x 64 channels (docs/kernel-measurements.md#conv-lowering)'},
  {variant: 'pad-first', when: (g) => padded(g) && kernelPrefs.convForward === 'auto' && kernelPrefs.convPadFirst &&
    !!CONV_FWD_AUTO.tile, fits: (g) => padded(g) && !!CONV_FWD_AUTO.tile,
  why: 'zero-bordered copy, then the unpadded tile (docs/kernel-measurements.md#conv-pad-first)'},
  {variant: 'tile-texture', when: (g) => !!forwardTile(g) && tileTextureWhen(inputFloats(g)),
    fits: (g) => !padded(g) && !!CONV_FWD_AUTO.tile && textureTwinFits(inputFloats(g)), why: TILE_TEXTURE_WHY},
  {variant: 'tile', when: (g) => !!forwardTile(g), fits: (g) => !padded(g) && !!CONV_FWD_AUTO.tile,
    why: 'the generated tile holding a row across the taps (docs/kernel-measurements.md#conv-forward-tile)'},
  {variant: 'conv_fwd', when: () => kernelPrefs.convForward === 'k4', fits: directForwardFits,
    why: '4 channels x 4 pixels, forced'},
  {variant: 'conv_fwd8', when: () => true, fits: directForwardFits, why: '8 channels x 4 pixels: any padding and stride'},
];

// The input gradient of a 3x3 stride-1 convolution is itself one (dy against the rotated weights): the same sizes.
const winogradInputRow = (m: WinogradSize): Choice<InputVariant, Conv2dGeom> => ({variant: `winograd${m}`,
  when: (g) => winogradSize(g) === m && winogradInputFits(g, m), fits: (g) => winogradInputFits(g, m),
  why: `F(${m}x${m}, 3x3) over dy with the rotated weights, as the forward`});

export const INPUT_VARIANTS: readonly Choice<InputVariant, Conv2dGeom>[] = [
  {variant: 'implicit128', when: (g) => kernelPrefs.convLowering === 'implicit128' && implicitInputFits(g, true),
    fits: (g) => implicitInputFits(g, true), why: IMPLICIT128_WHY},
  {variant: 'implicit', when: (g) => implicitWhen() && implicitInputFits(g), fits: (g) => implicitInputFits(g),
    why: IMPLICIT_WHY},
  winogradInputRow(4),
  winogradInputRow(2),
  {variant: 'gemm', when: (g) => convLowersToGemm(g, 'input'), fits: loweredFits,
    why: 'dy rows @ W and col2im from 128 output channels (docs/kernel-measurements.md#conv-lowering)'},
  {variant: 'tile-texture', when: (g) => !!inputTile(g) && tileTextureWhen(outputFloats(g)),
    fits: (g) => inputTileApplies(g) && !!CONV_GRAD_AUTO.input && textureTwinFits(outputFloats(g)),
    why: TILE_TEXTURE_WHY},
  {variant: 'tile', when: (g) => !!inputTile(g), fits: (g) => inputTileApplies(g) && !!CONV_GRAD_AUTO.input,
    why: 'the generated tile holding a dy segment across the taps (docs/kernel-measurements.md#conv-gradient-tiles)'},
  {variant: 'conv_bwd_input', when: () => kernelPrefs.convInput === 'c4', fits: directInputFits,
    why: '4 channels x 4 neighbours, forced'},
  {variant: 'conv_bwd_input8', when: () => true, fits: directInputFits,
    why: '8 channels x 4 same-residue columns: any stride'},
];

/**
 * Whether conv2dBwdWeightPointwiseK can run `g` in blocks of `rows` output channels: pointwise and ungrouped, input
 * channels and pixels in whole vec4s, output channels in whole blocks.
 */
const pointwiseWeightFits = (g: Conv2dGeom, rows: PointwiseRows): boolean => pointwise(g) && g.groups === 1 &&
  g.K % rows === 0 && g.C % 4 === 0 && (g.H * g.W) % 4 === 0;
/** Past this many outputs (MobileNetV2's 1280 x 112) the lowering's products stayed faster on both CPU adapters. */
const pointwiseSmall = (g: Conv2dGeom) => g.K * g.C <= 40000;
const POINTWISE_WHY = 'CPU adapters, 1x1 with K x C <= 40,000: channel blocks over spans of the pixels ' +
  '(docs/kernel-measurements.md#conv-pointwise-blocks)';
/** Whether the table takes the 1x1 weight gradient's channel blocks (a lowered forward then keeps no cols for it). */
export const pointwiseWeightWhen = (g: Conv2dGeom): boolean => pointwiseWeightFits(g, 4) &&
  (kernelPrefs.convWeight === 'pointwise' || (onCpu() && kernelPrefs.convWeight === 'auto' && lowering() &&
    pointwiseSmall(g)));
// The weight gradient by the forward's transforms run backwards (conv/winograd-weight.ts).
const winogradWeightRow = (m: WinogradSize): Choice<WeightVariant, WeightCase> => ({variant: `winograd${m}`,
  when: (c) => winogradWeightSize(c.g) === m && winogradWeightFits(c.g, m), fits: (c) => winogradWeightFits(c.g, m),
  why: `F(${m}x${m}, 3x3): (V^T @ A dy A^T) per tile point, then G^T dU G`});

export const WEIGHT_VARIANTS: readonly Choice<WeightVariant, WeightCase>[] = [
  {variant: 'pointwise8', when: (c) => pointwiseWeightWhen(c.g), fits: (c) => pointwiseWeightFits(c.g, 8),
    why: `${POINTWISE_WHY}: 8 x 4 channel blocks, 12 vec4 loads a 32 dot products`},
  {variant: 'pointwise4', when: (c) => pointwiseWeightWhen(c.g), fits: (c) => pointwiseWeightFits(c.g, 4),
    why: `${POINTWISE_WHY}, output channels not in 8s: 4 x 4 channel blocks, 8 vec4 loads a 16 dot products`},
  {variant: 'implicit', when: (c) => implicitWhen() && implicitGridFits(c.g.K, c.g.C * c.g.KH * c.g.KW),
    fits: (c) => implicitGridFits(c.g.K, c.g.C * c.g.KH * c.g.KW),
    why: `${IMPLICIT_WHY}; the sum over pixels in parts (split-K)`},
  winogradWeightRow(4),
  winogradWeightRow(2),
  {variant: 'gemm-transposed', when: (c) => convLowersToGemm(c.g, 'weight') && convWeightGemmTransposed(c.g, c.kept),
    fits: (c) => loweredFits(c.g),
    why: 'cols^T @ dy where K rows miss the large tile (docs/kernel-measurements.md#conv-weight-gemm-transposed)'},
  {variant: 'gemm', when: (c) => convLowersToGemm(c.g, 'weight'), fits: (c) => loweredFits(c.g),
    why: 'dy^T @ cols, reusing the forward\'s cols (docs/kernel-measurements.md#conv-keep-cols)'},
  {variant: 'lanes', when: (c) => weightLanesApply(c.g),
    fits: (c) => lanesShape(c.g) && withinLoops(c.g.N * c.g.OH * c.g.OW / 4),
    why: 'a lane per output channel on SwiftShader (docs/kernel-measurements.md#conv-weight-lanes)'},
  {variant: 'tile-texture', when: (c) => !!weightTile(c.g) && tileTextureWhen(weightSourceFloats(c.g)),
    fits: (c) => !!CONV_GRAD_AUTO.weight && textureTwinFits(weightSourceFloats(c.g)), why: TILE_TEXTURE_WHY},
  {variant: 'tile', when: (c) => !!weightTile(c.g), fits: () => !!CONV_GRAD_AUTO.weight,
    why: 'the generated tile holding a kernel row\'s taps (docs/kernel-measurements.md#conv-gradient-tiles)'},
  {variant: 'conv_bwd_weight', when: () => kernelPrefs.convWeight === 'cols4', fits: (c) => directWeightFits(c.g),
    why: '4 x 4 kernel columns, forced'},
  {variant: 'conv_bwd_weight8', when: () => true, fits: (c) => directWeightFits(c.g),
    why: '8 channels x 4 flattened taps: any shape'},
];

/** A convolution's shape class for measured choices: every number of its geometry. */
export const geomKey = (g: Conv2dGeom): string => `${g.N}x${g.C}x${g.H}x${g.W}>${g.K}x${g.KH}x${g.KW}` +
  `/s${g.SH},${g.SW}/p${g.PH},${g.PW}`;

const lowering = () => kernelPrefs.convLowering === 'auto';
export const CONV_FORWARD: Family<ForwardVariant, Conv2dGeom> = {name: 'conv.forward', table: FORWARD_VARIANTS,
  key: geomKey, open: () => lowering() && kernelPrefs.convForward === 'auto' && kernelPrefs.convPadFirst &&
    kernelPrefs.convTileTexture &&
    kernelPrefs.convGemmTransposed === 'auto' && kernelPrefs.convWinograd === 'auto' &&
    kernelPrefs.convLoweringImages === 'auto'};
export const CONV_INPUT: Family<InputVariant, Conv2dGeom> = {name: 'conv.input', table: INPUT_VARIANTS,
  key: geomKey, open: () => lowering() && kernelPrefs.convInput === 'auto' && kernelPrefs.convWinograd === 'auto' &&
    kernelPrefs.convTileTexture};
export const CONV_WEIGHT: Family<WeightVariant, WeightCase> = {name: 'conv.weight', table: WEIGHT_VARIANTS,
  key: (c) => `${geomKey(c.g)}${c.kept ? '/kept' : ''}`, open: () => lowering() && kernelPrefs.convWeight === 'auto' &&
    kernelPrefs.convWeightLanes === 'auto' && kernelPrefs.convWeightGemmTransposed === 'auto' &&
    kernelPrefs.convTileTexture};

/** An im2col launch: the geometry of the images it lowers, and the floats of the whole input it reads from. */
export interface Im2colCase { g: Conv2dGeom; xFloats: number }
/**
 * im2col reads x through the staging texture on llvmpipe, where texture loads measured far cheaper than storage
 * (docs/kernel-measurements.md#im2col-texture); on other CPUs and Mesa releases, storage (measured choices decide:
 * docs/kernel-measurements.md#texture-reads).
 */
export const IM2COL_VARIANTS: readonly Choice<'texture' | 'storage', Im2colCase>[] = [
  {variant: 'texture', when: (c) => readsThroughTexture(c.xFloats),
    fits: (c) => textureTwinFits(c.xFloats), why: 'x through the staging texture: llvmpipe'},
  {variant: 'storage', when: () => true, why: 'x from storage'},
];
export const IM2COL: Family<'texture' | 'storage', Im2colCase> = {name: 'conv.im2col', table: IM2COL_VARIANTS,
  key: (c) => `${geomKey(c.g)}/x${c.xFloats}`, open: () => true};
