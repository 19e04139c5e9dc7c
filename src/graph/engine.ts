// Process-wide engine state: the runtime, the tensor scopes that free intermediate buffers, and grad mode.
import {getDevice, type DeviceOptions, type AdapterReport} from '../gpu/device.js';
import {Runtime} from '../gpu/runtime.js';
import {Profiler, formatProfile} from '../gpu/profiler.js';
import {formatReport} from '../gpu/device.js';
import {SHADERS} from './shaders.js';
import {remapCompileError} from './kernel-def.js';
import type {Tensor} from './tensor.js';
import {checkKernelPrefs, DEFAULT_KERNEL_PREFS, installKernelPrefs, type KernelPrefs} from './kernels/prefs.js';

let runtime: Runtime | null = null;
let initPromise: Promise<Runtime> | null = null;
/** The kernel preferences init() seeded the runtime with (withKernelPrefs scopes change the current ones only). */
let seeded: Readonly<KernelPrefs> = DEFAULT_KERNEL_PREFS;
/** Counts devices: a tensor remembers the generation it was made in and refuses to run on another. */
let generation = 0;
export const deviceGeneration = (): number => generation;

/** Options of init(): the device's (adapter, toggles) and the runtime's kernel preferences. */
export interface InitOptions extends DeviceOptions {
  /**
   * Kernel variant choices for this runtime, over internals.DEFAULT_KERNEL_PREFS (internals.withKernelPrefs
   * changes them for a scope). Unknown fields and values a field does not take are errors.
   */
  kernelPrefs?: Partial<KernelPrefs>;
}

const showPref = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

/**
 * Acquires the device, checks every WGSL file compiles and seeds the runtime's kernel preferences. Safe to call
 * more than once with the same (or no) backend and kernelPrefs; asking for another backend, or other kernelPrefs,
 * while a device is up is an error: call shutdown() first.
 *
 * @example
 * ```ts
 * await wt.init();                          // WGT_BACKEND, else a hardware GPU, else the faster CPU adapter
 * console.log(wt.debug.formatReport(wt.adapter()));
 * // ... tensors, models, training ...
 * wt.shutdown();                            // frees the device; in Node the process can exit
 * ```
 */
export function init(opts: InitOptions = {}): Promise<Runtime> {
  const seed = opts.kernelPrefs ?? {};
  try { checkKernelPrefs(seed, 'init'); } catch (e) { return Promise.reject(e); }
  if (!initPromise) {
    initPromise = (async () => {
      const {kernelPrefs: _, ...deviceOpts} = opts;
      const ctx = await getDevice(deviceOpts);
      const rt = new Runtime(ctx);
      for (const src of Object.values(SHADERS)) await rt.pipelines.check(src).catch((e: Error) => { throw remapCompileError(e, src); });
      const env = typeof process !== 'undefined' ? process.env?.WGT_PROFILE : undefined;
      if (env && env !== '0') {
        // WGT_PROFILE=1 (or =serial / =timestamp): time every kernel of the process; shutdown() prints the table.
        const prof = new Profiler(rt.device, env === 'serial' || env === 'timestamp' ? env : undefined);
        await prof.calibrate();
        rt.profiler = prof;
      }
      runtime = rt;
      generation++;
      seeded = {...DEFAULT_KERNEL_PREFS, ...seed};
      installKernelPrefs(seeded);
      // The matmul register tile for this adapter: measured once per machine and adapter, then read from the
      // cache file (src/graph/kernels/matmul/autotune.ts); WGT_AUTOTUNE=0 keeps the hand-written kernel.
      if (typeof process === 'undefined' || process.env?.WGT_AUTOTUNE !== '0') await (await import('./kernels/matmul/autotune.js')).autotune();
      // The kernel choices `webgpu-transfer tune` measured on this adapter (kernels/tune.ts); WGT_MEASURED=0: the
      // tables alone, as the tests run.
      const tune = await import('./kernels/tune.js');
      if (tune.measuredOffByEnv()) await tune.clearMeasuredChoices({persist: false});
      else await tune.loadMeasuredChoices();
      return rt;
    })();
    initPromise.catch(() => { initPromise = null; });
    return initPromise;
  }
  const want = opts.backend;
  if ((!want || want === 'auto') && !opts.kernelPrefs) return initPromise;
  return initPromise.then((r) => {
    const have = r.ctx.report.backend;
    const gl = ['llvmpipe', 'opengles'];
    const same = have === want || (gl.includes(have) && gl.includes(want ?? ''));
    if (want && want !== 'auto' && !same) {
      throw new Error(`webgpu-transfer: init({backend: '${want}'}): the engine already runs on the ${have} adapter; call shutdown() before init() with another backend`);
    }
    for (const [k, v] of Object.entries(seed) as [keyof KernelPrefs, unknown][]) {
      const now = seeded[k];
      if (showPref(v) !== showPref(now)) {
        throw new Error(`webgpu-transfer: init({kernelPrefs: {${k}: ${showPref(v)}}}): the runtime was started with `
          + `${k} ${showPref(now)}; call shutdown() before init() with other kernelPrefs, or use `
          + 'internals.withKernelPrefs for a scope');
      }
    }
    return r;
  });
}

/** The runtime of the device init() acquired (pipelines, buffer pool, submits); throws before init(). */
export function rt(): Runtime {
  if (!runtime) throw new Error('webgpu-transfer: no device yet: call `await init()` before creating tensors');
  return runtime;
}

/** What the engine runs on: backend, vendor, CPU or GPU, and why it was chosen (debug.formatReport prints it). */
export function adapter(): AdapterReport { return rt().ctx.report; }

/** Releases the device (tests and CLIs call this so Node can exit). */
export function shutdown(): void {
  if (!runtime) return;
  runtime.flush();
  // Totals of what has completed (timestamp read-backs still in flight are missed; await profileReport() first).
  if (runtime.profiler) console.error(formatProfile(runtime.profiler.report(1, formatReport(runtime.ctx.report), NaN)));
  runtime.pool.trim();
  runtime.device.destroy();
  runtime = null;
  initPromise = null;
  installKernelPrefs(DEFAULT_KERNEL_PREFS); // the next init() seeds its own
  generation++; // every tensor of this device is now stale
  liveTensors = 0;
  delete (globalThis as Record<string, unknown>).__wgtGpu;
}

// ---- live tensors: counted per device, so leak checks see tensor objects as well as the bytes they pin ----
let liveTensors = 0;
export function tensorMade(): void { liveTensors++; }
export function tensorFreed(): void { liveTensors--; }

// ---- scopes: tensors created inside tidy() are disposed at its end unless returned or kept ----
const scopes: Set<Tensor>[] = [];

export function track(t: Tensor): void { scopes[scopes.length - 1]?.add(t); }
export function untrack(t: Tensor): void { for (const s of scopes) s.delete(t); }

export const isPromise = (v: unknown): boolean =>
  !!v && (typeof v === 'object' || typeof v === 'function') && typeof (v as {then?: unknown}).then === 'function';

/** What a tidy() body may return: tensors (kept, in an array or record), nothing, or a number. */
export type Returned = Tensor | Tensor[] | Record<string, Tensor> | void | number | undefined;
function collect(v: unknown, into: Set<Tensor>): void {
  if (!v || typeof v !== 'object') return;
  if ((v as Tensor).__isTensor) { into.add(v as Tensor); return; }
  if (Array.isArray(v)) { for (const x of v) collect(x, into); return; }
  for (const x of Object.values(v as object)) collect(x, into);
}

/** Runs fn; disposes every tensor it created except those it returns (which move to the enclosing scope). */
export function tidy<T extends Returned>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (isPromise(result)) {
    // Its tensors would be freed while the async function still runs; the body's own later failure is
    // superseded by this error, so it must not also surface as an unhandled rejection.
    (result as unknown as Promise<unknown>).catch(() => undefined);
    for (const t of scope) t.dispose();
    throw new Error('webgpu-transfer: tidy(fn): fn returned a Promise; tidy needs a synchronous function (it frees the tensors fn made when fn returns). Await outside: `const v = await x.data()`, then tidy(() => ...)');
  }
  const keep = new Set<Tensor>();
  collect(result, keep);
  for (const t of scope) {
    if (keep.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

/** Removes a tensor from every scope, so tidy() never disposes it. */
export function keep<T extends Tensor>(t: T): T { untrack(t); return t; }

// ---- grad mode ----
let gradEnabled = true;
/** False inside noGrad(): ops then record no graph. */
export function isGradEnabled(): boolean { return gradEnabled; }
/** Runs fn without recording gradients (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try { return fn(); } finally { gradEnabled = prev; }
}

/**
 * GPU memory held by the engine: bytes in live tensors, bytes pooled for reuse, buffers created so far, and the
 * tensors (views included) of this device not yet disposed.
 */
export function memory(): {liveBytes: number; pooledBytes: number; allocatedBytes: number; buffersCreated: number; liveTensors: number} {
  const p = rt().pool;
  return {
    liveBytes: p.inUseBytes, pooledBytes: p.allocatedBytes - p.inUseBytes, allocatedBytes: p.allocatedBytes,
    buffersCreated: p.created, liveTensors,
  };
}
