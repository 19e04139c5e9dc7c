// Which kernel reduces the middle axis of [outer, r, inner]: one thread per output over chunks of the axis
// (reduce_main, barrier-free: CPU adapters), or one workgroup per output, adding in a tree of workgroup memory
// (reduce_tree) or within subgroups (reduce_subgroup, sums where the device has the feature). And how a sum over the
// outer and inner axes around kept ones runs: a thread per kept index, or two of those reductions.
import {hasSubgroups, LOOP_STEPS_MAX, loopsLimited, onCpu} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import type {Choice, Family} from '../select.js';

/** A reduction: its operation and the [outer, r, inner] view it reduces over r. */
export interface ReduceCase { kind: 'sum' | 'max' | 'min'; outer: number; r: number; inner: number }
export type ReduceVariant = 'subgroup' | 'tree' | 'chunked';

/** Threads of a reduce_tree / reduce_subgroup workgroup (REDUCE's workgroup size). */
export const TREE_THREADS = 64;

/** A workgroup per output: its threads' loops within llvmpipe's limit, the outputs within a 2-D grid. */
const workgroupFits = (c: ReduceCase) => c.outer * c.inner <= 65535 * 65535 &&
  (!loopsLimited() || Math.ceil(c.r / TREE_THREADS) + 8 <= LOOP_STEPS_MAX);
const subgroupFits = (c: ReduceCase) => c.kind === 'sum' && hasSubgroups() && workgroupFits(c);
/** Workgroups that keep a large GPU's multiprocessors busy (an H200 has 132). */
export const GPU_WORKGROUPS_MIN = 128;
/**
 * 'auto' on hardware GPUs, for an axis long enough to keep a workgroup's threads busy and enough outputs to give every
 * multiprocessor a workgroup; fewer (a full sum) split the axis over many threads instead (not yet timed on a GPU).
 */
const gpuLong = (c: ReduceCase) => kernelPrefs.reduce === 'auto' && !onCpu() && c.r >= 4 * TREE_THREADS &&
  c.outer * c.inner >= GPU_WORKGROUPS_MIN;

export const REDUCE_VARIANTS: readonly Choice<ReduceVariant, ReduceCase>[] = [
  {variant: 'subgroup', when: (c) => subgroupFits(c) && (kernelPrefs.reduce === 'subgroup' || gpuLong(c)),
    fits: subgroupFits, why: 'sums within subgroups, one barrier: GPUs with the subgroups feature, long axes'},
  {variant: 'tree', when: (c) => workgroupFits(c) && (kernelPrefs.reduce === 'tree' || gpuLong(c)),
    fits: workgroupFits, why: 'a workgroup per output and a tree in workgroup memory: GPUs, long axes'},
  {variant: 'chunked', when: () => true,
    why: 'a thread per output and chunk, no barriers: CPU adapters (barriers cost more there than they save, as ' +
      'docs/kernel-measurements.md#batch-norm-serial measured for batch norm), short axes'},
];

export const REDUCE: Family<ReduceVariant, ReduceCase> = {name: 'reduce', table: REDUCE_VARIANTS,
  key: (c) => `${c.kind}/${c.outer}x${c.r}x${c.inner}`, open: () => kernelPrefs.reduce === 'auto'};

/** A sum over the outer and inner axes of [outer, channels, inner], keeping the middle (a conv's bias gradient). */
export interface ChannelSumCase { outer: number; channels: number; inner: number }
export type ChannelSumVariant = 'one-pass' | 'two-pass';

/**
 * Loop iterations of one sum_channels(4) thread as llvmpipe counts them, each loop's exit test included: per outer
 * index, the outer loop's, its row's fours and the rest (past 65,535 it stops short: 40,000 x 3 x 1 summed 16,384).
 */
export const channelSumSteps = (c: ChannelSumCase): number => {
  const n = c.inner % 4 === 0 ? c.inner / 4 : c.inner;
  return c.outer * (3 + Math.floor(n / 4) + (n % 4));
};
const onePassFits = (c: ChannelSumCase) => !loopsLimited() || channelSumSteps(c) <= LOOP_STEPS_MAX;
/**
 * Values a channel's thread sums alone where the table takes one pass: LeNet's conv1 at batch 64 holds 36,864
 * (docs/kernel-measurements.md#channel-sums).
 */
export const ONE_PASS_MAX = 1 << 16;

export const CHANNEL_SUM_VARIANTS: readonly Choice<ChannelSumVariant, ChannelSumCase>[] = [
  {variant: 'one-pass', fits: onePassFits,
    when: (c) => kernelPrefs.reduce === 'auto' && onCpu() && c.outer * c.inner <= ONE_PASS_MAX && onePassFits(c),
    why: 'a thread per channel, one dispatch: CPU adapters, where a dispatch hands off for tens of microseconds, and ' +
      'channels of a few tens of thousands of values'},
  {variant: 'two-pass', when: () => true,
    why: 'the inner axis reduced, then the outer one (reduceK twice): every output\'s sum split over many threads'},
];

export const CHANNEL_SUM: Family<ChannelSumVariant, ChannelSumCase> = {name: 'reduce.channels',
  table: CHANNEL_SUM_VARIANTS, key: (c) => `${c.outer}x${c.channels}x${c.inner}${c.inner % 4 ? '' : '/vec'}`,
  open: () => kernelPrefs.reduce === 'auto'};
