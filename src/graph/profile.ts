// wt.profile(): per-kernel times of a training step (or any work), by timestamp queries where the adapter has
// them, else by running each dispatch alone (see src/gpu/profiler.ts). WGT_PROFILE=1 profiles the whole
// process from init(); wt.profileReport() returns what has been collected and shutdown() prints it.
import {Profiler, formatProfile, type ProfileMethod, type ProfileResult} from '../gpu/profiler.js';
import {formatReport} from '../gpu/device.js';
import {rt} from './engine.js';

export {formatProfile, type ProfileResult, type ProfileRow, type ProfileMethod} from '../gpu/profiler.js';

/** Options of profile(): steps timed, warm-up runs, and the timing method. */
export interface ProfileOptions {
  /** Steps profiled (the table is per step); default 5. */
  steps?: number;
  /** Unprofiled runs first (pipelines compile, pools fill); default 1. */
  warmup?: number;
  /** Force a method; 'timestamp' needs the adapter's timestamp-query feature. Default: timestamp if available. */
  method?: ProfileMethod;
}

/**
 * Runs `step` warmup + steps times, timing every kernel of the profiled steps. `step` may return a promise
 * (e.g. `() => compiled.run(inputs).item()`); the work it submits is what is measured.
 */
export async function profile(step: () => unknown, opts: ProfileOptions = {}): Promise<ProfileResult> {
  const r = rt();
  const steps = opts.steps ?? 5;
  if (!(steps >= 1)) throw new Error(`webgpu-transfer: profile: steps must be >= 1, got ${steps}`);
  if (r.profiler) throw new Error('webgpu-transfer: profile: a profiler is already active (nested profile(), or WGT_PROFILE=1)');
  if (opts.method === 'timestamp' && !r.device.features.has('timestamp-query')) {
    throw new Error(`webgpu-transfer: profile: method 'timestamp' needs the timestamp-query feature, which the ${r.ctx.report.backend} adapter lacks (use 'serial')`);
  }
  for (let i = 0; i < (opts.warmup ?? 1); i++) await step();
  await r.sync();
  const prof = new Profiler(r.device, opts.method);
  await prof.calibrate();
  r.profiler = prof;
  const t = performance.now();
  try {
    for (let i = 0; i < steps; i++) await step();
    await r.sync();
  } finally {
    r.profiler = null;
  }
  const wall = (performance.now() - t) / steps;
  await prof.drained();
  return prof.report(steps, formatReport(r.ctx.report), wall);
}

/** Starts process-wide profiling (init() does this under WGT_PROFILE=1). */
export async function startProfiling(method?: ProfileMethod): Promise<void> {
  const r = rt();
  if (r.profiler) return;
  const prof = new Profiler(r.device, method);
  await prof.calibrate();
  r.profiler = prof;
}

/** What the process-wide profiler has collected so far (totals, as one "step"), or null when none runs. */
export async function profileReport(): Promise<ProfileResult | null> {
  const r = rt();
  if (!r.profiler) return null;
  await r.sync();
  await r.profiler.drained();
  return r.profiler.report(1, formatReport(r.ctx.report), NaN);
}
