// Generated register-tiled matmul kernels (C = A @ B, B row-major read as vec4, N % 4 == 0) for the autotuner.
// Each thread holds ROWS x COLS4 vec4 accumulators, written out fully unrolled (CPU drivers then keep them in
// registers; loops over override constants are not reliably unrolled by every driver). Variants:
//  - kvec: A read as vec4 along K (A rows contiguous, K % 4 == 0): one load serves four k steps.
//  - workgroups of one row (wgy = 1): rows from workgroup_id, uniform across the SIMD lanes of CPU drivers.
//  - spread: a thread's COLS4 vec4 columns are WG_X apart, so neighbouring invocations (SIMD lanes on CPU
//    drivers) read neighbouring vec4s of B instead of vectors COLS4 apart.
//  - row lanes (lanes: 'rows'): the invocations of a workgroup take rows and share its columns (below).
// Each tile is declared with defineKernel() and MATMUL_UNIFORMS (shaders.ts), so matmulK packs one params
// object for the hand-written and the generated kernels alike, and the WGSL struct is generated, not written here.
import {defineKernel, indexThroughTexture, type KernelDef} from '../../kernel-def.js';
import {MATMUL_UNIFORMS} from '../../shaders.js';
import {indexedArraysCheap} from '../device.js';
import type {MatmulTile} from '../tile-types.js';

export type {MatmulTile} from '../tile-types.js';

/** A tile's short name as tables and kernelPrefs.matmul print it, e.g. `r4c2k4_8x8`. */
export const tileName = (t: MatmulTile): string =>
  `r${t.rows}c${t.cols4}${t.kvec ? 'k4' : ''}${t.spread ? 's' : ''}${t.lanes === 'rows' ? 'L' : ''}_${t.wgx}x${t.wgy}`;

/** Whether a tile's kernel can run this product (A: row stride, batch stride in floats; a.trans: A^T read). */
export function tileFits(t: MatmulTile, aTrans: boolean, K: number, aRowStride: number, aBatchStride: number): boolean {
  return !t.kvec || (!aTrans && K % 4 === 0 && aRowStride % 4 === 0 && aBatchStride % 4 === 0);
}

/** Columns of C one workgroup of the tile covers. */
const columnSpan = (t: MatmulTile): number => 4 * t.cols4 * (t.lanes === 'rows' ? 1 : t.wgx);

/**
 * A row-lane tile with half its columns where N wastes far fewer of them (e.g. 64 columns computed for N = 48). Only
 * row-lane tiles (the large products' picks), where it was measured
 * (docs/kernel-measurements.md#matmul-narrowed-tile).
 */
export function narrowedTile(t: MatmulTile, N: number): MatmulTile {
  if (t.lanes !== 'rows' || t.cols4 % 2) return t;
  const half = {...t, cols4: t.cols4 / 2};
  const padded = (x: MatmulTile) => Math.ceil(N / columnSpan(x)) * columnSpan(x);
  return padded(half) * 1.1 < padded(t) ? half : t;
}

/** Rows of C one workgroup of the tile covers. */
const rowSpan = (t: MatmulTile): number => t.rows * (t.lanes === 'rows' ? t.wgx : t.wgy);

/**
 * The tile for a product of M x N (any K), from the times the autotuner measured (`ms`, by tile name, on a square
 * product every tile's workgroups divide): each tile's time scaled by the rows and columns its workgroups compute,
 * padding included, the least kept: a 256-row tile on a 288-row product computes 512 rows
 * (docs/kernel-measurements.md#matmul-shaped-tile). `fallback` where no candidate was measured.
 */
export function shapedTile(ms: Record<string, number>, M: number, N: number, fallback: MatmulTile): MatmulTile {
  return shapedPick(ms, M, N)?.tile ?? fallback;
}

/** shapedTile's pick and its modeled cost (measured ms x padded rows x padded columns); null: none measured. */
export function shapedPick(ms: Record<string, number>, M: number, N: number): {tile: MatmulTile; cost: number} | null {
  let best: {tile: MatmulTile; cost: number} | null = null;
  for (const t of MATMUL_CANDIDATES) {
    const time = ms[tileName(t)];
    if (!(time > 0)) continue;
    const r = rowSpan(t), c = columnSpan(t);
    const cost = time * Math.ceil(M / r) * r * Math.ceil(N / c) * c;
    if (!best || cost < best.cost) best = {tile: t, cost};
  }
  return best;
}

/** Workgroups for an M x N product of `batch` matrices. */
export function tileGrid(t: MatmulTile, M: number, N: number, batch: number): [number, number, number] {
  if (t.lanes === 'rows') return [Math.ceil(N / 4 / t.cols4), Math.ceil(M / t.rows / t.wgx), batch];
  return [Math.ceil(N / 4 / t.cols4 / t.wgx), Math.ceil(M / t.rows / t.wgy), batch];
}

export type MatmulTileKernel = KernelDef<typeof MATMUL_UNIFORMS, {main: 'p'}>;

/**
 * What the tile does to C in its output write: add a bias vector over the columns (bound at binding 4, read as
 * vec4s) and/or apply relu (NaN passes, as elementwise relu). The same f32 expressions as the separate add and relu
 * dispatches they replace (a linear layer's alpha is 1, so acc * alpha + bias rounds once either way).
 */
export interface MatmulEpilogue { bias?: boolean; relu?: boolean }

const cache = new Map<string, MatmulTileKernel>();

/**
 * An epilogue's WGSL declarations: the bias at binding 4 (vec4s, or floats for `scalarBias`), relu4 (NaN passes, as
 * elementwise relu).
 */
export function epilogueDeclarations(epi: MatmulEpilogue, scalarBias = false): string[] {
  const L: string[] = [];
  if (epi.bias) L.push(`@group(0) @binding(4) var<storage, read> vbias: array<${scalarBias ? 'f32' : 'vec4<f32>'}>;`);
  if (epi.relu) {
    L.push('fn relu1(x: f32) -> f32 { return select(max(x, 0.0), x, is_nan(x)); }');
    L.push('fn relu4(v: vec4<f32>) -> vec4<f32> { return vec4<f32>(relu1(v.x), relu1(v.y), relu1(v.z), relu1(v.w)); }');
  }
  return L;
}

/**
 * A tile's kernel (entry point `main`) with an optional epilogue, generated and declared at its first use. `bTrans`
 * (kvec tiles): B given as B^T, read in place, each of the thread's columns a row of B^T read as vec4s along K.
 * `narrowC`: N need not be a multiple of 4 (B's rows padded to one, b_rs floats apart): C's rows are N floats, stored
 * float by float up to N, and the bias is read as floats.
 */
export function matmulTileKernel(t: MatmulTile, epi: MatmulEpilogue = {}, bTrans = false, narrowC = false,
  texture = false): MatmulTileKernel {
  const looped = writesInLoops(t.rows * t.cols4);
  const name = `${tileName(t)}${bTrans ? 'nt' : ''}${narrowC ? 'nc' : ''}${epi.bias ? '+bias' : ''}` +
    `${epi.relu ? '+relu' : ''}${looped ? '+looped' : ''}${texture ? '+tex' : ''}`;
  let def = cache.get(name);
  if (def) return def;
  if (bTrans && !t.kvec) throw new Error(`webgpu-transfer: matmul tile ${name}: B^T in place needs a kvec tile`);
  const R = t.rows, C = t.cols4;
  const rr = [...Array(R).keys()], cc = [...Array(C).keys()];
  const L: string[] = [];
  L.push(`// generated by src/graph/kernels/matmul/register-tile.ts: ${name}`);
  L.push(`@group(0) @binding(1) var<storage, read> va: array<${t.kvec ? 'vec4<f32>' : 'f32'}>;`);
  L.push('@group(0) @binding(2) var<storage, read> vb: array<vec4<f32>>;');
  if (bTrans && narrowC) throw new Error(`webgpu-transfer: matmul tile ${name}: B^T in place needs N % 4 == 0`);
  L.push(`@group(0) @binding(3) var<storage, read_write> vc: array<${narrowC ? 'f32' : 'vec4<f32>'}>;`);
  L.push(...epilogueDeclarations(epi, narrowC));
  L.push('@compute @workgroup_size(WG_X, WG_Y, 1)');
  L.push('fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {');
  L.push(narrowC ? '  let n4 = (p.N + 3u) / 4u;' : '  let n4 = p.N / 4u;');
  const rowLanes = t.lanes === 'rows';
  if (rowLanes && (t.wgy !== 1 || t.spread)) throw new Error(`webgpu-transfer: matmul tile ${name}: row lanes need wgy 1 and no spread`);
  L.push(rowLanes ? `  let col4 = wid.x * ${C}u;` : t.spread ? `  let col4 = wid.x * ${t.wgx * C}u + lid.x;` : `  let col4 = gid.x * ${C}u;`);
  const cstep = t.spread ? t.wgx : 1, rstep = rowLanes ? t.wgx : 1;
  // With one row of invocations per workgroup the rows come from workgroup_id, which drivers know is uniform
  // across a workgroup: llvmpipe then loads A once per SIMD batch and broadcasts it instead of gathering.
  L.push(rowLanes ? `  let row = wid.y * ${R * t.wgx}u + lid.x;` : t.wgy === 1 ? `  let row = wid.y * ${R}u;` : `  let row = gid.y * ${R}u;`);
  L.push('  let b = wid.z;');
  L.push('  if (row >= p.M || col4 >= n4) { return; }');
  // Clamped loads keep every read in bounds; lanes past the edge are computed but never stored.
  for (const i of rr) L.push(`  let r${i} = min(row + ${i * rstep}u, p.M - 1u);`);
  for (const j of cc) L.push(`  let c${j} = min(col4 + ${j * cstep}u, n4 - 1u);`);
  if (t.kvec) for (const i of rr) L.push(`  var ai${i} = (b * p.a_bs + r${i} * p.a_rs) / 4u;`);
  else for (const i of rr) L.push(`  var ai${i} = b * p.a_bs + r${i} * p.a_rs;`);
  if (!bTrans) L.push('  var bi = b * (p.b_bs / 4u);', '  let brs = p.b_rs / 4u;');
  for (const i of rr) for (const j of cc) L.push(`  var acc${i}_${j} = vec4<f32>(0.0);`);
  if (bTrans) {
    // Column 4 * c + q of C is row 4 * c + q of B^T (clamped like the rows): its vec4s along K pair with A's.
    for (const j of cc) {
      for (let q = 0; q < 4; q++) {
        L.push(`  let bt${j}_${q} = (b * p.b_bs + min((col4 + ${j * cstep}u) * 4u + ${q}u, p.N - 1u) * p.b_cs) / 4u;`);
      }
    }
    L.push('  var k4 = 0u;', '  for (var k = 0u; k < p.K; k += 4u) {');
    for (const i of rr) L.push(`    let a${i} = va[ai${i}]; ai${i} += 1u;`);
    for (const j of cc) for (let q = 0; q < 4; q++) L.push(`    let b${j}_${q} = vb[bt${j}_${q} + k4];`);
    L.push('    k4 += 1u;');
    for (const j of cc) {
      for (const i of rr) {
        const dots = [0, 1, 2, 3].map((q) => `dot(a${i}, b${j}_${q})`).join(', ');
        L.push(`    acc${i}_${j} = acc${i}_${j} + vec4<f32>(${dots});`);
      }
    }
    L.push('  }');
  } else if (t.kvec) {
    L.push('  for (var k = 0u; k < p.K; k += 4u) {');
    for (const i of rr) L.push(`    let a${i} = va[ai${i}]; ai${i} += 1u;`);
    for (let kk = 0; kk < 4; kk++) {
      for (const j of cc) L.push(`    let b${kk}_${j} = vb[bi + c${j}];`);
      L.push('    bi += brs;');
    }
    // Each accumulator takes its four k steps in one expression (the same additions in the same order as four
    // `+=`), so a driver that spills the accumulators (llvmpipe: one register per float per SIMD batch, so a 16 x 8
    // vec4 tile cannot stay in registers) loads and stores each once per four multiply-adds instead of once per
    // one; eight steps per expression were slower (docs/kernel-measurements.md#matmul-k-steps).
    for (const j of cc) {
      for (const i of rr) {
        const terms = [0, 1, 2, 3].map((kk) => ` + a${i}[${kk}] * b${kk}_${j}`).join('');
        L.push(`    acc${i}_${j} = acc${i}_${j}${terms};`);
      }
    }
    L.push('  }');
  } else {
    L.push('  for (var k = 0u; k < p.K; k++) {');
    for (const i of rr) L.push(`    let a${i} = va[ai${i}]; ai${i} += p.a_cs;`);
    for (const j of cc) L.push(`    let b${j} = vb[bi + c${j}];`);
    L.push('    bi += brs;');
    for (const i of rr) for (const j of cc) L.push(`    acc${i}_${j} += a${i} * b${j};`);
    L.push('  }');
  }
  L.push(narrowC ? '  let cb = b * p.c_bs;' : '  let cb = b * (p.c_bs / 4u);');
  L.push(...(looped ? loopedWrite : unrolledWrite)(t, epi, narrowC));
  L.push('}');
  // `texture`: A and B through the staging textures of slots 0 and 1 (llvmpipe before Mesa 26).
  const code = texture ? indexThroughTexture(indexThroughTexture(L.join('\n'), 'va'), 'vb') : L.join('\n');
  def = defineKernel({file: `matmul-gen/${name}.wgsl`, code, workgroupSize: [t.wgx, t.wgy],
    uniforms: MATMUL_UNIFORMS, entries: {main: 'p'}});
  cache.set(name, def);
  return def;
}

/**
 * Accumulators from which the output write is a loop where indexedArraysCheap(): unrolled, its branches took
 * SwiftShader seconds to compile (docs/kernel-measurements.md#matmul-looped-write).
 */
const LOOPED_WRITE_MIN = 64;

/** Whether a kernel holding this many vec4 accumulators writes C in loops over an array of them. */
export const writesInLoops = (accumulators: number): boolean =>
  accumulators >= LOOPED_WRITE_MIN && indexedArraysCheap();

/** The declaration of `accs`, the array the looped writes index, filled from the accumulators acc{i}_{j}. */
export function accumulatorArray(rows: number, cols4: number): string[] {
  const L = [`  var accs: array<vec4<f32>, ${rows * cols4}>;`];
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols4; j++) L.push(`  accs[${i * cols4 + j}] = acc${i}_${j};`);
  return L;
}

/** One vec4 of C, column index `col` (vec4s), through the epilogue; narrowC: float by float within N. */
function storeC(epi: MatmulEpilogue, narrowC: boolean, acc: string, row: string, col: string, indent: string)
  : string[] {
  if (!narrowC) {
    let v = `${acc} * p.alpha`;
    if (epi.bias) v = `${v} + vbias[${col}]`;
    if (epi.relu) v = `relu4(${v})`;
    return [`${indent}vc[cb + (${row}) * n4 + ${col}] = ${v};`];
  }
  const S = [`${indent}let c0 = 4u * (${col});`, `${indent}let o = cb + (${row}) * p.N + c0;`];
  for (let q = 0; q < 4; q++) {
    let v = `${acc}[${q}] * p.alpha`;
    if (epi.bias) v = `${v} + vbias[c0 + ${q}u]`;
    if (epi.relu) v = `relu1(${v})`;
    S.push(`${indent}${q ? `if (c0 + ${q}u < p.N) ` : ''}{ vc[o + ${q}u] = ${v}; }`);
  }
  return S;
}

/** The write of C written out: per row, then per column, a guard and the store (small tiles: all in registers). */
function unrolledWrite(t: MatmulTile, epi: MatmulEpilogue, narrowC: boolean): string[] {
  const L: string[] = [];
  const cstep = t.spread ? t.wgx : 1, rstep = t.lanes === 'rows' ? t.wgx : 1;
  for (let i = 0; i < t.rows; i++) {
    L.push(`  if (row + ${i * rstep}u < p.M) {`);
    for (let j = 0; j < t.cols4; j++) {
      const col = `col4 + ${j * cstep}u`;
      const store = storeC(epi, narrowC, `acc${i}_${j}`, `row + ${i * rstep}u`, col, '');
      L.push(`    ${j === 0 ? '' : `if (${col} < n4) `}{ ${store.join(' ')} }`);
    }
    L.push('  }');
  }
  return L;
}

/**
 * The write of C as loops over an array of the accumulators, which rows and columns reach in increasing order, so
 * the first one past M or N ends its loop. The same values and expressions as unrolledWrite.
 */
function loopedWrite(t: MatmulTile, epi: MatmulEpilogue, narrowC: boolean): string[] {
  const R = t.rows, C = t.cols4, cstep = t.spread ? t.wgx : 1, rstep = t.lanes === 'rows' ? t.wgx : 1;
  const L = accumulatorArray(R, C);
  L.push(`  for (var i = 0u; i < ${R}u; i++) {`, `    let r = row + i * ${rstep}u;`, '    if (r >= p.M) { break; }',
    `    for (var j = 0u; j < ${C}u; j++) {`, `      let c = col4 + j * ${cstep}u;`, '      if (c >= n4) { break; }',
    ...storeC(epi, narrowC, `accs[i * ${C}u + j]`, 'r', 'c', '      '), '    }', '  }');
  return L;
}

/**
 * The autotuner's candidates (the hand-written matmul_vec4, 4 rows x 2 vec4 on 8x8, is always one too). Time on
 * llvmpipe follows the loads more than the multiply-adds, so large tiles pay despite spilling accumulators; the
 * row-lane tiles lose at 64 rows, hence the autotuner's second, 64-row shape
 * (docs/kernel-measurements.md#matmul-candidates).
 */
export const MATMUL_CANDIDATES: MatmulTile[] = [
  {rows: 4, cols4: 2, kvec: true, spread: true, wgx: 8, wgy: 8},
  {rows: 8, cols4: 2, kvec: true, spread: false, wgx: 8, wgy: 4},
  {rows: 8, cols4: 2, kvec: true, spread: true, wgx: 8, wgy: 4},
  {rows: 8, cols4: 4, kvec: true, spread: true, wgx: 8, wgy: 4},
  {rows: 16, cols4: 2, kvec: true, spread: true, wgx: 8, wgy: 4},
  {rows: 16, cols4: 1, kvec: true, spread: true, wgx: 8, wgy: 4},
  {rows: 8, cols4: 2, kvec: true, spread: true, wgx: 8, wgy: 1},
  {rows: 8, cols4: 2, kvec: false, spread: true, wgx: 8, wgy: 4},
  {rows: 8, cols4: 8, kvec: true, spread: true, wgx: 8, wgy: 2},
  {rows: 16, cols4: 4, kvec: true, spread: true, wgx: 8, wgy: 2},
  {rows: 8, cols4: 8, kvec: true, spread: false, wgx: 8, wgy: 1, lanes: 'rows'},
  {rows: 16, cols4: 8, kvec: true, spread: false, wgx: 8, wgy: 1, lanes: 'rows'},
  {rows: 32, cols4: 4, kvec: true, spread: false, wgx: 8, wgy: 1, lanes: 'rows'},
  {rows: 32, cols4: 8, kvec: true, spread: false, wgx: 8, wgy: 1, lanes: 'rows'},
];
