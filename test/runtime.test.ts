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
  // The hand-written padded kernel (a padded conv otherwise runs the generated tiles, specialised per kernel width),
  // and no register tile (the tables narrow a tile where N is small, each tile a variant of its own).
  const compiled = wt.internals.withKernelPrefs({convPadFirst: false, matmulTile: 'fixed'}, () => {
    // One of each variant class first: matmul with K % 4 == 0 (A read as vec4) and not, conv padded and not.
    wt.matmul(wt.ones([8, 12]), wt.ones([12, 16]));
    wt.matmul(wt.ones([8, 7]), wt.ones([7, 16]));
    wt.conv2d(wt.ones([1, 2, 9, 9]), wt.ones([4, 2, 3, 3]));
    wt.conv2d(wt.ones([1, 2, 9, 9]), wt.ones([4, 2, 3, 3]), null, {padding: 1});
    const before = cache.compiled;
    for (const [m, k, n] of [[16, 8, 4], [33, 20, 64], [5, 7, 12]]) wt.matmul(wt.ones([m, k]), wt.ones([k, n]));
    wt.conv2d(wt.ones([3, 2, 17, 11]), wt.ones([4, 2, 5, 3]), null, {padding: 1});
    return {before, after: cache.compiled};
  });
  assert.is(compiled.after, compiled.before, 'no new pipelines for new shapes');
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

// ---- kernel preferences: owned by the runtime, changed for a scope by withKernelPrefs ----
const prefs = wt.internals.kernelPrefs, withKernelPrefs = wt.internals.withKernelPrefs;
const rejection = async (p: Promise<unknown>): Promise<string> => {
  try { await p; } catch (e) { return (e as Error).message; }
  return 'no error';
};

t('withKernelPrefs applies its fields for the scope and restores them on return, on throw, nested', () => {
  const {matmul, convLowering, pool2x2} = prefs;
  const got = withKernelPrefs({matmul: 'reg', convLowering: 'direct'}, () => {
    assert.equal([prefs.matmul, prefs.convLowering, prefs.pool2x2], ['reg', 'direct', pool2x2]);
    withKernelPrefs({matmul: 'tiled', pool2x2: !pool2x2}, () => {
      assert.equal([prefs.matmul, prefs.convLowering, prefs.pool2x2], ['tiled', 'direct', !pool2x2]);
    });
    assert.equal([prefs.matmul, prefs.pool2x2], ['reg', pool2x2], 'the inner scope restored its fields only');
    assert.throws(() => withKernelPrefs({convLowering: 'gemm'}, () => { throw new Error('inside'); }), /inside/);
    assert.is(prefs.convLowering, 'direct', 'restored after a throw');
    return 7;
  });
  assert.is(got, 7, 'the scope returns what fn returns');
  assert.equal([prefs.matmul, prefs.convLowering, prefs.pool2x2], [matmul, convLowering, pool2x2]);
  assert.equal({...prefs}, {...wt.internals.DEFAULT_KERNEL_PREFS}, 'this runtime was seeded with the defaults');
});

t('withKernelPrefs holds its fields across awaits until an async fn settles, also when it rejects', async () => {
  const before = prefs.elementwiseVec4;
  const v = await withKernelPrefs({elementwiseVec4: !before}, async () => {
    await new Promise((r) => setTimeout(r, 5));
    assert.is(prefs.elementwiseVec4, !before, 'still applied after an await');
    return await withKernelPrefs({batchNormSums: 'serial'}, async () => {
      await Promise.resolve();
      return prefs.batchNormSums;
    });
  });
  assert.is(v, 'serial');
  assert.is(prefs.elementwiseVec4, before);
  assert.is(prefs.batchNormSums, wt.internals.DEFAULT_KERNEL_PREFS.batchNormSums);
  const msg = await rejection(withKernelPrefs({elementwiseVec4: !before}, async () => {
    await Promise.resolve();
    throw new Error('async inside');
  }));
  assert.is(msg, 'async inside');
  assert.is(prefs.elementwiseVec4, before, 'restored after a rejection');
});

t('kernelPrefs is a read-only view: assigning a field throws and points at init / withKernelPrefs', () => {
  const writable = prefs as {matmul: string};
  assert.throws(() => { writable.matmul = 'reg'; },
    /internals\.kernelPrefs is read-only.*init\(\{kernelPrefs\}\).*withKernelPrefs/);
  assert.throws(() => Object.assign(prefs, {pool2x2: false}), /read-only/);
  assert.throws(() => { delete (prefs as Partial<{matmul: string}>).matmul; }, /read-only/);
  assert.is(prefs.matmul, wt.internals.DEFAULT_KERNEL_PREFS.matmul, 'nothing changed');
  assert.ok(Object.isFrozen(wt.internals.DEFAULT_KERNEL_PREFS), 'the defaults are frozen');
});

t('init and withKernelPrefs refuse unknown fields and values a field does not take, naming them', async () => {
  const unknown = await rejection(wt.init({kernelPrefs: {matmull: 'reg'} as never}));
  assert.match(unknown, /init: unknown kernelPrefs field 'matmull'; the fields are matmul, matmulTile, convForward, /);
  assert.match(await rejection(wt.init({kernelPrefs: {matmul: 'fast'} as never})),
    /init: kernelPrefs\.matmul cannot be 'fast'; it takes 'auto', 'tiled', 'tiled128', 'vec4', 'reg'/);
  assert.match(await rejection(wt.init({kernelPrefs: {convSplitTarget: -4} as never})),
    /kernelPrefs\.convSplitTarget cannot be -4; it takes 'auto', a positive integer/);
  assert.match(await rejection(wt.init({kernelPrefs: {pool2x2: 'yes'} as never})),
    /kernelPrefs\.pool2x2 cannot be 'yes'; it takes a boolean/);
  const tileAndBad = {convForward: {groups: 2, pixels: 8}, convWeightLanes: 1};
  assert.match(await rejection(wt.init({kernelPrefs: tileAndBad as never})),
    /kernelPrefs\.convWeightLanes cannot be 1; it takes 'auto', true, false/, 'a tile object is accepted');
  assert.throws(() => withKernelPrefs({capsuleRouting: 'vec4'} as never, () => 0),
    /withKernelPrefs: kernelPrefs\.capsuleRouting cannot be 'vec4'; it takes 'auto', 'scalar'/);
  assert.throws(() => withKernelPrefs({bogus: 1} as never, () => 0),
    /withKernelPrefs: unknown kernelPrefs field 'bogus'/);
  // While the device is up, init() with the runtime's own values is fine and with others is refused.
  await wt.init({kernelPrefs: {matmul: prefs.matmul}});
  await withKernelPrefs({matmul: 'reg'}, () => wt.init({kernelPrefs: {matmul: 'auto'}})); // compared with the seed
  assert.match(await rejection(wt.init({kernelPrefs: {matmul: prefs.matmul === 'reg' ? 'vec4' : 'reg'}})),
    /was started with matmul 'auto'; call shutdown\(\) before init\(\) with other kernelPrefs, or use internals\.withKernel/);
});

t('init({kernelPrefs}) seeds the runtime\'s prefs; after shutdown() the next init starts from the defaults', async () => {
  const backend = wt.adapter().backend;
  wt.shutdown();
  await wt.init({backend, kernelPrefs: {convLowering: 'direct', pool2x2: false}});
  try {
    assert.equal([prefs.convLowering, prefs.pool2x2, prefs.matmul], ['direct', false, 'auto']);
    // A scope opened under this runtime does not restore its values into the next one.
    await withKernelPrefs({matmul: 'reg'}, async () => {
      wt.shutdown();
      await wt.init({backend});
    });
  } finally {
    if (prefs.convLowering !== 'auto') { wt.shutdown(); await wt.init({backend}); }
  }
  assert.equal({...prefs}, {...wt.internals.DEFAULT_KERNEL_PREFS});
  assert.equal(Array.from(await wt.relu(wt.tensor([-1, 2])).data()), [0, 2]);
});

t.run();
