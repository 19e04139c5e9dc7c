// The bench's DANN rows alone (ours and TF.js on the same adapter), as bench/worker.ts runs them:
//   node dist/bench/dann-run.js <adapter>
import * as wt from '../src/index.js';
import {oursDannStep, tfDannStep} from './dann.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(n: number, warm: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < warm; i++) await f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await f(); ts.push(performance.now() - t); }
  return median(ts) / 1000;
}
await wt.init({backend});
const ours = await oursDannStep(32, 5, 2, time);
wt.shutdown();
const {create, globals} = await import('webgpu');
Object.assign(globalThis, globals);
const gles = backend === 'llvmpipe' || backend === 'opengles';
const gpu = create([gles ? 'backend=opengles' : 'backend=vulkan']);
if (gles) {
  const orig = gpu.requestAdapter.bind(gpu);
  (gpu as {requestAdapter: unknown}).requestAdapter = (o: GPURequestAdapterOptions = {}) => orig({...o, featureLevel: 'compatibility'} as GPURequestAdapterOptions);
}
Object.defineProperty(globalThis, 'navigator', {value: {gpu, userAgent: 'node'}, configurable: true});
const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-webgpu');
if (!await tf.setBackend('webgpu')) throw new Error(`TF.js could not start its WebGPU backend on ${backend}`);
await tf.ready();
const peer = await tfDannStep(tf, 32, 3, 1, time);
console.log(`| ${backend} | DANN train step, 32 + 32 images (s) | ${ours.toFixed(3)} | ${peer.toFixed(3)} | ${(peer / ours).toFixed(2)}x faster |`);
process.exit(0);
