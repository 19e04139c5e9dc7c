// Times the grouped (depthwise) convolutions' variants on every such case of a MobileNetV2 training step (width 0.35,
// 64 px, batch 64), as the tuner does (interleaved rounds, each variant's best), and prints the tables' pick.
// Usage, after a build: node scripts/grouped-kernels.mjs [llvmpipe|swiftshader] [size] [batch] [families]
// families: comma-separated, of conv.groupedForward, conv.groupedInput, conv.groupedWeight (default: all three).
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
wt.manualSeed(0);
const size = Number(process.argv[3] ?? 64), batch = Number(process.argv[4] ?? 64);
const families = (process.argv[5] ?? 'conv.groupedForward,conv.groupedInput,conv.groupedWeight').split(',');
const net = wt.models.mobilenetV2({widthMult: 0.35, classes: 5, inputSize: size});
const x = wt.randn([batch, 3, size, size], {seed: 1});
const y = wt.tensor(Int32Array.from({length: batch}, (_, i) => i % 5), [batch], {dtype: 'i32'});
const cases = wt.internals.recordCases(() => wt.tidy(() => { wt.crossEntropy(net.forward(x), y).backward(); }))
  .filter((c) => families.includes(c.family.name));
const timed = await wt.internals.tuneCases(cases, {force: true, persist: false});
for (const family of families) {
  let table = 0, best = 0;
  for (const t of timed.filter((r) => r.family === family)) {
    const ms = Object.entries(t.ms).map(([v, m]) => `${v} ${m.toFixed(2)}`).join(', ');
    console.log(`${family.padEnd(20)} ${t.key.padEnd(34)} table ${t.table.padEnd(6)} ${ms}`);
    table += t.ms[t.table]; best += Math.min(...Object.values(t.ms));
  }
  console.log(`${family}: per set of these cases, the tables ${table.toFixed(1)} ms, ` +
    `the fastest ${best.toFixed(1)} ms`);
}
wt.shutdown();
