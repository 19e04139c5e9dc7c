// What one dispatch costs on llvmpipe beyond its work: 200 dispatches of a one-workgroup kernel (each reads the buffer
// the previous one wrote) in one compute pass, per dispatch, with llvmpipe's worker threads (its default, one per
// core) and with LP_NUM_THREADS=0 (the work runs in the submitting thread). With workers, every dispatch hands its
// workgroups to them and waits for them to finish: two thread wake-ups, which a virtual machine's idle cores make slow.
// Usage: node scripts/dispatch-cost.mjs   (docs/kernel-measurements.md#dispatch-handoff)
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';

if (process.argv[2] === 'child') {
  const {create, globals} = await import('webgpu');
  Object.assign(globalThis, globals);
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = create(['backend=opengles']);
  const adapter = await gpu.requestAdapter({featureLevel: 'compatibility'});
  const device = await adapter.requestDevice();
  const bufs = [0, 1, 2].map(() => device.createBuffer({size: 1 << 16, usage: GPUBufferUsage.STORAGE}));
  const code = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { y[g.x] = x[g.x] * 0.5 + 1.0; }`;
  const pipeline = device.createComputePipeline({layout: 'auto',
    compute: {module: device.createShaderModule({code}), entryPoint: 'main'}});
  const groups = [[0, 1], [1, 2], [2, 0]].map(([a, b]) => device.createBindGroup({layout: pipeline.getBindGroupLayout(0),
    entries: [{binding: 0, resource: {buffer: bufs[a]}}, {binding: 1, resource: {buffer: bufs[b]}}]}));
  const DISPATCHES = 200;
  const run = async (workgroups) => {
    const enc = device.createCommandEncoder(), pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    for (let i = 0; i < DISPATCHES; i++) { pass.setBindGroup(0, groups[i % 3]); pass.dispatchWorkgroups(workgroups); }
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  const out = [];
  for (const workgroups of [1, 16, 256]) {
    await run(workgroups);
    const ts = [];
    for (let r = 0; r < 7; r++) { const t = performance.now(); await run(workgroups); ts.push(performance.now() - t); }
    ts.sort((a, b) => a - b);
    out.push(`${workgroups} workgroup${workgroups > 1 ? 's' : ''} ${(ts[3] * 1000 / DISPATCHES).toFixed(1)} us`);
  }
  console.log(out.join(', '));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
for (const [label, threads] of [['worker threads (default)', undefined], ['LP_NUM_THREADS=0', '0']]) {
  const env = {...process.env};
  if (threads === undefined) delete env.LP_NUM_THREADS; else env.LP_NUM_THREADS = threads;
  const r = spawnSync(process.execPath, [self, 'child'], {env, encoding: 'utf8'});
  const line = (r.stdout ?? '').trim().split('\n').pop();
  console.log(`llvmpipe, ${label}: per dispatch, median of 7 passes of 200: ${line || `failed: ${r.stderr}`}`);
}
