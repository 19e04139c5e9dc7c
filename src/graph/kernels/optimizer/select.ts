// Where an optimizer's state lives and which update kernels run: one dispatch per group over state arenas
// (*_multi), or one per parameter (*_main). Decided once per optimizer, when it first steps.
import type {Choice} from '../select.js';

/** What the choice reads: whether the optimizer allows arenas, and whether they fit the adapter. */
export interface OptimizerCase {
  /** The optimizer's multiTensor option. */
  allowed: boolean;
  /** The arenas' bytes, and the largest storage binding the adapter allows. */
  bytes: number; maxBinding: number;
  /** Storage buffers the multi kernel binds, and how many one shader stage may. */
  bindings: number; maxBindings: number;
}

export type OptimizerVariant = 'multi' | 'single';
export const OPTIMIZER_VARIANTS: readonly Choice<OptimizerVariant, OptimizerCase>[] = [
  {variant: 'multi', when: (c) => c.allowed && c.bytes > 0 && c.bytes <= c.maxBinding && c.bindings <= c.maxBindings,
    why: 'one dispatch per parameter group: a training step\'s updates cost one dispatch, not one per tensor'},
  {variant: 'single', when: () => true, why: 'one dispatch per parameter: state too large for one binding, or asked'},
];
