// Per-adapter kernel choices from measurement: times the generated matmul tiles against the hand-written
// matmul_vec4 on this device and keeps the fastest (never slower than the fixed choice, which is a candidate).
// The pick is cached in memory and (Node) in $XDG_CACHE_HOME/webgpu-transfer/autotune.json, keyed by adapter.
import {rt} from './engine.js';
import {kernelPrefs, matmulK, tuned, type MatView} from './kernels.js';
import {MATMUL_CANDIDATES, tileName, type MatmulTile} from './matmul-gen.js';
import {empty, type Tensor} from './tensor.js';
import {formatReport, readTuneCache, writeTuneCache} from '../gpu/device.js';

const VERSION = 1;

export interface TuneResult { adapter: string; choice: string; ms: Record<string, number>; cached: boolean }

async function readCache(): Promise<Record<string, {choice: string; ms: Record<string, number>}>> {
  const j = await readTuneCache() as {version?: number; adapters?: Record<string, {choice: string; ms: Record<string, number>}>} | null;
  return j?.version === VERSION ? j.adapters ?? {} : {};
}

/**
 * Picks the matmul register tile for the current device. Uses the cached pick unless `force`; measures
 * otherwise (about a second on llvmpipe, a few on SwiftShader). `persist: false` keeps the pick out of the cache
 * file. Set WGT_AUTOTUNE=0 to keep the hand-written kernel.
 */
export async function autotune(opts: {force?: boolean; size?: number; persist?: boolean} = {}): Promise<TuneResult> {
  const r = rt();
  const report = r.ctx.report;
  const key = `${report.backend}|${report.vendor}|${report.architecture}|${report.description}|${report.featureLevel}|${report.toggles.join(',')}`;
  const byName = new Map(MATMUL_CANDIDATES.map((t) => [tileName(t), t]));
  const all = await readCache();
  const hit = all[key];
  if (hit && !opts.force && (hit.choice === 'fixed' || byName.has(hit.choice))) {
    tuned.matmul = hit.choice === 'fixed' ? null : byName.get(hit.choice)!;
    tuned.device = r.device;
    return {adapter: formatReport(report), choice: hit.choice, ms: hit.ms, cached: true};
  }
  const n = opts.size ?? (report.isCpu ? 512 : 2048);
  const saved = kernelPrefs.matmulTile;
  const a = empty([n, n]), b = empty([n, n]);
  const av: MatView = {t: a, batch: 1, rows: n, cols: n, trans: false, batchStride: 0};
  const bv: MatView = {t: b, batch: 1, rows: n, cols: n, trans: false, batchStride: 0};
  const ms: Record<string, number> = {};
  const time = async (tile: 'fixed' | MatmulTile): Promise<number> => {
    kernelPrefs.matmulTile = tile;
    let out: Tensor = matmulK(av, bv);
    await r.sync(); // compiles the pipeline and warms the caches
    out.dispose();
    const ts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      out = matmulK(av, bv);
      await r.sync();
      ts.push(performance.now() - t0);
      out.dispose();
    }
    return ts.sort((x, y) => x - y)[1];
  };
  try {
    ms.fixed = await time('fixed');
    for (const t of MATMUL_CANDIDATES) ms[tileName(t)] = await time(t);
  } finally {
    kernelPrefs.matmulTile = saved;
    a.dispose(); b.dispose();
  }
  // The fixed kernel keeps the job unless a tile beats it by 3% (noise on a busy machine).
  let choice = 'fixed';
  for (const [name, v] of Object.entries(ms)) if (name !== 'fixed' && v < ms[choice] * (choice === 'fixed' ? 0.97 : 1)) choice = name;
  tuned.matmul = choice === 'fixed' ? null : byName.get(choice)!;
  tuned.device = r.device;
  all[key] = {choice, ms};
  if (opts.persist !== false) await writeTuneCache({version: VERSION, adapters: all});
  return {adapter: formatReport(report), choice, ms, cached: false};
}
