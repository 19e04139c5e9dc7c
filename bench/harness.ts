// What every bench process shares: the median timer, and TF.js 4.22's WebGPU backend started on a fresh Dawn
// instance of the same adapter our engine ran on (after our shutdown), so both sides of a row see one adapter.
import type * as wt from '../src/index.js';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

/** The native PyTorch peer: Debian's python3-torch for /usr/bin/python3 (WGT_BENCH_PYTHON names another; the pyenv
 * python3 on PATH has no torch) running bench/torch_lenet.py. */
export const TORCH_PYTHON = process.env.WGT_BENCH_PYTHON ?? '/usr/bin/python3';
export const TORCH_LENET = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'torch_lenet.py');

/** Why the peer failed, from its stderr: a missing torch names the package that provides it. */
export const torchFailure = (stderr: string, what: string): string => (/No module named 'torch'/.test(stderr)
  ? `no torch for ${TORCH_PYTHON} (apt-get install python3-torch)` : `${what}: ${stderr.trim().split('\n').pop()}`);

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median seconds of n runs of f after `warm` untimed ones. */
export async function time(n: number, warm: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < warm; i++) await f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await f(); ts.push(performance.now() - t); }
  return median(ts) / 1000;
}

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
