// What every bench process shares: the median timer, and TF.js 4.22's WebGPU backend started on a fresh Dawn
// instance of the same adapter our engine ran on (after our shutdown), so both sides of a row see one adapter.
import * as wt from '../src/index.js';
import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';

/** The native PyTorch peer: Debian's python3-torch for /usr/bin/python3 (WGT_BENCH_PYTHON names another; the pyenv
 * python3 on PATH has no torch) running bench/torch_lenet.py. */
export const TORCH_PYTHON = process.env.WGT_BENCH_PYTHON ?? '/usr/bin/python3';
export const TORCH_LENET = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'torch_lenet.py');

/** Why the peer failed, from its stderr: a missing torch names the package that provides it. */
export const torchFailure = (stderr: string, what: string): string => (/No module named 'torch'/.test(stderr)
  ? `no torch for ${TORCH_PYTHON} (apt-get install python3-torch)` : `${what}: ${stderr.trim().split('\n').pop()}`);

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** How the last time() call measured: calls warmed up, timed, in how many rounds, and whether the budget cut it. */
export const lastTiming = {warmup: 0, steps: 0, rounds: 0, cut: false};
/** Seconds one time() call may spend timing (after warm-up); a slow peer gets fewer steps, and says so. */
const BUDGET_S = Number(process.env.WGT_BENCH_BUDGET_S ?? 120);

/**
 * Steady-state seconds per call of f: warm-up (at least `warm` calls, then until three calls in a row agree within
 * 10%, at most 20 or 60 s, so pipelines, autotuning and clocks have settled), then 3 rounds of max(n, 7) timed
 * calls (at least 21): the median of the rounds' medians. A call so slow that the rounds would pass the budget
 * (WGT_BENCH_BUDGET_S, 120 s) takes fewer steps; lastTiming records what ran.
 */
export async function time(n: number, warm: number, f: () => Promise<unknown>): Promise<number> {
  const once = async () => { const t = performance.now(); await f(); return (performance.now() - t) / 1000; };
  const recent: number[] = [];
  const warmStart = performance.now();
  let warmup = 0;
  const settled = () => recent.length >= 3 && Math.max(...recent.slice(-3)) <= 1.1 * Math.min(...recent.slice(-3));
  while (warmup < Math.max(1, warm) || (!settled() && warmup < 20 && performance.now() - warmStart < 60_000)) {
    recent.push(await once());
    warmup++;
  }
  const perCall = median(recent.slice(-3));
  const rounds = 3, perRound = Math.max(n, 7);
  const fits = Math.max(1, Math.floor(BUDGET_S / Math.max(perCall, 1e-6) / rounds));
  const steps = Math.min(perRound, fits);
  const medians: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const ts: number[] = [];
    for (let i = 0; i < steps; i++) ts.push(await once());
    medians.push(median(ts));
  }
  Object.assign(lastTiming, {warmup, steps: steps * rounds, rounds, cut: steps < perRound});
  return median(medians);
}

/**
 * Whether our steps run on this adapter's measured kernel choices, as `webgpu-transfer tune` leaves them (the default;
 * a choice already cached is reused, not measured again), or on the selection tables alone (WGT_BENCH_TUNE=0 or
 * WGT_MEASURED=0).
 */
export const BENCH_TUNE = process.env.WGT_BENCH_TUNE !== '0' && process.env.WGT_MEASURED !== '0';
/** What measuring a step's kernels found: shapes with a choice to make, how many were timed now, how many moved. */
export interface TuneNote { shapes: number; measured: number; moved: number }

/**
 * Builds a step on measured kernel choices (BENCH_TUNE): the cases its build launches are timed, or read from the
 * cache, and the step is built again where a new measurement moved one off the tables. Part of the warm-up: a user
 * runs `webgpu-transfer tune` once per adapter, and every later process reads the choices back.
 */
export async function buildMeasured<T>(build: () => T, dispose: (t: T) => void, note?: (n: TuneNote) => void)
  : Promise<T> {
  if (!BENCH_TUNE) return build();
  let built: T | undefined;
  const cases = wt.internals.recordCases(() => { built = build(); });
  await wt.internals.rt().sync();
  const timings = await wt.internals.tuneCases(cases);
  const measured = timings.filter((t) => !t.cached);
  note?.({shapes: timings.length, measured: measured.length, moved: timings.filter((t) => t.choice !== t.table).length});
  // Cached choices were already in force when it was built: only a case measured now can have moved since.
  if (!measured.some((t) => t.choice !== t.table)) return built as T;
  dispose(built as T);
  return build();
}

/** Frees a compiled step and its output (buildMeasured's `dispose` for wt.compile's steps). */
export const disposeStep = (s: {output: {dispose(): void}; dispose(): void}): void => {
  s.output.dispose();
  s.dispose();
};

/** TF.js on `backend` (llvmpipe and opengles through Dawn's GLES backend in compatibility mode, else Vulkan). */
export async function startTfWebgpu(backend: wt.BackendChoice): Promise<typeof import('@tensorflow/tfjs')> {
  const {create, globals} = await import('webgpu');
  Object.assign(globalThis, globals);
  const gles = backend === 'llvmpipe' || backend === 'opengles';
  const gpu = create([gles ? 'backend=opengles' : 'backend=vulkan']);
  if (gles) {
    const orig = gpu.requestAdapter.bind(gpu);
    (gpu as {requestAdapter: unknown}).requestAdapter = (o: GPURequestAdapterOptions = {}) =>
      orig({...o, featureLevel: 'compatibility'} as GPURequestAdapterOptions);
  }
  Object.defineProperty(globalThis, 'navigator', {value: {gpu, userAgent: 'node'}, configurable: true});
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!await tf.setBackend('webgpu')) throw new Error(`TF.js could not start its WebGPU backend on ${backend}`);
  await tf.ready();
  return tf;
}

/**
 * The PyTorch peer's environment: OpenBLAS on one thread unless OPENBLAS_NUM_THREADS says otherwise, as PyTorch runs
 * best here (its own threads and OpenBLAS's together oversubscribe the cores; bench/torch_lenet.py).
 */
export const torchEnv = (): NodeJS.ProcessEnv => ({OPENBLAS_NUM_THREADS: '1', ...process.env});

/** How the in-turn peer ran: its thread count and what each count measured in its warm-up (pairedWithTorch). */
export const torchThreads = (p: Record<string, unknown>): string => {
  const tried = Object.entries((p.tried ?? {}) as Record<string, number>)
    .map(([n, s]) => `${n}: ${(s * 1000).toFixed(2)} ms`).join(', ');
  const blas = p.blas_threads ? `, OpenBLAS on ${p.blas_threads}` : '';
  return `${p.threads} thread${p.threads === 1 ? '' : 's'}${blas}${tried ? `; the fastest of ${tried}` : ''}`;
};

/**
 * Our LeNet step and native PyTorch's (bench/torch_lenet.py serve, on its fastest thread count), `rounds` rounds
 * of `perRound` steps each, in turn. On these shared 2-core machines the speed drifts by 2x within a minute, so
 * timing the two minutes apart (as the separate PyTorch runs in bench.ts do) can show either side ahead; in turn,
 * drift hits both alike.
 * Returns the medians of the per-round medians and of the per-round ratios (ours / PyTorch's), or why it skipped.
 */
export async function pairedWithTorch(rounds: number, perRound: number, ourStep: () => Promise<unknown>): Promise<Record<string, unknown>> {
  if (!existsSync(TORCH_PYTHON)) return {skipped: `${TORCH_PYTHON} not found`};
  // PyTorch at its best: the thread count its own warm-up measured fastest (torch_lenet.py best), unless
  // WGT_BENCH_TORCH_THREADS names one.
  const threadsArg = process.env.WGT_BENCH_TORCH_THREADS ?? 'best';
  const child = spawn(TORCH_PYTHON, [TORCH_LENET, threadsArg, 'serve'],
    {stdio: ['pipe', 'pipe', 'pipe'], env: torchEnv()});
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.on('error', (e) => { stderr += String(e); });
  child.stdin.on('error', () => {});   // a child that died: the next line read says why
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const lines = createInterface({input: child.stdout})[Symbol.asyncIterator]();
  // Each line within 2 minutes (torch's import and warm-up take seconds), else the peer is given up, not waited on.
  const nextLine = async (): Promise<string> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), 120_000); });
    const r = await Promise.race([lines.next(), late]).finally(() => clearTimeout(timer));
    if (r === 'late') throw new Error('PyTorch gave no answer within 2 minutes');
    if (r.done) {
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);   // stderr complete
      throw new Error(torchFailure(stderr, 'PyTorch exited'));
    }
    return r.value;
  };
  try {
    const ready = /^ready (\{.*\})$/.exec(await nextLine());
    if (!ready) throw new Error('bench/torch_lenet.py serve: no "ready {...}" line');
    const {blas, threads, blas_threads, tried} = JSON.parse(ready[1]) as
      {blas: string; threads: number; blas_threads: string | null; tried: Record<string, number>};
    const ours: number[] = [], torch: number[] = [], ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const ts: number[] = [];
      for (let i = 0; i < perRound; i++) { const t = performance.now(); await ourStep(); ts.push((performance.now() - t) / 1000); }
      child.stdin.write(`${perRound}\n`);
      const theirs = JSON.parse(await nextLine()) as number[];
      ours.push(median(ts)); torch.push(median(theirs)); ratios.push(median(ts) / median(theirs));
    }
    return {rounds, per_round: perRound, blas, threads, blas_threads, tried, ours_s: median(ours),
      torch_s: median(torch), ratio: median(ratios), ratio_min: Math.min(...ratios), ratio_max: Math.max(...ratios)};
  } catch (e) {
    return {skipped: (e as Error).message};
  } finally {
    child.stdin.end();
    child.kill();
  }
}
