// Generated conv2d kernels: the forward for unpadded convolutions, the input gradient at stride 1 and the weight
// gradient (any padding for both). Each thread holds GROUPS vec4s of channels x PIXELS neighbouring pixels (the
// weight gradient: x a kernel row's taps), fully unrolled (as matmul-gen.ts, and for the same reason: more
// multiply-adds per gathered value, accumulators kept in registers). Same bindings and layouts as conv_fwd8,
// conv_bwd_input8 and conv_bwd_weight8 in shaders/conv2d.wgsl (the weight gradient reads dy transposed), and
// their uniforms: each tile is declared with defineKernel() and CONV2D's uniforms (shaders.ts), so the launchers
// pack one params object for either kernel.
import {defineKernel, type KernelDef} from './kernel-def.js';
import {CONV2D} from './shaders.js';

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
   * Set by the launchers (kernels.ts, hoistedPixels) where a held row segment starts on a multiple of 4 floats:
   * load it as vec4s, a quarter of the loads (each of which llvmpipe runs lane by lane). Columns past a row's end
   * then read the next row (or, clamped, the buffer's last vec4) and are masked or never stored, as before.
   */
  segments4?: boolean;
  /**
   * Weight gradient only: kernel rows per thread (default 1). A thread holding R rows loads each dy vec4 once for
   * all R (R x KW x groups accumulators), where one row per thread loads it R times; dy's loads dominate that
   * kernel. 0 in a preference: chosen per shape (kernels.ts, weightGradRows).
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
   * The thread's images share each weight load (kernels.ts, imagesPerThread).
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
const groupLanes = (t: ConvTile, g: number): number => (t.lanes ? Math.max(0, Math.min(4, t.lanes - 4 * g)) : 4);
/** The WGSL type of a group with `n` lanes, and the swizzle that narrows a vec4 to it. */
const laneType = (n: number): string => (n === 1 ? 'f32' : `vec${n}<f32>`);
const narrow = (n: number): string => (n === 4 ? '' : `.${'xyzw'.slice(0, n)}`);
/** The vec4 groups of t that hold a real channel. */
function realGroups(t: ConvTile): number[] {
  if (t.lanes !== undefined && !(Number.isInteger(t.lanes) && t.lanes >= 1 && t.lanes <= 4 * t.groups)) {
    throw new Error(`webgpu-transfer: conv tile k${4 * t.groups}p${t.pixels}: lanes must be 1..${4 * t.groups}, got ${t.lanes}`);
  }
  return [...Array(t.groups).keys()].filter((g) => groupLanes(t, g) > 0);
}
/** Lane j of a value with `n` lanes. */
const laneOf = (value: string, n: number, j: number): string => (n === 1 ? value : `${value}[${j}]`);

export const convTileName = (t: ConvTile): string => `k${4 * t.groups}p${t.pixels}${t.hoist ? 'h' : ''}` +
  `${t.segments4 ? 'v' : ''}${t.stores4 ? 'w' : ''}${t.lanes ? `l${t.lanes}` : ''}`;

export type ConvTileKernel = KernelDef<typeof CONV2D.uniforms, {main: 'p'}>;

const cache = new Map<string, ConvTileKernel>();

/** A generated kernel's entry: its builtin arguments, the lines that open its body, its workgroup size. */
interface Entry { args: string; prologue: string[]; workgroupSize: number }

/** The tiles' entry: a 1-D launch, thread index i (CONV2D's workgroup size). */
const THREAD_ENTRY: Entry = {
  args: '@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>',
  prologue: ['  let i = thread_id(gid, nwg);'], workgroupSize: CONV2D.workgroupDims[0]};

/** Declares a generated kernel once (cached by name): `bindings`, the entry's opening lines, then the body. */
function declare(name: string, bindings: string[], body: () => string[], entry = THREAD_ENTRY): ConvTileKernel {
  let def = cache.get(name);
  if (def) return def;
  const code = [`// generated by src/graph/conv-gen.ts: ${name}`, ...bindings, '@compute @workgroup_size(WG)',
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
 * maxUniformBufferBindingSize (kernels.ts, uniformWeightVec4s). The array's length is part of the WGSL type, so
 * such a kernel is generated per weight size.
 */
function weightBinding(name: string, uniformVec4s: number): string {
  return uniformVec4s > 0 ? `@group(0) @binding(2) var<uniform> ${name}: array<vec4<f32>, ${uniformVec4s}>;`
    : `@group(0) @binding(2) var<storage, read> ${name}: array<vec4<f32>>;`;
}
const uniformSuffix = (uniformVec4s: number) => (uniformVec4s > 0 ? `-u${uniformVec4s}` : '');

/**
 * Loads a row segment of `count` floats as vec4s from `buf` (an array<vec4<f32>> holding the tensor of `floats`
 * elements, a u32 expression) starting at the float index `start` (an i32 expression, a multiple of 4, possibly
 * negative or past the end: the vec4 index is clamped into the tensor, and the caller masks or never stores what
 * such columns feed). Segment value j is `${name}${j}v`. The bound is the tensor's size from the params, not
 * arrayLength(): a pooled buffer is usually larger than its tensor.
 */
function segment4(buf: string, floats: string, start: string, count: number, name: string, indent: string,
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
function checkSegments4(t: ConvTile, needsHoist: boolean): void {
  // A whole-row input tile loads dy's rows from their starts: any pixel count.
  if (t.segments4 && !((t.hoist || !needsHoist) && (t.pixels % 4 === 0 || t.wholeRow))) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: vec4 segments need ${needsHoist ? 'a hoisting tile of ' : ''}4k pixels`);
  }
  if (t.stores4 && t.pixels % 4 !== 0) throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: vec4 stores need 4k pixels`);
}
const outType = (t: ConvTile) => (t.stores4 ? 'vec4<f32>' : 'f32');

/**
 * Thread i as (n, channel group `group` of `groups` vec4s, row `row`, first column `col0` of `pixels`) over `rows`
 * rows of ceil(cols / pixels) tiles each: the forward and input-gradient tiles' index space.
 */
function rowTiles(pixels: number, groups: number, rows: string, cols: string, group: string, row: string,
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
function storeRows(t: ConvTile, o: RowStore): string[] {
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

/**
 * A forward tile's kernel (entry point `main`, 1-D launch), generated and declared at its first use. A hoisting
 * tile is generated for one kernel width and column stride (`kw`, `sw`).
 */
export function convFwdKernel(t: ConvTile, hasBias: boolean, kw = 0, sw = 1, uniformWeights = 0): ConvTileKernel {
  if (t.hoist && !(kw >= 1 && sw >= 1)) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: hoisting needs the kernel width and stride`);
  }
  const native = t.nativeWeights;
  if (native && !(t.hoist && uniformWeights > 0)) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: weights in their own layout need a hoisting tile reading uniforms`);
  }
  const B = t.images ?? 1;
  if (B > 1 && !(t.hoist && !native)) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: several images per thread need a hoisting tile with re-laid weights`);
  }
  const name = `${convTileName(t)}${t.hoist ? `-kw${kw}s${sw}` : ''}${native ? `-n${native.C}x${native.KH}` : ''}` +
    `${B > 1 ? `i${B}` : ''}${hasBias ? 'b' : ''}${uniformSuffix(uniformWeights)}`;
  checkSegments4(t, true);
  const bindings = [`@group(0) @binding(1) var<storage, read> fx: array<${t.segments4 ? 'vec4<f32>' : 'f32'}>;`,
    weightBinding('fw', uniformWeights),
    '@group(0) @binding(3) var<storage, read> fbias: array<f32>;',
    `@group(0) @binding(4) var<storage, read_write> fy: array<${outType(t)}>;`];
  return declare(name, bindings, () => {
    const G = t.groups, P = t.pixels;
    const gg = realGroups(t), pp = [...Array(P).keys()];
    const bb = [...Array(B).keys()];
    // Image b's accumulators and segment values: a{g}_{q} and s{j} for one image, b{b}a{g}_{q} and b{b}s{j}.
    const acc = (b: number) => (B > 1 ? `b${b}a` : 'a'), seg = (b: number) => (B > 1 ? `b${b}s` : 's');
    // With B images per thread, thread i takes images B * (i / (ntile * ng)) ..; past the batch's end it reads the
    // last image again and stores nothing.
    const L = rowTiles(P, G, 'p.OH', 'p.OW', 'kg', 'oh', 'ow0', B);
    // Pixels past the row end read a clamped column (computed, never stored).
    if (!t.hoist) for (const q of pp) L.push(`  let x${q} = min(ow0 + ${q}u, p.OW - 1u) * p.SW;`);
    for (const b of bb) for (const g of gg) for (const q of pp) L.push(`  var ${acc(b)}${g}_${q} = ${laneType(groupLanes(t, g))}(0.0);`);
    for (const b of bb.slice(1)) L.push(`  let xoff${b} = (min(n + ${b}u, p.N - 1u) - n) * p.C * p.H * p.W;`);
    // Hoisting: segment column t of a kernel row is input column ow0 * SW + t, clamped (only pixels past the row's
    // end read past it, and they are never stored).
    const S = (P - 1) * sw + kw, ss = [...Array(S).keys()];
    if (t.hoist && !t.segments4) for (const j of ss) L.push(`  let s${j}c = min(ow0 * ${sw}u + ${j}u, p.W - 1u);`);
    // One kernel row of one input channel: its input segment, then the KW taps (xrow set, `w(k, g)` a group's
    // weights at tap k).
    const hoistedRow = (w: (k: number, g: number) => string): string[] => {
      const R: string[] = [];
      for (const b of bb) {
        const row = b > 0 ? `xrow + xoff${b}` : 'xrow';
        if (t.segments4) {
          // Unpadded, W % 4 == 0 and pixels % 4 == 0: the segment starts 4-aligned.
          const v = B > 1 ? `b${b}x` : 'x';
          R.push(...segment4('fx', 'p.N * p.C * p.H * p.W', `i32(${row} + ow0 * ${sw}u)`, S, v, '      '));
          for (const j of ss) R.push(`      let ${seg(b)}${j} = ${v}${j}v;`);
        } else {
          for (const j of ss) R.push(`      let ${seg(b)}${j} = fx[${row} + s${j}c];`);
        }
      }
      for (let k = 0; k < kw; k++) {
        for (const g of gg) R.push(`      let w${k}_${g} = ${w(k, g)};`);
        for (const b of bb) {
          for (const q of pp) for (const g of gg) R.push(`      ${acc(b)}${g}_${q} += ${seg(b)}${q * sw + k} * w${k}_${g};`);
        }
      }
      return R;
    };
    if (native) {
      // Every channel in this thread (kg = 0), weight (k, c, kh, tap) at float (k * C * KH + c * KH + kh) * KW + tap.
      for (let c = 0; c < native.C; c++) {
        for (let kh = 0; kh < native.KH; kh++) {
          L.push('  {');
          L.push(`    let xrow = ((n * p.C + ${c}u) * p.H + oh * p.SH + ${kh}u) * p.W;`);
          L.push(...hoistedRow((k, g) => {
            const n = groupLanes(t, g);
            const lanes = [...Array(n).keys()].map((j) => {
              const f = (((4 * g + j) * native.C + c) * native.KH + kh) * kw + k;
              return `fw[${f >> 2}][${f & 3}]`;
            });
            return `${laneType(n)}(${lanes.join(', ')})`;
          }));
          L.push('  }');
        }
      }
    } else {
      L.push('  for (var c = 0u; c < p.C; c++) {');
      L.push('    let xplane = (n * p.C + c) * p.H * p.W;');
      L.push('    for (var kh = 0u; kh < p.KH; kh++) {');
      L.push('      let xrow = xplane + (oh * p.SH + kh) * p.W;');
      L.push(`      var wi = ((c * p.KH + kh) * p.KW) * p.groups4 + ${G}u * kg;`);
      if (t.hoist) {
        L.push(...hoistedRow((k, g) => `fw[wi + ${k}u * p.groups4 + ${g}u]${narrow(groupLanes(t, g))}`));
      } else {
        L.push('      for (var kw = 0u; kw < p.KW; kw++) {');
        for (const g of gg) L.push(`        let w${g} = fw[wi + ${g}u]${narrow(groupLanes(t, g))};`);
        L.push('        wi += p.groups4;');
        L.push('        let xb = xrow + kw;');
        for (const q of pp) {
          L.push(`        let v${q} = fx[xb + x${q}];`);
          for (const g of gg) L.push(`        a${g}_${q} += v${q} * w${g};`);
        }
        L.push('      }');
      }
      L.push('    }');
      L.push('  }');
    }
    L.push('  let npix = p.OH * p.OW;');
    for (const b of bb) {
      if (B > 1) L.push(`  if (n + ${b}u < p.N) {`);
      L.push(`  let obase${b} = (n + ${b}u) * p.K * npix + oh * p.OW + ow0;`);
      // Without bias fbias is still used (select keeps 0.0), so the auto layout keeps binding 3.
      L.push(...storeRows(t, {chan: 'k', group: 'kg', bound: 'p.K', out: 'fy', offset: `obase${b} + k * npix`,
        col0: 'ow0', width: 'p.OW', before: [`let b = ${hasBias ? 'fbias[k]' : 'select(fbias[0], 0.0, true)'};`],
        plus: ' + b', vec4: t.stores4, acc: acc(b)}));
      if (B > 1) L.push('  }');
    }
    return L;
  });
}

/**
 * An input-gradient tile (entry point `main`, 1-D launch; any padding; strided only over whole rows, see
 * ConvTile.wholeRow), generated per kernel width `kw` and declared at its first use. Thread (n, group of 4 * groups
 * input channels, input row ih, `pixels` neighbouring input columns from iw0): dx[n, c, ih, iw0 + q] = sum over k,
 * kh, kw of
 * dy[n, k, ih + PH - kh, iw0 + q + PW - kw] * w[k, c, kh, kw], taps outside dy contributing zero. For each (kh, k)
 * the dy row segment of columns iw0 + PW - (KW - 1) .. iw0 + PW + pixels - 1 is loaded once and serves all KW taps.
 * Same bindings and weight layout ([K * KH * KW, Cpad] read as vec4) as conv_bwd_input8 in shaders/conv2d.wgsl.
 */
export function convBwdInputKernel(t: ConvTile, kw: number, uniformWeights = 0): ConvTileKernel {
  const whole = t.wholeRow;
  const sh = whole?.SH ?? 1, sw = whole?.SW ?? 1;
  const strides = sh > 1 || sw > 1 ? `s${sh}x${sw}` : '';
  const images = t.images ?? 1;
  if (images > 1 && !whole) throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: several images per thread need whole rows`);
  const rowTag = whole ? `-row${whole.PW}_${whole.OW}${strides}${images > 1 ? `i${images}` : ''}` : '';
  const name = `in-${convTileName(t)}-kw${kw}${rowTag}${uniformSuffix(uniformWeights)}`;
  checkSegments4(t, false);
  const bindings = [`@group(0) @binding(1) var<storage, read> bdy: array<${t.segments4 ? 'vec4<f32>' : 'f32'}>;`,
    weightBinding('bw', uniformWeights),
    `@group(0) @binding(3) var<storage, read_write> bdx: array<${outType(t)}>;`];
  return declare(name, bindings, () => (whole ? wholeRowInputBody(t, kw, whole) : segmentInputBody(t, kw)));
}

/** Both input-gradient bodies' end: the (kh, k) loops close, then row ih's pixels are stored. */
function inputBodyEnd(t: ConvTile): string[] {
  return ['      dyi += dyplane;', '      wi += wstep;', '    }', '  }', '  let npix = p.H * p.W;',
    ...storeRows(t, {chan: 'c', group: 'cg', bound: 'p.C', out: 'bdx', offset: '(n * p.C + c) * npix + ih * p.W + iw0',
      col0: 'iw0', width: 'p.W', vec4: t.stores4})];
}

/** The input-gradient tile over row segments (any width; stride 1): see convBwdInputKernel. */
function segmentInputBody(t: ConvTile, kw: number): string[] {
  const G = t.groups, P = t.pixels, S = P + kw - 1;
  const gg = realGroups(t), pp = [...Array(P).keys()], ss = [...Array(S).keys()];
  const L = rowTiles(P, G, 'p.H', 'p.W', 'cg', 'ih', 'iw0');
  // Segment column j is dy column iw0 + PW + j - (KW - 1); outside dy it reads a clamped column, multiplied by 0.
  for (const j of ss) {
    L.push(`  let o${j} = i32(iw0 + p.PW + ${j}u) - ${kw - 1};`);
    L.push(`  let c${j} = u32(clamp(o${j}, 0, i32(p.OW) - 1));`);
    L.push(`  let m${j} = o${j} >= 0 && o${j} < i32(p.OW);`);
  }
  for (const g of gg) for (const q of pp) L.push(`  var a${g}_${q} = ${laneType(groupLanes(t, g))}(0.0);`);
  L.push('  let dyplane = p.OH * p.OW;');
  L.push('  let wstep = p.KH * p.KW * p.groups4;');
  L.push('  for (var kh = 0u; kh < p.KH; kh++) {');
  L.push('    let th = i32(ih + p.PH) - i32(kh);');
  L.push('    if (th < 0 || th >= i32(p.OH)) { continue; }');
  L.push('    var dyi = n * p.K * dyplane + u32(th) * p.OW;');
  L.push(`    var wi = kh * p.KW * p.groups4 + ${G}u * cg;`);
  L.push('    for (var k = 0u; k < p.K; k++) {');
  // select, not a product with 0: a clamped column holding Inf must still contribute exactly 0.
  // With vec4 segments (OW % 4 == 0, (KW - 1 - PW) % 4 == 0, pixels % 4 == 0) the segment starts 4-aligned.
  if (t.segments4) {
    L.push(...segment4('bdy', 'p.N * p.K * p.OH * p.OW', `i32(dyi + iw0 + p.PW) - ${kw - 1}`, S, 'y', '      '));
    for (const j of ss) L.push(`      let d${j} = select(0.0, y${j}v, m${j});`);
  } else {
    for (const j of ss) L.push(`      let d${j} = select(0.0, bdy[dyi + c${j}], m${j});`);
  }
  for (let k = 0; k < kw; k++) {
    for (const g of gg) L.push(`      let w${k}_${g} = bw[wi + ${k}u * p.groups4 + ${g}u]${narrow(groupLanes(t, g))};`);
    for (const q of pp) for (const g of gg) L.push(`      a${g}_${q} += d${q + kw - 1 - k} * w${k}_${g};`);
  }
  return [...L, ...inputBodyEnd(t)];
}

/**
 * The input-gradient tile over whole rows (ConvTile.wholeRow): thread (n, channel group, row ih). Each pixel's dy
 * column per tap is known here (dyCol: -1 for none, outside dy or between strided columns), so dy values are named
 * by column and a missing one is neither loaded nor multiplied. One row per thread: two rows sharing each weight load
 * ran slower on llvmpipe, with twice the accumulators (docs/kernel-measurements.md#conv-whole-row).
 */
function wholeRowInputBody(t: ConvTile, kw: number, whole: {PW: number; OW: number; SH?: number; SW?: number}): string[] {
  const G = t.groups, P = t.pixels, sh = whole.SH ?? 1, sw = whole.SW ?? 1, B = t.images ?? 1;
  const gg = realGroups(t), pp = [...Array(P).keys()], bb = [...Array(B).keys()];
  const dyCol = (q: number, k: number): number => {
    const c = q + whole.PW - k;
    return c >= 0 && c % sw === 0 && c / sw < whole.OW ? c / sw : -1;
  };
  // Image b's accumulators: a{g}_{q} for one image (as the segment body and inputBodyEnd name them), b{b}a{g}_{q}.
  const acc = (b: number) => (B > 1 ? `b${b}a` : 'a');
  // Neighbouring threads take neighbouring images of one row, not neighbouring rows: the lanes of a SIMD batch then
  // run the same kernel rows (under a stride of 2 rows of either parity take different ones, and the edge rows
  // fewer), where a CPU driver runs divergent lanes' loops for the union of their trips
  // (docs/kernel-measurements.md#conv-whole-row).
  // With B images per thread, thread i takes images B * (i % nb) ..; past the batch's end it reads the last image
  // again and stores nothing.
  const L = [
    `  let ng = p.groups4 / ${G}u;`,
    `  let nb = (p.N + ${B - 1}u) / ${B}u;`,
    '  if (i >= nb * ng * p.H) { return; }',
    `  let n = (i % nb) * ${B}u;`,
    '  let cg = (i / nb) % ng;',
    '  let ih = i / (nb * ng);',
    '  let iw0 = 0u;',
  ];
  for (const b of bb) for (const g of gg) for (const q of pp) L.push(`  var ${acc(b)}${g}_${q} = ${laneType(groupLanes(t, g))}(0.0);`);
  L.push('  let dyplane = p.OH * p.OW;');
  L.push('  let wstep = p.KH * p.KW * p.groups4;');
  for (const b of bb.slice(1)) L.push(`  let off${b} = (min(n + ${b}u, p.N - 1u) - n) * p.K * dyplane;`);
  // The kernel rows whose dy row is whole: th = ih + PH - kh a multiple of SH.
  L.push(`  for (var kh = (ih + p.PH) % ${sh}u; kh < p.KH; kh += ${sh}u) {`);
  L.push('    let th = i32(ih + p.PH) - i32(kh);');
  L.push(`    if (th < 0 || th >= i32(p.OH) * ${sh}) { continue; }`);
  L.push(`    var dyi = n * p.K * dyplane + u32(th) / ${sh}u * p.OW;`);
  L.push(`    var wi = kh * p.KW * p.groups4 + ${G}u * cg;`);
  L.push('    for (var k = 0u; k < p.K; k++) {');
  // The columns some pixel reads; with vec4 segments (OW % 4 == 0) dy's row starts 4-aligned.
  const used = [...new Set(pp.flatMap((q) => [...Array(kw).keys()].map((k) => dyCol(q, k))))].filter((c) => c >= 0);
  for (const b of bb) {
    const at = b > 0 ? `dyi + off${b}` : 'dyi', y = `y${b > 0 ? b + '_' : ''}`, d = `d${b > 0 ? b + '_' : ''}`;
    if (t.segments4) for (const m of new Set(used.map((c) => c >> 2))) L.push(`      let ${y}${m} = bdy[(${at}) / 4u + ${m}u];`);
    for (const c of used.sort((x, z) => x - z)) {
      L.push(`      let ${d}${c} = ${t.segments4 ? `${y}${c >> 2}[${c & 3}]` : `bdy[${at} + ${c}u]`};`);
    }
  }
  for (let k = 0; k < kw; k++) {
    for (const g of gg) L.push(`      let w${k}_${g} = bw[wi + ${k}u * p.groups4 + ${g}u]${narrow(groupLanes(t, g))};`);
    for (const b of bb) {
      for (const q of pp) {
        const c = dyCol(q, k);
        if (c >= 0) for (const g of gg) L.push(`      ${acc(b)}${g}_${q} += d${b > 0 ? b + '_' : ''}${c} * w${k}_${g};`);
      }
    }
  }
  if (B === 1) return [...L, ...inputBodyEnd(t)];
  L.push('      dyi += dyplane;', '      wi += wstep;', '    }', '  }', '  let npix = p.H * p.W;');
  for (const b of bb) {
    L.push(`  if (n + ${b}u < p.N) {`);
    L.push(...storeRows(t, {chan: 'c', group: 'cg', bound: 'p.C', out: 'bdx', acc: acc(b),
      offset: `((n + ${b}u) * p.C + c) * npix + ih * p.W + iw0`, col0: 'iw0', width: 'p.W', vec4: t.stores4}));
    L.push('  }');
  }
  return L;
}

/**
 * A weight-gradient tile (entry point `main`, 1-D launch; any stride and padding), generated per kernel width
 * `kw` and column stride `sw` and declared at its first use. Reads dy transposed to [N, OH, OW, Kpad] (vec4 over
 * output channels) and writes partial sums [split][K][C][KH][KW] like conv_bwd_weight8. Thread (batch part s,
 * group of 4 * groups output channels, input channel c, kernel row kh) holds all KW taps of its kernel row; per
 * `pixels` output columns it loads the input row segment ((pixels - 1) * SW + KW values) and pixels x groups vec4s
 * of dy once, for pixels x groups x KW vec4 multiply-adds.
 */
export function convBwdWeightKernel(t: ConvTile, kw: number, sw: number): ConvTileKernel {
  const rows = t.rows ?? 1;
  if (!(Number.isInteger(rows) && rows >= 1)) throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: rows must be a positive integer, got ${rows}`);
  const direct = !!t.dyDirect4;
  const name = `w-k${4 * t.groups}p${t.pixels}${t.segments4 ? 'v' : ''}${rows > 1 ? `r${rows}` : ''}${direct ? 'd' : ''}` +
    `${t.lanes ? `l${t.lanes}` : ''}${t.exact ? 'x' : ''}-kw${kw}s${sw}`;
  checkSegments4(t, false);
  if (direct && t.pixels % 4 !== 0) throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: reading dy in place needs 4k pixels`);
  const bindings = [`@group(0) @binding(1) var<storage, read> wx: array<${t.segments4 ? 'vec4<f32>' : 'f32'}>;`,
    `@group(0) @binding(2) var<storage, read> wdy: array<vec4<f32>>;   // ${direct ? '[N][K][OH][OW/4]' : '[N][OH][OW][Kpad/4]'}`,
    '@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;   // [split][K][C][KH][KW], parts padded to vec4s'];
  return declare(name, bindings, () => {
    const G = t.groups, P = t.pixels, S = (P - 1) * sw + kw, R = rows;
    const gg = realGroups(t), pp = [...Array(P).keys()], ss = [...Array(S).keys()], kk = [...Array(kw).keys()];
    const rr = [...Array(R).keys()];
    // Output channels the thread really holds (its vec4 lanes past ConvTile.lanes are never loaded).
    const realChannels = t.lanes ?? 4 * G;
    const L: string[] = [];
    // Thread (s, kg, c, block of R kernel rows from kh0); rows past KH are computed from a clamped row, masked.
    L.push(`  let ng = p.groups4 / ${G}u;`);
    L.push(`  let nkh = (p.KH + ${R - 1}u) / ${R}u;`);
    L.push('  if (i >= p.split * ng * p.C * nkh) { return; }');
    L.push(`  let kh0 = (i % nkh) * ${R}u;`);
    L.push('  let c = (i / nkh) % p.C;');
    L.push('  let kg = (i / (nkh * p.C)) % ng;');
    L.push('  let s = i / (nkh * p.C * ng);');
    // Part s takes a contiguous run of the N * OH (image, output row) pairs: parts can outnumber the images, so a
    // first layer with one thread per part (LeNet's conv1: 6 channels, one input channel, 5 rows per thread) still
    // spreads over several workgroups, and so over the cores of a CPU driver, which runs a workgroup on one core.
    L.push('  let pairs = p.N * p.OH;');
    L.push('  let per = (pairs + p.split - 1u) / p.split;');
    L.push('  let f0 = s * per;');
    L.push('  let f1 = min(pairs, f0 + per);');
    const acc = (r: number, k: number, g: number) => (R > 1 ? `a${r}_${k}_${g}` : `a${k}_${g}`);
    for (const r of rr) {
      for (const k of kk) for (const g of gg) L.push(`  var ${acc(r, k, g)} = ${laneType(groupLanes(t, g))}(0.0);`);
    }
    L.push('  for (var f = f0; f < f1; f++) {');
    L.push('      let n = f / p.OH;');
    L.push('      let oh = f % p.OH;');
    const exact = !!t.exact;
    if (exact) {
      for (const r of rr) L.push(`      let xrow${R > 1 ? r : ''} = ((n * p.C + c) * p.H + oh * p.SH + kh0 + ${r}u) * p.W;`);
    } else if (R === 1) {
      L.push('      let ih = i32(oh * p.SH + kh0) - i32(p.PH);');
      L.push('      if (ih < 0 || ih >= i32(p.H)) { continue; }');
      L.push('      let xrow = ((n * p.C + c) * p.H + u32(ih)) * p.W;');
    } else {
      // Each of the R rows: its input row (clamped into the plane) and whether it is real.
      for (const r of rr) {
        L.push(`      let ih${r} = i32(oh * p.SH + kh0 + ${r}u) - i32(p.PH);`);
        L.push(`      let ok${r} = kh0 + ${r}u < p.KH && ih${r} >= 0 && ih${r} < i32(p.H);`);
        L.push(`      let xrow${r} = ((n * p.C + c) * p.H + u32(clamp(ih${r}, 0, i32(p.H) - 1))) * p.W;`);
      }
    }
    if (direct) {
      // Channel j of the thread's 4 * G: its dy row (clamped to channel K - 1; masked past K).
      for (let j = 0; j < realChannels; j++) {
        L.push(`      let k${j} = ${4 * G}u * kg + ${j}u;`);
        if (!exact) L.push(`      let k${j}ok = k${j} < p.K;`);
        L.push(`      let k${j}row = ((n * p.K + ${exact ? `k${j}` : `min(k${j}, p.K - 1u)`}) * p.OH + oh) * (p.OW / 4u);`);
      }
    } else {
      L.push(`      let dyrow = (n * p.OH + oh) * p.OW * p.groups4 + ${G}u * kg;`);
    }
    L.push(`      for (var ow0 = 0u; ow0 < p.OW; ow0 += ${P}u) {`);
    // Output columns past the row's end read a clamped column times 0. dy is loaded once for all R rows.
    if (direct) {
      // OW % 4 == 0 and ow0 % 4 == 0: each vec4 of 4 pixels lies wholly inside the row or wholly past its end.
      for (let m = 0; m < P / 4; m++) {
        if (exact) {
          for (let j = 0; j < realChannels; j++) L.push(`        let v${j}_${m} = wdy[k${j}row + ow0 / 4u + ${m}u];`);
          continue;
        }
        L.push(`        let m${m}ok = ow0 + ${4 * m}u < p.OW;`);
        L.push(`        let m${m}i = min(ow0 / 4u + ${m}u, p.OW / 4u - 1u);`);
        for (let j = 0; j < realChannels; j++) {
          L.push(`        let v${j}_${m} = select(vec4<f32>(0.0), wdy[k${j}row + m${m}i], m${m}ok && k${j}ok);`);
        }
      }
      for (const q of pp) {
        for (const g of gg) {
          const n = groupLanes(t, g);
          const lanes = [...Array(n).keys()].map((c) => `v${4 * g + c}_${q >> 2}[${q & 3}]`).join(', ');
          L.push(`        let d${q}_${g} = ${laneType(n)}(${lanes});`);
        }
      }
    } else {
      for (const q of pp) {
        L.push(`        let q${q}ok = ow0 + ${q}u < p.OW;`);
        L.push(`        let q${q}i = dyrow + min(ow0 + ${q}u, p.OW - 1u) * p.groups4;`);
        for (const g of gg) {
          const n = groupLanes(t, g);
          L.push(`        let d${q}_${g} = select(${laneType(n)}(0.0), wdy[q${q}i + ${g}u]${narrow(n)}, q${q}ok);`);
        }
      }
    }
    if (!exact) for (const j of ss) L.push(`        let x${j}c = i32(ow0 * ${sw}u + ${j}u) - i32(p.PW);`);
    for (const r of rr) {
      const row = R > 1 ? `xrow${r}` : 'xrow', sx = R > 1 ? `s${r}_` : 's', seg = R > 1 ? `x${r}_` : 'x';
      const rowOk = R > 1 ? ` && ok${r}` : '';
      // Input column of segment entry j: ow0 * SW + j - PW; outside the row it reads a clamped column times 0. An
      // exact tile's segment lies inside its row (with vec4s, W % 4 == 0, so does each one it touches).
      // With vec4 segments (W % 4 == 0, PW % 4 == 0, pixels % 4 == 0) the segment starts 4-aligned.
      if (t.segments4) {
        L.push(...segment4('wx', 'p.N * p.C * p.H * p.W', `i32(${row} + ow0 * ${sw}u) - i32(p.PW)`, S, seg, '        ',
          !exact));
      }
      for (const j of ss) {
        if (exact) {
          L.push(`        let ${sx}${j} = ${t.segments4 ? `${seg}${j}v` : `wx[${row} + ow0 * ${sw}u + ${j}u]`};`);
          continue;
        }
        const value = t.segments4 ? `${seg}${j}v` : `wx[${row} + u32(clamp(x${j}c, 0, i32(p.W) - 1))]`;
        L.push(`        let ${sx}${j} = select(0.0, ${value}, x${j}c >= 0 && x${j}c < i32(p.W)${rowOk});`);
      }
      for (const k of kk) for (const q of pp) for (const g of gg) L.push(`        ${acc(r, k, g)} += ${sx}${q * sw + k} * d${q}_${g};`);
    }
    L.push('      }');
    L.push('  }');
    // Split parts are rows padded to whole vec4s, for reduce_rows4; one part is the gradient itself, unpadded.
    L.push('  let dwsize = p.K * p.C * p.KH * p.KW;');
    L.push('  let pstride = select(dwsize, (dwsize + 3u) / 4u * 4u, p.split > 1u);');
    for (const r of rr) {
      for (const g of gg) {
        const n = groupLanes(t, g);
        for (let j = 0; j < n; j++) {
          L.push(`  { let k = ${4 * G}u * kg + ${4 * g + j}u;`);
          L.push(`    if (k < p.K && kh0 + ${r}u < p.KH) {`);
          L.push(`      let o = s * pstride + ((k * p.C + c) * p.KH + kh0 + ${r}u) * p.KW;`);
          for (const k of kk) L.push(`      wdw[o + ${k}u] = ${laneOf(acc(r, k, g), n, j)};`);
          L.push('    }');
          L.push('  }');
        }
      }
    }
    return L;
  });
}

/** The shape a lane-per-channel weight-gradient kernel is generated for (convBwdWeightLanesKernel). */
export interface WeightLanesShape {
  /** Kernel rows and columns, dy's row width in vec4s, x's row width (floats). */
  KH: number; KW: number; OW4: number; W: number;
  /** Invocations per workgroup (SIMD lanes on CPU drivers), and output channels per invocation, `lanes` apart. */
  lanes: number; perLane: number;
}

/**
 * A weight-gradient kernel for unpadded, column-stride-1 convolutions whose dy rows are a multiple of 4 wide,
 * written for CPU drivers that run a workgroup's invocations as SIMD lanes (SwiftShader). Each invocation takes
 * `perLane` output channels; its workgroup fixes (output-channel block, input channel c, batch part s). Every x
 * load then has the same address in every lane, and only dy's rows (one channel per lane) are gathered. The
 * invocation holds perLane x KH x KW vec4 accumulators over 4 neighbouring output columns (dW[k, c, kh, kw] = sum
 * over n, oh, ow of dy[n, k, oh, ow] * x[n, c, oh * SH + kh, ow + kw]); the windows x[ow + kw ..] are regrouped
 * from the row's loaded vec4s, free on a CPU driver, where a vec4 is 4 registers per lane. The 4 columns are
 * summed at the end. Same output as convBwdWeightKernel: partial sums [split][K][C][KH][KW], parts padded to vec4s
 * when split > 1.
 */
export function convBwdWeightLanesKernel(s: WeightLanesShape): ConvTileKernel {
  const {KH, KW, OW4, W, lanes, perLane: P} = s;
  const segment = 4 * OW4 + KW - 1;
  if (segment > W) throw new Error(`webgpu-transfer: weight-gradient lanes kernel: rows of ${4 * OW4} outputs and ${KW} taps need ${segment} inputs, W is ${W}`);
  const vecX = W % 4 === 0;
  const name = `wl-${KH}x${KW}-ow${4 * OW4}-w${W}-l${lanes}x${P}`;
  const loads = Math.ceil(segment / (vecX ? 4 : 1));
  const bindings = [`@group(0) @binding(1) var<storage, read> wx: array<${vecX ? 'vec4<f32>' : 'f32'}>;   // [N][C][H][W]`,
    '@group(0) @binding(2) var<storage, read> wdy: array<vec4<f32>>;   // [N][K][OH][OW/4]',
    '@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;   // [split][K][C][KH][KW], parts padded to vec4s'];
  const entry: Entry = {args: '@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, ' +
    '@builtin(num_workgroups) nwg: vec3<u32>', prologue: [], workgroupSize: lanes};
  return declare(name, bindings, () => {
    const L: string[] = [];
    // Workgroup (s, kb, c), c fastest; channels past K compute channel K - 1 and store nothing.
    L.push('  let wgi = wid.x + wid.y * nwg.x;');
    L.push(`  let nkb = (p.K + ${lanes * P - 1}u) / ${lanes * P}u;`);
    L.push('  let c = wgi % p.C;');
    L.push('  let kb = (wgi / p.C) % nkb;');
    L.push('  let s = wgi / (p.C * nkb);');
    L.push('  if (s >= p.split) { return; }');
    for (let j = 0; j < P; j++) {
      L.push(`  let k${j} = kb * ${lanes * P}u + ${j * lanes}u + lid.x;`);
      L.push(`  let k${j}r = min(k${j}, p.K - 1u);`);
    }
    L.push('  let pairs = p.N * p.OH;');
    L.push('  let per = (pairs + p.split - 1u) / p.split;');
    L.push('  let f0 = s * per;');
    L.push('  let f1 = min(pairs, f0 + per);');
    const acc = (j: number, kh: number, kw: number) => `a${j}_${kh}_${kw}`;
    for (let j = 0; j < P; j++) {
      for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) L.push(`  var ${acc(j, kh, kw)} = vec4<f32>(0.0);`);
    }
    L.push('  for (var f = f0; f < f1; f++) {');
    L.push('    let n = f / p.OH;');
    L.push('    let oh = f % p.OH;');
    for (let j = 0; j < P; j++) {
      L.push(`    let dyrow${j} = ((n * p.K + k${j}r) * p.OH + oh) * ${OW4}u;`);
      for (let m = 0; m < OW4; m++) L.push(`    let d${j}_${m} = wdy[dyrow${j} + ${m}u];`);
    }
    // Input column i of the row's loaded segment, as a WGSL expression.
    const xi = (kh: number, i: number) => (vecX ? `x${kh}_${i >> 2}[${i & 3}]` : `x${kh}_${i}`);
    for (let kh = 0; kh < KH; kh++) {
      L.push(`    let xrow${kh} = ((n * p.C + c) * p.H + oh * p.SH + ${kh}u) * ${vecX ? W / 4 : W}u;`);
      for (let i = 0; i < loads; i++) L.push(`    let x${kh}_${i} = wx[xrow${kh} + ${i}u];`);
      for (let kw = 0; kw < KW; kw++) {
        for (let m = 0; m < OW4; m++) {
          L.push(`    let w${kh}_${kw}_${m} = vec4<f32>(${[0, 1, 2, 3].map((q) => xi(kh, 4 * m + kw + q)).join(', ')});`);
          for (let j = 0; j < P; j++) L.push(`    ${acc(j, kh, kw)} += d${j}_${m} * w${kh}_${kw}_${m};`);
        }
      }
    }
    L.push('  }');
    L.push('  let dwsize = p.K * p.C * p.KH * p.KW;');
    L.push('  let pstride = select(dwsize, (dwsize + 3u) / 4u * 4u, p.split > 1u);');
    for (let j = 0; j < P; j++) {
      L.push(`  if (k${j} < p.K) {`);
      L.push(`    let o = s * pstride + (k${j} * p.C + c) * ${KH * KW}u;`);
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) L.push(`    wdw[o + ${kh * KW + kw}u] = dot(${acc(j, kh, kw)}, vec4<f32>(1.0));`);
      }
      L.push('  }');
    }
    return L;
  }, entry);
}
