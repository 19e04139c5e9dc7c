// Where a row-lane register tile's time goes on llvmpipe: a 1024^3 product (A and B in storage buffers, B's loads
// uniform across the lanes, as the tuned tiles read it) timed whole, with A's loads or B's moved out of the loop
// (wrong results, the same multiply-adds), and with both moved out: the multiply-adds alone. Each variant runs in a
// process of its own. Usage: node scripts/matmul-loads.mjs [RxC4 ...]   (docs/kernel-measurements.md#matmul-loads)
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';

const M = 1024, N = 1024, K = 1024, LANES = 8;

/** A row-lane tile: R rows (LANES apart) x C4 vec4 columns per thread, A read as vec4 along K. */
function tile(R, C4, hoist) {
  const rr = [...Array(R).keys()], cc = [...Array(C4).keys()];
  const L = ['@group(0) @binding(0) var<storage, read> va: array<vec4<f32>>;',
    '@group(0) @binding(1) var<storage, read> vb: array<vec4<f32>>;',
    '@group(0) @binding(2) var<storage, read_write> vc: array<vec4<f32>>;',
    `@compute @workgroup_size(${LANES}) fn main(@builtin(workgroup_id) wid: vec3<u32>,`,
    '  @builtin(local_invocation_id) lid: vec3<u32>) {',
    `  let row = wid.x * ${R * LANES}u + lid.x; let col4 = wid.y * ${C4}u;`, '  var bi = col4;'];
  for (const i of rr) L.push(`  var ai${i} = (row + ${i * LANES}u) * ${K / 4}u;`);
  for (const i of rr) for (const j of cc) L.push(`  var acc${i}_${j} = vec4<f32>(0.0);`);
  const loadA = () => { for (const i of rr) L.push(`  let a${i} = va[ai${i}]; ai${i} += 1u;`); };
  const loadB = () => {
    for (let kk = 0; kk < 4; kk++) for (const j of cc) L.push(`  let b${kk}_${j} = vb[bi + ${kk * N / 4 + j}u];`);
  };
  if (hoist.a) loadA();
  if (hoist.b) loadB();
  L.push(`  for (var k = 0u; k < ${K}u; k += 4u) {`);
  if (!hoist.a) loadA();
  if (!hoist.b) { loadB(); L.push(`  bi += ${N}u;`); }
  for (const j of cc) for (const i of rr) {
    L.push(`    acc${i}_${j} = acc${i}_${j}${[0, 1, 2, 3].map((kk) => ` + a${i}[${kk}] * b${kk}_${j}`).join('')};`);
  }
  L.push('  }');
  for (const i of rr) for (const j of cc) L.push(`  vc[(row + ${i * LANES}u) * ${N / 4}u + col4 + ${j}u] = acc${i}_${j};`);
  L.push('}');
  return L.join('\n');
}

async function child(R, C4, mode) {
  const {create, globals} = await import('webgpu');
  Object.assign(globalThis, globals);
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = create(['backend=opengles']);
  const adapter = await gpu.requestAdapter({featureLevel: 'compatibility'});
  const device = await adapter.requestDevice({requiredLimits:
    {maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize}});
  const buffer = (floats) => device.createBuffer({size: floats * 4, usage: GPUBufferUsage.STORAGE});
  const hoist = {a: mode === 'B loads only' || mode === 'no loads', b: mode === 'A loads only' || mode === 'no loads'};
  const pipeline = device.createComputePipeline({layout: 'auto',
    compute: {module: device.createShaderModule({code: tile(R, C4, hoist)}), entryPoint: 'main'}});
  const group = device.createBindGroup({layout: pipeline.getBindGroupLayout(0), entries: [M * K, K * N, M * N]
    .map((floats, binding) => ({binding, resource: {buffer: buffer(floats)}}))});
  const run = async () => {
    const enc = device.createCommandEncoder(), pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, group); pass.dispatchWorkgroups(M / (R * LANES), N / (4 * C4));
    pass.end(); device.queue.submit([enc.finish()]); await device.queue.onSubmittedWorkDone();
  };
  await run();
  const ts = [];
  for (let r = 0; r < 5; r++) { const t = performance.now(); await run(); ts.push(performance.now() - t); }
  ts.sort((a, b) => a - b);
  console.log((2 * M * N * K / ts[2] / 1e6).toFixed(1));
  process.exit(0);
}

if (process.argv[2] === 'child') await child(Number(process.argv[3]), Number(process.argv[4]), process.argv[5]);
const self = fileURLToPath(import.meta.url);
const modes = ['whole', 'A loads only', 'B loads only', 'no loads'];
console.log(`llvmpipe, ${M}^3, row-lane tiles of ${LANES} lanes: GFLOP/s, median of 5 (loads per thread and 4 k steps:` +
  ' R vec4 of A, 4 x C4 of B)');
console.log(`| tile | ${modes.join(' | ')} |\n|---|${modes.map(() => '---|').join('')}`);
for (const spec of process.argv.slice(2).length ? process.argv.slice(2) : ['8x8', '16x4', '16x8', '32x8']) {
  const [R, C4] = spec.split('x').map(Number);
  const cells = modes.map((mode) => {
    const r = spawnSync(process.execPath, [self, 'child', String(R), String(C4), mode], {encoding: 'utf8'});
    return (r.stdout ?? '').trim().split('\n').pop() || 'failed';
  });
  console.log(`| ${R} x ${C4} vec4 | ${cells.join(' | ')} |`);
}
