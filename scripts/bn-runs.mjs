// Times batch norm's normalisation and input-gradient passes (bn_norm4, bn_dx4) with 1, 2, 4 and 8 vec4s of a plane
// per thread (kernelPrefs.batchNormVec4s) on MobileNetV2's shapes at batch 64, under the profiler (5 forward and
// backward steps each, 3 interleaved rounds), and prints each pass's median ms per shape and run length.
// Usage, after a build: node scripts/bn-runs.mjs [llvmpipe|swiftshader]
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
const I = wt.internals;
const shapes = [[64, 48, 32, 32], [64, 16, 32, 32], [64, 48, 16, 16], [64, 96, 8, 8], [64, 144, 4, 4]];
const runs = [1, 2, 4, 8];
const res = new Map();
for (let round = 0; round < 3; round++) for (const run of runs) for (const s of shapes) {
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
  const p = await I.withKernelPrefs({batchNormVec4s: run}, () => wt.debug.profile(step, {steps: 5, warmup: 1}));
  for (const row of p.rows) {
    const pass = /bn_norm4/.test(row.kernel) ? 'norm' : /bn_dx4/.test(row.kernel) ? 'dx' : null;
    if (!pass) continue;
    const id = `${s.join('x')} ${pass}`;
    if (!res.has(id)) res.set(id, new Map(runs.map((r) => [r, []])));
    res.get(id).get(run).push(row.ms);
  }
  for (const t of [x, w, b, g]) t.dispose();
}
const med = (a) => [...a].sort((u, v) => u - v)[a.length >> 1];
console.log(`shape and pass, ms at ${runs.map((r) => `${r}`).join(' / ')} vec4s a thread`);
for (const [id, byRun] of res) console.log(`${id.padEnd(18)} ${runs.map((r) => med(byRun.get(r)).toFixed(2)).join(' / ')}`);
wt.shutdown();
