// The test entry (npm test): every suite in one process on one device; prints `N passed, N failed` last.
// The files are found by scripts/build.mjs (every test/*.test.ts, module 'virtual:test-files'), in the order of
// their `// @test order <N>` markers, then by name. The orders that matter:
//   errors.test (90): last before the browser part: it shuts the device down and starts it again.
//   browser.test, browser-suite.test (95): headless Chromium (first adapter pass only, WGT_SKIP_BROWSER).
//   package.test (99): packs and installs the package into a temporary app (first pass only, like the browser).
// WGT_TEST_FILES=elementwise,autograd runs only those files (names without .test.ts).
import './lib/defer.js';
import {exec} from 'uvu';
import * as wt from '../src/index.js';
import {testFiles} from 'virtual:test-files';

const only = process.env.WGT_TEST_FILES?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((n) => !testFiles.some((f) => f.name === n)) ?? [];
if (unknown.length) throw new Error(`WGT_TEST_FILES: no test file ${unknown.join(', ')} (have: ${testFiles.map((f) => f.name).join(', ')})`);
// Imported in order; each file queues its suites (defer.js), which exec() then runs.
for (const f of testFiles) if (!only || only.includes(f.name)) await f.load();

let out = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

await wt.init();
console.log(`# ${wt.formatReport(wt.adapter())}`);
await exec();
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
