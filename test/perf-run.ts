// A quick entry for the kernel suites, which scripts/bench-gpu.sh runs on a GPU: node dist/test/perf-run.js
// (WGT_BACKEND picks the adapter). The full suite (test/run.ts, npm test) includes the same files.
import './lib/defer.js';
import {exec} from 'uvu';
import * as wt from '../src/index.js';
import './matmul.test.js';
import './conv-pool.test.js';
import './profiler.test.js';
import './reduce.test.js';
import './kernel-variants.test.js';

// The tables decide, as in npm test (kernel-variants checks every variant that fits, measured or not).
process.env.WGT_MEASURED ??= '0';

await wt.init();
console.log(`# ${wt.debug.formatReport(wt.adapter())}`);
await exec();
wt.shutdown();
