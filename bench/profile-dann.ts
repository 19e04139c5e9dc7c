// The profiler's table for a DANN training step (the paper's MNIST -> MNIST-M model, 32 source + 32 target images,
// SGD momentum), as bench/dann.ts times it. Usage: node dist/bench/profile-dann.js <adapter> [steps] [method]
import * as wt from '../src/index.js';
import {oursDannStepBuild} from './dann.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
const steps = Number(process.argv[3] ?? 5);
const method = process.argv[4] as wt.debug.ProfileMethod | undefined;
// WGT_PREFS: JSON kernel preferences for the runtime, e.g. '{"convLowering":"direct"}'.
await wt.init({backend, kernelPrefs: process.env.WGT_PREFS ? JSON.parse(process.env.WGT_PREFS) : undefined});
const step = oursDannStepBuild(32);
const p = await wt.debug.profile(() => step.run(), {steps, warmup: 1, method});
console.log(wt.debug.formatProfile(p, 40));
step.dispose();
wt.shutdown();
