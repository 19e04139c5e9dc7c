// Generated conv2d kernels: the forward for unpadded convolutions, the input gradient at stride 1 and the weight
// gradient (any padding for both). Each thread holds GROUPS vec4s of channels x PIXELS neighbouring pixels (the
// weight gradient: x a kernel row's taps), fully unrolled (as matmul/register-tile.ts, and for the same reason: more
// multiply-adds per gathered value, accumulators kept in registers). Same bindings and layouts as conv_fwd8,
// conv_bwd_input8 and conv_bwd_weight8 in shaders/conv2d.wgsl (the weight gradient reads dy transposed), and
// their uniforms: each tile is declared with defineKernel() and CONV2D's uniforms (shaders.ts), so the launchers
// pack one params object for either kernel.
import {defineKernel, type KernelDef} from '../../kernel-def.js';
import {CONV2D} from '../../shaders.js';

/** A generated conv kernel's tile: channel groups and pixels per thread, and what it holds in registers. */
export interface ConvTile {
  /** Vec4 groups of channels per thread (4 * groups channels) and neighbouring pixels per thread (0: per shape). */
  groups: number; pixels: number;
  /**
   * Forward only (the gradient tiles always hold their segments): hold a row segment of the input across a
   * kernel row's KW taps (as the input-gradient tile does with dy): the
   * segment's (pixels - 1) * SW + KW values are loaded once per (channel, kernel row) instead of pixels values per
   * tap, and the taps are unrolled (the kernel is generated per KW and SW). CPU drivers pay per load far more
   * than per multiply-add (llvmpipe's storage loads go lane by lane), so this cuts a 5x5 kernel's loads ~3x.
   */
  hoist?: boolean;
  /**
   * Set by the launchers (tiles.ts, hoistedPixels) where a held row segment starts on a multiple of 4 floats:
   * load it as vec4s, a quarter of the loads (each of which llvmpipe runs lane by lane). Columns past a row's end
   * then read the next row (or, clamped, the buffer's last vec4) and are masked or never stored, as before.
   */
  segments4?: boolean;
  /**
   * Weight gradient only: kernel rows per thread (default 1). A thread holding R rows loads each dy vec4 once for
   * all R (R x KW x groups accumulators), where one row per thread loads it R times; dy's loads dominate that
   * kernel. 0 in a preference: chosen per shape (tiles.ts, weightGradRows).
   */
  rows?: number;
  /**
   * Forward and input gradient: set by the launchers where the output rows are a multiple of 4 wide (and pixels a
   * multiple of 4): the accumulators are stored as vec4s of 4 neighbouring pixels, a quarter of the stores (which
   * llvmpipe, like its loads, runs lane by lane). A vec4 lies wholly inside a row or wholly past its end.
   */
  stores4?: boolean;
  /**
   * Weight gradient only: set by the launcher where dy's rows are a multiple of 4 wide (and pixels a multiple of 4):
   * the tile reads dy in place (NCHW) as vec4s of 4 neighbouring pixels of one channel, instead of a copy transposed
   * to vec4s of channels. Regrouping them into vec4s of channels costs nothing on CPU drivers (a vec4 is 4 separate
   * registers per lane), and the load count is the same: the transposing dispatch goes.
   */
  dyDirect4?: boolean;
  /**
   * Set by the launchers where one thread holds every channel its vec4s run over (the forward's and the weight
   * gradient's output channels, the input gradient's input channels: at most 4 * groups): how many are real. Each
   * group then keeps only its real lanes (vec3, vec2, f32, or nothing), so no multiply-add, load or store serves a
   * padding channel. CPU drivers run each lane of a vec4 as its own SIMD instruction, so LeNet's 6 channels in two
   * vec4 groups had spent a quarter of their multiply-adds on padding (docs/kernel-measurements.md#conv-lanes).
   */
  lanes?: number;
  /**
   * Input gradient only: set by the launcher where one tile spans a whole row (pixels >= W), with the convolution's
   * column padding and dy's row width. Every segment column is then known when the kernel is generated, so the
   * columns that fall in the padding are neither loaded nor multiplied (LeNet's conv2, 12-wide rows from 8-wide dy
   * rows through 5 taps: a third of the multiply-adds had been on padding;
   * docs/kernel-measurements.md#conv-whole-row). With the strides (SH, SW; default 1) the tile serves strided
   * convolutions too: pixel q takes tap kw only where q + PW - kw is a multiple of SW (known here), and the kernel
   * rows step by SH from the one whose dy row is whole.
   */
  wholeRow?: {PW: number; OW: number; SH?: number; SW?: number};
  /**
   * Whole-row input-gradient tiles and hoisting forward tiles with re-laid weights: images per thread (default 1).
   * The thread's images share each weight load (tiles.ts, imagesPerThread).
   */
  images?: number;
  /**
   * Weight gradient only: set by the launcher where nothing the tile reads can fall outside its tensor or past its
   * channels (no padding, OW a multiple of pixels, KH of rows, K of the thread's real channels). The bounds tests,
   * clamps and selects around each load are then left out (docs/kernel-measurements.md#conv-exact).
   */
  exact?: boolean;
  /**
   * Forward only, hoisting tiles that hold every output channel and read their weights as a uniform array: set by
   * the launcher where the input channels times kernel rows are few. The (c, kernel row) loops are then unrolled
   * and the weights read in their own layout [K, C, KH, KW] at constant indices, so the re-laying copy, a dispatch
   * of its own, goes (docs/kernel-measurements.md#conv-native-weights).
   */
  nativeWeights?: {C: number; KH: number};
}

/** Real lanes of vec4 group g of tile t (4 unless ConvTile.lanes narrows it; 0: the group holds only padding). */
export const groupLanes = (t: ConvTile, g: number): number => (t.lanes ? Math.max(0, Math.min(4, t.lanes - 4 * g)) : 4);
/** The WGSL type of a group with `n` lanes, and the swizzle that narrows a vec4 to it. */
export const laneType = (n: number): string => (n === 1 ? 'f32' : `vec${n}<f32>`);
export const narrow = (n: number): string => (n === 4 ? '' : `.${'xyzw'.slice(0, n)}`);
/** The vec4 groups of t that hold a real channel. */
export function realGroups(t: ConvTile): number[] {
  if (t.lanes !== undefined && !(Number.isInteger(t.lanes) && t.lanes >= 1 && t.lanes <= 4 * t.groups)) {
    throw new Error(`webgpu-transfer: conv tile k${4 * t.groups}p${t.pixels}: lanes must be 1..${4 * t.groups}, got ${t.lanes}`);
  }
  return [...Array(t.groups).keys()].filter((g) => groupLanes(t, g) > 0);
}
/** Lane j of a value with `n` lanes. */
export const laneOf = (value: string, n: number, j: number): string => (n === 1 ? value : `${value}[${j}]`);

export const convTileName = (t: ConvTile): string => `k${4 * t.groups}p${t.pixels}${t.hoist ? 'h' : ''}` +
  `${t.segments4 ? 'v' : ''}${t.stores4 ? 'w' : ''}${t.lanes ? `l${t.lanes}` : ''}`;

export type ConvTileKernel = KernelDef<typeof CONV2D.uniforms, {main: 'p'}>;

const cache = new Map<string, ConvTileKernel>();

/** A generated kernel's entry: its builtin arguments, the lines that open its body, its workgroup size. */
export interface Entry { args: string; prologue: string[]; workgroupSize: number }

/** The tiles' entry: a 1-D launch, thread index i (CONV2D's workgroup size). */
const THREAD_ENTRY: Entry = {
  args: '@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>',
  prologue: ['  let i = thread_id(gid, nwg);'], workgroupSize: CONV2D.workgroupDims[0]};

/** Declares a generated kernel once (cached by name): `bindings`, the entry's opening lines, then the body. */
export function declare(name: string, bindings: string[], body: () => string[], entry = THREAD_ENTRY): ConvTileKernel {
  let def = cache.get(name);
  if (def) return def;
  const code = [`// generated by src/graph/kernels/conv/tile-gen.ts: ${name}`, ...bindings, '@compute @workgroup_size(WG)',
    `fn main(${entry.args}) {`, ...entry.prologue, ...body(), '}'].join('\n');
  def = defineKernel({file: `conv-gen/${name}.wgsl`, code, workgroupSize: entry.workgroupSize,
    uniforms: CONV2D.uniforms, entries: {main: 'p'}});
  cache.set(name, def);
  return def;
}

/**
 * The weights' binding (@binding(2), vec4s): storage, or with `uniformVec4s` > 0 a uniform array of that many vec4s.
 * llvmpipe loads a storage value lane by lane in a loop with a branch per lane, and a uniform value with one gather
 * (docs/kernel-measurements.md#conv-uniform-weights), so small weights are bound as uniforms where they fit
 * maxUniformBufferBindingSize (geom.ts, uniformWeightVec4s). The array's length is part of the WGSL type, so
 * such a kernel is generated per weight size.
 */
export function weightBinding(name: string, uniformVec4s: number): string {
  return uniformVec4s > 0 ? `@group(0) @binding(2) var<uniform> ${name}: array<vec4<f32>, ${uniformVec4s}>;`
    : `@group(0) @binding(2) var<storage, read> ${name}: array<vec4<f32>>;`;
}
export const uniformSuffix = (uniformVec4s: number) => (uniformVec4s > 0 ? `-u${uniformVec4s}` : '');

/**
 * Loads a row segment of `count` floats as vec4s from `buf` (an array<vec4<f32>> holding the tensor of `floats`
 * elements, a u32 expression) starting at the float index `start` (an i32 expression, a multiple of 4, possibly
 * negative or past the end: the vec4 index is clamped into the tensor, and the caller masks or never stores what
 * such columns feed). Segment value j is `${name}${j}v`. The bound is the tensor's size from the params, not
 * arrayLength(): a pooled buffer is usually larger than its tensor.
 */
export function segment4(buf: string, floats: string, start: string, count: number, name: string, indent: string,
  clamped = true): string[] {
  // Unclamped where the caller knows every vec4 the segment touches lies inside the tensor (ConvTile.exact).
  const L = [`${indent}let ${name}q = (${start}) / 4;`];
  if (clamped) L.push(`${indent}let ${name}last = i32((${floats} + 3u) / 4u) - 1;`);
  for (let m = 0; m < Math.ceil(count / 4); m++) {
    const index = clamped ? `clamp(${name}q + ${m}, 0, ${name}last)` : `${name}q + ${m}`;
    L.push(`${indent}let ${name}m${m} = ${buf}[u32(${index})];`);
  }
  for (let j = 0; j < count; j++) L.push(`${indent}let ${name}${j}v = ${name}m${j >> 2}[${j & 3}];`);
  return L;
}

/**
 * A tile with vec4 segments must take 4k pixels per thread (so each step's segment starts 4-aligned) and, in the
 * forward (`needsHoist`; the gradient tiles always hold their segments), hold its segment across the taps.
 */
export function checkSegments4(t: ConvTile, needsHoist: boolean): void {
  // A whole-row input tile loads dy's rows from their starts: any pixel count.
  if (t.segments4 && !((t.hoist || !needsHoist) && (t.pixels % 4 === 0 || t.wholeRow))) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: vec4 segments need ${needsHoist ? 'a hoisting tile of ' : ''}4k pixels`);
  }
  if (t.stores4 && t.pixels % 4 !== 0) throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: vec4 stores need 4k pixels`);
}
export const outType = (t: ConvTile) => (t.stores4 ? 'vec4<f32>' : 'f32');

/**
 * Thread i as (n, channel group `group` of `groups` vec4s, row `row`, first column `col0` of `pixels`) over `rows`
 * rows of ceil(cols / pixels) tiles each: the forward and input-gradient tiles' index space.
 */
export function rowTiles(pixels: number, groups: number, rows: string, cols: string, group: string, row: string,
  col0: string, images = 1): string[] {
  return [
    `  let tiles_per_row = (${cols} + ${pixels - 1}u) / ${pixels}u;`,
    `  let ntile = ${rows} * tiles_per_row;`,
    `  let ng = p.groups4 / ${groups}u;`,
    `  let nb = (p.N + ${images - 1}u) / ${images}u;`,
    '  if (i >= nb * ng * ntile) { return; }',
    '  let tile = i % ntile;',
    `  let ${group} = (i / ntile) % ng;`,
    `  let n = i / (ntile * ng)${images > 1 ? ` * ${images}u` : ''};`,
    `  let ${row} = tile / tiles_per_row;`,
    `  let ${col0} = (tile % tiles_per_row) * ${pixels}u;`,
  ];
}

/**
 * Stores the accumulators a{g}_{q}: lane j of a{g}_{q} is channel `chan` = 4 * groups * `group` + 4g + j (stored
 * below `bound`), at out[`offset` + q] for the pixels with `col0` + q < `width`, plus `plus` (after `before`).
 */
interface RowStore {
  chan: string; group: string; bound: string; out: string; offset: string; col0: string; width: string;
  before?: string[]; plus?: string;
  /** out is an array of vec4s and offset a multiple of 4: store 4 neighbouring pixels at once (ConvTile.stores4). */
  vec4?: boolean;
  /** The accumulators' name prefix (default 'a': a{group}_{pixel}). */
  acc?: string;
}
export function storeRows(t: ConvTile, o: RowStore): string[] {
  const L: string[] = [];
  const groups = t.groups, pixels = t.pixels, step = o.vec4 ? 4 : 1;
  for (let g = 0; g < groups; g++) {
    const n = groupLanes(t, g);
    for (let j = 0; j < n; j++) {
      L.push(`  { let ${o.chan} = ${4 * groups}u * ${o.group} + ${4 * g + j}u;`);
      L.push(`    if (${o.chan} < ${o.bound}) {`);
      for (const line of o.before ?? []) L.push(`      ${line}`);
      L.push(`      let o = ${o.vec4 ? `(${o.offset}) / 4u` : o.offset};`);
      for (let q = 0; q < pixels; q += step) {
        const guard = q === 0 ? '' : `if (${o.col0} + ${q}u < ${o.width}) `;
        const a = o.acc ?? 'a';
        const value = o.vec4 ? `vec4<f32>(${[0, 1, 2, 3].map((d) => laneOf(`${a}${g}_${q + d}`, n, j)).join(', ')})`
          : laneOf(`${a}${g}_${q}`, n, j);
        L.push(`      ${guard}{ ${o.out}[o + ${q / step}u] = ${value}${o.plus ?? ''}; }`);
      }
      L.push('    }');
      L.push('  }');
    }
  }
  return L;
}
