// Runs the matmul autotuner on one adapter (ignoring the cache) and prints each candidate's time.
// Usage: node dist/bench/autotune.js <adapter> [n]
import * as wt from '../src/index.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
const n = Number(process.argv[3] ?? 512);
await wt.init({backend});
const r = await wt.internals.autotune({force: true, size: n});
console.log(r.adapter);
for (const pick of [r.large, r.small]) {
  const [M, K, N] = pick.shape;
  console.log(`${M}x${K}x${N}${pick === r.large ? ` (products of >= ${r.largeFrom} rows)` : ''}:`);
  for (const [k, v] of Object.entries(pick.ms)) console.log(`  ${k.padEnd(16)} ${v.toFixed(2)} ms  ${(2 * M * K * N / v / 1e6).toFixed(2)} GFLOP/s`);
  console.log(`  choice: ${pick.choice}`);
}
wt.shutdown();
