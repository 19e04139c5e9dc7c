// Which kernel takes batch-norm's per-channel sums (the statistics, and the backward's sums of g and g * xhat).
import {onCpu} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import {select, type Choice} from '../select.js';
import type {BatchNormGeom} from './batch-norm-train.js';

export type BatchNormSums = 'serial' | 'workgroup';
export const BATCH_NORM_SUMS_VARIANTS: readonly Choice<BatchNormSums, BatchNormGeom>[] = [
  {variant: 'serial', when: () => kernelPrefs.batchNormSums === 'serial' ||
    (kernelPrefs.batchNormSums === 'auto' && onCpu()),
  why: 'CPU adapters: a workgroup\'s barriers cost more than its sums, at every size measured (1.2-9x on llvmpipe, ' +
    '8-230x on SwiftShader: docs/kernel-measurements.md#batch-norm-serial)'},
  {variant: 'workgroup', when: () => true, why: 'a tree per channel over 256 threads'},
];

export const batchNormSums = (g: BatchNormGeom): BatchNormSums => select(BATCH_NORM_SUMS_VARIANTS, g);
