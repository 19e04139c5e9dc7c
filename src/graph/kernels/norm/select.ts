// Which kernel takes batch-norm's per-channel sums (the statistics, and the backward's sums of g and g * xhat).
import {LOOP_STEPS_MAX, loopsLimited, onCompatCpu, onCpu} from '../device.js';
import {loopSteps} from '../../kernel-def.js';
import {kernelPrefs} from '../prefs.js';
import {choose, type Choice, type Family} from '../select.js';
import type {BatchNormGeom} from './batch-norm-train.js';

/**
 * Values per channel (M = N * HW) up to which the serial sums run. llvmpipe cuts a thread's loops short once they
 * have run about 65,535 iterations in all, and bn_stats_serial runs 2 * (M + M / 32): at M = 32,768 its variance
 * pass stopped 12% short, at 65,536 the mean pass did (docs/kernel-measurements.md#batch-norm-serial).
 */
export const SERIAL_SUMS_MAX = 16384;

/**
 * On llvmpipe the serial sums up to this many values per channel: from 4,096 the workgroup trees measured 1.1-1.7x
 * faster on a quiet machine, below 1,024 the serial sums 1.4-15x (docs/kernel-measurements.md#batch-norm-serial).
 */
export const SERIAL_SUMS_LLVMPIPE_MAX = 2048;

export type BatchNormSums = 'planes' | 'serial' | 'workgroup';
/**
 * A thread per plane of whole vec4s: llvmpipe counts its loop over the plane, and the combining thread's over the N
 * planes (twice for the statistics); the bound takes twice the longer.
 */
const planesFit = (g: BatchNormGeom) => g.HW % 4 === 0 &&
  (!loopsLimited() || 2 * Math.max(loopSteps(g.HW / 4), loopSteps(g.N)) <= LOOP_STEPS_MAX);
export const BATCH_NORM_SUMS_VARIANTS: readonly Choice<BatchNormSums, BatchNormGeom>[] = [
  {variant: 'planes', when: (g) => planesFit(g) && (kernelPrefs.batchNormSums === 'planes' ||
    (kernelPrefs.batchNormSums === 'auto' && onCpu())), fits: planesFit,
  why: 'CPU adapters, planes of whole vec4s: each thread reads a plane in order, a thread per channel combines them ' +
    '(docs/kernel-measurements.md#batch-norm-planes)'},
  {variant: 'serial', when: (g) => g.N * g.HW <= SERIAL_SUMS_MAX && (kernelPrefs.batchNormSums === 'serial' ||
    (kernelPrefs.batchNormSums === 'auto' && onCpu() && (!onCompatCpu() || g.N * g.HW <= SERIAL_SUMS_LLVMPIPE_MAX))),
  fits: (g) => g.N * g.HW <= SERIAL_SUMS_MAX,
  why: 'CPU adapters: a workgroup\'s barriers cost more than its sums (8-230x on SwiftShader; on llvmpipe 1.4-15x up ' +
    'to 1,024 values per channel, and the trees faster from 4,096: docs/kernel-measurements.md#batch-norm-serial)'},
  {variant: 'workgroup', when: () => true, why: 'a tree per channel over 256 threads'},
];

export const BATCH_NORM_SUMS: Family<BatchNormSums, BatchNormGeom> = {name: 'norm.sums',
  table: BATCH_NORM_SUMS_VARIANTS, key: (g) => `${g.N}x${g.C}x${g.HW}`, open: () => kernelPrefs.batchNormSums === 'auto'};
export const batchNormSums = (g: BatchNormGeom): BatchNormSums => choose(BATCH_NORM_SUMS, g);

/**
 * Vec4s of one plane per thread in the normalisation and input-gradient passes (bn_norm4, bn_dx4): 8 on CPU adapters,
 * where each lane pays per load for its channel's factors (1.3-3x faster under the profiler:
 * docs/kernel-measurements.md#batch-norm-runs); 1 elsewhere, so a GPU's neighbouring lanes read neighbouring vec4s.
 */
export function batchNormRun(): number {
  const pref = kernelPrefs.batchNormVec4s;
  return pref !== 'auto' ? pref : onCpu() ? 8 : 1;
}

/**
 * Where the planes' backward passes (bn_plane_grad_sums4, bn_dx4) take an activation's gradient from: 'input' on CPU
 * adapters, the output recomputed from x by the forward's operations (one stream of three less to read: CPU drivers
 * pay per load, docs/kernel-measurements.md#batch-norm-act-input); 'output' elsewhere, where a GPU may contract the
 * recomputed sum into a fused multiply-add that the forward did not and so move a value off a kink.
 */
export function batchNormActFrom(): 'output' | 'input' {
  const pref = kernelPrefs.batchNormActFrom;
  return pref !== 'auto' ? pref : onCpu() ? 'input' : 'output';
}
