// The 3x3 stride-1 convolution forward by Winograd's minimal filtering F(m x m, 3 x 3) (Lavin and Gray, 2015): each
// m x m block of output pixels comes from an (m+2) x (m+2) tile of input as (m+2)^2 independent channel products
// instead of 9 m^2, so F(2x2) does 2.25x fewer multiply-adds than im2col and F(4x4) 4x. Three generated kernels and
// one batched product: the weights into U [a^2, C, K] (G g G^T), the input tiles into V [a^2, tiles, C] (B^T d B),
// then M = V @ U for each of the a^2 tile points on the matmul kernels, and the tiles of M back into pixels
// (A^T M A, plus the bias). The input gradient runs as such a forward (inputGradientGeom); the weight gradient's
// stages are in winograd-weight.ts, the products with output channels as rows in winograd-channel-rows.ts.
import {defineKernel, readThroughTexture, type KernelDef} from '../../kernel-def.js';
import {rt} from '../../engine.js';
import {empty, type Tensor} from '../../tensor.js';
import {dummyBuffer, onCompatCpu, readsThroughTexture, sourceBinding, stagingTextureFits, texturesPreferred} from
  '../device.js';
import {matmulK} from '../matmul/index.js';
import {emptyPanels, panelLayout, panelStrides4, panelWindowFits, runPanels}
  from '../matmul/uniform-panel.js';
import {kernelPrefs} from '../prefs.js';
import {ceil4} from '../shapes.js';
import {convFlops, convNote, type Conv2dGeom} from './geom.js';

/** Output pixels per tile side: F(2x2, 3x3) or F(4x4, 3x3). */
export type WinogradSize = 2 | 4;

interface Transforms { BT: number[][]; G: number[][]; AT: number[][] }
// Interpolation points 0, 1, -1 (and 2, -2 for F(4x4)) and infinity, as in Lavin and Gray's paper.
export const TRANSFORMS: Record<WinogradSize, Transforms> = {
  2: {
    BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    G: [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]],
    AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
  },
  4: {
    BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1]],
    G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1]],
    AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
  },
};

/** A WGSL literal for a coefficient: integers as they are, fractions as a quotient WGSL folds at compile time. */
function literal(c: number): string {
  if (Number.isInteger(c)) return `${c}.0`;
  for (let den = 2; den <= 48; den++) {
    const num = Math.round(c * den);
    if (Math.abs(num / den - c) < 1e-12) return `(${num}.0 / ${den}.0)`;
  }
  throw new Error(`webgpu-transfer: winograd: no exact literal for ${c}`);
}

/** sum_i coef[i] * terms[i], zero terms left out, +-1 without a multiplication; `zero` when all are zero. */
function combination(coef: number[], terms: string[], zero: string): string {
  const parts: string[] = [];
  coef.forEach((c, i) => {
    if (c === 0) return;
    const sign = c < 0 ? '-' : '+', mag = Math.abs(c);
    parts.push(`${sign} ${mag === 1 ? terms[i] : `${literal(mag)} * ${terms[i]}`}`);
  });
  if (!parts.length) return zero;
  const text = parts.join(' ');
  return text.startsWith('+ ') ? text.slice(2) : `-${text.slice(2)}`;
}

/**
 * out = L X L'^T for a matrix of named values X (rows x cols): first along the rows (X L'^T), then the columns.
 * Emits `let` lines naming each entry `${name}${i}_${j}`.
 */
export function sandwich(L: number[][], R: number[][], x: (i: number, j: number) => string, rows: number, cols: number,
  name: string, zero: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < R.length; j++) {
      lines.push(`  let ${name}h${i}_${j} = ${combination(R[j], [...Array(cols).keys()].map((k) => x(i, k)), zero)};`);
    }
  }
  for (let i = 0; i < L.length; i++) {
    for (let j = 0; j < R.length; j++) {
      lines.push(`  let ${name}${i}_${j} = ${combination(L[i], [...Array(rows).keys()].map((k) => `${name}h${k}_${j}`),
        zero)};`);
    }
  }
  return lines;
}

export const UNIFORMS = {p: {N: 'u32', C: 'u32', H: 'u32', W: 'u32', K: 'u32', OH: 'u32', OW: 'u32', PH: 'u32',
  PW: 'u32', TH: 'u32', TW: 'u32', P: 'u32', C4: 'u32', K4: 'u32', u_point: 'u32', u_panel: 'u32', u_row: 'u32',
  flip: 'u32'}} as const;
type Stage = 'weights' | 'tiles' | 'pixels' | 'pixelRows';
export type StageKernel = KernelDef<typeof UNIFORMS, {main: 'p'}>;
const kernels = new Map<string, StageKernel>();
export const range = (n: number): number[] => [...Array(n).keys()];
export const ZERO4 = 'vec4<f32>(0.0)';

/**
 * The opening of a thread per (tile, 4 channels) over a stage's `groups4` groups of 4 channels: g4, tile, and the
 * tile's n x n block (first pixel `pad` before the tile's corner, tiles a step `m` apart) of those channels of an
 * NCHW source of `chans` channels and rows x cols planes, as vec4s d{i}_{j}, zero outside the planes and past chans.
 */
export function blockLoads(n: number, m: number, groups4: string, chans: string, rows: string, cols: string,
  pad: [string, string]): string[] {
  const L = [`  if (t >= p.P * ${groups4}) { return; }`, `  let g4 = t % ${groups4};`, `  let tile = t / ${groups4};`,
    '  let n = tile / (p.TH * p.TW);', '  let th = (tile / p.TW) % p.TH;', '  let tw = tile % p.TW;',
    `  let plane = ${rows} * ${cols};`];
  for (const q of range(4)) {
    L.push(`  let base${q} = (n * ${chans} + min(g4 * 4u + ${q}u, ${chans} - 1u)) * plane;`,
      `  let real${q} = g4 * 4u + ${q}u < ${chans};`);
  }
  for (const i of range(n)) {
    L.push(`  let iy${i} = i32(th * ${m}u + ${i}u) - i32(${pad[0]});`,
      `  let row${i} = u32(clamp(iy${i}, 0, i32(${rows}) - 1)) * ${cols};`,
      `  let rin${i} = iy${i} >= 0 && iy${i} < i32(${rows});`);
  }
  for (const j of range(n)) {
    L.push(`  let ix${j} = i32(tw * ${m}u + ${j}u) - i32(${pad[1]});`,
      `  let col${j} = u32(clamp(ix${j}, 0, i32(${cols}) - 1));`,
      `  let cin${j} = ix${j} >= 0 && ix${j} < i32(${cols});`);
  }
  for (const i of range(n)) for (const j of range(n)) {
    L.push(`  let d${i}_${j} = vec4<f32>(${range(4).map((q) =>
      `select(0.0, load_src(base${q} + row${i} + col${j}), rin${i} && cin${j} && real${q})`).join(', ')});`);
  }
  return L;
}

/**
 * A stage's opening: its source read through load_src only (the texture variant is the stage's twin reading it from
 * the staging texture, whose loads llvmpipe gathers about 10x cheaper: docs/kernel-measurements.md#load-paths), its
 * dst, the bias where it adds one, and main's first line (t, the thread).
 */
export function stageOpening(header: string, src: string, dst: string, bias: boolean): string[] {
  return [header, `@group(0) @binding(1) var<storage, read> src: array<${src}>;`,
    `fn load_src(i: u32) -> ${src} { return src[i]; }`, `@group(0) @binding(2) var<storage, read_write> dst: array<${dst}>;`,
    ...(bias ? ['@group(0) @binding(3) var<storage, read> bias: array<f32>;', 'override HAS_BIAS: u32 = 0u;'] : []),
    '@compute @workgroup_size(WG)',
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
    '  let t = thread_id(gid, nwg);'];
}

/** A stage's kernel from its lines, main still open: reading its source from storage, or its texture twin. */
export function declareStage(cache: Map<string, StageKernel>, name: string, L: string[], texture: boolean)
  : StageKernel {
  L.push('}');
  const code = texture ? readThroughTexture(L.join('\n'), 'src') : L.join('\n');
  const def = defineKernel({file: `conv-gen/${name}.wgsl`, code, workgroupSize: 64, uniforms: UNIFORMS,
    entries: {main: 'p'}});
  cache.set(name, def);
  return def;
}

/**
 * The weights stage's transform, after `flip` is set: lane q's filter (output channel k, input channel c of
 * `lane(q)`) of w [K, C, 3, 3], or of the input gradient's flipped w [C, K, 3, 3] read rotated, as g{r}_{s} (zero past
 * K and C), then u{i}_{j} = G g G^T.
 */
export function weightTransform(G: number[][], lane: (q: number) => [string, string]): string[] {
  const L = ['  let last = p.K * p.C * 9u - 1u;'];
  for (const q of range(4)) {
    const [k, c] = lane(q);
    L.push(`  let w${q} = select((${k}) * p.C + ${c}, (${c}) * p.K + ${k}, flip) * 9u;`,
      `  let ok${q} = ${k} < p.K && ${c} < p.C;`);
  }
  for (const r of range(3)) for (const s of range(3)) {
    L.push(`  let g${r}_${s} = vec4<f32>(${range(4).map((q) =>
      `select(0.0, load_src(min(w${q} + select(${r * 3 + s}u, ${8 - r * 3 - s}u, flip), last)), ok${q})`).join(', ')});`);
  }
  return [...L, ...sandwich(G, G, (i, j) => `g${i}_${j}`, 3, 3, 'u', ZERO4)];
}

/**
 * One stage of F(m x m, 3x3) as straight-line WGSL (no loop: llvmpipe's loop limit never applies), a thread each:
 * - weights: (input channel c, 4 output channels k4): U[xi, c, k4] = G g G^T, zero past C and K;
 * - tiles: (tile, 4 input channels c4): V[xi, tile, c4] = B^T d B, d the tile's input, zero outside the image;
 * - pixels: (tile, 4 output channels k4): A^T M A (+ bias) into the tile's m x m output pixels inside OH x OW.
 */
export function stageKernel(m: WinogradSize, stage: Stage, texture: boolean): StageKernel {
  const name = `winograd${m}_${stage}${texture ? '_t' : ''}`;
  const cached = kernels.get(name);
  if (cached) return cached;
  const {BT, G, AT} = TRANSFORMS[m], a = m + 2;
  const pixels = stage === 'pixels' || stage === 'pixelRows';
  // pixelRows stores each of a tile's m output rows as one vec{m} (where OW is a multiple of m).
  const L = stageOpening(`// generated by src/graph/kernels/conv/winograd.ts: F(${m}x${m}, 3x3), ${stage}`,
    pixels ? 'vec4<f32>' : 'f32', stage === 'pixels' ? 'f32' : stage === 'pixelRows' ? `vec${m}<f32>` : 'vec4<f32>',
    pixels);
  if (stage === 'weights') {
    // flip: the input gradient's weights, w'[k, c, r, s] = w[c, k, 2 - r, 2 - s] of the forward's w [C', K', 3, 3].
    // Neighbouring threads take the channel that lies next in w (c; k4 when flipped), so their loads fall close.
    L.push('  if (t >= p.C4 * 4u * p.K4) { return; }', '  let flip = p.flip == 1u;',
      '  let c = select(t % (p.C4 * 4u), t / p.K4, flip);', '  let k4 = select(t / (p.C4 * 4u), t % p.K4, flip);',
      ...weightTransform(G, (q) => [`k4 * 4u + ${q}u`, 'c']));
    // U's layout by strides (in vec4s): plain [a^2, C, K], or the matmul's panels of 8 vec4 columns (runPanels).
    L.push('  let at = (k4 / 8u) * p.u_panel + c * p.u_row + k4 % 8u;');
    for (const i of range(a)) for (const j of range(a)) L.push(`  dst[${i * a + j}u * p.u_point + at] = u${i}_${j};`);
  } else if (stage === 'tiles') {
    L.push(...blockLoads(a, m, 'p.C4', 'p.C', 'p.H', 'p.W', ['p.PH', 'p.PW']));
    L.push(...sandwich(BT, BT, (i, j) => `d${i}_${j}`, a, a, 'v', ZERO4));
    L.push('  let plane4 = p.P * p.C4;');
    for (const i of range(a)) for (const j of range(a)) L.push(`  dst[${i * a + j}u * plane4 + t] = v${i}_${j};`);
  } else {
    L.push('  if (t >= p.P * p.K4) { return; }', '  let k4 = t % p.K4;', '  let tile = t / p.K4;',
      '  let n = tile / (p.TH * p.TW);', '  let th = (tile / p.TW) % p.TH;', '  let tw = tile % p.TW;',
      '  let plane4 = p.P * p.K4;');
    for (const i of range(a)) for (const j of range(a)) L.push(`  let x${i}_${j} = load_src(${i * a + j}u * plane4 + t);`);
    L.push(...sandwich(AT, AT, (i, j) => `x${i}_${j}`, a, a, 'y', ZERO4));
    L.push('  var b = vec4<f32>(0.0);', '  let last = p.K - 1u;');
    L.push(`  if (HAS_BIAS == 1u) { b = vec4<f32>(${range(4).map((q) => `bias[min(k4 * 4u + ${q}u, last)]`).join(', ')}); }`);
    L.push('  let opl = p.OH * p.OW;');
    if (stage === 'pixelRows') {
      // A storage store costs llvmpipe about 4 texture loads whatever its width (docs/kernel-measurements.md#store-paths).
      for (const i of range(m)) {
        L.push(`  if (th * ${m}u + ${i}u < p.OH) {`);
        for (const q of range(4)) {
          L.push(`    if (k4 * 4u + ${q}u < p.K) { dst[((n * p.K + k4 * 4u + ${q}u) * opl + (th * ${m}u + ${i}u) * p.OW) / ` +
            `${m}u + tw] = vec${m}<f32>(${range(m).map((j) => `y${i}_${j}[${q}]`).join(', ')}) + b[${q}]; }`);
        }
        L.push('  }');
      }
    } else {
      for (const i of range(m)) for (const j of range(m)) {
        L.push(`  let oy${i}_${j} = th * ${m}u + ${i}u;`, `  let ox${i}_${j} = tw * ${m}u + ${j}u;`,
          `  if (oy${i}_${j} < p.OH && ox${i}_${j} < p.OW) {`, `    let v = y${i}_${j} + b;`);
        for (const q of range(4)) {
          L.push(`    if (k4 * 4u + ${q}u < p.K) { dst[(n * p.K + k4 * 4u + ${q}u) * opl + oy${i}_${j} * p.OW + ` +
            `ox${i}_${j}] = v[${q}]; }`);
        }
        L.push('  }');
      }
    }
  }
  return declareStage(kernels, name, L, texture);
}

/** The tiles of a convolution's output and the padded sizes of the lowered matrices. */
export function winogradShape(g: Conv2dGeom, m: WinogradSize) {
  const TH = Math.ceil(g.OH / m), TW = Math.ceil(g.OW / m);
  return {TH, TW, P: g.N * TH * TW, Cp: ceil4(g.C), Kp: ceil4(g.K), points: (m + 2) ** 2};
}

/**
 * The stages' uniforms: the geometry, its tiles and, for the weights stage, U's strides in vec4s (`u`: point, panel,
 * row) and whether it reads w flipped.
 */
export function stageParams(g: Conv2dGeom, s: ReturnType<typeof winogradShape>,
  u = {matrix: 0, panel: 0, row: 0}, flip = false) {
  return {N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, OH: g.OH, OW: g.OW, PH: g.PH, PW: g.PW, TH: s.TH, TW: s.TW, P: s.P,
    C4: s.Cp / 4, K4: s.Kp / 4, u_point: u.matrix, u_panel: u.panel, u_row: u.row, flip: flip ? 1 : 0};
}

/**
 * Whether F(m x m, 3x3) computes this convolution: a plain 3x3 kernel at stride 1 (any padding), and V [a^2, tiles,
 * C] and M [a^2, tiles, K] within one storage binding.
 */
export function winogradFits(g: Conv2dGeom, m: WinogradSize): boolean {
  if (g.KH !== 3 || g.KW !== 3 || g.SH !== 1 || g.SW !== 1 || g.groups !== 1) return false;
  const s = winogradShape(g, m);
  return 4 * s.points * s.P * Math.max(s.Cp, s.Kp) <= rt().maxTensorBytes.bytes;
}

/**
 * Whether Winograd's products run on the uniform panels (the matmul preference, else on llvmpipe where a window
 * fits) and, if so, whether they read A through the staging texture (null: as the tables read textures).
 */
export function winogradPanels(): {textureA: boolean | null} | null {
  const pref = kernelPrefs.matmul;
  if (!panelWindowFits() || !(pref === 'panels' || pref === 'panels-texture' || (pref === 'auto' && onCompatCpu()))) {
    return null;
  }
  return {textureA: pref === 'panels-texture' ? true : pref === 'panels' ? false : null};
}

/**
 * y = conv2d(x, w) + bias by F(m x m, 3x3): the transforms above and a^2 products [tiles, C] @ [C, K]. `flip`: w is
 * [C, K, 3, 3] and is read transposed and rotated (the input gradient's convolution; see inputGradientGeom).
 */
export function conv2dWinogradK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, m: WinogradSize,
  flip = false): Tensor {
  const s = winogradShape(g, m);
  const C4 = s.Cp / 4, K4 = s.Kp / 4;
  // Each stage reads its source through the staging texture where the texture is the cheaper load and it fits.
  const stage = (name: Stage, src: Tensor) => {
    const texture = readsThroughTexture(src.size);
    return {kernel: stageKernel(m, name, texture), source: sourceBinding(src, texture)};
  };
  // On llvmpipe the products run on the uniform panels, and U is written in their layout (no packing copy).
  const panels = winogradPanels();
  const layout = panels ? panelLayout(s.Cp, s.Kp, s.points) : null;
  const strides = layout ? panelStrides4(layout) : {matrix: s.Cp * K4, panel: 8, row: K4};
  const params = stageParams(g, s, strides, flip);
  const note = `${convNote(g)} F${m}`;
  const u = layout ? emptyPanels(layout) : empty([s.points, s.Cp, s.Kp]);
  const weights = stage('weights', w);
  weights.kernel.launch('main', {buffers: [weights.source, u.buffer], params, threads: s.Cp * K4, note});
  const v = empty([s.points, s.P, s.Cp]);
  const tiles = stage('tiles', x);
  tiles.kernel.launch('main', {buffers: [tiles.source, v.buffer], params, threads: s.P * C4, note});
  let prod: Tensor;
  if (layout) {
    prod = empty([s.points, s.P, s.Kp]);
    runPanels({t: v, rowStride: s.Cp, batchStride: s.P * s.Cp}, u, layout, prod,
      {M: s.P, N: s.Kp, K: s.Cp, batch: s.points, alpha: 1}, null, false,
      (panels!.textureA ?? texturesPreferred()) && stagingTextureFits(v.size));
  } else {
    prod = matmulK({t: v, batch: s.points, rows: s.P, cols: s.Cp, trans: false, batchStride: s.P * s.Cp},
      {t: u, batch: s.points, rows: s.Cp, cols: s.Kp, trans: false, batchStride: s.Cp * s.Kp});
  }
  u.dispose();
  v.dispose();
  const y = empty([g.N, g.K, g.OH, g.OW]);
  const pixels = stage(g.OW % m === 0 ? 'pixelRows' : 'pixels', prod);
  pixels.kernel.launch('main', {buffers: [pixels.source, y.buffer, bias ? bias.buffer : dummyBuffer()], params,
    threads: s.P * s.Kp / 4, constants: {HAS_BIAS: bias ? 1 : 0}, flops: convFlops(g), note});
  prod.dispose();
  return y;
}

/**
 * The input gradient of a 3x3 stride-1 convolution runs as a Winograd forward over dy: dx = conv2d(dy, w rotated 180
 * degrees with its channel axes swapped, padding 2 - P). Its geometry: dy [N, K, OH, OW] to dx [N, C, H, W].
 */
export const inputGradientGeom = (g: Conv2dGeom): Conv2dGeom => ({N: g.N, C: g.K, H: g.OH, W: g.OW, K: g.C, OH: g.H,
  OW: g.W, KH: 3, KW: 3, SH: 1, SW: 1, PH: 2 - g.PH, PW: 2 - g.PW, groups: 1});

/** Whether the input gradient runs as a Winograd forward: a 3x3 stride-1 convolution padded by at most 2. */
export const winogradInputFits = (g: Conv2dGeom, m: WinogradSize): boolean => g.PH <= 2 && g.PW <= 2 &&
  winogradFits(g, m) && winogradFits(inputGradientGeom(g), m);
