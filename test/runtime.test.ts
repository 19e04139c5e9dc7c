// @test node-only: acquires devices itself (getDevice, backends) and checks buffer-pool internals of the Node runtime
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {SHADERS} from '../src/graph/shaders.js';
import {PipelineCache} from '../src/gpu/pipelines.js';
import {sizeClass} from '../src/gpu/buffer-pool.js';

const t = suite('runtime');

/** A small MLP training step on fixed data; returns the loss and the step's parameters. */
function mlp(seed: number) {
  const w1 = wt.randn([16, 10], {seed, std: 0.3, requiresGrad: true});
  const b1 = wt.zeros([16], {requiresGrad: true});
  const w2 = wt.randn([3, 16], {seed: seed + 1, std: 0.3, requiresGrad: true});
  const b2 = wt.zeros([3], {requiresGrad: true});
  return [w1, b1, w2, b2].map(wt.keep);
}
const batch = (k: number) => ({
  x: Float32Array.from({length: 8 * 10}, (_, i) => Math.sin(i * 0.37 + k)),
  y: Int32Array.from({length: 8}, (_, i) => (i + k) % 3),
});
function stepBody(params: wt.Tensor[], opt: wt.Optimizer<wt.GroupOptions>, x: wt.Tensor, y: wt.Tensor): wt.Tensor {
  const [w1, b1, w2, b2] = params;
  return wt.tidy(() => {
    const loss = wt.crossEntropy(wt.linear(wt.relu(wt.linear(x, w1, b1)), w2, b2), y);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    return loss;
  });
}

t('captured step replays exactly like eager steps, with no new GPU buffers', async () => {
  const eagerP = mlp(1), capP = mlp(1);
  const eagerOpt = new wt.Adam(eagerP, {lr: 0.01}), capOpt = new wt.Adam(capP, {lr: 0.01});
  const eagerLosses: number[] = [];
  for (let k = 0; k < 5; k++) {
    const {x, y} = batch(k);
    const xt = wt.tensor(x, [8, 10]), yt = wt.tensor(y, [8], {dtype: 'i32'});
    const l = stepBody(eagerP, eagerOpt, xt, yt);
    eagerLosses.push(await l.item());
    [xt, yt, l].forEach((z) => z.dispose());
  }
  const b0 = batch(0);
  const step = wt.compile([{shape: [8, 10]}, {shape: [8], dtype: 'i32'}], [b0.x, b0.y], (x, y) => stepBody(capP, capOpt, x, y));
  const capLosses = [await step.output.item()];
  const pool = wt.internals.rt().pool;
  const created = pool.created, submits = wt.internals.rt().stats.submits;
  for (let k = 1; k < 5; k++) {
    const {x, y} = batch(k);
    capLosses.push(await step.run([x, y]).item());
  }
  assert.is(pool.created, created, 'replays allocate no GPU buffers');
  assert.is(wt.internals.rt().stats.submits - submits, 4 * 2, 'one submit per replay plus one per read-back');
  for (let k = 0; k < 5; k++) assert.ok(Math.abs(capLosses[k] - eagerLosses[k]) < 1e-6, `step ${k}: captured ${capLosses[k]} vs eager ${eagerLosses[k]}`);
  const pe = await eagerP[0].data(), pc = await capP[0].data();
  assert.ok(pe.every((v, i) => Math.abs(v - pc[i]) < 1e-6), 'parameters identical after 5 steps');
  step.dispose();
});

t('many dispatches go out in one submit', async () => {
  const r = wt.internals.rt();
  await r.sync();
  const s0 = r.stats.submits;
  let x = wt.ones([100]);
  for (let i = 0; i < 50; i++) x = wt.add(x, 1);
  const v = await x.data();
  assert.is(v[0], 51);
  assert.is(r.stats.submits - s0, 1);
});

t('a kernel variant compiles once: new shapes reuse the pipeline (shapes travel in uniforms)', () => {
  const cache = wt.internals.rt().pipelines;
  // The hand-written padded kernel (a padded conv otherwise runs the generated tiles, specialised per kernel width).
  const prefs = wt.internals.kernelPrefs, padFirst = prefs.convPadFirst;
  prefs.convPadFirst = false;
  // One of each variant class first: matmul with K % 4 == 0 (A read as vec4) and not, conv padded and not.
  wt.matmul(wt.ones([8, 12]), wt.ones([12, 16]));
  wt.matmul(wt.ones([8, 7]), wt.ones([7, 16]));
  wt.conv2d(wt.ones([1, 2, 9, 9]), wt.ones([4, 2, 3, 3]));
  wt.conv2d(wt.ones([1, 2, 9, 9]), wt.ones([4, 2, 3, 3]), null, {padding: 1});
  const compiled = cache.compiled;
  for (const [m, k, n] of [[16, 8, 4], [33, 20, 64], [5, 7, 12]]) wt.matmul(wt.ones([m, k]), wt.ones([k, n]));
  wt.conv2d(wt.ones([3, 2, 17, 11]), wt.ones([4, 2, 5, 3]), null, {padding: 1});
  prefs.convPadFirst = padFirst;
  assert.is(cache.compiled, compiled, 'no new pipelines for new shapes');
});

t('the buffer pool reuses freed buffers by size class', () => {
  const pool = wt.internals.rt().pool;
  const a = wt.zeros([1000]);
  const buf = a.buffer;
  a.dispose();
  const created = pool.created;
  const b = wt.zeros([900]);
  assert.is(sizeClass(900 * 4), sizeClass(1000 * 4));
  assert.is(b.buffer, buf);
  assert.is(pool.created, created);
  b.dispose();
});

t('live GPU bytes return to the baseline after a tidy training step', () => {
  const p = mlp(3);
  const opt = new wt.SGD(p, {lr: 0.1, momentum: 0.9});
  const {x, y} = batch(0);
  const xt = wt.keep(wt.tensor(x, [8, 10])), yt = wt.keep(wt.tensor(y, [8], {dtype: 'i32'}));
  stepBody(p, opt, xt, yt).dispose(); // first step creates momentum buffers
  const before = wt.internals.rt().pool.inUseBytes;
  for (let i = 0; i < 3; i++) stepBody(p, opt, xt, yt).dispose();
  assert.is(wt.internals.rt().pool.inUseBytes, before);
});

t('a WGSL compile error names the kernel file and line', async () => {
  const cache = new PipelineCache(wt.internals.rt().device);
  try {
    await cache.check({file: 'broken.wgsl', code: 'fn f( {'});
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /WGSL compile error in shaders\/broken\.wgsl/);
    assert.match((e as Error).message, /shaders\/broken\.wgsl:1:\d+: /);
  }
});

t('every kernel file compiles', async () => {
  const cache = new PipelineCache(wt.internals.rt().device);
  for (const src of Object.values(SHADERS)) await cache.check(src);
});

t('a GPU validation error surfaces at the next read, not as a wrong answer', async () => {
  const r = wt.internals.rt();
  const x = wt.ones([4]);
  // An override constant that the kernel does not declare is rejected by pipeline validation.
  r.dispatch({kernel: SHADERS.layout, entry: 'fill_main', constants: {NOT_A_CONSTANT: 1}, buffers: [x.buffer], uniforms: new ArrayBuffer(16), workgroups: [1, 1, 1]});
  let msg = '';
  try { await r.sync(); await x.data(); } catch (e) { msg = (e as Error).message; }
  assert.match(msg, /webgpu-transfer: .*(pipeline|GPU error)/);
  await r.sync().catch(() => undefined);
});

t('an unknown backend is a clear error', async () => {
  const {getDevice} = await import('../src/gpu/device.js');
  try { await getDevice({backend: 'metal' as never}); assert.unreachable(); } catch (e) {
    assert.match((e as Error).message, /unknown backend 'metal'.*use one of auto, vulkan, swiftshader, llvmpipe, opengles/);
  }
});

t('no adapter at all: one error listing what was tried and the fix', async () => {
  const {spawnSync} = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    "const {getDevice} = await import(process.cwd() + '/dist/test/lib/device-probe.js'); try { await getDevice({backend: 'vulkan'}); console.log('GOT'); } catch (e) { console.log(e.message); } process.exit(0);"],
    {encoding: 'utf8', env: {...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json'}});
  assert.match(r.stdout, /no WebGPU adapter found \(backend 'vulkan'\)\. Tried:/);
  assert.match(r.stdout, /vulkan: no Vulkan adapter \(VK_ICD_FILENAMES=\/nonexistent\/icd\.json\)/);
  assert.match(r.stdout, /Fix: bash scripts\/setup\.sh/);
});

t('memory() reports live and pooled bytes and live tensors', () => {
  const m0 = wt.memory();
  const x = wt.zeros([1 << 16]);
  const m1 = wt.memory();
  assert.is(m1.liveBytes - m0.liveBytes, x.buffer.size);
  assert.is(m1.liveTensors - m0.liveTensors, 1);
  x.dispose();
  assert.is(wt.memory().liveBytes, m0.liveBytes);
  assert.is(wt.memory().liveTensors, m0.liveTensors);
  assert.ok(wt.memory().pooledBytes >= x.size * 4);
});

t('replaying uploads of the wrong size is a clear error', () => {
  const step = wt.compile([{shape: [2, 2]}], [[1, 2, 3, 4]], (x) => wt.mul(x, 2));
  assert.throws(() => step.run([[1, 2, 3]]), /input 0 has 3 values, expected \[2, 2\] = 4/);
  step.dispose();
  const labels = wt.compile([{shape: [2], dtype: 'i32'}], [[0, 1]], (y) => wt.oneHot(y, 3));
  assert.throws(() => labels.run([[0, 1.5]]), /compiled step input 0: int32 value 1.5 at index 1 is not an integer/);
  labels.dispose();
});

t.run();
