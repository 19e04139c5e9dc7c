// The test entry (npm test): every suite in one process on one device; prints `N passed, N failed` last.
import './lib/defer.js';
import {exec} from 'uvu';
import * as wt from '../src/index.js';
import './elementwise.test.js';
import './reduce.test.js';
import './softmax.test.js';
import './matmul.test.js';
import './conv-pool.test.js';
import './profiler.test.js';
import './layout.test.js';
import './autograd.test.js';
import './runtime.test.js';
import './optim-kernels.test.js';
import './nn.test.js';
import './io.test.js';
import './pytorch.test.js';
import './data.test.js';
import './mnist-cache.test.js';
import './train.test.js';
import './cli.test.js';
import './transfer.test.js';
import './transfer-node.test.js';
import './web.test.js';
import './transfer2.test.js';
import './numerics.test.js';
import './properties.test.js';
import './soak.test.js';
// Last before the browser part: it shuts the device down and starts it again.
import './errors.test.js';
import './browser.test.js';
import './browser-suite.test.js';
// Packs and installs the package into a temporary app (first pass only, like the browser part).
import './package.test.js';

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
