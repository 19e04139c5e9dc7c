// The kernel correctness suite in the browser: the same test files (case lists, float64 references, tolerances)
// as the Node suite, run by the same runner (uvu) on navigator.gpu. test/browser-suite.test.ts drives it in
// headless Chromium and prints its counts next to Node's. Files that need Node (files, processes, the CLI) stay
// in Node only.
import {captured} from './capture.js';
import {exec} from 'uvu';
import * as wt from '../../src/index.js';
import '../elementwise.test.js';
import '../reduce.test.js';
import '../softmax.test.js';
import '../matmul.test.js';
import '../conv-pool.test.js';
import '../layout.test.js';
import '../kernel-def.test.js';
import '../autograd.test.js';
import '../optim-kernels.test.js';
import '../numerics.test.js';
import '../properties.test.js';
import '../errors.test.js';
import '../nn.test.js';
import '../transfer.test.js';

async function runSuite(): Promise<{adapter: string; total: number; passed: number; skipped: number; output: string}> {
  await wt.init();
  await exec();
  // eslint-disable-next-line no-control-regex
  const out = captured().replace(/\x1b\[[0-9;]*m/g, '');
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  return {adapter: wt.formatReport(wt.adapter()), total: num(/Total:\s+(\d+)/), passed: num(/Passed:\s+(\d+)/), skipped: num(/Skipped:\s+(\d+)/), output: out};
}
(globalThis as Record<string, unknown>).runSuite = runSuite;
