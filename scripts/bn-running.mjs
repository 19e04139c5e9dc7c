// 52 running-statistics updates (as many as MobileNetV2 has batch norms, C = 8..1280) made as eight generic ops each
// (mul, mul, add and a copy per statistic) and as one bn_running dispatch each, both compiled, timed interleaved.
// Usage, after a build: node scripts/bn-running.mjs [llvmpipe|swiftshader]
// (docs/kernel-measurements.md#batch-norm-running)
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
const Cs = Array.from({length: 52}, (_, i) => [16, 96, 144, 192, 336, 56, 24, 32, 1280][i % 9]);
const layers = Cs.map((C) => ({rm: wt.zeros([C]), rv: wt.ones([C]), m: wt.randn([C]), v: wt.rand([C])}));
const old = (l) => {
  wt.internals.assign(l.rm, wt.add(wt.mul(l.rm, 0.9), wt.mul(l.m, 0.1)));
  wt.internals.assign(l.rv, wt.add(wt.mul(l.rv, 0.9), wt.mul(l.v, 0.1 * 64 / 63)));
};
const fused = (l) => wt.internals.batchNormRunningUpdate(l.rm, l.rv, l.m, l.v, 0.1, 64);
const x0 = new Float32Array(4);
const arm = (f) => wt.compile([{shape: [4]}], [x0], (x) => wt.tidy(() => {
  wt.noGrad(() => { for (const l of layers) f(l); });
  return wt.sum(x);
}));
const A = arm(old), B = arm(fused);
const ts = {A: [], B: []};
for (let i = 0; i < 5; i++) { await A.run([x0]).item(); await B.run([x0]).item(); }
for (let round = 0; round < 10; round++) for (const [k, s] of [['A', A], ['B', B]]) for (let i = 0; i < 5; i++) {
  const t = performance.now(); await s.run([x0]).item(); ts[k].push(performance.now() - t);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`52 updates: eight ops each ${med(ts.A).toFixed(2)} ms, bn_running ${med(ts.B).toFixed(2)} ms`);
wt.shutdown();
