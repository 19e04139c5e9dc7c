// Routing by agreement (Sabour et al. 2017, procedure 1): couplings c_ij = softmax_j(b_ij), output capsules
// v_j = squash(sum_i c_ij u_hat_{j|i}), logits b_ij += u_hat_{j|i} . v_j, for r iterations. Built from the capsule
// ops and softmax, so autograd differentiates through every iteration (as the paper's code does); with
// stopGradient the routing runs on detached predictions, so the couplings act as constants and the gradient
// reaches u_hat only through the final weighted sum.
import {capsuleAgreement, capsuleRouting, capsuleWeightedSum, checkRouting, squash} from '../graph/capsule.js';
import * as ops from '../graph/ops.js';
import type {Tensor} from '../graph/tensor.js';

/** Options of dynamicRouting: iterations, starting logits, stopped gradients, and the composed reference path. */
export interface RoutingOptions {
  /** Routing iterations r >= 1 (the paper: 3). A plain number, so it can change between calls. */
  iterations: number;
  /** Starting logits [N, J] broadcast over the batch (random values, as the lecture notes draw it); zero if absent. */
  initialLogits?: Tensor | null;
  /** Stop gradients through the coupling coefficients (default false: through all iterations). */
  stopGradient?: boolean;
  /**
   * Build routing from the separate capsule ops and let autograd differentiate it (the reference), instead of
   * the one routing op with its hand-written backward (default; several times less memory traffic).
   */
  composed?: boolean;
}

/** What dynamicRouting returns: the output capsules and the last iteration's couplings. */
export interface Routed {
  /** Output capsules [B, J, O]. */
  v: Tensor;
  /** The couplings c [B, N, J] of the last iteration (the ones that weighted v). */
  couplings: Tensor;
}

/** Routes predictions u_hat [B, N, J, O] of N input capsules for J output capsules. */
export function dynamicRouting(uhat: Tensor, o: RoutingOptions): Routed {
  const r = o.iterations;
  const init = o.initialLogits;
  if (!o.composed) return capsuleRouting(uhat, {iterations: r, initialLogits: init ?? null, stopGradient: !!o.stopGradient});
  checkRouting('dynamicRouting', uhat, r, init);
  const [b, n, j] = uhat.shape;
  const routed = o.stopGradient ? ops.detach(uhat) : uhat;
  let logits = init ? ops.expand(ops.reshape(init, [1, n, j]), [b, n, j]) : ops.zeros([b, n, j]);
  for (let it = 0; ; it++) {
    const c = ops.softmax(logits, 2);
    const last = it === r - 1;
    const v = squash(capsuleWeightedSum(c, last ? uhat : routed));
    if (last) return {v, couplings: c};
    logits = ops.add(logits, capsuleAgreement(routed, v));
  }
}

/** Capsule lengths |v| over the last axis, [..., J]: the probability each entity is present. */
export function capsuleLengths(v: Tensor): Tensor {
  // The epsilon keeps the gradient of sqrt finite for an all-zero capsule (its length is then 1e-4, not 0).
  return ops.sqrt(ops.add(ops.sum(ops.square(v), -1), 1e-8));
}
