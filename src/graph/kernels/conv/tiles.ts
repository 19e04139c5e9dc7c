// How a generated conv tile is fitted to a shape and adapter: pixels per thread, kernel rows, images per thread,
// vec4 stores and real lanes, and the tiles 'auto' starts from. The tile's WGSL is generated in tile-*.ts.
import {onCompatCpu, onCpu, onSwiftShader} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import type {Conv2dGeom} from './geom.js';
import type {ConvTile} from './tile-gen.js';

/**
 * The most (input channel, kernel row) pairs a forward tile unrolls to read its weights in place
 * (ConvTile.nativeWeights): LeNet's conv1 has 5; each pair is KW taps x pixels x channels lines of WGSL.
 */
export const NATIVE_WEIGHT_ROWS = 8;

/** The widest rows a strided input gradient's whole-row tile takes (one thread per row: its accumulators). */
export const WHOLE_ROW_MAX = 24;
/** Whether an input gradient has a generated tile: at stride 1, or strided over whole rows (ConvTile.wholeRow). */
export const inputTileApplies = (g: Conv2dGeom): boolean =>
  (g.SH === 1 && g.SW === 1) || (kernelPrefs.convWholeRows && g.W <= WHOLE_ROW_MAX);

/**
 * The generated forward tile 'auto' uses for unpadded convolutions (else conv_fwd8): 8 channels holding the input row
 * across the taps, pixels per row width from hoistedPixels(); faster than conv_fwd8
 * (docs/kernel-measurements.md#conv-forward-tile).
 */
export const CONV_FWD_AUTO: {tile: ConvTile | null} = {tile: {groups: 2, pixels: 0, hoist: true}};

/**
 * The generated tiles 'auto' uses for the input gradient (stride 1; else conv_bwd_input8) and the weight gradient
 * (else conv_bwd_weight8), 8 channels x a row segment held across the taps, with `pixels` set per shape by
 * hoistedPixels(): faster than the hand-written kernels (docs/kernel-measurements.md#conv-gradient-tiles).
 */
export const CONV_GRAD_AUTO: {input: ConvTile | null; weight: ConvTile | null} =
  {input: {groups: 2, pixels: 0, hoist: true}, weight: {groups: 2, pixels: 0, hoist: true, rows: 0}};

/**
 * Kernel rows per weight-gradient thread (ConvTile.rows). llvmpipe: as given, or for 0 as many as keep R * KW *
 * groups accumulators within 64 vec4s (5x5: all 5 rows; 9x9: 3). Other CPU adapters: every row where KH * KW *
 * groups <= 50 vec4s and the tile is exact (the launcher checks; larger tiles exhaust SwiftShader's compiler), else
 * one. GPUs: one (not measured). See docs/kernel-measurements.md#conv-weight-rows.
 */
export function weightGradRows(t: ConvTile, g: Conv2dGeom): number {
  if (!onCompatCpu()) return onCpu() && g.KH * g.KW * t.groups <= 50 ? g.KH : 1;
  const rows = t.rows ?? 1;
  return Math.min(g.KH, rows > 0 ? rows : Math.max(1, Math.floor(64 / (g.KW * t.groups))));
}

/** The most vec4 accumulators stridedWeightTile gives a thread: the ResNet stem's 7 rows x 7 taps x 16 channels. */
export const STRIDED_WEIGHT_ACCUMULATORS = 196;

/**
 * The weight tile 'auto' fits on llvmpipe to a strided convolution (weightTile in select.ts): 16 output channels
 * (where it has more than 8) and as many kernel rows as keep STRIDED_WEIGHT_ACCUMULATORS. A step's input segment, (pixels - 1) * stride + KW
 * floats, then costs more loads than its dy vec4s, and more channels share it: the ResNet stem's weight gradient (7x7,
 * stride 2) ran about 1.8x faster. 32 channels ran no faster and compiled for 37 s against 12
 * (docs/kernel-measurements.md#conv-weight-strided).
 */
export function stridedWeightTile(t: ConvTile, g: Conv2dGeom): ConvTile {
  if (!kernelPrefs.convWeightStridedWide || !onCompatCpu() || (g.SH === 1 && g.SW === 1) || g.K <= 4 * t.groups) {
    return t;
  }
  const groups = Math.max(t.groups, 4);
  return {...t, groups, rows: Math.max(1, Math.min(g.KH, Math.floor(STRIDED_WEIGHT_ACCUMULATORS / (groups * g.KW))))};
}

/** The longest row segment (floats) a weight tile holds on SwiftShader (hoistedPixels). */
export const SWIFTSHADER_WEIGHT_SEGMENT = 20;

/**
 * Pixels per thread for a hoisting tile over a row of `width` outputs: of 4, 6 and 8 (and 12 for an input
 * gradient over rows of 12s; 12, 24 or the whole row up to 24 for a forward on CPU adapters), the one with the
 * fewest loads per row (a tile that names its pixels keeps them, within SwiftShader's weight-tile limit). Each step
 * of P pixels loads a (P - 1) * stride + KW segment and, besides it, KW * groups weight vec4s (forward, input
 * gradient) or P * groups dy vec4s (weight gradient). Where the launcher says the segments start 4-aligned
 * (`aligned`) and kernelPrefs.convSegments4 allows, a P that is a multiple of 4 loads its segment as vec4s
 * (ConvTile.segments4), a quarter of the loads (docs/kernel-measurements.md#conv-pixels).
 */
export function hoistedPixels(t: ConvTile, width: number, kw: number, stride: number,
  pass: 'forward' | 'input' | 'weight', aligned = false): ConvTile {
  const perStep = pass === 'weight' ? 'dy' : 'weights';
  const vec = aligned && kernelPrefs.convSegments4 && t.segments4 !== false;
  const segment = (p: number) => ((p - 1) * stride + kw) / (vec && p % 4 === 0 ? 4 : 1);
  const loads = (p: number) =>
    Math.ceil(width / p) * (Math.ceil(segment(p)) + (perStep === 'weights' ? kw : p) * t.groups);
  // 12 and wider only where measured faster: input gradients over rows of 12, and forwards on CPU adapters
  // (docs/kernel-measurements.md#conv-pixels).
  const wide = pass === 'forward' && onCpu()
    ? [...new Set([12, 24, width])].filter((p) => p > 8 && p <= 24 && width % p === 0) : [];
  // llvmpipe: 4 pixels per weight tile (fewer values live at once beats fewer loads;
  // docs/kernel-measurements.md#conv-weight-pixels).
  const candidates = pass === 'weight' && onCompatCpu() ? [4]
    : pass === 'input' && width % 12 === 0 ? [8, 6, 4, 12] : [8, 6, 4, ...wide];
  const chosen = t.pixels > 0 ? t.pixels : candidates.reduce((best, p) => (loads(p) < loads(best) ? p : best));
  // SwiftShader: weight tiles, forced ones too, hold at most SWIFTSHADER_WEIGHT_SEGMENT floats of a row (its compile
  // time grows steeply past that: an adapter limit, like a binding size;
  // docs/kernel-measurements.md#swiftshader-weight-segment).
  const held = (p: number) => (p - 1) * stride + kw;
  const pixels = pass === 'weight' && onSwiftShader() && held(chosen) > SWIFTSHADER_WEIGHT_SEGMENT
    ? Math.max(1, ...[6, 5, 4, 3, 2].filter((p) => p < chosen && held(p) <= SWIFTSHADER_WEIGHT_SEGMENT)) : chosen;
  return {...t, pixels, segments4: vec && pixels % 4 === 0};
}

/**
 * A tile storing 4-pixel vec4s (ConvTile.stores4) where `rowWidth`, the output's row length, and its pixels are
 * multiples of 4 and kernelPrefs.convStores4 allows: a quarter of the stores
 * (docs/kernel-measurements.md#conv-stores4).
 */
export const withStores4 = (t: ConvTile, rowWidth: number): ConvTile =>
  ({...t, stores4: kernelPrefs.convStores4 && rowWidth % 4 === 0 && t.pixels % 4 === 0});

/**
 * A tile narrowed to `channels` lanes (ConvTile.lanes) where one thread holds them all but its vec4 groups have
 * more, and kernelPrefs.convLanes allows.
 */
export const withLanes = <T extends ConvTile>(t: T, channels: number): T =>
  (kernelPrefs.convLanes && channels < 4 * t.groups ? {...t, lanes: channels} : t);

/**
 * Images per thread of a generated tile that shares its weight loads among them (ConvTile.images): the tile's, else
 * the preference; 'auto': 4 on SwiftShader, 2 on llvmpipe, 1 on GPUs (not measured; they want threads) and where
 * `shares` is false (a forward with one input channel gained nothing), and at most N / 8, so a small batch keeps its
 * threads. The weight load had cost about as much as the multiply-adds it fed
 * (docs/kernel-measurements.md#conv-images-per-thread).
 */
export function imagesPerThread(t: ConvTile, pref: 'auto' | number, N: number, shares = true): number {
  if (t.images) return t.images;
  if (pref !== 'auto') return pref;
  const wanted = !onCpu() || !shares ? 1 : onCompatCpu() ? 2 : 4;
  return Math.max(1, Math.min(wanted, Math.floor(N / 8)));
}
