// Kernel declarations: one TypeScript object per WGSL file states its entry points, its workgroup size and the
// fields of its uniform structs. From that one declaration come both sides of the interface, so they cannot
// drift: the WGSL `struct` and `var<uniform>` text (generated and added to the shader source at load, with
// `override WG`), and the byte packing of the uniforms at launch (typed: a missing or misspelled field is a
// compile error). The shader file itself declares no uniform struct and no WG (nor WG_X, WG_Y); it uses the
// shared prelude (shaders/numerics.wgsl: NaN/Inf helpers; shaders/prelude.wgsl: thread_id, at) without copying it.
//
// Example (a new kernel file shaders/scale.wgsl holding `fn scale_main(...)` that reads `p.n` and `p.k`):
//
//   import scaleWgsl from '../../shaders/scale.wgsl';
//   export const SCALE = defineKernel({
//     file: 'scale.wgsl', code: scaleWgsl, workgroupSize: 256,
//     uniforms: {p: {n: 'u32', k: 'f32'}},       // struct fields in order; `p` is the WGSL variable
//     entries: {scale_main: 'p'},                 // entry point -> the uniform it reads
//   });
//   // and in the shader: @group(0) @binding(1) var<storage, read> x: array<f32>; ... (storage at 1, 2, ...)
//   SCALE.launch('scale_main', {buffers: [x.buffer, out.buffer], params: {n: out.size, k: 2}, threads: out.size});
//
// An entry point whose loops run over sizes the caller chooses also declares its loop steps (`loopSteps`), so a launch
// that llvmpipe would cut short is refused instead.
// Add the kernel to SHADERS (src/graph/shaders.ts) so init() compiles it and reports WGSL errors up front.
// Kernels generated in TypeScript (kernels/matmul/register-tile.ts, kernels/conv/tile-*.ts) are declared the same
// way when generated, with the uniforms of the hand-written file they stand in for (its KernelDef's `uniforms`): one
// launch's params then pack identically for either.
import {grid1d, TEXTURE_ROW, type BufferBinding} from '../gpu/runtime.js';
import type {KernelSource} from '../gpu/pipelines.js';
import {rt} from './engine.js';
import numerics from '../../shaders/numerics.wgsl';
import prelude from '../../shaders/prelude.wgsl';

// Nothing here runs at module load except function declarations (hoisted): engine.ts -> shaders.ts -> this file
// -> engine.ts is an import cycle, and declarations elsewhere call defineKernel() while it is being resolved.

/**
 * A uniform field: 'u32' | 'i32' | 'f32' scalars, or 'vec8u' = array<vec4<u32>, 2>, up to 8 u32 values
 * (shapes and strides of rank <= 8), zero-padded; read in WGSL with at(p.field, i).
 */
export type FieldType = 'u32' | 'i32' | 'f32' | 'vec8u';
export type Fields = Record<string, FieldType>;
/** The values a launch passes for a uniform struct: a number per scalar, an array per vec8u. */
export type ParamValues<F extends Fields> = {[K in keyof F]: F[K] extends 'vec8u' ? readonly number[] : number};

export interface KernelDecl<U extends Record<string, Fields>, E extends Record<string, keyof U & string>> {
  /** File under shaders/ (names it in errors and compile messages). */
  file: string;
  /** The file's WGSL text (imported with esbuild's text loader). */
  code: string;
  /**
   * Threads per workgroup. A number n (1-D): the generated `override WG` = n, and `threads` launches size their
   * grid with it. A pair [x, y] (2-D tiles, launched with explicit workgroups): `override WG_X`, `WG_Y` for the
   * file's @workgroup_size(WG_X, WG_Y, 1), and WG = x * y; the launcher sizes its grid from workgroupDims.
   */
  workgroupSize: number | readonly [number, number];
  /** WGSL variable name -> its fields, in struct order. Each becomes `var<uniform> name` at @binding(0). */
  uniforms: U;
  /** Entry point -> the uniform variable it reads (entries sharing one share its struct). */
  entries: E;
  /**
   * Tables of named u32 codes shared with TypeScript (op codes selected by an override, say): {UNARY: {neg: 1}}
   * becomes `const UNARY_neg: u32 = 1u;`, so the shader names each code instead of repeating its number.
   */
  codes?: Record<string, Record<string, number>>;
  /** WGSL extensions the file needs (`enable subgroups;`): only devices with those features can compile it. */
  enables?: string[];
  /**
   * Per entry point whose loops run over sizes the caller chooses: the most loop steps one invocation runs, from the
   * launch's uniforms and constants, counted as llvmpipe counts them (loopSteps below). Where loops are limited, a
   * launch past LOOP_STEPS_MAX is refused with the count, never cut short. Launchers that split such work keep
   * within it; this is what catches the rest.
   */
  loopSteps?: {[N in keyof E]?: (p: ParamValues<U[E[N]]>, constants: Readonly<Record<string, number>>) => number};
}

// What the current runtime's adapter report says of llvmpipe, read once per report: launches ask on every dispatch
// they check.
let llvmpipeFor: {report: unknown; llvmpipe: boolean; mesa: number | null} | null = null;
const llvmpipeOf = (): {llvmpipe: boolean; mesa: number | null} => {
  const r = rt().ctx.report;
  if (llvmpipeFor?.report !== r) {
    const llvmpipe = r.isCpu && r.architecture !== 'swiftshader';
    const mesa = llvmpipe ? /\bMesa (\d+)\./.exec(r.description) : null;
    llvmpipeFor = {report: r, llvmpipe, mesa: mesa ? Number(mesa[1]) : null};
  }
  return llvmpipeFor;
};

/** The Mesa release of a CPU adapter other than SwiftShader (llvmpipe), or null where its description names none. */
export const llvmpipeMesa = (): number | null => llvmpipeOf().mesa;

/**
 * llvmpipe before Mesa 25: one thread's loops run about 65,535 iterations in all (gallivm's loop limiter), then stop
 * short with no error, a silently wrong result. Measured: Mesa 22.3.6 stopped a loop of 100,000 at 65,535; 25.0.7 and
 * 26.1.6 ran it whole. A release not measured, or none named, counts as limited
 * (docs/kernel-measurements.md#llvmpipe-loop-limit).
 */
export const loopsLimited = (): boolean => {
  const {llvmpipe, mesa} = llvmpipeOf();
  return llvmpipe && (mesa === null || mesa < 25);
};

/** The most loop iterations, over all its loops, a launcher gives one thread where loopsLimited() (with a margin). */
export const LOOP_STEPS_MAX = 65000;

/**
 * llvmpipe's count of one run of a loop of `iterations`, each costing `body` steps besides its own (the loops nested
 * in it): the iterations, the exit test, and one more where it holds a loop (measured on the hand-written conv
 * kernels and pooling: docs/kernel-measurements.md#llvmpipe-loop-limit).
 */
export const loopSteps = (iterations: number, body = 0): number =>
  Math.max(0, iterations) * (1 + body) + 1 + (body > 0 ? 1 : 0);

export interface Launch<F extends Fields> {
  /** Buffers bound at @binding(1), @binding(2), ... in order (whole, or their first `size` bytes). */
  buffers: BufferBinding[];
  /** The uniform values; a function is re-read at every replay of a captured step (a fresh seed, say). */
  params: ParamValues<F> | (() => ParamValues<F>);
  /** Override constants of the WGSL file (WG excepted: it comes from the declaration). */
  constants?: Record<string, number>;
  /** One thread per element of a 1-D index space (thread_id() in the prelude)... */
  threads?: number;
  /** ...or an explicit grid. */
  workgroups?: [number, number, number];
  /** Floating-point operations of the dispatch, for the profiler's GFLOP/s. */
  flops?: number;
  /** Shapes or variant details the profiler shows next to the kernel name. */
  note?: string;
}

export interface KernelDef<U extends Record<string, Fields>, E extends Record<string, keyof U & string>> {
  readonly file: string;
  readonly workgroupSize: number | readonly [number, number];
  /** The workgroup's x and y sizes (y = 1 for a 1-D kernel), for launchers that size their own grid. */
  readonly workgroupDims: readonly [number, number];
  /** The declared uniform structs, for kernels generated in TypeScript that share them (matmul/register-tile.ts). */
  readonly uniforms: U;
  /** Prelude + file + generated declarations: what the pipeline cache compiles. */
  readonly source: KernelSource;
  /** The generated WGSL (struct, var<uniform>, override WG), for reading and tests. */
  readonly generated: string;
  /** Packs one uniform struct's values into its byte layout (16-byte padded). */
  pack<V extends keyof U & string>(uniform: V, values: ParamValues<U[V]>): ArrayBuffer;
  /** Dispatches an entry point with its uniforms packed from `params`. */
  launch<N extends keyof E & string>(entry: N, l: Launch<U[E[N]]>): void;
}

interface Layout { name: string; type: FieldType; offset: number }

function fail(file: string, msg: string): never {
  throw new Error(`webgpu-transfer: kernel shaders/${file}: ${msg}`);
}

/** WGSL uniform layout: scalars 4-byte aligned, vec8u 16-byte aligned (32 bytes); the struct padded to 16 bytes. */
function layoutOf(file: string, fields: Fields): {fields: Layout[]; size: number} {
  const out: Layout[] = [];
  let offset = 0;
  for (const [name, type] of Object.entries(fields)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.startsWith('_pad')) fail(file, `uniform field '${name}' is not a WGSL identifier (or uses the reserved prefix _pad)`);
    if (type === 'vec8u') offset = Math.ceil(offset / 16) * 16;
    else if (type !== 'u32' && type !== 'i32' && type !== 'f32') fail(file, `uniform field '${name}' has unknown type '${String(type)}' (u32, i32, f32, vec8u)`);
    out.push({name, type, offset});
    offset += type === 'vec8u' ? 32 : 4;
  }
  return {fields: out, size: Math.max(16, Math.ceil(offset / 16) * 16)};
}

/** The WGSL struct for a layout, with explicit padding so its byte layout is exactly the packer's. */
function structText(structName: string, l: {fields: Layout[]; size: number}): string {
  const lines: string[] = [];
  let at = 0, pad = 0;
  const padTo = (offset: number) => { for (; at < offset; at += 4) lines.push(`  _pad${pad++}: u32,`); };
  for (const f of l.fields) {
    padTo(f.offset);
    lines.push(`  ${f.name}: ${f.type === 'vec8u' ? 'array<vec4<u32>, 2>' : f.type},`);
    at = f.offset + (f.type === 'vec8u' ? 32 : 4);
  }
  padTo(l.size);
  return `struct ${structName} {\n${lines.join('\n')}\n}`;
}

function packLayout(file: string, uniform: string, l: {fields: Layout[]; size: number}, values: Record<string, unknown>): ArrayBuffer {
  const buf = new ArrayBuffer(l.size);
  const dv = new DataView(buf);
  for (const f of l.fields) {
    const v = values[f.name];
    if (f.type === 'vec8u') {
      const arr = v as readonly number[];
      if (!Array.isArray(arr)) fail(file, `uniform ${uniform}.${f.name}: expected an array, got ${typeof v}`);
      if (arr.length > 8) throw new Error(`webgpu-transfer: rank ${arr.length} exceeds the kernels' maximum rank 8`);
      arr.forEach((x, i) => dv.setUint32(f.offset + 4 * i, x >>> 0, true));
    } else {
      if (typeof v !== 'number') fail(file, `uniform ${uniform}.${f.name}: expected a number, got ${v === undefined ? 'nothing' : typeof v}`);
      if (f.type === 'f32') dv.setFloat32(f.offset, v, true);
      else if (f.type === 'i32') dv.setInt32(f.offset, v, true);
      else dv.setUint32(f.offset, v >>> 0, true);
    }
  }
  return buf;
}

/** Declares a WGSL kernel file: checks it against the declaration and generates its uniform structs (see above). */
export function defineKernel<const U extends Record<string, Fields>, const E extends Record<string, keyof U & string>>(
  decl: KernelDecl<U, E>): KernelDef<U, E> {
  const {file, code, workgroupSize, uniforms, entries, codes = {}, enables = []} = decl;
  // Checked at load, naming the kernel: a hand-written struct or WG would duplicate (and could contradict) the
  // generated one; a declared entry point missing from the file would only fail at its first launch.
  // A tensor may be bound as a uniform array at binding 1 or later (small conv weights: kernels/conv/tile-gen.ts);
  // the params struct at binding 0 is the declaration's alone.
  for (const m of code.matchAll(/(?:@binding\s*\(\s*(\d+)\s*\)\s*)?var\s*<\s*uniform\s*>\s*\w+\s*:\s*(\w+)/g)) {
    if (!(Number(m[1]) >= 1 && m[2] === 'array')) {
      fail(file, 'declares its own var<uniform>; its uniforms come from its defineKernel() declaration');
    }
  }
  const ownWg = /\boverride\s+(WG(_[XY])?)\b/.exec(code);
  if (ownWg) fail(file, `declares override ${ownWg[1]}; the workgroup size comes from its defineKernel() declaration`);
  const dims: readonly [number, number] = typeof workgroupSize === 'number' ? [workgroupSize, 1] : workgroupSize;
  if (!dims.every((d) => Number.isInteger(d) && d >= 1) || dims[0] * dims[1] > 256) {
    fail(file, `workgroupSize ${JSON.stringify(workgroupSize)} must be positive integers, at most 256 threads in all`);
  }
  const threads = dims[0] * dims[1];
  for (const [entry, u] of Object.entries(entries)) {
    if (!new RegExp(`\\bfn\\s+${entry}\\s*\\(`).test(code)) fail(file, `entry point '${entry}' is declared but the file has no fn ${entry}`);
    if (!(u in uniforms)) fail(file, `entry point '${entry}' reads uniform '${u}', which is not declared`);
  }
  const layouts: Record<string, {fields: Layout[]; size: number}> = {};
  const gen: string[] = [`// ---- generated from the defineKernel() declaration of shaders/${file} ----`,
    `override WG: u32 = ${threads}u;`];
  if (typeof workgroupSize !== 'number') gen.push(`override WG_X: u32 = ${dims[0]}u;`, `override WG_Y: u32 = ${dims[1]}u;`);
  for (const [name, fields] of Object.entries(uniforms)) {
    if (!new RegExp(`\\b${name}\\.`).test(code)) fail(file, `uniform '${name}' is declared but the file never reads it`);
    layouts[name] = layoutOf(file, fields);
    const structName = `Params_${name}`;
    gen.push(structText(structName, layouts[name]), `@group(0) @binding(0) var<uniform> ${name}: ${structName};`);
  }
  for (const [table, values] of Object.entries(codes)) {
    for (const [name, v] of Object.entries(values)) {
      if (!Number.isInteger(v) || v < 0) fail(file, `code ${table}.${name} = ${v} is not a u32`);
      gen.push(`const ${table}_${name}: u32 = ${v}u;`);
    }
  }
  const generated = gen.join('\n');
  const preludeLines = numerics.split('\n').length;
  // Prelude first (its line numbers map back to numerics.wgsl), then the file (its own line numbers), then the
  // index helpers and the generated declarations: WGSL module-scope declarations may come in any order.
  const source: KernelSource = {
    // Directives must come first: on the prelude's first line (a comment), so its line numbers still map.
    file, code: `${enables.map((e) => `enable ${e}; `).join('')}${numerics}\n${code}\n${prelude}\n${generated}\n`,
    prelude: {file: 'numerics.wgsl', lines: preludeLines},
  };
  const pack = (uniform: string, values: Record<string, unknown>) => packLayout(file, uniform, layouts[uniform], values);
  return {
    file, workgroupSize, workgroupDims: dims, uniforms, source, generated,
    pack: (uniform, values) => pack(uniform, values),
    launch(entry, l) {
      const u = entries[entry] as string;
      const params = l.params;
      const data = typeof params === 'function' ? () => pack(u, params()) : pack(u, params);
      // A 1-D grid of a 2-D workgroup would cover the threads but not the x/y extents the kernel indexes by.
      if (!l.workgroups && typeof workgroupSize !== 'number') {
        fail(file, `launch of '${entry}' gives threads; a 2-D kernel needs workgroups`);
      }
      const workgroups = l.workgroups
        ?? grid1d(l.threads ?? fail(file, `launch of '${entry}' gives neither threads nor workgroups`), threads);
      const bound = decl.loopSteps?.[entry];
      if (bound && loopsLimited()) {
        const steps = Math.ceil(bound(typeof params === 'function' ? params() : params, l.constants ?? {}));
        if (steps > LOOP_STEPS_MAX) {
          throw new Error(`webgpu-transfer: ${file} ${entry}${l.note ? ` (${l.note})` : ''}: one thread would run ` +
            `${steps} loop steps, past the ${LOOP_STEPS_MAX} that llvmpipe runs before it stops a thread's loops ` +
            'short (a wrong result); refused. Smaller sizes run here; SwiftShader (WGT_BACKEND=swiftshader) and ' +
            'llvmpipe from Mesa 25 have no such limit');
        }
      }
      rt().dispatch({kernel: source, entry, constants: l.constants, buffers: l.buffers, uniforms: data, workgroups,
        flops: l.flops, note: l.note});
    },
  };
}

/**
 * Names the true origin of a compile message: the pipeline cache numbers lines past the prelude as lines of the
 * kernel file, but those past its end are in the appended index helpers or the generated declarations.
 */
export function remapCompileError(e: Error, src: KernelSource): Error {
  const pre = src.prelude?.lines ?? 0;
  const lines = src.code.split('\n');
  const preludeStart = lines.indexOf(prelude.split('\n')[0], pre); // 0-based line in the combined text
  if (preludeStart < 0) return e;
  const preludeEnd = preludeStart + prelude.split('\n').length;
  const re = new RegExp(`shaders/${src.file.replace(/\./g, '\\.')}:(\\d+):(\\d+)`, 'g');
  const msg = e.message.replace(re, (m, l: string, c: string) => {
    const i = Number(l) + pre - 1;
    if (i < preludeStart) return m;
    if (i < preludeEnd) return `shaders/prelude.wgsl:${i - preludeStart + 1}:${c}`;
    return `(generated from the defineKernel() declaration of shaders/${src.file}):${i - preludeEnd + 1}:${c}`;
  });
  return msg === e.message ? e : new Error(msg);
}

/**
 * The WGSL of `code` with its storage array `name` (array<f32> or array<vec4<f32>>) read from a staging texture
 * instead (Runtime.copyToTexture: float i in texel i / 4, textureRow texels a row, TEXTURE_ROW by default). The code must read the array only
 * through `fn load_<name>(i: u32) -> f32 { return <name>[i]; }` (vec4<f32> for a vec4 array); the texture takes the
 * array's binding.
 */
export function readThroughTexture(code: string, name: string, textureRow = TEXTURE_ROW): string {
  const decl = new RegExp(`(@group\\(0\\) @binding\\(\\d+\\)) var<storage, read> ${name}: array<(f32|vec4<f32>)>;`);
  const found = decl.exec(code);
  const type = found?.[2] ?? 'f32';
  const load = `fn load_${name}(i: u32) -> ${type} { return ${name}[i]; }`;
  if (!found || !code.includes(load)) {
    throw new Error(`webgpu-transfer: readThroughTexture: the code must declare '${name}' as a storage array of f32 ` +
      `or vec4<f32> and read it through load_${name} alone`);
  }
  const texel = (t: string) => `textureLoad(${name}_texture, vec2<i32>(i32(${t} % ${textureRow}u), i32(${t} / ${textureRow}u)), 0)`;
  return code.replace(decl, `$1 var ${name}_texture: texture_2d<f32>;`).replace(load, `fn load_${name}(i: u32) -> ${type} {
  return ${type === 'f32' ? `${texel('(i / 4u)')}[i % 4u]` : texel('i')};
}`);
}

/**
 * The WGSL of `code`, which indexes its storage array `name` directly (`name[i]`, i a u32), with every such read
 * routed through `load_<name>` and so through the staging texture (readThroughTexture). For generated kernels, whose
 * reads are written out as indexing; the array must only be read.
 */
export function indexThroughTexture(code: string, name: string, textureRow = TEXTURE_ROW): string {
  const decl = new RegExp(`@group\\(0\\) @binding\\(\\d+\\) var<storage, read> ${name}: array<(f32|vec4<f32>)>;`);
  const found = decl.exec(code);
  if (!found) throw new Error(`webgpu-transfer: indexThroughTexture: no read-only storage array '${name}' of f32 or vec4<f32>`);
  const open = new RegExp(`(?<![\\w.])${name}\\[`, 'g');
  let out = '', at = 0;
  for (let m = open.exec(code); m; m = open.exec(code)) {
    let depth = 1, k = m.index + m[0].length;
    for (; k < code.length && depth > 0; k++) depth += code[k] === '[' ? 1 : code[k] === ']' ? -1 : 0;
    if (depth) throw new Error(`webgpu-transfer: indexThroughTexture: unclosed index into '${name}'`);
    out += `${code.slice(at, m.index)}load_${name}(${code.slice(m.index + m[0].length, k - 1)})`;
    at = k;
    open.lastIndex = k;
  }
  out += code.slice(at);
  const load = `fn load_${name}(i: u32) -> ${found[1]} { return ${name}[i]; }`;
  return readThroughTexture(out.replace(found[0], `${found[0]}\n${load}`), name, textureRow);
}
