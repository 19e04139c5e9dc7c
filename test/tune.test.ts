// @test node-only: the measured choices' cache file (XDG_CACHE_HOME)
// Measured kernel selection (kernels/tune.ts) with a fake timer: the fastest variant that fits is chosen, installed
// and cached per adapter; a cached choice is reused without measuring; the table keeps a case unless beaten by 3%;
// a forced preference wins over a measured choice; and the launches really take the measured variant.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import * as wt from '../src/index.js';

const t = suite('kernels: measured selection');
const I = wt.internals;

// A padded 3x3 convolution the table runs as pad-first on the CPU adapters, with few channels (not lowered).
const X = [2, 3, 9, 8], W = [6, 3, 3, 3];
const step = () => wt.tidy(() => { wt.conv2d(wt.ones(X), wt.ones(W), null, {padding: 1}); });
const convKey = '2x3x9x8>6x3x3/s1,1/p1,1';

let saved: string | undefined, dir = '';
t.before(() => {
  saved = process.env.XDG_CACHE_HOME;
  dir = mkdtempSync(join(tmpdir(), 'wgt-tune-'));
  process.env.XDG_CACHE_HOME = dir;
});
t.after(async () => {
  await I.clearMeasuredChoices({persist: false});
  if (saved === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = saved;
  rmSync(dir, {recursive: true, force: true});
});

/** A fake timer: `ms` by variant for conv.forward (others 1 ms), counting its calls; it never launches. */
const fakeTimer = (ms: Record<string, number>, calls: string[]): wt.internals.KernelTimer => async (c) => {
  calls.push(`${c.family}|${c.key}:${c.variant}`);
  return c.family === 'conv.forward' ? ms[c.variant] ?? 10 : 1;
};

/** The conv kernels a run of the step launched, by the profiler's names. */
async function convKernels(): Promise<string[]> {
  const prof = await wt.debug.profile(step, {steps: 1, warmup: 0});
  return prof.rows.map((r) => r.kernel).filter((k) => k.startsWith('conv2d/') || k.startsWith('conv_'));
}

t('the fastest fitting variant is chosen, installed, cached, and the launches take it', async () => {
  await I.clearMeasuredChoices({persist: false});
  const calls: string[] = [];
  const timings = await I.tuneKernels(step, {timer: fakeTimer({conv_fwd: 2, conv_fwd8: 3}, calls)});
  const conv = timings.find((x) => x.family === 'conv.forward' && x.key === convKey)!;
  assert.ok(conv, 'the convolution was recorded');
  assert.is(conv.key, convKey);
  assert.is(conv.choice, 'conv_fwd');
  assert.is(conv.cached, false);
  assert.not.equal(conv.table, 'conv_fwd', 'the table would have chosen another variant');
  // Two rounds over every variant that fits, the second without those over 4x the first's best (10 ms against 2).
  const fits = Object.keys(conv.ms);
  assert.ok(fits.includes('conv_fwd8') && fits.length >= 3, `variants measured: ${fits}`);
  const timed = calls.filter((c) => c.startsWith(`conv.forward|${convKey}:`)).map((c) => c.slice(c.indexOf(':') + 1));
  assert.equal(timed.slice(fits.length).sort(), ['conv_fwd', 'conv_fwd8'], `second round: ${timed.slice(fits.length)}`);
  assert.is(timed.length, fits.length + 2);
  // The launches take it now, and give the table's answer.
  const kernels = await convKernels();
  assert.ok(kernels.some((k) => /conv2d\/fwd4/.test(k)), `launched: ${kernels}`);
  const file = JSON.parse(readFileSync(join(dir, 'webgpu-transfer', 'kernels.json'), 'utf8'));
  const mine = Object.values(file.adapters as Record<string, Record<string, {choice: string}>>)[0];
  assert.is(mine[`conv.forward|${convKey}`].choice, 'conv_fwd');
});

t('a variant out of the running is not timed further: each timer call\'s bound, and the timers\' cut', async () => {
  await I.clearMeasuredChoices({persist: false});
  const bounds: [string, number | undefined][] = [];
  const ms: Record<string, number> = {conv_fwd: 2, conv_fwd8: 3};
  const timings = await I.tuneKernels(step, {force: true, persist: false, timer: async (c) => {
    if (c.family === 'conv.forward' && c.key === convKey) bounds.push([c.variant, c.outOfRunningMs]);
    return c.family === 'conv.forward' ? ms[c.variant] ?? 10 : 1;
  }});
  const conv = timings.find((x) => x.family === 'conv.forward' && x.key === convKey)!;
  // Each call's bound is 4x the best time so far (none for the first).
  const seen: number[] = [];
  for (const [variant, bound] of bounds) {
    assert.is(bound, seen.length ? 4 * Math.min(...seen) : undefined, `${variant}: ${bound} after ${seen}`);
    seen.push(conv.ms[variant]);
  }
  // The wall timer: a launch that takes 20 ms, against a bound of 5 ms, is launched twice (the first compiles) and
  // not timed further; under a bound it passes, and with none, it is timed in its batches (3 of one launch here).
  const busy = (calls: number[], ms: (i: number) => number) => () => {
    const t0 = performance.now(), wait = ms(calls.length);
    calls.push(wait);
    while (performance.now() - t0 < wait) { /* the launch's time */ }
  };
  const out: number[] = [];
  const cut = await I.wallTimer(3, 4)({family: 'f', key: 'k', variant: 'v', run: busy(out, () => 20),
    outOfRunningMs: 5});
  assert.is(out.length, 2);
  assert.ok(cut >= 20, `the second launch's time: ${cut}`);
  const timed: number[] = [];
  await I.wallTimer(3, 4)({family: 'f', key: 'k', variant: 'v', run: busy(timed, () => 20), outOfRunningMs: 100});
  assert.is(timed.length, 4);
  // A first launch past the bound by more than a compile could add (10 ms here) is out at once.
  const once: number[] = [];
  await I.wallTimer(3, 4, 10)({family: 'f', key: 'k', variant: 'v', run: busy(once, () => 20), outOfRunningMs: 5});
  assert.is(once.length, 1);
  // A slow first launch (a compile) and fast ones after: the second launch is within the bound, so it is timed.
  const compiled: number[] = [];
  const fast = await I.wallTimer(3, 4)({family: 'f', key: 'k', variant: 'v', run: busy(compiled, (i) => (i ? 2 : 30)),
    outOfRunningMs: 10});
  assert.ok(compiled.length > 4 && fast < 10, `${compiled.length} launches, ${fast} ms`);
  await I.loadMeasuredChoices();
});

t('replayTimer times a variant as a replay of its launches', async () => {
  const timed: number[] = [];
  const timings = await I.tuneKernels(step, {force: true, persist: false, timer: async (c) => {
    const ms = await I.replayTimer(3, 1)(c);
    timed.push(ms);
    return ms;
  }});
  assert.ok(timings.length > 0 && timed.length > 0);
  assert.ok(timed.every((ms) => Number.isFinite(ms) && ms > 0), `times: ${timed.join(', ')}`);
  await I.clearMeasuredChoices({persist: false});
  await I.loadMeasuredChoices();
});

t('a budget: the cases left when it runs out are not measured, and keep the tables\' picks', async () => {
  const calls: string[] = [];
  const slow: wt.internals.KernelTimer = async (c) => {
    calls.push(`${c.family}|${c.key}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return 1;
  };
  // Two convolutions: two cases to measure.
  const two = () => wt.tidy(() => {
    wt.conv2d(wt.ones(X), wt.ones(W), null, {padding: 1});
    wt.conv2d(wt.ones([2, 3, 7, 6]), wt.ones(W), null, {padding: 1});
  });
  const all = await I.tuneKernels(two, {force: true, persist: false, timer: fakeTimer({}, [])});
  assert.ok(all.length >= 2, `cases measured without a budget: ${all.length}`);
  const some = await I.tuneKernels(two, {force: true, persist: false, timer: slow, budgetMs: 1});
  assert.is(some.length, 1, 'the first case is measured, then the budget is spent');
  assert.ok(calls.every((c) => c === `${some[0].family}|${some[0].key}`), `timed: ${calls.join(', ')}`);
  await I.clearMeasuredChoices({persist: false});
  await I.loadMeasuredChoices();
});

t('a cached choice is reused without measuring, and read back at start-up', async () => {
  const calls: string[] = [];
  const timings = await I.tuneKernels(step, {timer: fakeTimer({}, calls)});
  assert.is(calls.length, 0, `measured again: ${calls.join(', ')}`);
  assert.ok(timings.every((x) => x.cached));
  assert.is(timings.find((x) => x.key === convKey)!.choice, 'conv_fwd');
  await I.clearMeasuredChoices({persist: false});
  assert.not.ok((await convKernels()).some((k) => /conv2d\/fwd4/.test(k)), 'forgotten in memory');
  assert.ok(await I.loadMeasuredChoices() >= 1);
  assert.ok((await convKernels()).some((k) => /conv2d\/fwd4/.test(k)), 'read back from the cache file');
});

t('force measures again; the table keeps a case unless beaten by 3%', async () => {
  const calls: string[] = [];
  const timings = await I.tuneKernels(step, {force: true, timer: async (c) => {
    calls.push(c.variant);
    // The table's pick takes 1 ms; every other variant 0.98 ms: within the 3% that noise may make.
    const table = I.KERNEL_FAMILIES.find((f) => f.name === c.family)!;
    return c.family === 'conv.forward' && c.variant !== timingsTable(table) ? 0.98 : 1;
  }});
  assert.ok(calls.length > 0);
  const conv = timings.find((x) => x.key === convKey)!;
  assert.is(conv.choice, conv.table);
});
/** The table's pick for the convolution above (the first row that applies). */
const timingsTable = (f: wt.internals.Family<string, never>) => {
  const cases = I.recordCases(step).filter((x) => x.family.name === f.name);
  return cases.length ? I.fittingVariants(f, cases[0].c as never).find((v) =>
    f.table.find((r) => r.variant === v)!.when(cases[0].c as never)) : undefined;
};

t('a choice measured when its family had other variants is not used, and is measured again', async () => {
  await I.tuneKernels(step, {force: true, timer: fakeTimer({conv_fwd: 1}, [])});
  const file = join(dir, 'webgpu-transfer', 'kernels.json');
  const cache = JSON.parse(readFileSync(file, 'utf8'));
  const mine = Object.values(cache.adapters as Record<string, Record<string, {table: string[]}>>)[0];
  assert.ok(mine[`conv.forward|${convKey}`].table.includes('conv_fwd'), 'each entry keeps its family\'s variants');
  // As if the implicit variant had been added since every convolution here was measured (pad-first's inner one too).
  for (const [id, e] of Object.entries(mine)) if (id.startsWith('conv.forward|')) e.table = e.table.filter((v) => v !== 'implicit');
  writeFileSync(file, JSON.stringify(cache));
  await I.clearMeasuredChoices({persist: false});
  await I.loadMeasuredChoices();
  assert.not.ok((await convKernels()).some((k) => /conv2d\/fwd4/.test(k)), 'the stale choices are not loaded');
  const calls: string[] = [];
  await I.tuneKernels(step, {timer: fakeTimer({conv_fwd: 1}, calls)});
  assert.ok(calls.some((c) => c.startsWith(`conv.forward|${convKey}:`)), 'measured again');
  assert.ok((await convKernels()).some((k) => /conv2d\/fwd4/.test(k)), 'and installed');
});

t('a forced preference wins over a measured choice; measured: false leaves the tables alone', async () => {
  await I.tuneKernels(step, {force: true, timer: fakeTimer({conv_fwd: 1}, [])});
  assert.ok((await convKernels()).some((k) => /conv2d\/fwd4/.test(k)));
  const forced = await I.withKernelPrefs({convForward: 'k8', convPadFirst: false}, convKernels);
  assert.ok(forced.some((k) => /conv2d\/fwd8/.test(k)), `launched: ${forced}`);
  const tables = await I.withKernelPrefs({measured: false}, convKernels);
  assert.not.ok(tables.some((k) => /conv2d\/fwd4/.test(k)), `launched: ${tables}`);
});

t('persist: false keeps the choices in memory only; clearing removes this adapter\'s entry', async () => {
  await I.clearMeasuredChoices();
  await I.tuneKernels(step, {persist: false, timer: fakeTimer({conv_fwd: 1}, [])});
  const file = join(dir, 'webgpu-transfer', 'kernels.json');
  const entries = existsSync(file) ? Object.keys(JSON.parse(readFileSync(file, 'utf8')).adapters) : [];
  assert.equal(entries, []);
  assert.ok((await convKernels()).some((k) => /conv2d\/fwd4/.test(k)), 'installed in memory');
});

t('a shape no one measured takes the nearest measured choice of its class, within 2x on every size', async () => {
  await I.tuneKernels(step, {force: true, persist: false, timer: fakeTimer({conv_fwd: 1}, [])});
  const launched = async (batch: number, width: number) => {
    const other = () => wt.tidy(() => { wt.conv2d(wt.ones([batch, 3, 9, width]), wt.ones(W), null, {padding: 1}); });
    const prof = await wt.debug.profile(other, {steps: 1, warmup: 0});
    return prof.rows.map((r) => r.kernel).filter((k) => k.startsWith('conv2d/') || k.startsWith('conv_'));
  };
  const near = await launched(3, 12);
  assert.ok(near.some((k) => /conv2d\/fwd4/.test(k)), `batch 3, width 12 (measured: 2, 8): ${near}`);
  const far = await launched(8, 8);
  assert.not.ok(far.some((k) => /conv2d\/fwd4/.test(k)), `batch 8 is 4x the measured 2, the table's: ${far}`);
});

t('a training loop measures its step once (tune), compiles it again, and the next loop reads the cache', async () => {
  const savedEnv = process.env.WGT_MEASURED;
  process.env.WGT_MEASURED = '1';
  try {
    await I.clearMeasuredChoices();
    const n = 32, r = I.rng(5);
    const set: wt.ImageSet = {images: Float32Array.from({length: n * 28 * 28}, () => r()),
      labels: Int32Array.from({length: n}, (_, i) => i % 10), n, channels: 1, height: 28, width: 28, classes: 10};
    const run = async () => {
      wt.manualSeed(0);
      const model = wt.leNet5();
      const strategy = new wt.Supervised({model, optimizer: new wt.Adam(model.parameters(), {lr: 1e-3}),
        loader: new wt.DataLoader(set, {batch: 8, seed: 1})});
      const events: Record<string, unknown>[] = [];
      // A fake timer: conv_fwd the fastest for every convolution, so the step compiles again with it.
      const timer: wt.internals.KernelTimer = async (c) => (c.family === 'conv.forward' && c.variant === 'conv_fwd' ? 1 : 2);
      const loop = new wt.TrainingLoop(strategy, {steps: 4, logEvery: 1, tune: {timer},
        sinks: [{event: (name, data) => { if (name === 'tune') events.push(data); }}]});
      const res = await loop.fit();
      loop.dispose();
      return {events, res};
    };
    const first = await run();
    assert.is(first.events.length, 1, 'measured once, after the first step');
    const e = first.events[0] as {shapes: number; measured: number; moved: number};
    assert.ok(e.shapes >= 5 && e.measured === e.shapes, JSON.stringify(e));
    assert.ok(e.moved >= 1, `the convolutions moved to conv_fwd, and the step compiled again: ${JSON.stringify(e)}`);
    assert.is(first.res.step, 4);
    assert.ok(Number.isFinite(first.res.lastLoss));
    const second = await run();
    assert.equal((second.events[0] as {measured: number}).measured, 0, 'the second loop finds every shape cached');
    // The same training either way: the measured kernels agree with the table's within rounding.
    assert.ok(Math.abs(second.res.lastLoss - first.res.lastLoss) < 1e-3, `${first.res.lastLoss} vs ${second.res.lastLoss}`);
  } finally {
    if (savedEnv === undefined) delete process.env.WGT_MEASURED; else process.env.WGT_MEASURED = savedEnv;
    await I.clearMeasuredChoices();
  }
});

t('forcing a variant for a case nothing launches is an error', () => {
  assert.throws(() => I.withForcedVariant('conv.forward', '1x1x1x1>1x1x1/s1,1/p0,0', 'conv_fwd8', () => 0),
    /nothing launched conv.forward 1x1x1x1>1x1x1\/s1,1\/p0,0 to run as conv_fwd8/);
});

t.run();
