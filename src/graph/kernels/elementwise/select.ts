// Which elementwise kernel runs: four elements per thread as vec4s, or one.
import {kernelPrefs} from '../prefs.js';
import type {Choice} from '../select.js';

/** An elementwise launch: its element count and whether any operand is broadcast. */
export interface ElementwiseCase { n: number; broadcast: boolean }
export type ElementwiseVariant = 'vec4' | 'main';

export const ELEMENTWISE_VARIANTS: readonly Choice<ElementwiseVariant, ElementwiseCase>[] = [
  {variant: 'vec4', when: (c) => !c.broadcast && c.n % 4 === 0 && kernelPrefs.elementwiseVec4,
    why: 'unbroadcast operands over whole vec4s: a quarter of the threads and loads'},
  {variant: 'main', when: () => true, why: 'any shape, broadcast by strides'},
];
