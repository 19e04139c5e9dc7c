// Which pooling kernels run: the 2x2 pair kernels, the scatter backward for windows that do not overlap, or the
// general ones; and adaptive pooling's plane mean.
import {readsThroughTexture, textureTwinFits} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import type {Choice, Family} from '../select.js';
import type {AdaptiveGeom, PoolGeom} from './geom.js';

/**
 * 2x2 windows at stride 2 without padding over an even H and a W that is a multiple of 4: pool2_fwd / pool2_bwd take
 * two outputs per thread with vec4 loads, and the backward needs no fill.
 */
export const pool2x2Fits = (g: PoolGeom): boolean => kernelPrefs.pool2x2 && pairShape(g);
const pairShape = (g: PoolGeom): boolean => g.KH === 2 && g.KW === 2 && g.SH === 2 && g.SW === 2 && g.PH === 0 &&
  g.PW === 0 && g.H % 2 === 0 && g.W % 4 === 0;
const disjoint = (c: PoolBackwardCase) => c.max && c.g.SH >= c.g.KH && c.g.SW >= c.g.KW;

/** 3x3 windows at stride 2 with padding 1, W a multiple of 8 (ResNet's stem): pool3_fwd / pool3_bwd. */
const quadShape = (g: PoolGeom): boolean => g.KH === 3 && g.KW === 3 && g.SH === 2 && g.SW === 2 && g.PH === 1 &&
  g.PW === 1 && g.W % 8 === 0;

const inputFloats = (g: PoolGeom): number => g.N * g.C * g.H * g.W;
export type PoolForwardVariant = 'pool2_fwd_texture' | 'pool2_fwd' | 'pool3_fwd_texture' | 'pool3_fwd' |
  'pool_fwd_texture' | 'pool_fwd';
const textureFits = (g: PoolGeom) => textureTwinFits(inputFloats(g));
const TEXTURE_WHY = 'x through the staging texture: llvmpipe before Mesa 26 (docs/kernel-measurements.md#texture-reads)';
export const POOL_FORWARD_VARIANTS: readonly Choice<PoolForwardVariant, PoolGeom>[] = [
  {variant: 'pool2_fwd_texture', when: (g) => pool2x2Fits(g) && readsThroughTexture(inputFloats(g)),
    fits: (g) => pairShape(g) && textureFits(g), why: `pool2_fwd with ${TEXTURE_WHY}`},
  {variant: 'pool2_fwd', when: pool2x2Fits, fits: pairShape, why: '2x2 stride-2 windows: two outputs per thread, vec4 loads'},
  {variant: 'pool3_fwd_texture', when: (g) => kernelPrefs.pool3x3 && quadShape(g) && readsThroughTexture(inputFloats(g)),
    fits: (g) => quadShape(g) && textureFits(g), why: `pool3_fwd with ${TEXTURE_WHY}`},
  {variant: 'pool3_fwd', when: (g) => kernelPrefs.pool3x3 && quadShape(g), fits: quadShape,
    why: '3x3 stride-2 windows padded by 1: four outputs per thread, 9 vec4 loads for 36 values ' +
      '(docs/kernel-measurements.md#pool-3x3-quads)'},
  {variant: 'pool_fwd_texture', when: (g) => readsThroughTexture(inputFloats(g)), fits: textureFits,
    why: `any window, ${TEXTURE_WHY}`},
  {variant: 'pool_fwd', when: () => true, why: 'any window: a thread per output'},
];

/** A pooling backward: its geometry and whether it is max pooling (an argmax to follow). */
export interface PoolBackwardCase { g: PoolGeom; max: boolean }

const quadsOfPairs = (g: PoolGeom) => pairShape(g) && g.W % 8 === 0;
const outputFloats = (g: PoolGeom): number => g.N * g.C * g.OH * g.OW;
const gradientTexture = (c: PoolBackwardCase) => readsThroughTexture(outputFloats(c.g));
const gradientTextureFits = (c: PoolBackwardCase) => textureTwinFits(outputFloats(c.g));
export type PoolBackwardVariant = 'pool2_bwd4_texture' | 'pool2_bwd4' | 'pool2_bwd' | 'pool3_bwd_texture' |
  'pool3_bwd' | 'pool_bwd_scatter' | 'pool_bwd';
export const POOL_BACKWARD_VARIANTS: readonly Choice<PoolBackwardVariant, PoolBackwardCase>[] = [
  {variant: 'pool2_bwd4_texture', when: (c) => pool2x2Fits(c.g) && quadsOfPairs(c.g) && gradientTexture(c),
    fits: (c) => quadsOfPairs(c.g) && gradientTextureFits(c),
    why: 'pool2_bwd4 with the gradient through the staging texture: llvmpipe before Mesa 26 ' +
      '(docs/kernel-measurements.md#pool-2x2-quads)'},
  {variant: 'pool2_bwd4', when: (c) => pool2x2Fits(c.g) && quadsOfPairs(c.g), fits: (c) => quadsOfPairs(c.g),
    why: '2x2 stride-2 windows, W a multiple of 8: four outputs per thread, vec4 loads of the gradient and argmaxima'},
  {variant: 'pool2_bwd', when: (c) => pool2x2Fits(c.g), fits: (c) => pairShape(c.g), why: '2x2 stride-2 windows: two outputs per thread, no fill'},
  {variant: 'pool3_bwd_texture', when: (c) => kernelPrefs.pool3x3 && quadShape(c.g) && gradientTexture(c),
    fits: (c) => quadShape(c.g) && gradientTextureFits(c),
    why: 'pool3_bwd with the gradient through the staging texture: llvmpipe before Mesa 26'},
  {variant: 'pool3_bwd', when: (c) => kernelPrefs.pool3x3 && quadShape(c.g), fits: (c) => quadShape(c.g),
    why: '3x3 stride-2 windows padded by 1: eight inputs per thread from vec4 loads of one or two output rows, no ' +
      'window search (docs/kernel-measurements.md#pool-3x3-quads)'},
  {variant: 'pool_bwd_scatter', when: (c) => disjoint(c) && kernelPrefs.poolScatter, fits: disjoint,
    why: 'max windows that do not overlap: a fill, then each output writes its argmax once'},
  {variant: 'pool_bwd', when: () => true, why: 'any window: a thread per input, searching the windows that hold it'},
];

export const ADAPTIVE_VARIANTS: readonly Choice<'mean' | 'adaptive_fwd', AdaptiveGeom>[] = [
  {variant: 'mean', when: (g) => g.OH === 1 && g.OW === 1,
    why: 'a plane mean by reduceK: 1.6-2.6x faster than adaptive_fwd on SwiftShader, as fast on llvmpipe'},
  {variant: 'adaptive_fwd', when: () => true, why: 'any output size: a thread per output'},
];

const poolKey = (g: PoolGeom) => `${g.N}x${g.C}x${g.H}x${g.W}/k${g.KH},${g.KW}/s${g.SH},${g.SW}/p${g.PH},${g.PW}`;
export const POOL_FORWARD: Family<PoolForwardVariant, PoolGeom> = {name: 'pool.forward',
  table: POOL_FORWARD_VARIANTS, key: poolKey, open: () => kernelPrefs.pool2x2 && kernelPrefs.pool3x3};
export const POOL_BACKWARD: Family<PoolBackwardVariant, PoolBackwardCase> = {name: 'pool.backward',
  table: POOL_BACKWARD_VARIANTS, key: (c) => `${poolKey(c.g)}${c.max ? '/max' : '/avg'}`,
  open: () => kernelPrefs.pool2x2 && kernelPrefs.pool3x3 && kernelPrefs.poolScatter};
export const POOL_ADAPTIVE: Family<'mean' | 'adaptive_fwd', AdaptiveGeom> = {name: 'pool.adaptive',
  table: ADAPTIVE_VARIANTS, key: (g) => `${g.N}x${g.C}x${g.H}x${g.W}>${g.OH}x${g.OW}`, open: () => true};
