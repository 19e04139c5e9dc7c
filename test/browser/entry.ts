// Browser side of the kernel suite: the same checks and float64 references as in Node, run on
// navigator.gpu. Bundled to dist/browser/kernel-tests.js; test/browser.test.ts drives it in Chromium.
import * as wt from '../../src/index.js';
import {checkOp} from '../lib/check.js';
import * as R from '../lib/reference.js';
import type {OpCase} from '../lib/check.js';
import {NAN_CASES, sameValues} from '../lib/nan-cases.js';

const cases: OpCase[] = [
  {name: 'add broadcast [5,9]+[9]', inputs: [R.randomNd([5, 9], 1), R.randomNd([9], 2)], gpu: ([a, b]) => wt.add(a, b), ref: ([a, b]) => R.zip([a, b], (x, y) => x + y)},
  {name: 'sigmoid [3,7,13]', inputs: [R.randomNd([3, 7, 13], 3, -2, 2)], gpu: ([a]) => wt.sigmoid(a), ref: ([a]) => R.map(a, (v) => 1 / (1 + Math.exp(-v)))},
  {name: 'sum axes [0,2] of [3,5,7]', inputs: [R.randomNd([3, 5, 7], 4)], gpu: ([a]) => wt.sum(a, [0, 2]), ref: ([a]) => R.sum(a, [0, 2])},
  {name: 'matmul [13,17]@[17,19]', inputs: [R.randomNd([13, 17], 5), R.randomNd([17, 19], 6)], gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b), atol: 1e-4, gatol: 5e-4},
  {name: 'matmul [33,64]@[64,12]', inputs: [R.randomNd([33, 64], 7), R.randomNd([64, 12], 8)], gpu: ([a, b]) => wt.matmul(a, b), ref: ([a, b]) => R.matmul(a, b), atol: 2e-4, gatol: 2e-3, sample: 40},
  {name: 'conv2d stride 2 pad 1', inputs: [R.randomNd([2, 2, 9, 8], 9), R.randomNd([6, 2, 3, 3], 10), R.randomNd([6], 11)], gpu: ([x, w, b]) => wt.conv2d(x, w, b, {stride: 2, padding: 1}), ref: ([x, w, b]) => R.conv2d(x, w, b, [2, 2], [1, 1]), atol: 1e-4, gatol: 1e-3, sample: 40},
  {name: 'maxPool2d 3x3 stride 2 pad 1', inputs: [R.distinct([2, 3, 7, 9], 12)], gpu: ([x]) => wt.maxPool2d(x, 3, {stride: 2, padding: 1}), ref: ([x]) => R.pool2d(x, [3, 3], [2, 2], [1, 1], 'max')},
  {name: 'logSoftmax [5,7]', inputs: [R.randomNd([5, 7], 13, -3, 3)], gpu: ([x]) => wt.logSoftmax(x, 1), ref: ([x]) => R.softmax(x, 1, true)},
  {name: 'crossEntropy [7,3]', inputs: [R.randomNd([7, 3], 14, -4, 4), R.nd([7], [0, 1, 2, 0, 1, 2, 0])], intInputs: [1], gpu: ([x, l]) => wt.crossEntropy(x, l), ref: ([x]) => R.nd([], [R.crossEntropyRows(x, [0, 1, 2, 0, 1, 2, 0]).data.reduce((a, b) => a + b, 0) / 7])},
];

async function runKernelTests(): Promise<{adapter: string; results: {name: string; ok: boolean; error?: string}[]}> {
  await wt.init();
  const results: {name: string; ok: boolean; error?: string}[] = [];
  for (const c of cases) {
    try { await checkOp(c); results.push({name: c.name, ok: true}); } catch (e) { results.push({name: c.name, ok: false, error: String((e as Error).message ?? e)}); }
  }
  // NaN/Inf: the same table of PyTorch answers as test/numerics.test.ts, on Chromium's adapter.
  for (const [name, f, inputs, want] of NAN_CASES) {
    try {
      const got = await f(...inputs.map((v) => wt.tensor(v))).data();
      const bad = sameValues(got, want);
      results.push({name: `NaN/Inf: ${name}`, ok: !bad, error: bad ? `${bad} (all: ${Array.from(got)})` : undefined});
    } catch (e) { results.push({name: `NaN/Inf: ${name}`, ok: false, error: String((e as Error).message ?? e)}); }
  }
  const arg = Array.from(await wt.argmax(wt.tensor([1, NaN, 3, NaN])).data());
  results.push({name: 'NaN/Inf: argmax gives the first NaN', ok: arg[0] === 1, error: `got ${arg}`});
  return {adapter: wt.debug.formatReport(wt.adapter()), results};
}
(globalThis as Record<string, unknown>).runKernelTests = runKernelTests;

// ---- checkpoints in the browser: save as a download, load back through a file input ----
async function checksum(m: wt.Module): Promise<number> {
  let s = 0;
  for (const t of m.stateDict().values()) for (const v of await t.data()) s += v;
  return s;
}

/** Starts the engine: on a fresh browser profile that includes the matmul autotune, tens of seconds on SwiftShader. */
async function initEngine(): Promise<string> {
  await wt.init();
  return wt.debug.formatReport(wt.adapter());
}

async function saveCheckpointDownload(): Promise<number> {
  await wt.init();
  wt.manualSeed(3);
  const m = wt.leNet5();
  const entries = new Map<string, {dtype: 'F32'; shape: number[]; data: Float32Array}>();
  for (const [k, t] of m.stateDict()) entries.set(k, {dtype: 'F32', shape: t.shape, data: (await t.data()) as Float32Array});
  wt.io.downloadSafetensors('lenet.safetensors', entries, {format: 'pt'});
  return checksum(m);
}

async function loadCheckpointFromInput(): Promise<{checksum: number; keys: string[]}> {
  await wt.init();
  const input = document.querySelector<HTMLInputElement>('#checkpoint');
  if (!input?.files?.[0]) throw new Error('no file chosen in #checkpoint');
  const file = await wt.io.readSafetensorsFile(input.files[0]);
  wt.manualSeed(99); // different initial weights, so the checksum only matches if loading worked
  const m = wt.leNet5();
  m.loadStateDict(new Map([...file.tensors].map(([k, t]) => [k, {shape: t.shape, dtype: 'f32' as const, data: t.data as Float32Array}])));
  return {checksum: await checksum(m), keys: [...file.tensors.keys()]};
}
Object.assign(globalThis, {initEngine, saveCheckpointDownload, loadCheckpointFromInput});
