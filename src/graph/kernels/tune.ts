// Measured kernel selection: every case a model launches is recorded (select.ts: recordCases), each variant that
// fits it is timed on this adapter, and the fastest runs from then on. The choices are cached per adapter (Node: a
// file beside the matmul tiles'; the page: IndexedDB) and read back at init, so each shape is measured once.
import {rt} from '../engine.js';
import {adapterKey, readTuneCache, tuneCachePath, writeTuneCache} from '../../gpu/device.js';
import {benchOf, KERNEL_FAMILIES} from './benches.js';
import {onCpu} from './device.js';
import {kernelPrefs} from './prefs.js';
import {caseId, fittingVariants, fitsCase, measuredChoices, recordCases, select, withForcedVariant, type Family}
  from './select.js';

/**
 * Times one variant on one case, in ms: `run` launches it once (the default timer runs it and waits for the GPU).
 * `outOfRunningMs`, where set: a variant slower than this cannot be chosen, so a timer may stop at a launch that
 * took longer and return that launch's time.
 */
export type KernelTimer = (t: {family: string; key: string; variant: string; run: () => void;
  outOfRunningMs?: number}) => Promise<number>;

/** One case's outcome: the times of every variant that fits, the table's pick and the measured one. */
export interface KernelTiming {
  family: string; key: string; table: string; choice: string; ms: Record<string, number>; cached: boolean;
}

// Version 2: each choice keeps the variants its family had when it was measured (`table`): a family that has gained
// or lost a variant since measures again instead of keeping a choice made without it.
const VERSION = 2;
type Entry = {choice: string; ms: Record<string, number>; table: string[]};

/** The variants of a family's table, in order: what an entry's `table` must still equal to be used. */
const tableOf = (f: Family<string, never> | Family<string, unknown>): string[] => f.table.map((r) => r.variant);
const variantsOf = (family: string): string[] | null => {
  const f = KERNEL_FAMILIES.find((g) => g.name === family);
  return f ? tableOf(f) : null;
};
const current = (id: string, e: Partial<Entry> | undefined): e is Entry => typeof e?.choice === 'string' &&
  Array.isArray(e.table) && e.table.join() === variantsOf(id.slice(0, id.indexOf('|')))?.join();
type CacheFile = {version: number; adapters: Record<string, Record<string, Entry>>};

async function readAll(): Promise<CacheFile> {
  const j = await readTuneCache('kernels') as Partial<CacheFile> | null;
  return j?.version === VERSION && j.adapters && typeof j.adapters === 'object'
    ? {version: VERSION, adapters: j.adapters} : {version: VERSION, adapters: {}};
}

/** WGT_MEASURED=0 (as the tests run): the tables alone, whatever the cache holds. */
export const measuredOffByEnv = (): boolean => typeof process !== 'undefined' && process.env?.WGT_MEASURED === '0';

/**
 * Installs this adapter's cached choices (init() calls it): the launches of a measured shape take its fastest
 * variant from then on. Returns how many were read.
 */
export async function loadMeasuredChoices(): Promise<number> {
  measuredChoices.clear();
  const mine = (await readAll()).adapters[adapterKey(rt().ctx.report)] ?? {};
  for (const [id, e] of Object.entries(mine)) if (current(id, e)) measuredChoices.set(id, e.choice);
  return measuredChoices.size;
}

/** Milliseconds `fn` takes with the GPU work it queues. */
async function timedMs(fn: () => void): Promise<number> {
  const t0 = performance.now();
  fn();
  await rt().sync();
  return performance.now() - t0;
}
/** Launches a timed batch queues: enough to last about `batchMs` after one took `onceMs`, at most 64. */
const batchOf = (onceMs: number, batchMs: number): number =>
  Math.max(1, Math.min(64, Math.ceil(batchMs / Math.max(onceMs, 1e-3))));
const medianOf = (ts: number[]): number => ts.sort((x, y) => x - y)[Math.floor(ts.length / 2)];

/**
 * What compiling and warming can add to a first launch, with room to spare: in a ResNet-18 tune on llvmpipe the
 * first launches took at most 66 ms longer than the steady ones.
 */
const FIRST_LAUNCH_EXTRA_MS = 5000;

/**
 * The first launch, which compiles the pipelines and warms the caches: its time, or (where it passed the bound) a
 * second launch's, and whether that one too was out of the running (a slow compile is not a slow kernel). A first
 * launch past the bound by more than a compile adds is out at once (an implicit product on llvmpipe: minutes).
 */
async function firstLaunches(run: () => void, outOfRunningMs: number | undefined, extraMs: number)
  : Promise<{ms: number; out: boolean}> {
  const ms = await timedMs(run);
  if (outOfRunningMs === undefined || ms <= outOfRunningMs) return {ms, out: false};
  if (ms > outOfRunningMs + extraMs) return {ms, out: true};
  const again = await timedMs(run);
  return {ms: again, out: again > outOfRunningMs};
}

/**
 * Median of `runs` timed batches, after one launch that compiles the pipelines and warms the caches. A batch queues
 * enough launches to last about `batchMs` (at most 64), so a small kernel is not timed by the submit and the wait.
 * A variant out of the running (firstLaunches) is not timed further. `firstExtraMs`: what a compile may add to a first
 * launch.
 */
export const wallTimer = (runs = 3, batchMs = 4, firstExtraMs = FIRST_LAUNCH_EXTRA_MS): KernelTimer =>
  async ({run, outOfRunningMs}) => {
  const first = await firstLaunches(run, outOfRunningMs, firstExtraMs);
  if (first.out) return first.ms;
  const n = batchOf(first.ms, batchMs);
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) ts.push(await timedMs(() => { for (let j = 0; j < n; j++) run(); }) / n);
  return medianOf(ts);
};

/**
 * As wallTimer, but each batch is recorded once and replayed (as a compiled step runs), so only the kernels are timed
 * and not the JS that launches them: on a GPU that can take longer than a kernel, and would favour the variant with
 * the fewest dispatches over the fastest one.
 */
export const replayTimer = (runs = 3, batchMs = 4, firstExtraMs = FIRST_LAUNCH_EXTRA_MS): KernelTimer =>
  async ({run, outOfRunningMs}) => {
  const first = await firstLaunches(run, outOfRunningMs, firstExtraMs);   // the first launch compiles the pipelines
  if (first.out) return first.ms;
  const n = batchOf(first.ms, batchMs);
  const cap = rt().capture(() => { for (let i = 0; i < n; i++) run(); });
  try {
    await rt().sync();
    const ts: number[] = [];
    for (let i = 0; i < runs; i++) ts.push(await timedMs(() => cap.replay()) / n);
    return medianOf(ts);
  } finally {
    cap.dispose();
  }
};

/** The default timer: replays on GPUs; on CPU adapters, where launching is a small part, wall time as measured so. */
const defaultTimer = (): KernelTimer => (onCpu() ? wallTimer(3) : replayTimer(3));

/** Whether measured choices are in use: kernelPrefs.measured, and not WGT_MEASURED=0. */
export const measuring = (): boolean => kernelPrefs.measured && !measuredOffByEnv();

/** How tuneKernels measures and keeps its choices. */
export interface TuneOptions {
  /** Measure again what the cache already holds. */
  force?: boolean;
  /** false: keep the choices in memory only. */
  persist?: boolean;
  /**
   * How each variant is timed (default: replayTimer(3) on GPUs, wallTimer(3) on CPU adapters; the better of two
   * interleaved rounds).
   */
  timer?: KernelTimer;
  /** Called with each case as it is settled. */
  log?: (t: KernelTiming) => void;
  /**
   * Milliseconds of measuring after which the cases not yet measured keep their tables' picks (those cached are still
   * installed): a bound on a large model's first tune where time is short, as on a lent GPU.
   */
  budgetMs?: number;
}

/**
 * Records the kernel cases `step` launches (one synchronous call of it, e.g. a forward and backward) and measures
 * every variant that fits each case whose family can be measured and whose preferences are open; the fastest is
 * installed for this adapter and (unless persist: false) cached. The table's pick keeps a case unless another
 * variant beats it by 3%, so noise does not move a choice.
 */
export async function tuneKernels(step: () => void, opts: TuneOptions = {}): Promise<KernelTiming[]> {
  const cases = recordCases(step);
  await rt().sync();
  return tuneCases(cases, opts);
}

/** How many times the best time so far puts a variant out of the running. */
const OUT_OF_RUNNING = 4;

/** Measures recorded cases (tuneKernels): the part that needs no model. */
export async function tuneCases(cases: {family: Family<string, unknown>; c: unknown}[], opts: TuneOptions = {})
  : Promise<KernelTiming[]> {
  const timer = opts.timer ?? defaultTimer();
  const adapter = adapterKey(rt().ctx.report);
  const all = await readAll();
  const mine = all.adapters[adapter] ?? {};
  const out: KernelTiming[] = [];
  const started = performance.now();
  for (const {family: f, c} of cases) {
    const bench = benchOf(f.name);
    const variants = fittingVariants(f, c);
    if (!bench || !f.open() || variants.length < 2) continue;
    const key = f.key(c), id = caseId(f.name, key), table = select(f.table, c);
    const hit = mine[id];
    if (current(id, hit) && !opts.force && fitsCase(f, hit.choice, c)) {
      measuredChoices.set(id, hit.choice);
      const t = {family: f.name, key, table, choice: hit.choice, ms: hit.ms ?? {}, cached: true};
      out.push(t);
      opts.log?.(t);
      continue;
    }
    if (opts.budgetMs !== undefined && performance.now() - started > opts.budgetMs) continue;
    const made = bench(c);
    if (!made) continue;
    const ms: Record<string, number> = {};
    try {
      // Two interleaved rounds, each variant's better time kept: a burst of load elsewhere slows one of its times.
      // A variant over 4x the best so far is out of the running: no burst makes up that much, and the slow ones take
      // most of the time (a direct conv on a GPU, say). The first round's timer may stop at a launch past that bound;
      // the second skips it.
      // The table's pick first: it is often fast, so the bound is tight from the start.
      const order = variants.includes(table) ? [table, ...variants.filter((v) => v !== table)] : variants;
      for (let round = 0; round < 2; round++) {
        for (const variant of order) {
          const best = Math.min(...Object.values(ms));
          if (round > 0 && ms[variant] > OUT_OF_RUNNING * best) continue;
          const run = () => withForcedVariant(f.name, key, variant, () => made.run());
          const outOfRunningMs = Number.isFinite(best) ? OUT_OF_RUNNING * best : undefined;
          ms[variant] = Math.min(ms[variant] ?? Infinity, await timer({family: f.name, key, variant, run,
            outOfRunningMs}));
        }
      }
    } finally {
      made.dispose();
    }
    let choice = table;
    for (const v of variants) if (v !== choice && ms[v] < ms[choice] * (choice === table ? 0.97 : 1)) choice = v;
    measuredChoices.set(id, choice);
    mine[id] = {choice, ms, table: tableOf(f)};
    const t = {family: f.name, key, table, choice, ms, cached: false};
    out.push(t);
    opts.log?.(t);
  }
  all.adapters[adapter] = mine;
  if (opts.persist !== false && out.some((t) => !t.cached)) await writeTuneCache(all, 'kernels');
  return out;
}

/** Forgets this adapter's measured choices, in memory and (unless persist: false) in the cache. */
export async function clearMeasuredChoices(opts: {persist?: boolean} = {}): Promise<void> {
  measuredChoices.clear();
  if (opts.persist === false) return;
  const all = await readAll();
  delete all.adapters[adapterKey(rt().ctx.report)];
  await writeTuneCache(all, 'kernels');
}

/** Where the measured choices are kept on this platform. */
export const measuredCachePath = (): Promise<string> => tuneCachePath('kernels');
