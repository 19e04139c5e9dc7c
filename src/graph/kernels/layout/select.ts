// Which kernel a strided copy runs, and which a fill: the transposes where the copy is one, else the general copy.
import {onCpu} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import type {Choice} from '../select.js';
import type {Transpose} from './copy.js';

/** A strided copy: its element type and, where it is a batched 2-D transpose, that transpose. */
export interface CopyCase {
  f32: boolean; transpose: Transpose | null;
  /** Whether it runs in whole vec4s (copy.ts: vec4sOf). */
  vec4s: boolean;
}
export type CopyVariant = 'transpose4' | 'transpose_rows' | 'copy_vec4' | 'copy_main';

/** The longest dst rows transpose_rows takes (a thread writes one: long ones would leave too few threads). */
export const TRANSPOSE_ROWS_MAX = 64;

const fours = (t: Transpose) => [t.I, t.J, t.dst_rs, t.src_rs, t.sbs, t.dbs, t.inOffset, t.outOffset]
  .every((v) => v % 4 === 0);

export const COPY_VARIANTS: readonly Choice<CopyVariant, CopyCase>[] = [
  {variant: 'transpose4', when: (c) => c.f32 && !!c.transpose && kernelPrefs.transpose4 && fours(c.transpose),
    why: 'a transpose with every size, stride and offset a multiple of 4: a thread per 4 x 4 block'},
  {variant: 'transpose_rows', when: (c) => c.f32 && !!c.transpose && kernelPrefs.transposeRows &&
    c.transpose.J <= TRANSPOSE_ROWS_MAX, why: 'a transpose with short dst rows: a thread per row'},
  {variant: 'copy_vec4', when: (c) => c.f32 && c.vec4s && kernelPrefs.copyVec4,
    why: 'whole vec4s along both sides\' innermost dimension: a quarter of the loads, stores and index steps ' +
      '(docs/kernel-measurements.md#copy-vec4)'},
  {variant: 'copy_main', when: () => true, why: 'any strides: a thread per run of COPY_RUN elements'},
];

/** Elements per copy_main thread: 8 on CPU adapters, whose threads are few, 1 on GPUs. */
export const copyRun = (): number => (onCpu() ? 8 : 1);

/** A fill: its element count. */
export interface FillCase { n: number }
export const FILL_VARIANTS: readonly Choice<'fill_vec4' | 'fill_main', FillCase>[] = [
  {variant: 'fill_vec4', when: (c) => c.n % 4 === 0 && kernelPrefs.elementwiseVec4,
    why: 'whole vec4s: a quarter of the threads'},
  {variant: 'fill_main', when: () => true, why: 'any size'},
];
