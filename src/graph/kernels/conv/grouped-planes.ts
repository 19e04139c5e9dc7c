// Generated depthwise conv2d kernels (C = K = groups), the geometry compiled in: a thread computes a block of R whole
// rows of one channel plane (all of it where the plane is small), loads each input row once (as vec4s where the rows
// allow) and writes every multiply-add out, with no loop and no index arithmetic per tap. The hand-written kernels
// (shaders/conv-grouped.wgsl) work out every tap's indices and bounds per thread and leave lanes idle on small maps:
// grouped_fwd8 keeps 4 of its 8 outputs on a 4 x 4 map, 2 on a 2 x 2. Same bindings and uniforms as those kernels
// (CONV_GROUPED), so a launch packs one params object for either.
import {defineKernel, loopSteps, type KernelDef} from '../../kernel-def.js';
import {CONV_GROUPED} from '../../shaders.js';
import type {Conv2dGeom} from './geom.js';

export type PlaneKernel = KernelDef<typeof CONV_GROUPED.uniforms, {main: 'p'}>;
export type PlanePass = 'forward' | 'input' | 'weight';

/**
 * Multiply-adds one thread writes out at most: longer shaders compile slowly (SwiftShader most of all). 1,024 lets a
 * thread take a row of a 112-wide map (photos of 224 px).
 */
export const PLANE_MAX_TERMS = 1024;
/** Threads a workgroup of the weight gradient, a thread per channel: one SIMD row of a CPU adapter. */
const WEIGHT_WORKGROUP = 8;

const range = (n: number) => [...Array(n).keys()];
const isDepthwise = (g: Conv2dGeom) => g.groups === g.C && g.K === g.C;

/** Output columns ow and taps kw whose input column iw = ow * SW - PW + kw lies inside the row, by ow. */
function forwardColumns(g: Conv2dGeom): {kw: number; iw: number}[][] {
  return range(g.OW).map((ow) => range(g.KW).map((kw) => ({kw, iw: ow * g.SW - g.PW + kw}))
    .filter((t) => t.iw >= 0 && t.iw < g.W));
}
/** Input columns iw and the (kw, ow) whose window holds them, by iw. */
function inputColumns(g: Conv2dGeom): {kw: number; ow: number}[][] {
  return range(g.W).map((iw) => range(g.KW).filter((kw) => (iw + g.PW - kw) % g.SW === 0)
    .map((kw) => ({kw, ow: (iw + g.PW - kw) / g.SW})).filter((t) => t.ow >= 0 && t.ow < g.OW));
}

/**
 * Kernel rows kh that meet block row r (the input gradient's: those on its row stride): every one, or where the block
 * is the whole plane, those inside it. The budget and the generated kernels both count by it.
 */
function rowTaps(g: Conv2dGeom, pass: PlanePass, r: number, whole: boolean): number[] {
  if (pass === 'input') {
    return range(g.KH).filter((kh) => (r + g.PH - kh) % g.SH === 0)
      .filter((kh) => !whole || ((r + g.PH - kh) / g.SH >= 0 && (r + g.PH - kh) / g.SH < g.OH));
  }
  return range(g.KH).filter((kh) => !whole || (r * g.SH - g.PH + kh >= 0 && r * g.SH - g.PH + kh < g.H));
}

/** Multiply-adds of a thread's block of `rows` rows (an upper bound where the block's rows are known only at run). */
function blockTerms(g: Conv2dGeom, pass: PlanePass, rows: number): number {
  const cols = (pass === 'input' ? inputColumns(g) : forwardColumns(g)).reduce((s, c) => s + c.length, 0);
  const whole = rows === (pass === 'input' ? g.H : g.OH);
  return range(rows).reduce((s, r) => s + rowTaps(g, pass, r, whole).length * cols, 0);
}

/**
 * Rows a thread takes: the whole plane where its multiply-adds fit PLANE_MAX_TERMS, else the most rows that divide the
 * plane's height and fit (the input gradient's, a multiple of the row stride, so every block meets the taps alike);
 * null where not one row fits.
 */
export function planeRows(g: Conv2dGeom, pass: PlanePass): number | null {
  const extent = pass === 'input' ? g.H : g.OH, step = pass === 'input' ? g.SH : 1;
  for (let r = extent; r >= 1; r--) {
    if (extent % r || (r < extent && r % step)) continue;
    if (blockTerms(g, pass, r) <= PLANE_MAX_TERMS) return r;
  }
  return null;
}

/** Whether the generated kernels can run `g` for `pass`: a depthwise convolution whose rows fit a thread. */
export const planeFits = (g: Conv2dGeom, pass: PlanePass): boolean => isDepthwise(g) && planeRows(g, pass) !== null;

/**
 * Reads of one plane's rows (`buf`, floats or vec4s), each value loaded once, at its first use: `read(slot, col, out)`
 * pushes the loads it needs onto `out` and returns the value's expression. Rows are static (`row0` absent: slot = the
 * row itself, in range) or relative to the i32 expression `row0`, read as zeros outside the plane where `masked`.
 */
function planeReader(o: {name: string; buf: string; vec: boolean; H: number; W: number; plane: string; row0?: string;
  masked?: boolean}) {
  const loaded = new Set<string>();
  const {name, H, W} = o;
  return (slot: number, col: number, out: string[]): string => {
    const dyn = o.row0 !== undefined;
    if (dyn && !loaded.has(`row${slot}`)) {
      loaded.add(`row${slot}`);
      out.push(`  let ${name}r${slot} = ${o.row0} + ${slot};`);
      if (o.masked) out.push(`  let ${name}ok${slot} = ${name}r${slot} >= 0 && ${name}r${slot} < ${H};`);
      const row = o.masked ? `u32(clamp(${name}r${slot}, 0, ${H - 1}))` : `u32(${name}r${slot})`;
      out.push(`  let ${name}s${slot} = ${o.plane} * ${H * W}u + ${row} * ${W}u;`);
    }
    const e = dyn ? col : slot * W + col;
    const unit = o.vec ? e >> 2 : e;
    const v = `${name}${dyn ? `${slot}_` : ''}${unit}`;
    if (!loaded.has(v)) {
      loaded.add(v);
      const at = dyn ? (o.vec ? `(${name}s${slot} >> 2u) + ${unit}u` : `${name}s${slot} + ${unit}u`)
        : `${o.plane} * ${o.vec ? H * W / 4 : H * W}u + ${unit}u`;
      const zero = o.vec ? 'vec4<f32>(0.0)' : '0.0';
      const load = `${o.buf}[${at}]`;
      out.push(`  let ${v} = ${dyn && o.masked ? `select(${zero}, ${load}, ${name}ok${slot})` : load};`);
    }
    return o.vec ? `${v}.${'xyzw'[e & 3]}` : v;
  };
}

/** Whether a plane's reads of `rows`-row blocks can go by vec4s: rows of whole vec4s, or whole planes of them. */
const vecRows = (H: number, W: number, rows: number) => W % 4 === 0 || (rows === H && (H * W) % 4 === 0);

/**
 * Stores of a block of `rows` x `cols` outputs from flat offset `base` (a u32 expression): `done(r, out)` once row r's
 * values (named by `value(r, c)`) exist, pushing the stores it completes; by vec4s where the block and base allow.
 */
function blockWriter(buf: string, base: string, rows: number, cols: number, vec: boolean,
  value: (r: number, c: number) => string) {
  return (r: number, out: string[]) => {
    if (!vec) {
      for (const c of range(cols)) out.push(`  ${buf}[${base} + ${r * cols + c}u] = ${value(r, c)};`);
      return;
    }
    // vec4 q holds flat elements 4q..4q+3; store those whose last element lies in row r.
    for (let q = Math.floor(r * cols / 4); 4 * q < (r + 1) * cols; q++) {
      if (4 * q + 3 >= (r + 1) * cols) break;
      if (4 * q + 3 < r * cols) continue;
      const parts = range(4).map((j) => value(Math.floor((4 * q + j) / cols), (4 * q + j) % cols));
      out.push(`  ${buf}[((${base}) >> 2u) + ${q}u] = vec4<f32>(${parts.join(', ')});`);
    }
  };
}

const sum = (terms: string[]) => (terms.length ? terms.join(' + ') : '0.0');
const cache = new Map<string, PlaneKernel>();

function declare(name: string, bindings: string[], body: string[], workgroupSize: number,
  steps?: (p: {N: number}) => number): PlaneKernel {
  let def = cache.get(name);
  if (def) return def;
  const code = [`// generated by src/graph/kernels/conv/grouped-planes.ts: ${name}`, ...bindings,
    '@compute @workgroup_size(WG)',
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
    '  let i = thread_id(gid, nwg);', ...body, '}'].join('\n');
  def = defineKernel({file: `conv-planes/${name}.wgsl`, code, workgroupSize, uniforms: CONV_GROUPED.uniforms,
    entries: {main: 'p'}, loopSteps: steps ? {main: steps} : {}});
  cache.set(name, def);
  return def;
}

const geomName = (g: Conv2dGeom, rows: number) =>
  `${g.H}x${g.W}-k${g.KH}x${g.KW}-s${g.SH}x${g.SW}-p${g.PH}x${g.PW}-r${rows}`;

/** A pass's rows per thread; an error naming the shape where the kernels cannot run it (planeFits says so first). */
function rowsOf(g: Conv2dGeom, pass: PlanePass): number {
  const R = planeRows(g, pass);
  if (R === null || !isDepthwise(g)) {
    throw new Error(`webgpu-transfer: conv2d depthwise planes: the ${pass} pass cannot run groups ${g.groups}, ` +
      `x [${g.N}, ${g.C}, ${g.H}, ${g.W}], weight [${g.K}, ${g.C / g.groups}, ${g.KH}, ${g.KW}]`);
  }
  return R;
}
/** The opening of a thread per (image, channel, block of rows): its bound, block rb, plane and channel k. */
const blockThread = (blocks: number) => [`  if (i >= p.N * p.K * ${blocks}u) { return; }`, `  let rb = i % ${blocks}u;`,
  `  let plane = i / ${blocks}u;`, '  let k = plane % p.K;'];
const arr = (vec: boolean) => (vec ? 'array<vec4<f32>>' : 'array<f32>');
/** Weight taps of channel k, loaded at first use. */
function tapReader(buf: string, g: Conv2dGeom) {
  const loaded = new Set<number>();
  return (kh: number, kw: number, out: string[]) => {
    const t = kh * g.KW + kw;
    if (!loaded.has(t)) { loaded.add(t); out.push(`  let w${t} = ${buf}[k * ${g.KH * g.KW}u + ${t}u];`); }
    return `w${t}`;
  };
}

/**
 * Forward, thread (n, k, block of R output rows): y = x (*) w (+ bias), bindings and HAS_BIAS as grouped_fwd (x, w,
 * bias, y).
 * Threads: N * K * OH / R.
 */
export function planeForwardKernel(g: Conv2dGeom): {kernel: PlaneKernel; threads: number} {
  const R = rowsOf(g, 'forward');
  const blocks = g.OH / R, whole = R === g.OH;
  const xVec = vecRows(g.H, g.W, whole ? g.H : 0), yVec = (g.OH * g.OW) % 4 === 0 && (R * g.OW) % 4 === 0;
  const L = blockThread(blocks);
  // The bias binding stays in the layout either way (bindings are positional); HAS_BIAS says whether to read it.
  L.push('  var b = 0.0;', '  if (HAS_BIAS) { b = fbias[k]; }');
  const x = planeReader({name: 'x', buf: 'fx', vec: xVec, H: g.H, W: g.W, plane: 'plane',
    ...(whole ? {} : {row0: `i32(rb * ${R * g.SH}u) - ${g.PH}`, masked: true})});
  const w = tapReader('fw', g);
  const cols = forwardColumns(g);
  const store = blockWriter('fy', `plane * ${g.OH * g.OW}u + rb * ${R * g.OW}u`, R, g.OW, yVec, (r, c) => `y${r}_${c}`);
  for (const r of range(R)) {
    for (const ow of range(g.OW)) {
      const terms: string[] = [];
      for (const kh of rowTaps(g, 'forward', r, whole)) {
        const ih = r * g.SH - g.PH + kh;
        for (const {kw, iw} of cols[ow]) terms.push(`${x(whole ? ih : r * g.SH + kh, iw, L)} * ${w(kh, kw, L)}`);
      }
      L.push(`  let y${r}_${ow} = ${sum(terms)} + b;`);
    }
    store(r, L);
  }
  const kernel = declare(`dw-fwd-${geomName(g, R)}`, ['override HAS_BIAS: bool = false;',
    `@group(0) @binding(1) var<storage, read> fx: ${arr(xVec)};`,
    '@group(0) @binding(2) var<storage, read> fw: array<f32>;',
    '@group(0) @binding(3) var<storage, read> fbias: array<f32>;',
    `@group(0) @binding(4) var<storage, read_write> fy: ${arr(yVec)};`], L, CONV_GROUPED.workgroupDims[0]);
  return {kernel, threads: g.N * g.K * blocks};
}

/**
 * Input gradient, thread (n, c, block of R input rows): dx = dy (*)^T w, bindings as grouped_bwd_input (dy, w, dx).
 * R is a multiple of SH (or the plane), so in every block input row r meets tap kh through the same output row
 * offset (r + PH - kh) / SH. Threads: N * C * H / R.
 */
export function planeInputKernel(g: Conv2dGeom): {kernel: PlaneKernel; threads: number} {
  const R = rowsOf(g, 'input');
  const blocks = g.H / R, whole = R === g.H;
  // Output rows of a block, relative to its first (R / SH) * rb: from floor((PH - KH + 1) / SH) on.
  const dMin = Math.floor((g.PH - g.KH + 1) / g.SH);
  const dyVec = vecRows(g.OH, g.OW, whole ? g.OH : 0), dxVec = (g.H * g.W) % 4 === 0 && (R * g.W) % 4 === 0;
  const L = blockThread(blocks);
  const dy = planeReader({name: 'd', buf: 'bdy', vec: dyVec, H: g.OH, W: g.OW, plane: 'plane',
    ...(whole ? {} : {row0: `i32(rb * ${R / g.SH}u) + ${dMin}`, masked: true})});
  const w = tapReader('bw', g);
  const cols = inputColumns(g);
  const store = blockWriter('bdx', `plane * ${g.H * g.W}u + rb * ${R * g.W}u`, R, g.W, dxVec, (r, c) => `g${r}_${c}`);
  for (const r of range(R)) {
    for (const iw of range(g.W)) {
      const terms: string[] = [];
      for (const kh of rowTaps(g, 'input', r, whole)) {
        const d = (r + g.PH - kh) / g.SH;
        for (const {kw, ow} of cols[iw]) terms.push(`${dy(whole ? d : d - dMin, ow, L)} * ${w(kh, kw, L)}`);
      }
      L.push(`  let g${r}_${iw} = ${sum(terms)};`);
    }
    store(r, L);
  }
  const kernel = declare(`dw-input-${geomName(g, R)}`, [`@group(0) @binding(1) var<storage, read> bdy: ${arr(dyVec)};`,
    '@group(0) @binding(2) var<storage, read> bw: array<f32>;',
    `@group(0) @binding(3) var<storage, read_write> bdx: ${arr(dxVec)};`], L, CONV_GROUPED.workgroupDims[0]);
  return {kernel, threads: g.N * g.C * blocks};
}

/**
 * Weight gradient, a thread per channel k summing every image's blocks of R output rows in order (bindings as
 * grouped_bwd_weight: x, dy, dw): dw[k, kh, kw] = sum over n, oh, ow of dy[n, k, oh, ow] x[n, k, ih, iw]. Threads: K,
 * in workgroups of WEIGHT_WORKGROUP.
 */
export function planeWeightKernel(g: Conv2dGeom): {kernel: PlaneKernel; threads: number} {
  const R = rowsOf(g, 'weight');
  const blocks = g.OH / R, whole = R === g.OH;
  const xVec = vecRows(g.H, g.W, whole ? g.H : 0), dyVec = vecRows(g.OH, g.OW, whole ? g.OH : 0);
  const taps = range(g.KH).flatMap((kh) => range(g.KW).map((kw) => ({kh, kw})));
  const L = ['  if (i >= p.K) { return; }', '  let k = i;'];
  for (const {kh, kw} of taps) L.push(`  var s${kh * g.KW + kw} = 0.0;`);
  L.push(`  for (var b = 0u; b < p.N * ${blocks}u; b++) {`, `  let rb = b % ${blocks}u;`,
    `  let plane = (b / ${blocks}u) * p.K + k;`);
  const x = planeReader({name: 'x', buf: 'gx', vec: xVec, H: g.H, W: g.W, plane: 'plane',
    ...(whole ? {} : {row0: `i32(rb * ${R * g.SH}u) - ${g.PH}`, masked: true})});
  const dy = planeReader({name: 'd', buf: 'gdy', vec: dyVec, H: g.OH, W: g.OW, plane: 'plane',
    ...(whole ? {} : {row0: `i32(rb * ${R}u)`})});
  const cols = forwardColumns(g);
  const terms = new Map<number, string[]>(taps.map(({kh, kw}) => [kh * g.KW + kw, []]));
  for (const r of range(R)) {
    for (const ow of range(g.OW)) {
      for (const kh of rowTaps(g, 'weight', r, whole)) {
        const ih = r * g.SH - g.PH + kh;
        for (const {kw, iw} of cols[ow]) {
          terms.get(kh * g.KW + kw)!.push(`${dy(r, ow, L)} * ${x(whole ? ih : r * g.SH + kh, iw, L)}`);
        }
      }
    }
  }
  for (const [t, list] of terms) if (list.length) L.push(`  s${t} += ${sum(list)};`);
  L.push('  }');
  for (const {kh, kw} of taps) L.push(`  gdw[k * ${taps.length}u + ${kh * g.KW + kw}u] = s${kh * g.KW + kw};`);
  const kernel = declare(`dw-weight-${geomName(g, R)}`, [`@group(0) @binding(1) var<storage, read> gx: ${arr(xVec)};`,
    `@group(0) @binding(2) var<storage, read> gdy: ${arr(dyVec)};`,
    '@group(0) @binding(3) var<storage, read_write> gdw: array<f32>;'], L, WEIGHT_WORKGROUP,
  (p) => loopSteps(p.N * blocks));
  return {kernel, threads: g.K};
}
