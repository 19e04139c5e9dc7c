// Micro-benchmark behind the uniform weights of the conv tiles and the matmul's uniform panels: the cost of a vec4
// load in a loop from each place a kernel can read (storage, uniform buffer, texture, workgroup memory), with a
// lane-uniform index and a per-lane one, against multiply-adds alone, on Dawn's GLES backend (llvmpipe); then the
// cost of stores to storage and to a storage texture.
// Usage: node scripts/load-paths.mjs   (docs/kernel-measurements.md#load-paths)
import {create, globals} from 'webgpu';
Object.assign(globalThis, globals);
process.env.EGL_PLATFORM ??= 'surfaceless';
const gpu = create(['backend=opengles']);
const adapter = await gpu.requestAdapter({featureLevel: 'compatibility'});
const device = await adapter.requestDevice({requiredLimits: {
  maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxUniformBufferBindingSize: 65536}});
const STEPS = 4096, GROUPS = 256, LANES = 8;
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM;
const storage = device.createBuffer({size: 1 << 24, usage}), out = device.createBuffer({size: 1 << 16, usage});
const uniform = device.createBuffer({size: 65536, usage});
const texture = device.createTexture({size: [1024, 1024], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING});

// Four loads per step; `at(j)` is the index of load j: lane-uniform (the step only) or per lane (lid.x too).
const place = {
  storage: {decl: '@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;', load: (i) => `src[${i}]`,
    entry: {binding: 1, visibility: 4, buffer: {type: 'read-only-storage'}}, resource: {buffer: storage}},
  uniform: {decl: '@group(0) @binding(1) var<uniform> src: array<vec4<f32>, 4096>;', load: (i) => `src[(${i}) % 4096u]`,
    entry: {binding: 1, visibility: 4, buffer: {type: 'uniform'}}, resource: {buffer: uniform}},
  texture: {decl: '@group(0) @binding(1) var src: texture_2d<f32>;',
    load: (i) => `textureLoad(src, vec2<i32>(i32((${i}) % 1024u), i32((${i}) / 1024u % 1024u)), 0)`,
    entry: {binding: 1, visibility: 4, texture: {sampleType: 'unfilterable-float'}}, resource: texture.createView()},
  workgroup: {decl: 'var<workgroup> src: array<vec4<f32>, 1024>;', load: (i) => `src[(${i}) % 1024u]`},
};

async function time(name, decl, body, extra) {
  const code = `${decl}
@group(0) @binding(0) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(${LANES}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < ${STEPS}u; k++) {
${body}
  }
  dst[wid.x * ${LANES}u + lid.x] = acc0 + acc1 + acc2 + acc3;
}`;
  const entries = [{binding: 0, visibility: 4, buffer: {type: 'storage'}}, ...(extra ? [extra.entry] : [])];
  const layout = device.createBindGroupLayout({entries});
  const pipeline = device.createComputePipeline({layout: device.createPipelineLayout({bindGroupLayouts: [layout]}),
    compute: {module: device.createShaderModule({code}), entryPoint: 'main'}});
  const group = device.createBindGroup({layout, entries: [{binding: 0, resource: {buffer: out}},
    ...(extra ? [{binding: 1, resource: extra.resource}] : [])]});
  const run = async () => {
    const enc = device.createCommandEncoder(), pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, group); pass.dispatchWorkgroups(GROUPS); pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run();
  let best = Infinity;
  for (let r = 0; r < 3; r++) { const t = performance.now(); await run(); best = Math.min(best, performance.now() - t); }
  // Nanoseconds per step of one workgroup (its 8 lanes are one SIMD batch), over all the adapter's threads.
  console.log(`${name.padEnd(34)} ${(best * 1e6 / (GROUPS * STEPS)).toFixed(2).padStart(7)} ns per step`);
}

console.log(adapter.info?.description ?? '', `: ${GROUPS} workgroups of ${LANES} x ${STEPS} steps`);
await time('multiply-adds only', '', '    acc0 = acc0 * 0.999 + vec4<f32>(f32(k)); acc1 = acc1 * 0.999 + acc0;' +
  ' acc2 = acc2 * 0.999 + acc1; acc3 = acc3 * 0.999 + acc2;');
for (const [name, p] of Object.entries(place)) for (const lanes of [false, true]) {
  const at = (j) => (lanes ? `k * 32u + ${8 * j}u + lid.x` : `k * 4u + ${j}u`);
  const body = `    acc0 += ${p.load(at(0))}; acc1 += ${p.load(at(1))}; acc2 += ${p.load(at(2))}; acc3 += ${p.load(at(3))};`;
  await time(`4 ${name} loads, ${lanes ? 'per lane' : 'lane-uniform'}`, p.decl, body, p.entry && p);
}
// Stores to storage, 4 a step, into a second buffer: vec4s with neighbouring lanes' next to each other or 36 vec4s
// apart, and single floats (docs/kernel-measurements.md#store-paths).
const sink = device.createBuffer({size: 1 << 26, usage});
const stores = {binding: 1, visibility: 4, buffer: {type: 'storage'}};
const storesTo = (at, value) => [0, 1, 2, 3].map((j) => `    sink[${at(j)}]${value};`).join('\n');
for (const [name, at, value] of [
  ['4 vec4 stores, lanes adjacent', (j) => `((k * 4u + ${j}u) * 2048u + wid.x * 8u + lid.x) % 4000000u`, ' = acc0'],
  ['4 vec4 stores, lanes 36 vec4s apart', (j) => `((k * 4u + ${j}u) * 2048u + (wid.x * 8u + lid.x) * 36u) % 4000000u`,
    ' = acc0'],
  ['4 f32 stores, lanes adjacent', (j) => `((k * 4u + ${j}u) * 2048u + wid.x * 8u + lid.x) % 4000000u`, '.x = acc0.x'],
]) {
  await time(name, '@group(0) @binding(1) var<storage, read_write> sink: array<vec4<f32>>;',
    `    acc0 = acc0 * 0.999 + vec4<f32>(f32(k));\n${storesTo(at, value)}`, {entry: stores, resource: {buffer: sink}});
}
// The same stores as texels of a write-only rgba32float storage texture (docs/kernel-measurements.md#texture-stores).
const sinkTexture = device.createTexture({size: [2048, 2048], format: 'rgba32float', usage: GPUTextureUsage.STORAGE_BINDING});
for (const [name, apart] of [['4 texel stores, lanes adjacent', 1], ['4 texel stores, lanes 36 texels apart', 36]]) {
  const at = (j) => `vec2<i32>(i32((wid.x * 8u + lid.x) * ${apart}u % 2048u), i32((k * 4u + ${j}u) % 2048u))`;
  await time(name, '@group(0) @binding(1) var sink: texture_storage_2d<rgba32float, write>;',
    `    acc0 = acc0 * 0.999 + vec4<f32>(f32(k));\n${[0, 1, 2, 3].map((j) => `    textureStore(sink, ${at(j)}, acc0);`).join('\n')}`,
    {entry: {binding: 1, visibility: 4, storageTexture: {access: 'write-only', format: 'rgba32float'}},
      resource: sinkTexture.createView()});
}
process.exit(0);
