// Capsule ops (shaders/capsule.wgsl): squash, the prediction transform and the two routing products, each with
// its gradient. Routing by agreement itself (src/capsnet/routing.ts) is a loop over these and softmax, so autograd
// carries gradients through every iteration. Tests check each against a float64 reference, finite differences
// and the composition of generic ops (matmul, mul, sum) that it replaces.
import {grid1d} from '../gpu/runtime.js';
import {rt} from './engine.js';
import * as K from './kernels.js';
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
const squashK = (s: Tensor, d: number) => {
  const out = empty(s.shape);
  if (out.size) launch('squash_fwd', [s.buffer, out.buffer], out.size / d, {b: 0, i: 0, j: 0, o: 0, d});
  return out;
};
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
  return customGrad([s], () => squashK(s, d), (g) => [squashBwdK(s, g, d)], 'squash');
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

// ---- routing by agreement as one op ----
export interface RoutingSettings {
  iterations: number;
  /** Starting logits [N, J] (broadcast over the batch), or null for zeros. */
  initialLogits: Tensor | null;
  /** Couplings as constants: the gradient reaches u_hat through the final weighted sum only. */
  stopGradient: boolean;
}

/**
 * Routing by agreement over predictions u_hat [B, N, J, O] as one op: the forward runs the r iterations with the
 * capsule kernels and softmax; the backward runs the recursion by hand over the small per-iteration tensors
 * ([B, N, J] couplings and logit gradients, [B, J, O] capsules) and writes du_hat in one pass (outer_sum),
 * instead of the 4r - 2 full-size [B, N, J, O] outer products and additions autograd would make of the
 * composition. The composition (src/capsnet/routing.ts, composed: true) is the reference it is tested against.
 * Returns the output capsules [B, J, O] (differentiable) and the last couplings [B, N, J] (not).
 */
export function capsuleRouting(uhat: Tensor, o: RoutingSettings): {v: Tensor; couplings: Tensor} {
  checkArgs('capsuleRouting', uhat, o.initialLogits);
  if (uhat.rank !== 4) throw err('capsuleRouting', `predictions must be [B, N, J, O], got ${uhat.describe()}`);
  const [b, i, j, oo] = uhat.shape;
  const r = o.iterations;
  if (!Number.isInteger(r) || r < 1) throw err('capsuleRouting', `iterations must be an integer >= 1, got ${r}`);
  const init = o.initialLogits;
  if (init && (init.rank !== 2 || init.shape[0] !== i || init.shape[1] !== j)) {
    throw err('capsuleRouting', `initial logits ${init.describe()} must be [${i}, ${j}] for predictions ${uhat.describe()}`);
  }
  const dims: Dims = {b, i, j, o: oo, d: 0};
  const small = [b, i, j], caps = [b, j, oo];
  const c: Tensor[] = [], s: Tensor[] = [], v: Tensor[] = [];
  const v1 = customGrad([uhat], () => {
    let logits = init ? K.expandK(init, small) : K.fillK(empty(small), 0);
    for (let t = 0; t < r; t++) {
      c.push(K.softmaxK(logits, b * i, j, 1, false));
      s.push(weightedSumK(c[t], uhat, dims));
      v.push(squashK(s[t], oo));
      if (t === r - 1) break;
      const a = agreementK(uhat, v[t], dims);
      const next = K.binaryK('add', logits, a);
      a.dispose();
      logits.dispose();
      logits = next;
    }
    logits.dispose();
    return v[r - 1];
  }, (g) => {
    if (o.stopGradient) {
      const gs = squashBwdK(s[r - 1], g, oo);
      const du = outerK(c[r - 1], gs, dims);
      gs.dispose();
      return [du];
    }
    // Terms of du_hat: A_k [B, N, J] times X_k [B, J, O]; k < r are (c_t, ds_t), k >= r are (db_{t+1}, v_t).
    const terms = 2 * r - 1;
    const A = empty([terms, ...small]), X = empty([terms, ...caps]);
    const put = (src: Tensor, dst: Tensor, k: number) => K.copyK(src, dst, [src.size], [1], [1], 0, k * src.size);
    let gb: Tensor | null = null; // gradient of the logits b_{t+1}
    for (let t = r - 1; t >= 0; t--) {
      let gv = t === r - 1 ? g : null;
      if (gb) {
        const fromAgreement = weightedSumK(gb, uhat, dims);
        gv = gv ? K.binaryK('add', gv, fromAgreement) : fromAgreement;
        put(gb, A, r + t);
        put(v[t], X, r + t);
      }
      const gs = squashBwdK(s[t], gv!, oo);
      put(c[t], A, t);
      put(gs, X, t);
      if (t > 0) {
        const gc = agreementK(uhat, gs, dims);
        const gsoft = K.softmaxBwdK(c[t], gc, b * i, j, 1, false);
        gc.dispose();
        const next: Tensor = gb ? K.binaryK('add', gb, gsoft) : gsoft;
        if (gb) { gb.dispose(); gsoft.dispose(); }
        gb = next;
      }
      gs.dispose();
      if (gv && gv !== g) gv.dispose();
    }
    gb?.dispose();
    const du = run('outer_sum', [A, X], uhat.shape, {...dims, d: terms});
    A.dispose();
    X.dispose();
    return [du];
  }, 'capsuleRouting');
  return {v: v1, couplings: c[r - 1]};
}
