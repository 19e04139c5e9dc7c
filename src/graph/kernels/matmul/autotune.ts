// Per-adapter kernel choices from measurement: times the generated matmul tiles against the hand-written
// matmul_vec4 on this device and keeps the fastest (never slower than the fixed choice, which is a candidate).
// The pick is cached in memory and (Node) in $XDG_CACHE_HOME/webgpu-transfer/autotune.json, keyed by adapter.
import {rt} from '../../engine.js';
import {tuned, withKernelPrefs} from '../prefs.js';
import {matmulK, type MatView} from './index.js';
import {MATMUL_CANDIDATES, tileName, type MatmulTile} from './register-tile.js';
import {empty, type Tensor} from '../../tensor.js';
import {adapterKey, formatReport, readTuneCache, writeTuneCache} from '../../../gpu/device.js';

// Version 2: two picks, one measured on a square product and one on a 64-row one (a batch-64 linear layer).
// Version 3: the tiles' k steps are chained per accumulator (register-tile.ts), which changed their ranking.
// Version 4: each candidate is timed as itself (version 3 timed the panels or workgroup tiles for all of them).
const VERSION = 4;
/** Candidates that go on from the first, one-product round to the two timed rounds. */
const FINALISTS = 4;

/**
 * Milliseconds per candidate ('fixed' is the hand-written matmul_vec4) and the fastest, on one shape. The fixed kernel
 * and the finalists: each the better of two rounds' medians; the rest: one product, or the slowest finalist's time
 * where that is more (they lost to it).
 */
export interface TunePick { shape: [number, number, number]; choice: string; ms: Record<string, number> }
/**
 * `large` serves products of at least `largeFrom` rows (A's rows, M), `small` the rest: tiles that cover many
 * rows per workgroup win on tall products and waste most of their lanes on short ones.
 */
export interface TuneResult {
  adapter: string; large: TunePick; small: TunePick; largeFrom: number; cached: boolean;
  /** The large pick's choice and times (as before there were two picks). */
  choice: string; ms: Record<string, number>;
}
type CacheEntry = {large: TunePick; small: TunePick};

async function readCache(): Promise<Record<string, CacheEntry>> {
  const j = await readTuneCache() as {version?: number; adapters?: Record<string, CacheEntry>} | null;
  return j?.version === VERSION ? j.adapters ?? {} : {};
}

/**
 * The preferences a candidate is timed under: matmul 'vec4', so that the candidate itself runs and not a variant the
 * table puts before the tiles (the panels on llvmpipe, the workgroup tiles on GPUs), which every candidate would
 * otherwise time alike.
 */
export const candidatePrefs = (tile: 'fixed' | MatmulTile) => ({matmul: 'vec4' as const, matmulTile: tile});

/** Times one candidate ('fixed' or a tile's name) on one shape: the median of `runs` products. Tests pass a fake. */
export type MatmulTimer = (c: {candidate: string; shape: [number, number, number]; runs: number}) => Promise<number>;

/**
 * Picks the matmul register tiles for the current device. Uses the cached picks unless `force`; measures
 * otherwise (9 s on llvmpipe, 20-32 s on SwiftShader, on 2 cores): the candidates on an n x n x n product and on
 * a 64 x n x n one (n = `size`: 512 on CPU adapters). `persist: false` keeps the picks out of the cache file;
 * `timer` replaces the timing of products (a fake in tests). Set WGT_AUTOTUNE=0 to keep the hand-written kernel.
 */
export async function autotune(opts: {force?: boolean; size?: number; persist?: boolean; timer?: MatmulTimer} = {})
  : Promise<TuneResult> {
  const r = rt();
  const report = r.ctx.report;
  const key = adapterKey(report);
  const byName = new Map(MATMUL_CANDIDATES.map((t) => [tileName(t), t]));
  const all = await readCache();
  const hit = all[key];
  const known = (c: string) => c === 'fixed' || byName.has(c);
  const tileOf = (c: string) => (c === 'fixed' ? null : byName.get(c)!);
  const adopt = (e: CacheEntry) => {
    tuned.matmul = tileOf(e.large.choice);
    tuned.largeMs = e.large.ms;
    tuned.small = tileOf(e.small.choice);
    // Between the two measured row counts, the large pick from half the square's size.
    tuned.largeFrom = Math.max(e.small.shape[0] + 1, Math.floor(e.large.shape[0] / 2));
    tuned.device = r.device;
    return tuned.largeFrom;
  };
  if (hit && !opts.force && known(hit.large?.choice) && known(hit.small?.choice)) {
    return {adapter: formatReport(report), ...hit, largeFrom: adopt(hit), cached: true, choice: hit.large.choice,
      ms: hit.large.ms};
  }
  const n = opts.size ?? (report.isCpu ? 512 : 2048);
  const measure = async (M: number): Promise<TunePick> => {
    const a = empty([M, n]), b = empty([n, n]);
    const av: MatView = {t: a, batch: 1, rows: M, cols: n, trans: false, batchStride: 0};
    const bv: MatView = {t: b, batch: 1, rows: n, cols: n, trans: false, batchStride: 0};
    const ms: Record<string, number> = {};
    // The median of `runs` timed products, after one untimed product that compiles the pipeline and warms caches.
    const wall = (tile: 'fixed' | MatmulTile, runs: number) => withKernelPrefs(candidatePrefs(tile), async () => {
      let out: Tensor = matmulK(av, bv);
      await r.sync();
      out.dispose();
      const ts: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        out = matmulK(av, bv);
        await r.sync();
        ts.push(performance.now() - t0);
        out.dispose();
      }
      return ts.sort((x, y) => x - y)[Math.floor(runs / 2)];
    });
    const time = (name: string, tile: 'fixed' | MatmulTile, runs: number): Promise<number> =>
      (opts.timer ? opts.timer({candidate: name, shape: [M, n, n], runs}) : wall(tile, runs));
    const contenders = [['fixed', 'fixed'] as const, ...MATMUL_CANDIDATES.map((c) => [tileName(c), c] as const)];
    const finalMs: Record<string, number> = {};
    try {
      // One product each sorts the field; the fixed kernel and the FINALISTS fastest go on (half the time of timing
      // every candidate fully, which a first page visit on a CPU adapter waits for).
      for (const [name, t] of contenders) ms[name] = await time(name, t, 1);
      const ranked = contenders.slice(1).sort(([x], [y]) => ms[x] - ms[y]).slice(0, FINALISTS);
      const finals = [contenders[0], ...ranked];
      // Two interleaved rounds, each finalist's better median kept: a burst of load elsewhere on the machine then
      // slows one measurement of a candidate, not its only one.
      for (let round = 0; round < 2; round++) {
        for (const [name, t] of finals) finalMs[name] = Math.min(finalMs[name] ?? Infinity, await time(name, t, 3));
      }
      // shapedTile compares the tiles' times, so none eliminated may rank above a finalist it lost to: an eliminated
      // tile's one product counts as at least the slowest finalist tile's time.
      const slowest = Math.max(...ranked.map(([name]) => finalMs[name]));
      for (const [name] of contenders.slice(1)) if (!(name in finalMs)) ms[name] = Math.max(ms[name], slowest);
      Object.assign(ms, finalMs);
    } finally {
      a.dispose(); b.dispose();
    }
    // The fixed kernel keeps the job unless a finalist beats it by 3% (noise on a busy machine).
    let choice = 'fixed';
    for (const [name, v] of Object.entries(finalMs)) {
      if (name !== 'fixed' && v < ms[choice] * (choice === 'fixed' ? 0.97 : 1)) choice = name;
    }
    return {shape: [M, n, n], choice, ms};
  };
  const entry: CacheEntry = {large: await measure(n), small: await measure(Math.min(64, n))};
  all[key] = entry;
  if (opts.persist !== false) await writeTuneCache({version: VERSION, adapters: all});
  return {adapter: formatReport(report), ...entry, largeFrom: adopt(entry), cached: false, choice: entry.large.choice,
    ms: entry.large.ms};
}
