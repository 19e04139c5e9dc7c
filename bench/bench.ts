// npm run bench: our engine against TF.js 4.22's WebGPU backend, per adapter, side by side in one run.
// Each adapter runs in its own process (bench/worker.ts); prints a table of ratios and writes JSON.
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {TORCH_LENET, TORCH_PYTHON, torchEnv, torchFailure, torchThreads} from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const adapters = (process.env.WGT_BENCH_ADAPTERS ?? 'swiftshader,llvmpipe').split(',');
const results: Record<string, unknown>[] = [];
for (const a of adapters) {
  process.stderr.write(`bench: ${a} ...\n`);
  const r = spawnSync(process.execPath, [join(here, 'worker.js'), a], {encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 1 << 26});
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) {
    console.log(`${a}: failed (exit ${r.status})\n${(r.stderr ?? '').split('\n').filter((l) => !l.startsWith('Warning')).slice(-15).join('\n')}`);
    continue;
  }
  results.push(JSON.parse(line.slice(6)));
}

// Native PyTorch CPU (harness.ts: TORCH_PYTHON, TORCH_LENET).
const torchRuns: Record<string, number | string>[] = [];
let torchNote = '';
if (!existsSync(TORCH_PYTHON)) torchNote = `PyTorch peer skipped: ${TORCH_PYTHON} not found`;
else {
  for (const threads of [1, 0]) {
    process.stderr.write(`bench: PyTorch CPU (${threads || 'default'} threads) ...\n`);
    const r = spawnSync(TORCH_PYTHON, [TORCH_LENET, String(threads), '20'],
      {encoding: 'utf8', timeout: 10 * 60_000, env: torchEnv()});
    const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) {
      torchNote = `PyTorch peer skipped: ${torchFailure(r.stderr ?? '', `exit ${r.status}`)}`;
      break;
    }
    torchRuns.push({...JSON.parse(line), requested: threads || 'default'});
  }
}

const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '-');
type Timing = {warmup: number; steps: number; cut: boolean};
/** What a figure is a median of: timed steps after warm-up calls (and whether the time budget cut the steps). */
const ran = (r: Record<string, unknown>, key: string) => {
  const t = (r.timing as Record<string, Timing> | undefined)?.[key];
  return t ? ` [${t.steps}${t.cut ? ', budget' : ''}/${t.warmup}]` : '';
};
console.log('\nSteady state: each figure is the median of 3 rounds\' medians, [timed steps/warm-up calls] (harness.ts time());');
console.log('ours also with the profiler\'s kernel time per step (the rest of the wall time is overhead).');
console.log('\n| adapter | metric | webgpu-transfer (kernel time) | TF.js 4.22 WebGPU | ratio (ours vs TF.js) |');
console.log('|---|---|---|---|---|');
for (const r of results) {
  const o = r.ours as Record<string, number>, t = r.tfjs as Record<string, number>;
  const k = (r.kernel_ms ?? {}) as Record<string, number>;
  const kt = (key: string) => (k[key] !== undefined ? ` (${f(k[key] / 1000, 4)} in kernels)` : '');
  for (const n of [512, 1024]) {
    const k = `matmul${n}_gflops`;
    console.log(`| ${r.backend} | matmul ${n}^3 (GFLOP/s) | ${f(o[k])}${ran(r, `ours.matmul${n}`)} | ${f(t[k])}${ran(r, `tfjs.matmul${n}`)} | ${f(o[k] / t[k])}x |`);
  }
  console.log(`| ${r.backend} | LeNet-5 train step, batch 64 (s) | ${f(o.lenet_step_s, 4)}${kt('lenet')}${ran(r, 'ours.lenet')} | ` +
    `${f(t.lenet_step_s, 3)}${ran(r, 'tfjs.lenet')} (im2col flag: ${f(t.lenet_step_im2col_s, 3)}) | ` +
    `${f(Math.min(t.lenet_step_s, t.lenet_step_im2col_s) / o.lenet_step_s)}x faster |`);
  for (const [key, what] of [['dann', 'DANN (MNIST paper model) train step, 32 + 32 images (s)'],
    ['caps_small', 'CapsNet small train step, batch 32 (s)'], ['caps_full', 'CapsNet (paper size) train step, batch 32 (s)']]) {
    const s = `${key}_step_s`;
    if (o[s] !== undefined) {
      console.log(`| ${r.backend} | ${what} | ${f(o[s], 4)}${kt(key)}${ran(r, `ours.${key}`)} | ${f(t[s], 3)}${ran(r, `tfjs.${key}`)} | ` +
        `${f(t[s] / o[s])}x faster |`);
    }
  }
}
if (results.length) {
  const ourBest = Math.min(...results.map((r) => (r.ours as Record<string, number>).lenet_step_s));
  const tfBest = Math.min(...results.flatMap((r) => [(r.tfjs as Record<string, number>).lenet_step_s, (r.tfjs as Record<string, number>).lenet_step_im2col_s]));
  const bestMatmul = Math.max(...results.map((r) => (r.ours as Record<string, number>).matmul512_gflops));
  console.log(`\nfastest LeNet step: ours ${f(ourBest, 3)} s vs TF.js's fastest configuration ${f(tfBest, 3)} s: ${f(tfBest / ourBest)}x`);
  console.log(`best matmul 512^3: ${f(bestMatmul)} GFLOP/s`);
  for (const r of results) console.log(`${r.backend}: ${r.adapter}`);
  // Our steps' kernel choices: measured on the adapter before timing (as `webgpu-transfer tune` leaves them) or not.
  for (const r of results) {
    const tuning = Object.entries((r.tuning ?? {}) as Record<string, {shapes: number; measured: number; moved: number}>);
    console.log(r.kernel_choices === 'measured'
      ? `${r.backend}: kernel choices measured on the adapter (cached ones reused): ` +
        tuning.map(([k, t]) => `${k} ${t.moved} of ${t.shapes} shapes off the tables`).join(', ')
      : `${r.backend}: kernel choices from the selection tables alone (WGT_BENCH_TUNE=0)`);
  }
}
if (torchRuns.length) {
  console.log('\n| peer | threads | LeNet-5 step (s) | matmul 1024^3 (GFLOP/s) |\n|---|---|---|---|');
  for (const t of torchRuns) console.log(`| PyTorch ${t.torch} CPU, ${t.blas} | ${t.requested} (${t.threads}) | ${f(t.lenet_step_s as number, 4)} | ${f(t.matmul1024_gflops as number)} |`);
  const torchBest = Math.min(...torchRuns.map((t) => t.lenet_step_s as number));
  for (const r of results) {
    const o = r.ours as Record<string, number>;
    console.log(`${r.backend}: LeNet step ${f(o.lenet_step_s, 4)} s = ${f(o.lenet_step_s / torchBest)}x PyTorch's fastest (${f(torchBest, 4)} s), timed minutes apart`);
  }
}
// The bar's ratio: our step and PyTorch's (on its fastest thread count) timed in turn, round by round, in each
// adapter's worker.
for (const r of results) {
  const p = r.lenet_vs_torch as Record<string, number | string> | undefined;
  if (!p) continue;
  if (p.skipped) { console.log(`${r.backend}: LeNet step against PyTorch in turn: skipped (${p.skipped})`); continue; }
  console.log(`${r.backend}: LeNet step timed in turn with PyTorch (${torchThreads(p)}; ${p.blas}), ${p.rounds} rounds of ${p.per_round} steps: ours ${f(p.ours_s as number, 4)} s, PyTorch ${f(p.torch_s as number, 4)} s; median ratio ${f(p.ratio as number)}x (rounds ${f(p.ratio_min as number)}-${f(p.ratio_max as number)}x; bar: <= 1x)`);
}
if (torchNote) console.log(torchNote);
mkdirSync('bench-results', {recursive: true});
writeFileSync(join('bench-results', 'bench.json'), JSON.stringify({date: new Date().toISOString(), results, torch: torchRuns, torchNote}, null, 2));
console.log('wrote bench-results/bench.json');
