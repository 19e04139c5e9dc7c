// Which matmul kernel runs, and which generated register tile it may use. The operands as given (`a`, `b`) and as
// bound after any transposed one is copied out (`av`, `bv`) are both in the case: the rules read each as today.
import {rt} from '../../engine.js';
import type {Tensor} from '../../tensor.js';
import {loopsLimited, onCompatCpu, onCpu, readsThroughTexture, stagingTextureFits, texturesPreferred, textureTwinFits}
  from '../device.js';
import {kernelPrefs, tuned} from '../prefs.js';
import type {Choice, Family} from '../select.js';
import {narrowedTile, shapedTile, tileFits, type MatmulTile} from './register-tile.js';
import {PANEL_COLUMNS, panelShapeFits, panelWindowFits} from './uniform-panel.js';

export interface MatView { t: Tensor; batch: number; rows: number; cols: number; trans: boolean; batchStride: number }

/** A product C = op(A) @ op(B) of M x K by K x N, and the tile the preferences and autotuner offer it. */
export interface MatmulCase {
  M: number; N: number; K: number; a: MatView; b: MatView;
  /** The operands as bound: a transposed one may have been copied out (matmulK). */
  av: MatView; bv: MatView;
  /** The generated register tile on offer (matmulTile); null: none. */
  tile: MatmulTile | null;
  /** B^T is copied out for the tile (transposedBForTile). */
  bForTile: boolean;
  /**
   * What follows the product: every variant writes it with the product, except the workgroup tiles where they sum
   * parts of K after (there they run as dispatches of their own, which a measured choice times too).
   */
  epilogue: {bias: boolean; relu: boolean};
}
export type MatmulVariant = 'matmul_tiled' | 'matmul_tiled128' | 'matmul_small' | 'panels_texture' | 'panels' |
  'matmul_nt_vec4' | 'tile_nt_texture' | 'tile_nt' | 'tile_padded' | 'tile_texture' | 'tile' | 'matmul_vec4' |
  'matmul_reg';

/** Row and column strides of a bound operand, in floats. */
export const strides = (v: MatView): [number, number] => (v.trans ? [1, v.cols] : [v.cols, 1]);

/** Workgroup tiles with shared memory: forced, or on hardware GPUs from 4096 outputs. */
export const tiledApplies = (c: {M: number; N: number}): boolean => kernelPrefs.matmul === 'tiled' ||
  kernelPrefs.matmul === 'tiled128' ||
  (kernelPrefs.matmul === 'auto' && !onCpu() && c.M * c.N >= 4096);

/**
 * The register tile on offer: none where the workgroup tiles run or scalar loads are forced; 'auto': the tuned pick,
 * for large products the measured tile with the least padding for its speed (shapedTile), for short ones the small
 * pick, narrowed where N wastes half its columns (docs/kernel-measurements.md#matmul-shaped-tile).
 */
export function matmulTile(M: number, N: number): MatmulTile | null {
  const pref = kernelPrefs.matmul, tp = kernelPrefs.matmulTile;
  if (tiledApplies({M, N}) || pref === 'reg' || tp === 'fixed') return null;
  if (tp !== 'auto') return tp;
  const large = M >= tuned.largeFrom;
  const tunedTile = tuned.device !== rt().device ? null : large ? tuned.matmul : tuned.small;
  return tunedTile && (large ? shapedTile(tuned.largeMs, M, N, tunedTile) : narrowedTile(tunedTile, N));
}

/**
 * A^T @ B (a linear layer's weight gradient) runs on the tile once A^T is copied out where the tile cannot read it
 * in place: a copy of M*K floats against M*N*K multiply-adds (docs/kernel-measurements.md#matmul-transposed-a).
 */
export const transposedAForTile = (c: Pick<MatmulCase, 'M' | 'N' | 'K' | 'a' | 'tile'>): boolean => !!c.tile &&
  c.a.trans && c.N % 4 === 0 && c.M >= 8 && c.N >= 8 && c.K % 4 === 0 &&
  !tileFits(c.tile, true, c.K, 1, c.a.batchStride);

/**
 * A @ B^T with a tile: B^T copied out where the tile then takes the product, faster on llvmpipe than matmul_nt_vec4
 * reading it in place (docs/kernel-measurements.md#matmul-transposed-b).
 */
export const transposedBForTile = (c: Pick<MatmulCase, 'M' | 'N' | 'K' | 'av' | 'b' | 'tile'>): boolean => !!c.tile &&
  c.b.trans && c.N % 4 === 0 && c.M >= 8 && tileFits(c.tile, c.av.trans, c.K, strides(c.av)[0], c.av.batchStride);

/** matmul_nt_vec4 reads B^T in place: A plain, K a multiple of 4, no tile taking the product. */
export const ntApplies = (c: Pick<MatmulCase, 'M' | 'N' | 'K' | 'a' | 'b' | 'bForTile'>): boolean => !c.bForTile &&
  !tiledApplies(c) && (kernelPrefs.matmul === 'auto' || kernelPrefs.matmul === 'vec4') && c.b.trans && !c.a.trans &&
  c.K % 4 === 0;

/** B^T copied out (small next to the product) where that unlocks the vec4 kernels. */
export const transposedBForVec4 = (c: Pick<MatmulCase, 'M' | 'N' | 'K' | 'a' | 'b' | 'bForTile'>): boolean =>
  !tiledApplies(c) && !ntApplies(c) && kernelPrefs.matmul !== 'reg' && c.b.trans && c.N % 4 === 0 && c.M >= 8;

/** The uniform-panel kernel can run the product as bound (uniform-panel.ts). */
export const panelFits = (c: MatmulCase): boolean => panelWindowFits() && panelShapeFits({N: c.N, K: c.K,
  aTrans: c.av.trans, aRowStride: strides(c.av)[0], aBatchStride: c.av.batchStride});

/**
 * llvmpipe, from PANEL_MIN multiply-adds and PANEL_ROWS rows, and where at least half the panels' columns are real (a
 * 64-column panel lost to the row-lane tile at N = 16): below that the packing copy and the dispatch per window cost
 * more than the uniform loads save (docs/kernel-measurements.md#matmul-uniform-panels). A panel's workgroup covers
 * PANEL_ROWS rows: ResNet-18's products of 2 to 32 rows (2 images of 32 px) ran 5-23x slower on the panels than on the
 * tile (docs/kernel-measurements.md#small-maps).
 */
export const PANEL_MIN = 1 << 20;
export const PANEL_ROWS = 64;
export const panelsPreferred = (M: number, N: number, K: number): boolean => kernelPrefs.matmul === 'auto' &&
  onCompatCpu() && M >= PANEL_ROWS && M * N * K >= PANEL_MIN && Math.ceil(N / PANEL_COLUMNS) * PANEL_COLUMNS <= 2 * N;
const panelsApply = (c: MatmulCase): boolean => panelsPreferred(c.M, c.N, c.K * Math.max(c.a.batch, c.b.batch));
/** A read from the staging texture as well: A's floats fit it. */
const panelTextureCase = (c: MatmulCase): boolean => panelFits(c) && stagingTextureFits(c.av.t.size);

/** B read as vec4 rows: plain B (as bound), N a multiple of 4, vector loads allowed. */
const vec4Applies = (c: MatmulCase): boolean => kernelPrefs.matmul !== 'reg' && vec4Shape(c);
const vec4Shape = (c: MatmulCase): boolean => !c.bv.trans && c.N % 4 === 0;
const tileShape = (c: MatmulCase): boolean => vec4Shape(c) && !!c.tile &&
  tileFits(c.tile, c.av.trans, c.K, strides(c.av)[0], c.av.batchStride);
/** The tile reading B^T in place (tile_nt): a kvec tile over A as bound, B^T's rows and batches whole vec4s, N % 4. */
const tileNtShape = (c: MatmulCase): boolean => !!c.tile?.kvec && c.b.trans && c.N % 4 === 0 &&
  strides(c.b)[1] % 4 === 0 && c.b.batchStride % 4 === 0 &&
  tileFits(c.tile, c.av.trans, c.K, strides(c.av)[0], c.av.batchStride);
/**
 * Where the tile would take a copy of B^T, the tile reading it in place instead, up to TILE_NT_MAX multiply-adds: it
 * measured faster on both CPU adapters there, and on llvmpipe on every product tried
 * (docs/kernel-measurements.md#matmul-tile-nt).
 */
export const TILE_NT_MAX = 1 << 25;
const tileNtApplies = (c: MatmulCase): boolean => kernelPrefs.matmul === 'auto' && c.bForTile &&
  c.M * c.N * c.K * Math.max(c.a.batch, c.b.batch) <= TILE_NT_MAX && tileNtShape(c);

/** Whether the tile runs the product only on copies padded to a multiple of 4: K for a kvec tile, and N. */
export const tilePads = (c: Pick<MatmulCase, 'N' | 'K' | 'tile'>): {K: boolean; N: boolean} =>
  ({K: !!c.tile?.kvec && c.K % 4 !== 0, N: c.N % 4 !== 0});
/** tile_padded: a tile on offer that cannot take the product as it is, for its K or its N. */
const paddedShape = (c: MatmulCase): boolean => {
  const pads = tilePads(c);
  return !!c.tile && c.M >= 8 && (pads.K || pads.N);
};
/**
 * From PADDED_MIN multiply-adds the copies (one per padded operand) cost less than the kernels that take such shapes
 * lose: 4096 x 150 x 16 ran at 4.3 GFLOP/s on matmul_vec4 and 26 on the tile at K = 152 on llvmpipe
 * (docs/kernel-measurements.md#matmul-padded-tile).
 */
export const PADDED_MIN = 1 << 19;
/**
 * A padded K from PADDED_K_MIN: padding adds up to 3 steps of K, and a ResNet-18 weight gradient over 2 images of 1x1
 * maps (512 x 2 x 4608) ran 1.8x slower padded to K = 4 than on matmul_vec4.
 */
export const PADDED_K_MIN = 16;
const paddedPreferred = (c: MatmulCase): boolean => kernelPrefs.matmul === 'auto' && paddedShape(c) &&
  c.M * c.N * c.K * Math.max(c.a.batch, c.b.batch) >= PADDED_MIN && (!tilePads(c).K || c.K >= PADDED_K_MIN);

/** matmul_small's grid, 8 x 8 outputs a workgroup, within 65,535 workgroups a dimension. */
const smallGridFits = (c: MatmulCase): boolean => Math.ceil(c.M / 8) <= 65535 && Math.ceil(c.N / 8) <= 65535;

// The register tiles' texture twins read A and B through the staging textures (slots 0 and 1), where the tables
// prefer textures (llvmpipe before Mesa 26) and both operands fit.
const tileTextureFits = (c: MatmulCase): boolean => textureTwinFits(c.av.t.size) && textureTwinFits(c.bv.t.size);
const tileTextureWhen = (c: MatmulCase): boolean => kernelPrefs.matmulTexture && readsThroughTexture(c.av.t.size) &&
  readsThroughTexture(c.bv.t.size);
const TILE_TEXTURE_WHY = 'A and B through the staging textures: llvmpipe before Mesa 26 ' +
  '(docs/kernel-measurements.md#matmul-tile-texture)';

export const MATMUL_VARIANTS: readonly Choice<MatmulVariant, MatmulCase>[] = [
  {variant: 'matmul_tiled128', when: () => kernelPrefs.matmul === 'tiled128', fits: () => !loopsLimited(),
    why: '128 x 128 workgroup tiles, 8 x 8 outputs a thread: forced, or where tune measured it faster (GPUs; not yet ' +
      'timed on one)'},
  {variant: 'matmul_tiled', when: tiledApplies, fits: () => !loopsLimited(), why: '64 x 64 workgroup tiles in shared memory: hardware GPUs'},
  {variant: 'matmul_small', when: (c) => kernelPrefs.matmul === 'small' ||
    (kernelPrefs.matmul === 'auto' && !onCpu() && c.M * c.N < 4096), fits: smallGridFits,
  why: 'a thread per output: small products on hardware GPUs, whose register kernels would leave most threads idle ' +
    '(not yet timed on a GPU; tune measures it)'},
  {variant: 'tile_nt_texture', when: (c) => tileNtApplies(c) && tileTextureWhen(c),
    fits: (c) => tileNtShape(c) && tileTextureFits(c), why: `tile_nt, ${TILE_TEXTURE_WHY}`},
  {variant: 'tile_nt', when: tileNtApplies, fits: tileNtShape,
    why: 'the register tile reading B^T in place: no copy, one dispatch (docs/kernel-measurements.md#matmul-tile-nt)'},
  {variant: 'panels_texture', when: (c) => (kernelPrefs.matmul === 'panels-texture' ||
    (panelsApply(c) && texturesPreferred())) && panelTextureCase(c), fits: panelTextureCase,
  why: 'B as uniform panels and A from a texture: llvmpipe loads both far faster than storage'},
  {variant: 'panels', when: (c) => (kernelPrefs.matmul === 'panels' || panelsApply(c)) && panelFits(c), fits: panelFits,
    why: 'B as uniform panels, one dispatch per window, A from storage'},
  {variant: 'matmul_nt_vec4', when: ntApplies, fits: (c) => c.b.trans && !c.av.trans && c.K % 4 === 0, why: 'A @ B^T with B^T read in place, where no tile takes it'},
  {variant: 'tile_padded', when: paddedPreferred, fits: paddedShape,
  why: 'the register tile on copies of A and B padded with zeros where K (a kvec tile) or N is not a multiple of 4 ' +
    '(docs/kernel-measurements.md#matmul-padded-tile)'},
  {variant: 'tile_texture', when: (c) => kernelPrefs.matmul !== 'reg' && tileShape(c) && tileTextureWhen(c),
    fits: (c) => tileShape(c) && tileTextureFits(c), why: `the register tile, ${TILE_TEXTURE_WHY}`},
  {variant: 'tile', when: (c) => kernelPrefs.matmul !== 'reg' && tileShape(c), fits: tileShape,
  why: 'the autotuned register tile; bias and relu in its write (docs/kernel-measurements.md#matmul-candidates)'},
  {variant: 'matmul_vec4', when: vec4Applies, fits: vec4Shape, why: 'the hand-written 4 x 8 register kernel: B as vec4 rows'},
  {variant: 'matmul_reg', when: () => true, why: 'scalar loads: any strides and N'},
];

const viewKey = (v: MatView) => `${v.trans ? 't' : 'n'}${v.batchStride ? v.batch : ''}`;
/** A product's shape class: its sizes, which operands are transposed and which batched, and the tile on offer. */
export const MATMUL: Family<MatmulVariant, MatmulCase> = {name: 'matmul', table: MATMUL_VARIANTS,
  key: (c) => `${c.M}x${c.K}x${c.N}/${viewKey(c.a)},${viewKey(c.b)}${c.epilogue.bias ? '+bias' : ''}` +
    `${c.epilogue.relu ? '+relu' : ''}`,
  open: () => kernelPrefs.matmul === 'auto' && kernelPrefs.matmulTile === 'auto' && kernelPrefs.matmulTexture};
