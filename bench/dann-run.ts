// The bench's DANN rows alone (ours and TF.js on the same adapter), as bench/worker.ts runs them:
//   node dist/bench/dann-run.js <adapter>
import * as wt from '../src/index.js';
import {oursDannStep, tfDannStep} from './dann.js';
import {startTfWebgpu, time} from './harness.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
await wt.init({backend});
const ours = await oursDannStep(32, 5, 2, time);
wt.shutdown();
const tf = await startTfWebgpu(backend);
const peer = await tfDannStep(tf, 32, 3, 1, time);
console.log(`| ${backend} | DANN train step, 32 + 32 images (s) | ${ours.toFixed(3)} | ${peer.toFixed(3)} | ${(peer / ours).toFixed(2)}x faster |`);
process.exit(0);
