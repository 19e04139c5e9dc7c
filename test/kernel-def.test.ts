// Kernel declarations (src/graph/kernel-def.ts): a new kernel declared as the doc comment shows runs end to end,
// the generated WGSL struct and the TypeScript packing agree byte for byte, and a declaration that contradicts
// its WGSL file is an error at load naming the file and what is wrong.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {defineKernel, loopSteps, remapCompileError} from '../src/graph/kernel-def.js';
import {throwsWith} from './lib/check.js';
import {CONV_KERNELS, ELEMENTWISE, LAYOUT, MATMUL_KERNELS} from '../src/graph/shaders.js';

const MATMUL = MATMUL_KERNELS.matmul_vec4, CONV2D = CONV_KERNELS.conv_fwd8;
import {MATMUL_CANDIDATES, matmulTileKernel} from '../src/graph/kernels/matmul/register-tile.js';
import {convFwdKernel} from '../src/graph/kernels/conv/tile-forward.js';
import {PipelineCache} from '../src/gpu/pipelines.js';
import {empty} from '../src/graph/tensor.js';

const t = suite('kernel declarations');

// A vec8u field after a scalar: the generator must pad it to 16 bytes, as WGSL lays it out.
const SCALE = defineKernel({
  file: 'test-scale.wgsl', workgroupSize: 64,
  code: `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(WG)
fn scale_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.n) { return; }
  // k * x + the sum of the 'dims' field, so every field is read through the generated struct.
  var s = 0u;
  for (var d = 0u; d < 8u; d++) { s += at(p.dims, d); }
  y[i] = select(p.k * x[i] + f32(s) + f32(p.shift), nan_f32(), is_nan(x[i]));
}`,
  uniforms: {p: {n: 'u32', dims: 'vec8u', k: 'f32', shift: 'i32'}},
  entries: {scale_main: 'p'},
});

t('a kernel declared with defineKernel runs (odd size, prelude helpers, every field type)', async () => {
  await wt.internals.rt().pipelines.check(SCALE.source);
  const n = 1001;
  const xs = Array.from({length: n}, (_, i) => (i % 7) - 3);
  xs[5] = NaN;
  const x = wt.tensor(xs);
  const y = empty([n]);
  SCALE.launch('scale_main', {buffers: [x.buffer, y.buffer], params: {n, dims: [1, 2, 3], k: 2.5, shift: -4}, threads: n});
  const got = await y.data();
  for (let i = 0; i < n; i++) {
    if (i === 5) assert.ok(Number.isNaN(got[i]), 'NaN through the prelude helpers');
    else assert.is(got[i], 2.5 * xs[i] + 6 - 4, `element ${i}`);
  }
  x.dispose(); y.dispose();
});

// A kernel whose loop runs over a size the caller chooses declares its steps: where llvmpipe would cut the loop short,
// the launch is refused with the count; elsewhere it runs. 70,000 ones summed by one thread.
const LOOPED = defineKernel({
  file: 'test-looped.wgsl', workgroupSize: 64, uniforms: {p: {n: 'u32'}}, entries: {sum_main: 'p'},
  loopSteps: {sum_main: (p) => loopSteps(p.n)},
  code: `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(WG)
fn sum_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (thread_id(gid, nwg) != 0u) { return; }
  var s = 0.0;
  for (var j = 0u; j < p.n; j++) { s += x[j]; }
  y[0] = s;
}`,
});
t('a launch past llvmpipe\'s loop limit is refused there with its count, and runs elsewhere', async () => {
  const limited = wt.internals.loopsLimited();
  for (const n of [64000, 70000]) {
    const x = wt.ones([n]), y = empty([1]);
    const run = () => LOOPED.launch('sum_main',
      {buffers: [x.buffer, y.buffer], params: {n}, threads: 1, note: `${n} ones`});
    if (limited && n > 64998) {
      throwsWith(run, `test-looped.wgsl sum_main (${n} ones): one thread would run ${n + 1} loop steps, past the 65000`);
    } else {
      run();
      assert.equal(Array.from(await y.data()), [n]);
    }
    x.dispose(); y.dispose();
  }
});

t('the generated struct pads exactly as the packer does', () => {
  assert.match(SCALE.generated, /override WG: u32 = 64u;/);
  assert.match(SCALE.generated, /struct Params_p \{\n {2}n: u32,\n {2}_pad0: u32,\n {2}_pad1: u32,\n {2}_pad2: u32,\n {2}dims: array<vec4<u32>, 2>,\n {2}k: f32,\n {2}shift: i32,\n {2}_pad3: u32,\n {2}_pad4: u32,\n\}/);
  const buf = SCALE.pack('p', {n: 7, dims: [9, 8], k: 0.5, shift: -1});
  const dv = new DataView(buf);
  assert.is(buf.byteLength, 64);
  assert.equal([dv.getUint32(0, true), dv.getUint32(16, true), dv.getUint32(20, true), dv.getUint32(24, true)], [7, 9, 8, 0]);
  assert.equal([dv.getFloat32(48, true), dv.getInt32(52, true)], [0.5, -1]);
  // The elementwise uniforms: 4 scalars then 4 rank-8 arrays (144 bytes, as the hand-written struct had).
  assert.is(ELEMENTWISE.pack('p', {n: 1, rank: 0, alpha: 0, beta: 0, shape: [], sa: [], sb: [], sc: []}).byteLength, 144);
  assert.is(LAYOUT.pack('fill', {n: 3, value: 1.5}).byteLength, 16);
  // Op codes: generated WGSL constants from the TypeScript tables (the shader names them, never the numbers).
  assert.match(ELEMENTWISE.generated, /const UNARY_neg: u32 = 1u;/);
  assert.match(ELEMENTWISE.generated, /const BINARY_axpby: u32 = 26u;/);
  assert.throws(() => ELEMENTWISE.pack('p', {n: 1, rank: 9, alpha: 0, beta: 0, shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], sa: [], sb: [], sc: []}), /rank 9 exceeds/);
});

t('a declaration that contradicts its file is an error at load naming the file and what is wrong', () => {
  const code = 'fn a_main() { let v = p.n; }';
  const throwsWith = (f: () => unknown, re: RegExp) => { try { f(); assert.unreachable('should throw'); } catch (e) { assert.match((e as Error).message, re); } };
  throwsWith(() => defineKernel({file: 'x.wgsl', code, workgroupSize: 64, uniforms: {p: {n: 'u32'}}, entries: {b_main: 'p'}}),
    /shaders\/x\.wgsl: entry point 'b_main' is declared but the file has no fn b_main/);
  throwsWith(() => defineKernel({file: 'x.wgsl', code: `struct S { n: u32 }\n@group(0) @binding(0) var<uniform> p: S;\n${code}`, workgroupSize: 64,
    uniforms: {p: {n: 'u32'}}, entries: {a_main: 'p'}}), /shaders\/x\.wgsl: declares its own var<uniform>/);
  // A struct at a later binding is still a second params block; a tensor bound as a uniform array is allowed.
  throwsWith(() => defineKernel({file: 'x.wgsl', code: `struct S { n: u32 }\n@group(0) @binding(2) var<uniform> q: S;\n${code}`,
    workgroupSize: 64, uniforms: {p: {n: 'u32'}}, entries: {a_main: 'p'}}), /shaders\/x\.wgsl: declares its own var<uniform>/);
  defineKernel({file: 'y.wgsl', code: `@group(0) @binding(1) var<uniform> w: array<vec4<f32>, 4>;\n${code}`, workgroupSize: 64,
    uniforms: {p: {n: 'u32'}}, entries: {a_main: 'p'}});
  throwsWith(() => defineKernel({file: 'x.wgsl', code: `override WG: u32 = 64u;\n${code}`, workgroupSize: 64, uniforms: {p: {n: 'u32'}}, entries: {a_main: 'p'}}),
    /declares override WG/);
  throwsWith(() => defineKernel({file: 'x.wgsl', code, workgroupSize: 64, uniforms: {p: {n: 'u32'}, q: {m: 'u32'}}, entries: {a_main: 'p'}}),
    /uniform 'q' is declared but the file never reads it/);
  throwsWith(() => defineKernel({file: 'x.wgsl', code, workgroupSize: 64, uniforms: {p: {n: 'u64' as 'u32'}}, entries: {a_main: 'p'}}),
    /uniform field 'n' has unknown type 'u64'/);
  throwsWith(() => defineKernel({file: 'x.wgsl', code, workgroupSize: 64, uniforms: {p: {n: 'u32'}}, entries: {a_main: 'p'}, codes: {OPS: {a: -1}}}),
    /shaders\/x\.wgsl: code OPS\.a = -1 is not a u32/);
  throwsWith(() => SCALE.pack('p', {n: 1, dims: [], k: undefined as unknown as number, shift: 0}), /test-scale\.wgsl: uniform p\.k: expected a number, got nothing/);
});

t('generated matmul and conv tiles declare the uniforms of the hand-written files: same struct, same bytes', async () => {
  const structOf = (g: string) => /struct Params_p \{[^}]*\}/.exec(g)?.[0];
  const mm = {M: 5, N: 8, K: 12, a_bs: 60, a_rs: 12, a_cs: 1, b_bs: 96, b_rs: 8, b_cs: 1, c_bs: 40, alpha: 0.5, split: 1};
  for (const tile of MATMUL_CANDIDATES) {
    const def = matmulTileKernel(tile);
    assert.is(structOf(def.generated), structOf(MATMUL.generated), def.file);
    assert.equal(new Uint8Array(def.pack('p', mm)), new Uint8Array(MATMUL.pack('p', mm)), def.file);
    // The tile's own workgroup shape, as WG_X / WG_Y for its @workgroup_size.
    assert.match(def.generated, new RegExp(`override WG_X: u32 = ${tile.wgx}u;\noverride WG_Y: u32 = ${tile.wgy}u;`));
    await wt.internals.rt().pipelines.check(def.source);
  }
  const cv = {N: 2, C: 3, H: 9, W: 8, K: 6, OH: 7, OW: 6, KH: 3, KW: 3, SH: 1, SW: 1, PH: 0, PW: 0, groups4: 2, split: 1};
  for (const bias of [false, true]) {
    const def = convFwdKernel({groups: 2, pixels: 8}, bias);
    assert.is(structOf(def.generated), structOf(CONV2D.generated), def.file);
    assert.equal(new Uint8Array(def.pack('p', cv)), new Uint8Array(CONV2D.pack('p', cv)), def.file);
    assert.is(def.workgroupSize, CONV2D.workgroupSize);
    await wt.internals.rt().pipelines.check(def.source);
  }
  // 15 conv fields pad to 64 bytes, 12 matmul fields (alpha, f32, then split) to 48, as the hand-written structs did.
  assert.is(CONV2D.pack('p', cv).byteLength, 64);
  assert.is(new DataView(MATMUL.pack('p', mm)).getFloat32(40, true), 0.5);
  // The hand-written matmul files declare one struct; the workgroup tiles (matmul_tiled, main and main128) their own
  // 16 x 16 workgroup.
  for (const def of Object.values(MATMUL_KERNELS)) assert.is(structOf(def.generated), structOf(MATMUL.generated), def.file);
  for (const def of Object.values(CONV_KERNELS)) assert.is(structOf(def.generated), structOf(CONV2D.generated), def.file);
  assert.equal(MATMUL_KERNELS.matmul_tiled.workgroupDims, [16, 16]);
});

t('readThroughTexture swaps a storage array read through its load function for a texture, and refuses other code', () => {
  const code = '@group(0) @binding(3) var<storage, read> src: array<f32>;\nfn load_src(i: u32) -> f32 { return src[i]; }';
  const twin = wt.internals.readThroughTexture(code, 'src', 4096);
  assert.match(twin, /@group\(0\) @binding\(3\) var src_texture: texture_2d<f32>;/);
  assert.match(twin, /textureLoad\(src_texture, .*\)\[i % 4u\]/);
  assert.not.match(twin, /var<storage, read> src/);
  assert.throws(() => wt.internals.readThroughTexture('@group(0) @binding(1) var<storage, read> src: array<f32>;', 'src', 4096),
    /read it through load_src alone/);
});

t('indexThroughTexture routes every index into the array through the texture, nested ones whole', () => {
  const code = ['@group(0) @binding(1) var<storage, read> fx: array<vec4<f32>>;',
    '@group(0) @binding(2) var<storage, read> afx: array<u32>;',
    'fn f(i: u32) -> f32 { return fx[afx[i] + 1u].y + fx[i].x; }'].join('\n');
  const twin = wt.internals.indexThroughTexture(code, 'fx', 4096);
  assert.match(twin, /var fx_texture: texture_2d<f32>;/);
  assert.ok(twin.includes('return load_fx(afx[i] + 1u).y + load_fx(i).x;'), twin);
  assert.match(twin, /fn load_fx\(i: u32\) -> vec4<f32> \{\n  return textureLoad\(fx_texture, /);
  assert.not.match(twin, /(?<![\w.])fx\[/);
  assert.throws(() => wt.internals.indexThroughTexture(code, 'gx', 4096), /no read-only storage array 'gx'/);
});

t('a 2-D workgroup: WG_X and WG_Y from the declaration, explicit grids only', () => {
  assert.equal(MATMUL.workgroupDims, [8, 8]);
  assert.match(MATMUL.generated, /override WG: u32 = 64u;\noverride WG_X: u32 = 8u;\noverride WG_Y: u32 = 8u;/);
  assert.equal(CONV2D.workgroupDims, [64, 1]);
  assert.not.match(CONV2D.generated, /WG_X/);
  const throwsWith = (f: () => unknown, re: RegExp) => { try { f(); assert.unreachable('should throw'); } catch (e) { assert.match((e as Error).message, re); } };
  const code = '@compute @workgroup_size(WG_X, WG_Y, 1) fn a_main() { let v = p.n; }';
  throwsWith(() => defineKernel({file: 'x.wgsl', code: `override WG_X: u32 = 4u;\n${code}`, workgroupSize: [4, 4], uniforms: {p: {n: 'u32'}},
    entries: {a_main: 'p'}}), /shaders\/x\.wgsl: declares override WG_X/);
  throwsWith(() => defineKernel({file: 'x.wgsl', code, workgroupSize: [32, 16], uniforms: {p: {n: 'u32'}}, entries: {a_main: 'p'}}),
    /shaders\/x\.wgsl: workgroupSize \[32,16\] must be positive integers, at most 256 threads in all/);
  const two = defineKernel({file: 'x.wgsl', code, workgroupSize: [4, 4], uniforms: {p: {n: 'u32'}}, entries: {a_main: 'p'}});
  throwsWith(() => two.launch('a_main', {buffers: [], params: {n: 1}, threads: 16}), /shaders\/x\.wgsl: launch of 'a_main' gives threads; a 2-D kernel needs workgroups/);
});

t('compile errors in the appended prelude are reported at their line in prelude.wgsl', async () => {
  // Redeclaring a prelude helper: the duplicate is in the appended prelude, the error names that file.
  const bad = defineKernel({file: 'dup.wgsl', workgroupSize: 64, uniforms: {p: {n: 'u32'}}, entries: {d_main: 'p'},
    code: 'fn at(v: u32) -> u32 { return v; }\n@compute @workgroup_size(WG) fn d_main() { let v = p.n; }'});
  const cache = new PipelineCache(wt.internals.rt().device);
  try {
    await cache.check(bad.source);
    assert.unreachable('should not compile');
  } catch (e) {
    const msg = remapCompileError(e as Error, bad.source).message;
    assert.match(msg, /WGSL compile error in shaders\/dup\.wgsl/);
    assert.match(msg, /shaders\/(prelude|dup)\.wgsl:\d+:\d+/);
    assert.not.match(msg, /shaders\/dup\.wgsl:(1[0-9]|[3-9]):/, 'no line past the end of dup.wgsl');
  } finally {
    // The shared device also reported the module as an uncaptured error: take it here, not at a later read.
    await wt.internals.rt().sync().catch(() => undefined);
  }
});

t.run();
