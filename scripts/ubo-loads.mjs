// Micro-benchmark behind the conv tiles' uniform weights (kernelPrefs.convUniformWeights): a loop of vec4 loads from
// a storage buffer vs a uniform buffer, with a per-lane or a lane-uniform index, on Dawn's GLES backend (llvmpipe).
// Usage: EGL_PLATFORM=surfaceless node scripts/ubo-loads.mjs
import {create, globals} from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create(['backend=opengles']);
const adapter = await gpu.requestAdapter({featureLevel: 'compatibility'});
console.log('maxUniformBufferBindingSize', adapter.limits.maxUniformBufferBindingSize);
const device = await adapter.requestDevice({requiredLimits: {maxUniformBufferBindingSize: adapter.limits.maxUniformBufferBindingSize}});
const NW = 1024; // vec4s of weights (16 KiB)
const THREADS = 65536, ITER = 256;
function shader(space, uni) {
  const decl = space === 'uniform' ? `@group(0) @binding(0) var<uniform> w: array<vec4<f32>, ${NW}>;`
    : `@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;`;
  return `${decl}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i >= ${THREADS}u) { return; }
  let g = ${uni ? '0u' : '(i / 512u) % 4u'};
  var acc = vec4<f32>(0.0);
  let xv = x[i];
  for (var k = 0u; k < ${ITER}u; k++) { acc += xv * w[(k * 4u + g) % ${NW}u]; }
  y[i] = acc;
}`;
}
const wbuf = device.createBuffer({size: NW * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST});
const xbuf = device.createBuffer({size: THREADS * 4, usage: GPUBufferUsage.STORAGE});
const ybuf = device.createBuffer({size: THREADS * 16, usage: GPUBufferUsage.STORAGE});
const pipes = {};
for (const s of ['storage', 'uniform', 'storage-u', 'uniform-u']) {
  const p = device.createComputePipeline({layout: 'auto', compute: {module: device.createShaderModule({code: shader(s.split('-')[0], s.endsWith('-u'))}), entryPoint: 'main'}});
  const bg = device.createBindGroup({layout: p.getBindGroupLayout(0), entries: [wbuf, xbuf, ybuf].map((buffer, binding) => ({binding, resource: {buffer}}))});
  pipes[s] = {p, bg};
}
async function run(s, reps) {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (let r = 0; r < reps; r++) { pass.setPipeline(pipes[s].p); pass.setBindGroup(0, pipes[s].bg); pass.dispatchWorkgroups(THREADS / 64); }
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
}
const all = ['storage', 'uniform', 'storage-u', 'uniform-u'];
for (const s of all) await run(s, 1);
for (let round = 0; round < 2; round++) for (const s of all) {
  const t = performance.now(); await run(s, 4); const ms = (performance.now() - t) / 4;
  console.log(s.padEnd(10), ms.toFixed(2), 'ms', (THREADS * ITER / ms / 1e6).toFixed(2), 'Gload/s');
}
process.exit(0);
