// The seed of a scalar's backward(): one 1 that the runtime holds, filled once. A training step then runs no fill
// for its seed, and a rule can recognise it (crossEntropy's gradient for it is ready from its forward).
import {keep, rt} from './engine.js';
import {fillK} from './kernels/layout/index.js';
import {empty, type Tensor} from './tensor.js';

let unit: {rtRef: unknown; t: Tensor} | null = null;

/** A view of the runtime's 1 in `shape` (one element). Nothing may write to it. */
export function unitSeed(shape: number[]): Tensor {
  if (!unit || unit.rtRef !== rt() || unit.t.disposed) {
    unit = {rtRef: rt(), t: rt().once(() => keep(fillK(empty([]), 1)))};
  }
  return unit.t.viewAs(shape);
}

/** Whether g views the runtime's unit seed. */
export const isUnitSeed = (g: Tensor): boolean => !!unit && unit.rtRef === rt() && g.sharesBuffer(unit.t);
