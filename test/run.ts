// The test entry: the suites of the files chosen, in one process on one device; prints `N passed, N failed` last.
// npm test (scripts/test.mjs) runs it in parts side by side. The files are found by scripts/build.mjs (every
// test/*.test.ts, module 'virtual:test-files'), in the order of their `// @test order <N>` markers, then by name;
// errors.test (90) runs last: it shuts the device down and starts it again.
// WGT_TEST_FILES=elementwise,autograd runs only those files (names without .test.ts).
// WGT_SKIP_ONCE=1 leaves out the files marked `// @test once` (adapter-independent: npm test runs them on one adapter).
// WGT_MEASURED=1 lets the kernel choices `webgpu-transfer tune` cached take their launches.
// WGT_SLOWEST=20 lists the 20 slowest suites at the end (default 8).
import './lib/defer.js';
import {exec} from 'uvu';
import * as wt from '../src/index.js';
import {testFiles} from 'virtual:test-files';

// The tables decide, not choices measured on this machine by `webgpu-transfer tune` (test/tune.test.ts tests those).
process.env.WGT_MEASURED ??= '0';
const only = process.env.WGT_TEST_FILES?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((n) => !testFiles.some((f) => f.name === n)) ?? [];
if (unknown.length) throw new Error(`WGT_TEST_FILES: no test file ${unknown.join(', ')} (have: ${testFiles.map((f) => f.name).join(', ')})`);
// Imported in order; each file queues its suites (defer.js), which exec() then runs.
const skipOnce = process.env.WGT_SKIP_ONCE === '1';
for (const f of testFiles) if ((!only || only.includes(f.name)) && !(skipOnce && f.once)) await f.load();

let out = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

// Time each suite (its first printed line is its name), to list the slowest at the end.
type SuiteRun = () => Promise<unknown>;
const timings: {name: string; ms: number}[] = [];
const queue = (globalThis as unknown as {UVU_QUEUE: [string, ...SuiteRun[]][]}).UVU_QUEUE;
for (const group of queue) {
  for (let i = 1; i < group.length; i++) {
    const run = group[i] as SuiteRun;
    group[i] = async () => {
      const from = out.length, t0 = performance.now();
      const r = await run();
      // eslint-disable-next-line no-control-regex
      const name = out.slice(from).replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n')[0].replace(/[•✘].*$/, '').trim();
      timings.push({name, ms: performance.now() - t0});
      return r;
    };
  }
}

await wt.init();
console.log(`# ${wt.debug.formatReport(wt.adapter())}`);
await exec();
const slowest = timings.sort((a, b) => b.ms - a.ms).slice(0, Number(process.env.WGT_SLOWEST ?? 8));
console.log(`\n# slowest suites: ${slowest.map((t) => `${t.name} ${(t.ms / 1000).toFixed(1)} s`).join('; ')}`);
process.stdout.write = write;
// eslint-disable-next-line no-control-regex
const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const failed = Number.isFinite(total) && Number.isFinite(passed) ? total - passed : 1;
console.log(`${passed || 0} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
wt.shutdown();
process.exit(failed || !passed ? 1 : 0);
