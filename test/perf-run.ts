// A quick entry for the kernels this branch touches: node dist/test/perf-run.js (WGT_BACKEND picks the adapter).
// The full suite (test/run.ts, npm test) includes the same files.
import './lib/defer.js';
import {exec} from 'uvu';
import * as wt from '../src/index.js';
import './matmul.test.js';
import './conv-pool.test.js';
import './profiler.test.js';

await wt.init();
console.log(`# ${wt.debug.formatReport(wt.adapter())}`);
await exec();
wt.shutdown();
