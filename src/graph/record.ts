// The end of every op: records the autograd node of its output, with the op's rule from the table in
// gradients.ts and what its forward saved for that rule (typed by the rule), then runs anomaly mode's scan.
// Op modules other than ops/ (new op families) import record() from here, like the files of ops/ do:
//
//   export function myOp(x: Tensor, k: number): Tensor {
//     checkArgs('myOp', x);                                   // its signature in validate.ts
//     return record(kernels.myOpK(x, k), 'myOp', [x], {k});   // 'myOp' and {k} checked against its rule
//   }
import {isGradEnabled} from './engine.js';
import type {Node, Tensor} from './tensor.js';
import {setCurrentOp} from './validate.js';
import {anomalyCheck} from './anomaly.js';
// A cycle (the rules call ops, which call record), safe because no module uses another at load time.
import {GRADIENTS, type OpName, type SavedOf} from './gradients.js';
// Loads autograd, which gives Tensor.backward() its implementation: every tensor with a graph comes from here.
import './autograd.js';

/** The saved-values argument of record(): omitted for ops whose rule needs nothing saved. */
export type SavedArg<P extends OpName> = keyof SavedOf<P> extends never ? [] : [saved: SavedOf<P>];

/**
 * Ends op P: records a node for autograd (when an input requires grad) with P's rule and what the forward saved
 * for it. A name without a rule, or saved values the rule does not take, is a compile error.
 */
export function record<P extends OpName>(out: Tensor, op: P, inputs: Tensor[], ...saved: SavedArg<P>): Tensor {
  return recordNode(out, op, inputs, saved[0] ?? {}, GRADIENTS[op] as unknown as Node['backward']);
}

/** record() with a rule of the caller's own (customGrad); `op` only names the node in messages. */
export function recordNode(out: Tensor, op: string, inputs: Tensor[], saved: object, backward: Node['backward']): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.node = {op, inputs, saved, backward};
    out.requiresGrad = true;
  }
  anomalyCheck(op, inputs, [out]);
  setCurrentOp(null);
  return out;
}
