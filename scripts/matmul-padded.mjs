// Products whose K or N is not a multiple of 4, each variant that fits timed by the tuner (forced, not cached): the
// register tile on zero-padded copies (tile_padded) against the kernels that take such shapes as they are, and the
// tile on the same product with K and N already multiples of 4 (docs/kernel-measurements.md#matmul-padded-tile).
// Usage, after a build: node scripts/matmul-padded.mjs [llvmpipe|swiftshader] [MxKxN,...]
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
const shapes = (process.argv[3] ?? '4096x150x16,4096x152x16,2048x75x32,1000x147x64,36864x25x6,4096x16x150,1024x84x10,' +
  '1024x26x40').split(',').map((s) => s.split('x').map(Number));
for (const [M, K, N] of shapes) {
  const a = wt.randn([M, K], {seed: 1}), b = wt.randn([K, N], {seed: 2});
  const cases = wt.internals.recordCases(() => { wt.tidy(() => { wt.matmul(a, b); }); });
  await wt.internals.rt().sync();
  const [t] = await wt.internals.tuneCases(cases, {force: true, persist: false});
  const ms = Object.entries(t.ms).sort((p, q) => p[1] - q[1]).map(([v, m]) => `${v} ${m.toFixed(3)}`).join(', ');
  const gflops = 2 * M * N * K / t.ms[t.choice] / 1e6;
  console.log(`${M}x${K}x${N}: table ${t.table}, fastest ${t.choice} (${gflops.toFixed(1)} GFLOP/s); ms: ${ms}`);
  a.dispose();
  b.dispose();
}
wt.shutdown();
