// Which elementwise kernel runs: four elements per thread as vec4s (the first operand from storage or through the
// staging texture), or one.
import {readsThroughTexture, textureTwinFits} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import type {Choice, Family} from '../select.js';

/**
 * An elementwise launch: its element count, whether any operand is broadcast, and for a binary op whose b alone
 * broadcasts as one value per run of `inner` elements cycling every `mid` runs (channelRuns), those two.
 */
export interface ElementwiseCase { n: number; broadcast: boolean; channel?: {inner: number; mid: number} | null }
export type ElementwiseVariant = 'vec4_texture' | 'vec4' | 'channel4_texture' | 'channel4' | 'main';

const whole4 = (c: ElementwiseCase) => !c.broadcast && c.n % 4 === 0;
const channel4 = (c: ElementwiseCase) => !!c.channel && c.channel.inner % 4 === 0;
/**
 * The table reads the first operand (as large as the output in the vec4 entries) through the staging texture from
 * TEXTURE_MIN_FLOATS elements, where the copy costs less than the storage loads it saves; measured choices decide per
 * adapter (docs/kernel-measurements.md#texture-reads).
 */
export const TEXTURE_MIN_FLOATS = 1 << 16;
const textured = (c: ElementwiseCase) => c.n >= TEXTURE_MIN_FLOATS && readsThroughTexture(c.n);
const textureFits = (c: ElementwiseCase) => textureTwinFits(c.n);

export const ELEMENTWISE_VARIANTS: readonly Choice<ElementwiseVariant, ElementwiseCase>[] = [
  {variant: 'vec4_texture', when: (c) => whole4(c) && kernelPrefs.elementwiseVec4 && textured(c),
    fits: (c) => whole4(c) && textureFits(c),
    why: 'vec4, the first operand through the staging texture: llvmpipe, large tensors'},
  {variant: 'vec4', when: (c) => whole4(c) && kernelPrefs.elementwiseVec4, fits: whole4,
    why: 'unbroadcast operands over whole vec4s: a quarter of the threads and loads'},
  {variant: 'channel4_texture', when: (c) => channel4(c) && kernelPrefs.elementwiseVec4 && textured(c),
    fits: (c) => channel4(c) && textureFits(c),
    why: 'channel4, the first operand through the staging texture: llvmpipe, large tensors'},
  {variant: 'channel4', when: (c) => channel4(c) && kernelPrefs.elementwiseVec4, fits: channel4,
    why: 'b one value per run of a multiple of 4 elements (a per-channel scale or bias): a vec4 and one index a thread'},
  {variant: 'main', when: () => true, why: 'any shape, broadcast by strides'},
];

export const ELEMENTWISE_FAMILY: Family<ElementwiseVariant, ElementwiseCase> = {name: 'elementwise',
  table: ELEMENTWISE_VARIANTS, key: (c) => `${c.n}${c.broadcast ? '/broadcast' : ''}${c.channel ? `/channel${c.channel.inner}x${c.channel.mid}` : ''}`,
  open: () => kernelPrefs.elementwiseVec4};
