// Times batch norm's per-channel sums (the statistics, and the backward's sums) on MobileNetV2's shapes at batch 64,
// under the profiler (5 forward and backward steps a shape, 3 rounds), printing each kernel's median ms.
// Usage, after a build: [PREFS='{"batchNormSums":"workgroup"}'] node scripts/bn-sums.mjs [llvmpipe|swiftshader]
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe', kernelPrefs: process.env.PREFS ? JSON.parse(process.env.PREFS) : undefined});
const I = wt.internals;
const shapes = [[64, 48, 32, 32], [64, 16, 32, 32], [64, 48, 16, 16], [64, 96, 8, 8], [64, 144, 4, 4]];
const res = new Map();
for (let round = 0; round < 3; round++) for (const s of shapes) {
  const x = wt.randn(s, {seed: 1, requiresGrad: true}), w = wt.randn([s[1]], {seed: 2, requiresGrad: true});
  const b = wt.randn([s[1]], {seed: 3, requiresGrad: true}), g = wt.randn(s, {seed: 4});
  const step = () => {
    const l = wt.tidy(() => {
      const loss = wt.sum(wt.mul(I.batchNormTrain(x, w, b).y, g));
      loss.backward();
      return wt.keep(loss);
    });
    return l.item().finally(() => l.dispose());
  };
  const p = await wt.debug.profile(step, {steps: 5, warmup: 1});
  for (const row of p.rows) {
    const m = /(bn_stats\w*|bn_grad_sums\w*|bn_plane\w*)/.exec(row.kernel);
    if (!m) continue;
    const id = `${s.join('x')} ${m[1]}`;
    if (!res.has(id)) res.set(id, []);
    res.get(id).push(row.ms);
  }
  for (const t of [x, w, b, g]) t.dispose();
}
const med = (a) => [...a].sort((u, v) => u - v)[a.length >> 1];
for (const [id, v] of res) console.log(`${id.padEnd(36)} ${med(v).toFixed(2)} ms`);
wt.shutdown();
