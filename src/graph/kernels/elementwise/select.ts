// Which elementwise kernel runs: four elements per thread as vec4s, or one.
import {kernelPrefs} from '../prefs.js';
import type {Choice, Family} from '../select.js';

/**
 * An elementwise launch: its element count, whether any operand is broadcast, and for a binary op whose b alone
 * broadcasts as one value per run of `inner` elements cycling every `mid` runs (channelRuns), those two.
 */
export interface ElementwiseCase { n: number; broadcast: boolean; channel?: {inner: number; mid: number} | null }
export type ElementwiseVariant = 'vec4' | 'channel4' | 'main';

const whole4 = (c: ElementwiseCase) => !c.broadcast && c.n % 4 === 0;
const channel4 = (c: ElementwiseCase) => !!c.channel && c.channel.inner % 4 === 0;

export const ELEMENTWISE_VARIANTS: readonly Choice<ElementwiseVariant, ElementwiseCase>[] = [
  {variant: 'vec4', when: (c) => whole4(c) && kernelPrefs.elementwiseVec4, fits: whole4,
    why: 'unbroadcast operands over whole vec4s: a quarter of the threads and loads'},
  {variant: 'channel4', when: (c) => channel4(c) && kernelPrefs.elementwiseVec4, fits: channel4,
    why: 'b one value per run of a multiple of 4 elements (a per-channel scale or bias): a vec4 and one index a thread'},
  {variant: 'main', when: () => true, why: 'any shape, broadcast by strides'},
];

export const ELEMENTWISE_FAMILY: Family<ElementwiseVariant, ElementwiseCase> = {name: 'elementwise',
  table: ELEMENTWISE_VARIANTS, key: (c) => `${c.n}${c.broadcast ? '/broadcast' : ''}${c.channel ? `/channel${c.channel.inner}x${c.channel.mid}` : ''}`,
  open: () => kernelPrefs.elementwiseVec4};
