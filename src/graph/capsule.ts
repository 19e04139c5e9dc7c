// Capsule ops (shaders/capsule.wgsl): squash, the prediction transform and the two routing products, each with
// its gradient. Routing by agreement itself (src/capsnet/routing.ts) is a loop over these and softmax, so autograd
// carries gradients through every iteration. Tests check each against a float64 reference, finite differences
// and the composition of generic ops (matmul, mul, sum) that it replaces.
import {grid1d} from '../gpu/runtime.js';
import {rt} from './engine.js';
import {customGrad} from './ops.js';
import {SHADERS} from './shaders.js';
import {empty, fmt, type Shape, type Tensor} from './tensor.js';
import {uw} from './uniforms.js';
import {checkArgs} from './validate.js';

const err = (op: string, msg: string) => new Error(`webgpu-transfer: ${op}: ${msg}`);

/** Sizes of the capsule index space: batch, input capsules, output capsules, output dim, input dim. */
interface Dims { b: number; i: number; j: number; o: number; d: number }

function launch(entry: string, buffers: GPUBuffer[], threads: number, s: Dims): void {
  const uniforms = uw().u(threads, s.b, s.i, s.j, s.o, s.d, 0, 0).build();
  rt().dispatch({kernel: SHADERS.capsule, entry, buffers, uniforms, workgroups: grid1d(threads, 64)});
}

function run(entry: string, inputs: Tensor[], outShape: Shape, s: Dims): Tensor {
  const out = empty(outShape);
  if (out.size) launch(entry, [...inputs.map((t) => t.buffer), out.buffer], out.size, s);
  return out;
}

// ---- squash ----
const squashBwdK = (s: Tensor, g: Tensor, d: number) => {
  const out = empty(s.shape);
  if (out.size) launch('squash_bwd', [s.buffer, g.buffer, out.buffer], out.size / d, {b: 0, i: 0, j: 0, o: 0, d});
  return out;
};

/**
 * squash(s) = (|s|^2 / (1 + |s|^2)) s / |s| over the last axis: keeps the direction, maps the length into [0, 1).
 * Safe at s = 0 (output 0, gradient 0, no NaN).
 */
export function squash(s: Tensor): Tensor {
  checkArgs('squash', s);
  if (s.rank < 1 || s.shape[s.rank - 1] < 1) throw err('squash', `input ${s.describe()} needs a last axis of length >= 1 (the capsule's dimension)`);
  const d = s.shape[s.rank - 1];
  const rows = s.size / d;
  return customGrad([s], () => {
    const out = empty(s.shape);
    if (out.size) launch('squash_fwd', [s.buffer, out.buffer], rows, {b: 0, i: 0, j: 0, o: 0, d});
    return out;
  }, (g) => [squashBwdK(s, g, d)], 'squash');
}

// ---- prediction transform ----
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
  return customGrad([u, w], () => run('predict_fwd', [u, w], [b, i, j, o], dims), (g) => [
    u.requiresGrad ? run('predict_bwd_input', [g, w], u.shape, dims) : null,
    w.requiresGrad ? run('predict_bwd_weight', [g, u], w.shape, dims) : null,
  ], 'capsulePredict');
}

// ---- routing products ----
function routingDims(op: string, c: Tensor, x: Tensor, xName: string): Dims {
  if (c.rank !== 3 || x.rank !== 4 || c.shape.some((v, k) => v !== x.shape[k])) {
    throw err(op, `couplings ${c.describe()} must be [B, N, J] and ${xName} ${x.describe()} [B, N, J, O] with the same B, N, J`);
  }
  const [b, i, j, o] = x.shape;
  return {b, i, j, o, d: 0};
}

const weightedSumK = (c: Tensor, uhat: Tensor, s: Dims) => run('weighted_sum', [c, uhat], [s.b, s.j, s.o], s);
const outerK = (c: Tensor, v: Tensor, s: Dims) => run('outer', [c, v], [s.b, s.i, s.j, s.o], s);
const agreementK = (uhat: Tensor, v: Tensor, s: Dims) => run('agreement', [uhat, v], [s.b, s.i, s.j], s);

/** s[b, j, :] = sum_i c[b, i, j] u_hat[b, i, j, :]: the coupling-weighted sum of predictions, [B, J, O]. */
export function capsuleWeightedSum(c: Tensor, uhat: Tensor): Tensor {
  checkArgs('capsuleWeightedSum', c, uhat);
  const dims = routingDims('capsuleWeightedSum', c, uhat, 'predictions');
  return customGrad([c, uhat], () => weightedSumK(c, uhat, dims), (g) => [
    c.requiresGrad ? agreementK(uhat, g, dims) : null,
    uhat.requiresGrad ? outerK(c, g, dims) : null,
  ], 'capsuleWeightedSum');
}

/** a[b, i, j] = u_hat[b, i, j, :] . v[b, j, :]: how much each prediction agrees with its output capsule. */
export function capsuleAgreement(uhat: Tensor, v: Tensor): Tensor {
  checkArgs('capsuleAgreement', uhat, v);
  if (uhat.rank !== 4 || v.rank !== 3 || v.shape[0] !== uhat.shape[0] || v.shape[1] !== uhat.shape[2] || v.shape[2] !== uhat.shape[3]) {
    throw err('capsuleAgreement', `predictions ${uhat.describe()} must be [B, N, J, O] and outputs ${v.describe()} [B, J, O] (${fmt([uhat.shape[0], uhat.shape[2], uhat.shape[3]])} here)`);
  }
  const [b, i, j, o] = uhat.shape;
  const dims = {b, i, j, o, d: 0};
  return customGrad([uhat, v], () => agreementK(uhat, v, dims), (g) => [
    uhat.requiresGrad ? outerK(g, v, dims) : null,
    v.requiresGrad ? weightedSumK(g, uhat, dims) : null,
  ], 'capsuleAgreement');
}
