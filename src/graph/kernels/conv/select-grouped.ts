// Which kernel each pass of a grouped convolution runs (depthwise and other groupings): generated planes or the
// hand-written kernels of shaders/conv-grouped.wgsl. One table per pass, as select.ts for ungrouped ones.
import {loopSteps} from '../../kernel-def.js';
import {onCompatCpu, onCpu} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import type {Choice, Family} from '../select.js';
import type {Conv2dGeom} from './geom.js';
import {planeFits, planeRows, type PlanePass} from './grouped-planes.js';
import {geomKey, withinLoops} from './select.js';

/**
 * Values per channel (N * OH * OW) up to which a grouped weight gradient sums serially on llvmpipe; SwiftShader takes
 * the serial sums wherever they fit. Their workgroup trees cost more than their sums
 * (docs/kernel-measurements.md#grouped-weight-serial).
 */
export const GROUPED_WEIGHT_SERIAL_LLVMPIPE_MAX = 16384;
const groupedSerialFits = (g: Conv2dGeom) => withinLoops(loopSteps(g.N, loopSteps(g.OH, loopSteps(g.OW))));
const planesFit = (pass: PlanePass) => (g: Conv2dGeom) => planeFits(g, pass) &&
  (pass !== 'weight' || withinLoops(loopSteps(g.N * g.OH / planeRows(g, pass)!)));
/** The generated depthwise kernels on CPU adapters (docs/kernel-measurements.md#depthwise-planes). */
const planesWhen = (pref: string, pass: PlanePass) => (g: Conv2dGeom) =>
  pref === 'planes' || (pref === 'auto' && onCpu() && planesFit(pass)(g));
const PLANES_WHY = 'CPU adapters, depthwise: generated for the shape, whole rows of a plane a thread, every ' +
  'multiply-add written out and each input loaded once (docs/kernel-measurements.md#depthwise-planes)';
/** A grouped convolution's shape class: its geometry and groups. */
const groupedKey = (g: Conv2dGeom): string => `${geomKey(g)}/g${g.groups}`;

export type GroupedWeightVariant = 'planes' | 'serial' | 'tree';
export const GROUPED_WEIGHT_VARIANTS: readonly Choice<GroupedWeightVariant, Conv2dGeom>[] = [
  {variant: 'planes', when: (g) => planesWhen(kernelPrefs.groupedWeight, 'weight')(g), fits: planesFit('weight'),
    why: `${PLANES_WHY}: a thread per channel over every image`},
  {variant: 'serial', when: (g) => kernelPrefs.groupedWeight === 'serial' || (kernelPrefs.groupedWeight === 'auto' &&
    onCpu() && (!onCompatCpu() || g.N * g.OH * g.OW <= GROUPED_WEIGHT_SERIAL_LLVMPIPE_MAX)), fits: groupedSerialFits,
  why: 'CPU adapters (llvmpipe: up to 16,384 outputs a channel): a thread per block of 4 taps over every output, no ' +
    'barriers, 1.2-3.6x faster on llvmpipe and 1.1-6x on SwiftShader over MobileNetV2\'s depthwise layers'},
  {variant: 'tree', when: () => true, why: 'a workgroup per block of 4 taps, its threads\' sums added as a tree'},
];
export const GROUPED_WEIGHT: Family<GroupedWeightVariant, Conv2dGeom> = {name: 'conv.groupedWeight',
  table: GROUPED_WEIGHT_VARIANTS, key: groupedKey,
  open: () => kernelPrefs.groupedWeight === 'auto'};

/** Grouped forward and input gradient: the generated depthwise kernels, or the hand-written rows kernels. */
export type GroupedVariant = 'planes' | 'rows';
function planesOrRows(name: string, pass: 'forward' | 'input', pref: () => string, rowsWhy: string)
  : Family<GroupedVariant, Conv2dGeom> {
  return {name, key: groupedKey, open: () => pref() === 'auto', table: [
    {variant: 'planes', when: (g) => planesWhen(pref(), pass)(g), fits: planesFit(pass), why: PLANES_WHY},
    {variant: 'rows', when: () => true, why: rowsWhy},
  ]};
}
export const GROUPED_FORWARD = planesOrRows('conv.groupedForward', 'forward', () => kernelPrefs.groupedForward,
  'any grouping: 8 outputs of a row a thread at column stride 1, else 4');
export const GROUPED_INPUT = planesOrRows('conv.groupedInput', 'input', () => kernelPrefs.groupedInput,
  'any grouping: 8 inputs of a row a thread at column strides 1 and 2');
