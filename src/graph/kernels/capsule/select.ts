// Which capsule kernels run: the generated, blocked ones (generated.ts) where they apply, else the hand-written
// ones of shaders/capsule.wgsl.
import {onCpu} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import type {Choice, Family} from '../select.js';
import {MAX_UNROLLED_D} from './generated.js';

/** Sizes of the capsule index space: batch, input capsules, output capsules, output dim, input dim. */
export interface CapsDims { b: number; i: number; j: number; o: number; d: number }
export type CapsuleVariant = 'generated' | 'scalar';

/**
 * The prediction transform and its gradients: generated kernels unrolled over D cut the small CapsNet step's capsule
 * kernel time several-fold on llvmpipe (docs/kernel-measurements.md#capsule-generated).
 */
const unrolls = (s: CapsDims) => s.d >= 1 && s.d <= MAX_UNROLLED_D;

export const PREDICT_VARIANTS: readonly Choice<CapsuleVariant, CapsDims>[] = [
  {variant: 'generated', when: (s) => kernelPrefs.capsulePredict !== 'scalar' && unrolls(s), fits: unrolls,
    why: 'unrolled over D up to MAX_UNROLLED_D (docs/kernel-measurements.md#capsule-generated)'},
  {variant: 'scalar', when: () => true, why: 'any D'},
];

/** A routing product: its sizes and, for outer_sum, how many terms it unrolls. */
export interface RoutingCase { s: CapsDims; terms: number }

/** u_hat read as vec4s over o (O % 4 == 0); outer_sum unrolls its terms, up to 2 * 8 - 1 of them. */
const vecShape = (c: RoutingCase) => c.s.o >= 4 && c.s.o % 4 === 0 && c.s.o <= 64 && c.terms <= 15;
const vecRouting = (c: RoutingCase) => kernelPrefs.capsuleRouting !== 'scalar' && vecShape(c);

/** outer, agreement and outer_sum. */
export const ROUTING_VARIANTS: readonly Choice<CapsuleVariant, RoutingCase>[] = [
  {variant: 'generated', when: vecRouting, fits: vecShape,
    why: 'u_hat as vec4s over O (docs/kernel-measurements.md#capsule-generated)'},
  {variant: 'scalar', when: () => true, why: 'any O'},
];

/**
 * The weighted sum: the generated kernel runs B * J threads, each over all of i: right for CPU adapters, too few
 * for a GPU, which keeps the hand-written one (a thread per output).
 */
export const WEIGHTED_SUM_VARIANTS: readonly Choice<CapsuleVariant, RoutingCase>[] = [
  {variant: 'generated', when: (c) => vecRouting(c) && onCpu(), fits: vecShape, why: 'a thread per (b, j) over all of i: CPU adapters'},
  {variant: 'scalar', when: () => true, why: 'a thread per output: GPUs, and any O'},
];

const dimsKey = (s: CapsDims) => `${s.b}x${s.i}x${s.j}x${s.o}x${s.d}`;
export const CAPSULE_PREDICT: Family<CapsuleVariant, CapsDims> = {name: 'capsule.predict', table: PREDICT_VARIANTS,
  key: dimsKey, open: () => kernelPrefs.capsulePredict === 'auto'};
export const CAPSULE_ROUTING: Family<CapsuleVariant, RoutingCase> = {name: 'capsule.routing',
  table: ROUTING_VARIANTS, key: (c) => `${dimsKey(c.s)}/${c.terms}`, open: () => kernelPrefs.capsuleRouting === 'auto'};
export const CAPSULE_WEIGHTED_SUM: Family<CapsuleVariant, RoutingCase> = {name: 'capsule.weighted-sum',
  table: WEIGHTED_SUM_VARIANTS, key: (c) => dimsKey(c.s), open: () => kernelPrefs.capsuleRouting === 'auto'};
