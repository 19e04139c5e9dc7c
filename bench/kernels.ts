// Kernel micro-benchmark: each conv kernel of the LeNet-5, CapsNet, DANN and (GPUs) ResNet-18 shapes, and matmul,
// timed as a captured replay of REPS launches in one submit (so per-submit overhead is amortised), median of several
// replays.
// Usage: node dist/bench/kernels.js <adapter> [filter]. Prints one JSON line `KERNELS {...}` and a table.
import {matmulK, type MatView} from '../src/graph/kernels/matmul/index.js';
import {conv2dBwdInputK, conv2dBwdWeightK, conv2dK, convGeom} from '../src/graph/kernels/conv/index.js';
import * as wt from '../src/index.js';
import {rt} from '../src/graph/engine.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
const filter = process.argv[3] ?? '';
// WGT_PREFS: JSON kernel preferences for the runtime, e.g. '{"convLowering":"direct"}'.
await wt.init({backend, kernelPrefs: process.env.WGT_PREFS ? JSON.parse(process.env.WGT_PREFS) : undefined});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rand = (shape: number[], seed: number) => wt.randn(shape, {seed});

/**
 * Seconds per launch of `body` (median of `n` replays of a capture holding `reps` launches, after one replay not
 * counted, which warms the caches: on these shared 2-core machines single replays of one kernel vary by up to 1.5x).
 */
export async function timeKernel(body: () => void, reps: number, n = 5): Promise<number> {
  const cap = rt().capture(() => { for (let i = 0; i < reps; i++) wt.tidy(body); });
  await rt().sync();
  cap.replay();
  await rt().sync();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    cap.replay();
    await rt().sync();
    ts.push((performance.now() - t) / 1000 / reps);
  }
  cap.dispose();
  return median(ts);
}

interface Shape { name: string; x: number[]; w: number[]; stride: number; pad: number }
const shapes: Shape[] = [
  {name: 'lenet conv1 1->6 5x5 28x28 b64', x: [64, 1, 28, 28], w: [6, 1, 5, 5], stride: 1, pad: 0},
  {name: 'lenet conv2 6->16 5x5 12x12 b64', x: [64, 6, 12, 12], w: [16, 6, 5, 5], stride: 1, pad: 0},
  {name: 'caps conv1 1->256 9x9 28x28 b8', x: [8, 1, 28, 28], w: [256, 1, 9, 9], stride: 1, pad: 0},
  {name: 'caps prim 256->256 9x9 s2 20x20 b8', x: [8, 256, 20, 20], w: [256, 256, 9, 9], stride: 2, pad: 0},
  {name: 'small 1->32 9x9 28x28 b32', x: [32, 1, 28, 28], w: [32, 1, 9, 9], stride: 1, pad: 0},
  {name: 'small 1->64 9x9 28x28 b32', x: [32, 1, 28, 28], w: [64, 1, 9, 9], stride: 1, pad: 0},
  {name: 'small 32->64 9x9 s2 20x20 b32', x: [32, 32, 20, 20], w: [64, 32, 9, 9], stride: 2, pad: 0},
  {name: 'dann conv1 3->32 5x5 28x28 b64', x: [64, 3, 28, 28], w: [32, 3, 5, 5], stride: 1, pad: 0},
  {name: 'dann conv2 32->48 5x5 12x12 b64', x: [64, 32, 12, 12], w: [48, 32, 5, 5], stride: 1, pad: 0},
  // ResNet-18's convolutions at 224 px, batch 32 (GPUs only: hours on a CPU adapter; WGT_BENCH_RESNET=1 forces them).
  ...(rt().ctx.report.isCpu && process.env.WGT_BENCH_RESNET !== '1' ? [] : [
    {name: 'resnet18 stem 3->64 7x7 s2 224 b32', x: [32, 3, 224, 224], w: [64, 3, 7, 7], stride: 2, pad: 3},
    {name: 'resnet18 layer1 64->64 3x3 56 b32', x: [32, 64, 56, 56], w: [64, 64, 3, 3], stride: 1, pad: 1},
    {name: 'resnet18 layer2 64->128 3x3 s2 56 b32', x: [32, 64, 56, 56], w: [128, 64, 3, 3], stride: 2, pad: 1},
    {name: 'resnet18 layer2 128->128 3x3 28 b32', x: [32, 128, 28, 28], w: [128, 128, 3, 3], stride: 1, pad: 1},
    {name: 'resnet18 layer2 down 64->128 1x1 s2 b32', x: [32, 64, 56, 56], w: [128, 64, 1, 1], stride: 2, pad: 0},
    {name: 'resnet18 layer3 256->256 3x3 14 b32', x: [32, 256, 14, 14], w: [256, 256, 3, 3], stride: 1, pad: 1},
    {name: 'resnet18 layer4 512->512 3x3 7 b32', x: [32, 512, 7, 7], w: [512, 512, 3, 3], stride: 1, pad: 1},
  ]),
];
const rows: {kernel: string; shape: string; ms: number; gflops: number; share: number; shares: number[]}[] = [];
const out: Record<string, number> = {};
const mmN = Number(process.env.WGT_BENCH_MATMUL ?? 1024);
const only = (process.env.WGT_BENCH_KERNELS ?? 'fwd,bwd_input,bwd_weight').split(',');
// Rounds over the whole list: a kernel's figures are the medians of its rounds, so a burst of the host's noise
// (these shared machines slow down 2x for seconds at a time) spoils one round of a kernel, not its result.
const rounds = Math.max(1, Number(process.env.WGT_BENCH_ROUNDS ?? 3));
// matmul is timed before the first kernel and again after each one: every kernel's share is against the mean of
// the matmul rates just before and just after it (these shared 2-core machines drift by 2x within a minute, so one
// matmul measurement at the start made shares swing from 26% to 171% between runs).
const ma = rand([mmN, mmN], 1), mb = rand([mmN, mmN], 2);
const mav: MatView = {t: ma, batch: 1, rows: mmN, cols: mmN, trans: false, batchStride: 0};
const mbv: MatView = {t: mb, batch: 1, rows: mmN, cols: mmN, trans: false, batchStride: 0};
const matmulRate = async () => 2 * mmN ** 3 / await timeKernel(() => { matmulK(mav, mbv); }, 2) / 1e9;
const mmRates: number[] = [await matmulRate()];
interface Case { kernel: string; shape: string; flops: number; reps: number; run: () => void; ms: number[]; shares: number[] }
const cases: Case[] = [];
for (const sh of shapes) {
  if (filter && !sh.name.includes(filter)) continue;
  if (process.env.WGT_BENCH_SKIP && sh.name.includes(process.env.WGT_BENCH_SKIP)) continue;
  const x = rand(sh.x, 3), w = rand(sh.w, 4), bias = rand([sh.w[0]], 5);
  const geom = convGeom(x.shape, w.shape, [sh.stride, sh.stride], [sh.pad, sh.pad]);
  const dy = rand([geom.N, geom.K, geom.OH, geom.OW], 6);
  const flops = 2 * geom.N * geom.K * geom.OH * geom.OW * geom.C * geom.KH * geom.KW;
  // CPU adapters: enough launches for about 2e8 FLOPs; GPUs: sized from a first replay (sizedReps, below).
  const reps = Math.max(1, Math.min(8, Math.round(2e8 / flops)));
  const variants: [string, () => void][] = [
    ['fwd', () => { conv2dK(x, w, bias, geom); }],
    ['bwd_input', () => { conv2dBwdInputK(dy, w, geom); }],
    ['bwd_weight', () => { conv2dBwdWeightK(x, dy, geom); }],
  ];
  for (const [kname, run] of variants) {
    if (!only.includes(kname)) continue;
    if (kname === 'bwd_input' && geom.C === 1) continue; // first layers need no input gradient
    cases.push({kernel: kname, shape: sh.name, flops, reps, run, ms: [], shares: []});
  }
}
/**
 * Launches per replay on a GPU: enough for a replay of about 5 ms (at most 256), so that a small kernel's figure is
 * its own time and not the submit and wait around it, which on a GPU take longer than the kernel.
 */
async function sizedReps(c: Case): Promise<number> {
  const one = await timeKernel(c.run, 1, 3);
  return Math.max(1, Math.min(256, Math.ceil(5e-3 / Math.max(one, 1e-6))));
}
if (!rt().ctx.report.isCpu) for (const c of cases) c.reps = await sizedReps(c);
for (let round = 0; round < rounds; round++) {
  for (const c of cases) {
    const s = await timeKernel(c.run, c.reps);
    const before = mmRates[mmRates.length - 1];
    mmRates.push(await matmulRate());
    c.ms.push(s * 1e3);
    c.shares.push((c.flops / s / 1e9) / ((before + mmRates[mmRates.length - 1]) / 2));
    // As it goes, so that a run stopped at its time limit still leaves what it measured.
    console.log(`round ${round + 1}: conv ${c.kernel} ${c.shape}: ${(s * 1e3).toFixed(3)} ms, ` +
      `${(c.flops / s / 1e9).toFixed(2)} GFLOP/s, ${(100 * c.shares[c.shares.length - 1]).toFixed(0)}% of matmul ` +
      `(${c.reps} a replay)`);
  }
}
for (const c of cases) {
  const ms = median(c.ms), share = median(c.shares);
  rows.push({kernel: `conv ${c.kernel}`, shape: c.shape, ms, gflops: c.flops / ms / 1e6, share, shares: c.shares});
  out[`${c.shape} ${c.kernel}`] = c.flops / ms / 1e6;
  out[`${c.shape} ${c.kernel} share`] = share;
}
const mm = [...mmRates].sort((a, b) => a - b)[mmRates.length >> 1];
out[`matmul${mmN}`] = mm;
// On GPUs, each workgroup-tiled variant forced in turn too: the table takes matmul_tiled, tune whichever is faster.
const forced: string[] = [];
if (!rt().ctx.report.isCpu) {
  for (const variant of ['tiled', 'tiled128'] as const) {
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) rates.push(await wt.internals.withKernelPrefs({matmul: variant}, () => matmulRate()));
    const rate = [...rates].sort((a, b) => a - b)[1];
    out[`matmul${mmN} ${variant}`] = rate;
    forced.push(`${variant} ${rate.toFixed(2)}`);
  }
}
console.log(`\n${wt.debug.formatReport(wt.adapter())}`);
const spread = `${Math.min(...mmRates).toFixed(1)}-${Math.max(...mmRates).toFixed(1)}`;
console.log(`matmul ${mmN}^3: ${mm.toFixed(2)} GFLOP/s (median of ${mmRates.length} measurements between the kernels, ` +
  `${spread})${forced.length ? `; forced, median of 3: ${forced.join(', ')} GFLOP/s` : ''}`);
console.log(`medians of ${rounds} rounds over the list; shares: each round's kernel rate against the matmul timed around it`);
console.log('| kernel | shape | ms | GFLOP/s | vs matmul (timed next to it) | rounds |\n|---|---|---|---|---|---|');
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
for (const r of rows) {
  console.log(`| ${r.kernel} | ${r.shape} | ${r.ms.toFixed(3)} | ${r.gflops.toFixed(2)} | ${pct(r.share)} | ${r.shares.map(pct).join(' ')} |`);
}
console.log('KERNELS ' + JSON.stringify({backend, ...out}));
wt.shutdown();
