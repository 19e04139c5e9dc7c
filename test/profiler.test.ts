import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';

const t = suite('profiler');

/** A small compiled training step (conv, pool, linear, SGD) and its inputs. */
function smallStep() {
  wt.manualSeed(3);
  const conv = new wt.Conv2d(1, 4, 3), fc = new wt.Linear(4 * 3 * 3, 5);
  const params = [...conv.parameters(), ...fc.parameters()];
  const opt = new wt.SGD(params, {lr: 0.1});
  const x = Float32Array.from({length: 2 * 64}, (_, i) => Math.sin(i)), y = Int32Array.from([1, 3]);
  const step = wt.compile([{shape: [2, 1, 8, 8]}, {shape: [2], dtype: 'i32'}], [x, y], (xi, yi) => wt.tidy(() => {
    const h = wt.maxPool2d(wt.relu(conv.forward(xi)), 2);
    const loss = wt.crossEntropy(fc.forward(wt.flatten(h, 1)), yi);
    loss.backward(); opt.step(); opt.zeroGrad();
    return loss;
  }));
  return {step, x, y, params, opt};
}

const methods: wt.debug.ProfileMethod[] = ['serial'];
// On the tables' kernels, and with the convolutions as the implicit products hardware GPUs take.
for (const convLowering of ['auto', 'implicit'] as const) {
t(`profile: every dispatch of a step is counted, rows sorted, FLOPs only where launchers state them (${convLowering})`,
  () => wt.internals.withKernelPrefs({convLowering}, async () => {
  const hasTs = wt.internals.rt().device.features.has('timestamp-query');
  for (const method of hasTs ? [...methods, 'timestamp' as const] : methods) {
    const {step, x, y} = smallStep();
    const p = await wt.debug.profile(() => step.run([x, y]).item(), {steps: 2, warmup: 1, method});
    assert.is(p.method, method);
    assert.is(p.dispatches, step.dispatchCount, `${method}: dispatches per step`);
    assert.is(p.rows.reduce((s, r) => s + r.count, 0), step.dispatchCount);
    for (let i = 1; i < p.rows.length; i++) assert.ok(p.rows[i - 1].ms >= p.rows[i].ms, 'sorted by time');
    // The forward conv's row (hand-written conv_fwd*, a generated forward tile, conv-gen/k..., or the implicit
    // product's forward pass): not a layout kernel of the same shapes (dy's transpose states no FLOPs).
    const conv = p.rows.find((r) => r.count === 1 &&
      /^conv(2d:conv_fwd|-gen\/k\d|-implicit:implicit_rows\{[^}]*PASS=0)/.test(r.kernel));
    // A rate where the launcher states FLOPs, unless the kernel measured 0 ms: browsers quantize timestamp queries
    // (to 100 us in Chrome), which a conv this small can fall under.
    assert.ok(conv && /2x1x8x8\*4x3x3/.test(conv.kernel) && (conv.gflops > 0 || conv.ms === 0),
      `conv row names its shapes and has a rate: ${conv?.kernel}, ${conv?.ms} ms, ${conv?.gflops} GFLOP/s`);
    assert.ok(p.rows.filter((r) => r.kernel.startsWith('elementwise:')).every((r) => Number.isNaN(r.gflops)));
    assert.match(wt.debug.formatProfile(p), new RegExp(`method ${method}`));
    step.dispose();
  }
  assert.is(wt.internals.rt().profiler, null, 'profiling ends with profile()');
}));
}

t('profile: timestamps in Node are not rounded to 65.536 us (Dawn\'s timestamp_quantization is off)', async () => {
  const hasTs = wt.internals.rt().device.features.has('timestamp-query');
  if (!hasTs || typeof process === 'undefined' || !process.versions?.node) return;
  const {step, x, y} = smallStep();
  const p = await wt.debug.profile(() => step.run([x, y]).item(), {steps: 1, warmup: 1, method: 'timestamp'});
  step.dispose();
  // One step, one dispatch a row: quantized, every row's time would be a whole number of 65,536 ns.
  const ns = p.rows.filter((r) => r.count === 1).map((r) => r.ms * 1e6);
  const off = ns.filter((v) => Math.abs(v / 65536 - Math.round(v / 65536)) > 1e-3);
  assert.ok(ns.length >= 3 && off.length > 0, `dispatch times in ns: ${ns.map((v) => v.toFixed(0)).join(', ')}`);
});

t('profile: a profiled step computes what an unprofiled one does (each kernel runs once, in order)', async () => {
  const run = async (profiled: boolean) => {
    const {step, x, y, params} = smallStep();
    const losses: number[] = [];
    if (profiled) await wt.debug.profile(async () => { losses.push(await step.run([x, y]).item()); }, {steps: 3, warmup: 1, method: 'serial'});
    else for (let i = 0; i < 4; i++) losses.push(await step.run([x, y]).item());
    const w = await params[0].data();
    step.dispose();
    return {losses, w};
  };
  const a = await run(false), b = await run(true);
  assert.equal(b.losses, a.losses);
  assert.equal(Array.from(b.w), Array.from(a.w));
});

t('profile: errors name the problem', async () => {
  const message = async (f: () => Promise<unknown>) => { try { await f(); return ''; } catch (e) { return (e as Error).message; } };
  assert.match(await message(() => wt.debug.profile(() => 0, {steps: 0})), /steps must be >= 1/);
  if (!wt.internals.rt().device.features.has('timestamp-query')) {
    assert.match(await message(() => wt.debug.profile(() => 0, {method: 'timestamp'})), /timestamp-query feature/);
  }
});

t.run();
