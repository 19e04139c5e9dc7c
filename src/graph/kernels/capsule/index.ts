// Launchers of the capsule kernels (the generated ones in generated.ts where select.ts says they apply, else
// shaders/capsule.wgsl, declared as CAPSULE in shaders.ts) and the forward and backward passes of routing by
// agreement built from them. No autograd here: capsule.ts records the ops and gradients.ts holds their rules.
import {CAPSULE} from '../../shaders.js';
import {empty, type Shape, type Tensor} from '../../tensor.js';
import {binaryK} from '../elementwise/index.js';
import {copyK, expandK, fillK} from '../layout/index.js';
import {softmaxBwdK, softmaxK} from '../reduce/index.js';
import {choose} from '../select.js';
import {agreementKernel, outerSumKernel, PREDICT_BLOCK, predictBwdInputKernel, predictBwdWeightKernel,
  predictFwdKernel, ROUTING_ROWS, weightedSumKernel, type CapsuleGenKernel} from './generated.js';
import {CAPSULE_PREDICT, CAPSULE_ROUTING, CAPSULE_WEIGHTED_SUM, type CapsDims} from './select.js';

export type {CapsDims} from './select.js';
type Entry = Parameters<typeof CAPSULE.launch>[0];

/** Runs a hand-written entry of shaders/capsule.wgsl or a generated kernel (generated.ts) into a new tensor. */
function run(kernel: Entry | CapsuleGenKernel, inputs: Tensor[], outShape: Shape, s: CapsDims,
  threads?: number): Tensor {
  const out = empty(outShape);
  const n = threads ?? out.size;
  if (!out.size) return out;
  const args = {buffers: [...inputs.map((t) => t.buffer), out.buffer], params: {n, ...s}, threads: n};
  if (typeof kernel === 'string') CAPSULE.launch(kernel, args);
  else kernel.launch('main', args);
  return out;
}

const rowsOf = (d: number): CapsDims => ({b: 0, i: 0, j: 0, o: 0, d});
/** squash over the last axis (length d). */
export const squashK = (s: Tensor, d: number) => run('squash_fwd', [s], s.shape, rowsOf(d), s.size / d);
export const squashBwdK = (s: Tensor, g: Tensor, d: number) =>
  run('squash_bwd', [s, g], s.shape, rowsOf(d), s.size / d);

/** Whether the prediction transform runs on the generated kernels (PREDICT_VARIANTS). */
const generated = (s: CapsDims) => choose(CAPSULE_PREDICT, s) === 'generated';

/**
 * u [B, N, D], W [N, J, O, D] -> u_hat [B, N, J, O], and its two gradients. The generated kernels (and those of the
 * routing products below) cut the small CapsNet step's capsule kernel time several-fold on llvmpipe
 * (docs/kernel-measurements.md#capsule-generated).
 */
export function predictK(u: Tensor, w: Tensor, s: CapsDims): Tensor {
  const {rows, outs} = PREDICT_BLOCK;
  if (!generated(s)) return run('predict_fwd', [u, w], [s.b, s.i, s.j, s.o], s);
  return run(predictFwdKernel(s.d), [u, w], [s.b, s.i, s.j, s.o], s,
    Math.ceil(s.b / rows) * s.i * Math.ceil(s.j * s.o / outs));
}
export function predictBwdInputK(g: Tensor, w: Tensor, s: CapsDims): Tensor {
  if (!generated(s)) return run('predict_bwd_input', [g, w], [s.b, s.i, s.d], s);
  return run(predictBwdInputKernel(s.d), [g, w], [s.b, s.i, s.d], s, Math.ceil(s.b / PREDICT_BLOCK.rows) * s.i);
}
export function predictBwdWeightK(g: Tensor, u: Tensor, s: CapsDims): Tensor {
  if (!generated(s)) return run('predict_bwd_weight', [g, u], [s.i, s.j, s.o, s.d], s);
  return run(predictBwdWeightKernel(s.d), [g, u], [s.i, s.j, s.o, s.d], s,
    s.i * Math.ceil(s.j * s.o / PREDICT_BLOCK.outs));
}

/** Whether the routing products run on the generated kernels (ROUTING_VARIANTS). */
const vecRouting = (s: CapsDims, terms = 1) => choose(CAPSULE_ROUTING, {s, terms}) === 'generated';
/** Threads of the kernels that take blocks of ROUTING_ROWS input capsules. */
const rowThreads = (s: CapsDims) => s.b * s.j * Math.ceil(s.i / ROUTING_ROWS);

/** s [B, J, O] = sum_i c [B, N, J] * u_hat [B, N, J, O]; its variants: WEIGHTED_SUM_VARIANTS. */
export const weightedSumK = (c: Tensor, uhat: Tensor, s: CapsDims) =>
  choose(CAPSULE_WEIGHTED_SUM, {s, terms: 1}) === 'generated'
  ? run(weightedSumKernel(s.o), [c, uhat], [s.b, s.j, s.o], s, s.b * s.j)
  : run('weighted_sum', [c, uhat], [s.b, s.j, s.o], s);
/** [B, N, J, O] = c [B, N, J] * v [B, J, O]. */
export const outerK = (c: Tensor, v: Tensor, s: CapsDims) => vecRouting(s)
  ? run(outerSumKernel(s.o, 1), [c, v], [s.b, s.i, s.j, s.o], s, rowThreads(s))
  : run('outer', [c, v], [s.b, s.i, s.j, s.o], s);
/** a [B, N, J] = u_hat [B, N, J, O] . v [B, J, O]. */
export const agreementK = (uhat: Tensor, v: Tensor, s: CapsDims) => vecRouting(s)
  ? run(agreementKernel(s.o), [v, uhat], [s.b, s.i, s.j], s, rowThreads(s))
  : run('agreement', [uhat, v], [s.b, s.i, s.j], s);

/** What the routing forward keeps for its backward: every iteration's couplings, sums and outputs. */
export interface RoutingState {
  dims: CapsDims; iterations: number; stopGradient: boolean; c: Tensor[]; s: Tensor[]; v: Tensor[];
}

/** r iterations of routing by agreement on u_hat; returns the state (the output is state.v[r - 1]). */
export function routingForwardK(uhat: Tensor, init: Tensor | null, iterations: number, stopGradient: boolean,
  dims: CapsDims): RoutingState {
  const {b, i, j, o} = dims;
  const small = [b, i, j];
  const st: RoutingState = {dims, iterations, stopGradient, c: [], s: [], v: []};
  let logits = init ? expandK(init, small) : fillK(empty(small), 0);
  for (let t = 0; t < iterations; t++) {
    st.c.push(softmaxK(logits, b * i, j, 1, false));
    st.s.push(weightedSumK(st.c[t], uhat, dims));
    st.v.push(squashK(st.s[t], o));
    if (t === iterations - 1) break;
    const a = agreementK(uhat, st.v[t], dims);
    const next = binaryK('add', logits, a);
    a.dispose();
    logits.dispose();
    logits = next;
  }
  logits.dispose();
  return st;
}

/**
 * d loss / d u_hat through all iterations (or through the last weighted sum only, stopGradient). The recursion runs
 * on the small per-iteration tensors; du_hat = sum_t c_t (x) ds_t + sum_{t<r-1} db_{t+1} (x) v_t is written in one
 * pass (outer_sum) instead of the 2r - 1 full-size outer products and 2r - 2 additions autograd would make.
 */
export function routingBackwardK(uhat: Tensor, g: Tensor, st: RoutingState): Tensor {
  const {dims, iterations: r, c, s, v} = st;
  const {b, i, j, o} = dims;
  if (st.stopGradient) {
    const gs = squashBwdK(s[r - 1], g, o);
    const du = outerK(c[r - 1], gs, dims);
    gs.dispose();
    return du;
  }
  // Terms A_k [B, N, J] times X_k [B, J, O]: k < r are (c_t, ds_t), k >= r are (db_{t+1}, v_t).
  const terms = 2 * r - 1;
  const A = empty([terms, b, i, j]), X = empty([terms, b, j, o]);
  const put = (src: Tensor, dst: Tensor, k: number) => copyK(src, dst, [src.size], [1], [1], 0, k * src.size);
  let gb: Tensor | null = null; // gradient of the logits b_{t+1}
  for (let t = r - 1; t >= 0; t--) {
    let gv: Tensor = g;
    if (gb) {
      // b_{t+1} = b_t + agreement(u_hat, v_t): v_t's gradient is sum_i db_{t+1} u_hat (a weighted sum).
      gv = weightedSumK(gb, uhat, dims);
      put(gb, A, r + t);
      put(v[t], X, r + t);
    }
    const gs = squashBwdK(s[t], gv, o);
    put(c[t], A, t);
    put(gs, X, t);
    if (t > 0) {
      const gc = agreementK(uhat, gs, dims);
      const gsoft = softmaxBwdK(c[t], gc, b * i, j, 1, false);
      gc.dispose();
      // b_t feeds c_t and (identically) b_{t+1}.
      const next: Tensor = gb ? binaryK('add', gb, gsoft) : gsoft;
      if (gb) { gb.dispose(); gsoft.dispose(); }
      gb = next;
    }
    gs.dispose();
    if (gv !== g) gv.dispose();
  }
  (gb as Tensor | null)?.dispose();
  const du = vecRouting(dims, terms) ? run(outerSumKernel(o, terms), [A, X], uhat.shape, dims, rowThreads(dims))
    : run('outer_sum', [A, X], uhat.shape, {...dims, d: terms});
  A.dispose();
  X.dispose();
  return du;
}
