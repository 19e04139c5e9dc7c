// Batch norm's statistics against float64 on MobileNetV2's shapes at batch 64, under the kernel preferences in PREFS
// (default: the planes sums): the largest error of a channel's mean (in units of its deviation) and the largest
// relative error of its variance, for N(0, 1)-like values, 100 + U(-0.5, 0.5) and relu6-like values in [0, 6].
// Usage, after a build: [PREFS='{"batchNormSums":"workgroup"}'] node scripts/bn-stats-accuracy.mjs
//   [llvmpipe|swiftshader]
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
const prefs = process.env.PREFS ? JSON.parse(process.env.PREFS) : {batchNormSums: 'planes'};
const shapes = [[64, 48, 32, 32], [64, 16, 32, 32], [64, 48, 16, 16], [64, 96, 8, 8], [64, 144, 4, 4]];
const kinds = {
  'N(0,1)': (r) => (r() - 0.5) * 3.4 + (r() - 0.5),
  '100+U': (r) => 100 + (r() - 0.5),
  'relu6': (r) => Math.min(6, Math.max(0, (r() - 0.4) * 10)),
};
const r = wt.internals.rng(5);
for (const s of shapes) for (const [kind, draw] of Object.entries(kinds)) {
  const n = s.reduce((a, b) => a * b, 1), x = Float32Array.from({length: n}, () => draw(r));
  const [N, C] = s, HW = n / N / C;
  const t = wt.tensor(x, s);
  const got = await wt.internals.withKernelPrefs(prefs, async () => {
    const o = wt.internals.batchNormTrain(t, null, null);
    const m = await o.mean.data(), v = await o.variance.data();
    for (const u of [o.y, o.mean, o.variance]) u.dispose();
    return {m, v};
  });
  let meanErr = 0, varErr = 0;
  for (let c = 0; c < C; c++) {
    const at = (k, j) => x[(k * C + c) * HW + j];
    let sum = 0;
    for (let k = 0; k < N; k++) for (let j = 0; j < HW; j++) sum += at(k, j);
    const mean = sum / (N * HW);
    let sq = 0;
    for (let k = 0; k < N; k++) for (let j = 0; j < HW; j++) sq += (at(k, j) - mean) ** 2;
    const variance = sq / (N * HW);
    meanErr = Math.max(meanErr, Math.abs(got.m[c] - mean) / Math.sqrt(variance));
    varErr = Math.max(varErr, Math.abs(got.v[c] - variance) / variance);
  }
  console.log(`${s.join('x').padEnd(12)} ${kind.padEnd(7)} mean ${meanErr.toExponential(1)} sd, variance ` +
    `${varErr.toExponential(1)} relative`);
  t.dispose();
}
wt.shutdown();
