// Times max pooling with its relu on ResNet's stem shapes under the profiler, forward and backward, the 3x3 quad
// kernels (pool3_fwd / pool3_bwd) against the tables without them, interleaved rounds, printing each kernel's median
// ms. The general backward masks the gradient by relu' in an elementwise pass of its own (binary OP=20).
// Usage, after a build: node scripts/pool-kernels.mjs [llvmpipe|swiftshader] [rounds]
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
const rounds = Number(process.argv[3] ?? 3);
// ResNet-18/50's stem pool: 26 photos of 224 px (a feature-extraction pass) and a training batch of 32 at 64 px.
const shapes = [[26, 64, 112, 112], [32, 64, 32, 32]];
const res = new Map();
for (let round = 0; round < rounds; round++) for (const pool3x3 of [false, true]) for (const s of shapes) {
  const x = wt.randn(s, {seed: 1, requiresGrad: true});
  const o = {stride: 2, padding: 1};
  const up = wt.randn(wt.internals.reluMaxPool2d(x, 3, o).shape, {seed: 2});
  const step = async () => {
    const y = wt.internals.reluMaxPool2d(x, 3, o);
    wt.sum(wt.mul(y, up)).backward();
    await x.grad.data();
    y.dispose();
    x.grad.dispose();
    x.grad = null;   // each step's gradient alone, not added to the last
  };
  const p = await wt.internals.withKernelPrefs({pool3x3}, () => wt.debug.profile(step, {steps: 3, warmup: 1}));
  for (const row of p.rows) {
    if (!/pool|OP=20\b/.test(row.kernel)) continue;
    const id = `${s.join('x')} ${row.kernel}`;
    if (!res.has(id)) res.set(id, []);
    res.get(id).push(row.ms);
  }
  x.dispose(); up.dispose();
}
const med = (a) => [...a].sort((u, v) => u - v)[a.length >> 1];
for (const [id, v] of [...res].sort()) console.log(`${id.padEnd(70)} ${med(v).toFixed(2)} ms`);
wt.shutdown();
