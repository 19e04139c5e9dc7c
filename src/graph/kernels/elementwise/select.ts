// Which elementwise kernel runs: four elements per thread as vec4s, or one.
import {kernelPrefs} from '../prefs.js';
import type {Choice, Family} from '../select.js';

/** An elementwise launch: its element count and whether any operand is broadcast. */
export interface ElementwiseCase { n: number; broadcast: boolean }
export type ElementwiseVariant = 'vec4' | 'main';

const whole4 = (c: ElementwiseCase) => !c.broadcast && c.n % 4 === 0;

export const ELEMENTWISE_VARIANTS: readonly Choice<ElementwiseVariant, ElementwiseCase>[] = [
  {variant: 'vec4', when: (c) => whole4(c) && kernelPrefs.elementwiseVec4, fits: whole4,
    why: 'unbroadcast operands over whole vec4s: a quarter of the threads and loads'},
  {variant: 'main', when: () => true, why: 'any shape, broadcast by strides'},
];

export const ELEMENTWISE_FAMILY: Family<ElementwiseVariant, ElementwiseCase> = {name: 'elementwise',
  table: ELEMENTWISE_VARIANTS, key: (c) => `${c.n}${c.broadcast ? '/broadcast' : ''}`,
  open: () => kernelPrefs.elementwiseVec4};
