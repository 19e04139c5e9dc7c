// The kernel correctness suite in the browser: the same test files (case lists, float64 references, tolerances)
// as the Node suite, run by the same runner (uvu) on navigator.gpu. test/browser-suite.test.ts drives it in
// headless Chromium and prints its counts next to Node's. Files that need Node (files, processes, the CLI) are
// marked `// @test node-only: <why>` and stay in Node only.
import {captured} from './capture.js';
import {exec} from 'uvu';
import * as wt from '../../src/index.js';
import {testFiles} from 'virtual:test-files';

/** `only`: run just the files whose names it lists (WGT_BROWSER_FILES, passed on by test/browser-suite.test.ts). */
async function runSuite(only: string[] = []): Promise<{adapter: string; total: number; passed: number; skipped: number; output: string}> {
  // Every test file not marked `// @test node-only`, in the Node runner's order (scripts/build.mjs finds them).
  for (const f of testFiles) if (!f.nodeOnly && (!only.length || only.includes(f.name))) await f.load();
  await wt.init();
  await exec();
  // eslint-disable-next-line no-control-regex
  const out = captured().replace(/\x1b\[[0-9;]*m/g, '');
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  return {adapter: wt.debug.formatReport(wt.adapter()), total: num(/Total:\s+(\d+)/), passed: num(/Passed:\s+(\d+)/), skipped: num(/Skipped:\s+(\d+)/), output: out};
}
(globalThis as Record<string, unknown>).runSuite = runSuite;
