// Capsule ops (shaders/capsule.wgsl): squash, the prediction transform, the two routing products, and routing by
// agreement as one op. Their gradient rules are in gradients.ts (capsuleRules); tests check each against a float64
// reference, finite differences and the composition of generic ops (matmul, mul, sum) it replaces.
import {agreementK, predictK, routingForwardK, squashK, weightedSumK, type CapsDims} from './kernels/capsule/index.js';
import {isGradEnabled} from './engine.js';
import {record} from './record.js';
import {fmt, type Tensor} from './tensor.js';
import {checkArgs} from './validate.js';

const err = (op: string, msg: string) => new Error(`webgpu-transfer: ${op}: ${msg}`);

/**
 * squash(s) = (|s|^2 / (1 + |s|^2)) s / |s| over the last axis: keeps the direction, maps the length into [0, 1).
 * Safe at s = 0 (output 0, gradient 0, no NaN).
 */
export function squash(s: Tensor): Tensor {
  checkArgs('squash', s);
  if (s.rank < 1 || s.shape[s.rank - 1] < 1) throw err('squash', `input ${s.describe()} needs a last axis of length >= 1 (the capsule's dimension)`);
  const d = s.shape[s.rank - 1];
  return record(squashK(s, d), 'squash', [s], {d});
}

/**
 * u_hat[b, i, j, :] = W[i, j] @ u[b, i, :] for every input capsule i and output capsule j: u [B, N, D] (N input
 * capsules of dimension D), W [N, J, O, D] -> u_hat [B, N, J, O].
 */
export function capsulePredict(u: Tensor, w: Tensor): Tensor {
  checkArgs('capsulePredict', u, w);
  if (u.rank !== 3 || w.rank !== 4 || u.shape[1] !== w.shape[0] || u.shape[2] !== w.shape[3]) {
    throw err('capsulePredict', `capsules u ${u.describe()} must be [B, N, D] and weights ${w.describe()} [N, J, O, D] with the same N and D`);
  }
  const [b, i, d] = u.shape;
  const [, j, o] = w.shape;
  const dims = {b, i, j, o, d};
  return record(predictK(u, w, dims), 'capsulePredict', [u, w], {dims});
}

function routingDims(op: string, c: Tensor, x: Tensor, xName: string): CapsDims {
  if (c.rank !== 3 || x.rank !== 4 || c.shape.some((v, k) => v !== x.shape[k])) {
    throw err(op, `couplings ${c.describe()} must be [B, N, J] and ${xName} ${x.describe()} [B, N, J, O] with the same B, N, J`);
  }
  const [b, i, j, o] = x.shape;
  return {b, i, j, o, d: 0};
}

/** s[b, j, :] = sum_i c[b, i, j] u_hat[b, i, j, :]: the coupling-weighted sum of predictions, [B, J, O]. */
export function capsuleWeightedSum(c: Tensor, uhat: Tensor): Tensor {
  checkArgs('capsuleWeightedSum', c, uhat);
  const dims = routingDims('capsuleWeightedSum', c, uhat, 'predictions');
  return record(weightedSumK(c, uhat, dims), 'capsuleWeightedSum', [c, uhat], {dims});
}

/** a[b, i, j] = u_hat[b, i, j, :] . v[b, j, :]: how much each prediction agrees with its output capsule. */
export function capsuleAgreement(uhat: Tensor, v: Tensor): Tensor {
  checkArgs('capsuleAgreement', uhat, v);
  if (uhat.rank !== 4 || v.rank !== 3 || v.shape[0] !== uhat.shape[0] || v.shape[1] !== uhat.shape[2] || v.shape[2] !== uhat.shape[3]) {
    throw err('capsuleAgreement', `predictions ${uhat.describe()} must be [B, N, J, O] and outputs ${v.describe()} [B, J, O] (${fmt([uhat.shape[0], uhat.shape[2], uhat.shape[3]])} here)`);
  }
  const [b, i, j, o] = uhat.shape;
  const dims = {b, i, j, o, d: 0};
  return record(agreementK(uhat, v, dims), 'capsuleAgreement', [uhat, v], {dims});
}

/**
 * Settings of capsuleRouting: iterations, starting logits, and whether the couplings are constants for the
 * gradient.
 */
export interface RoutingSettings {
  iterations: number;
  /** Starting logits [N, J] (broadcast over the batch), or null for zeros. */
  initialLogits: Tensor | null;
  /** Couplings as constants: the gradient reaches u_hat through the final weighted sum only. */
  stopGradient: boolean;
}

/** Checks routing's arguments (the one op and its composition share them): u_hat [B, N, J, O], r >= 1, init [N, J]. */
export function checkRouting(op: string, uhat: Tensor, iterations: number, init: Tensor | null | undefined): void {
  if (uhat.rank !== 4) throw err(op, `predictions must be [B, N, J, O], got ${uhat.describe()}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw err(op, `iterations must be an integer >= 1, got ${iterations}`);
  const [, i, j] = uhat.shape;
  if (init && (init.rank !== 2 || init.shape[0] !== i || init.shape[1] !== j)) {
    throw err(op, `initial logits ${init.describe()} must be [${i}, ${j}] for predictions ${uhat.describe()}`);
  }
}

/**
 * Routing by agreement over predictions u_hat [B, N, J, O] as one op: the forward runs the r iterations with the
 * capsule kernels and softmax; its rule (gradients.ts) runs the recursion by hand over the small per-iteration
 * tensors and writes du_hat in one pass. The composition of the ops above (src/capsnet/routing.ts,
 * composed: true) is the reference it is tested against. Returns the output capsules [B, J, O] (differentiable)
 * and the last couplings [B, N, J] (not; keep them alive until backward).
 */
export function capsuleRouting(uhat: Tensor, o: RoutingSettings): {v: Tensor; couplings: Tensor} {
  checkArgs('capsuleRouting', uhat, o.initialLogits);
  checkRouting('capsuleRouting', uhat, o.iterations, o.initialLogits);
  const [b, i, j, oo] = uhat.shape;
  const r = o.iterations;
  const init = o.initialLogits;
  if (init?.requiresGrad && isGradEnabled()) {
    throw err('capsuleRouting', `initial logits ${init.describe()} require a gradient, which this op does not give them: ` +
      'route with dynamicRouting(u_hat, {composed: true}) to learn them');
  }
  const state = routingForwardK(uhat, init, r, o.stopGradient, {b, i, j, o: oo, d: 0});
  const v = record(state.v[r - 1], 'capsuleRouting', [uhat], {state});
  // Free what no backward will read: everything but the outputs without a node; all but c, s of the last
  // iteration when gradients stop at the couplings.
  const couplings = state.c[r - 1];
  const needed = new Set([v, couplings, ...(!v.node ? [] : o.stopGradient ? [state.s[r - 1]] : [...state.c, ...state.s, ...state.v])]);
  for (const t of [...state.c, ...state.s, ...state.v]) if (!needed.has(t)) t.dispose();
  // What only the rule reads is owned by v's node (freed with v, as a lowered conv's matrix): a graph dropped
  // without tidy() keeps none of it. The couplings are an output: the caller frees them.
  const ruleOnly = [...needed].filter((t) => t !== v && t !== couplings);
  if (v.node && ruleOnly.length) (v.node.owned ??= []).push(...ruleOnly);
  return {v, couplings};
}
