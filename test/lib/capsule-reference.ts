// Float64 references of the capsule ops and of routing by agreement, written as plain loops from the paper's
// equations (independent of the kernels' index arithmetic).
import {nd, type Nd} from './reference.js';

/** squash over the last axis: s |s| / (1 + |s|^2). */
export function squash(s: Nd): Nd {
  const d = s.shape[s.shape.length - 1];
  const out = nd(s.shape);
  for (let r = 0; r < s.data.length / d; r++) {
    let n2 = 0;
    for (let k = 0; k < d; k++) n2 += s.data[r * d + k] ** 2;
    const f = Math.sqrt(n2) / (1 + n2);
    for (let k = 0; k < d; k++) out.data[r * d + k] = s.data[r * d + k] * f;
  }
  return out;
}

/** u [B, N, D], W [N, J, O, D] -> u_hat [B, N, J, O]. */
export function predict(u: Nd, w: Nd): Nd {
  const [b, n, d] = u.shape, [, j, o] = w.shape;
  const out = nd([b, n, j, o]);
  for (let bb = 0; bb < b; bb++) for (let i = 0; i < n; i++) for (let jj = 0; jj < j; jj++) for (let oo = 0; oo < o; oo++) {
    let acc = 0;
    for (let k = 0; k < d; k++) acc += w.data[((i * j + jj) * o + oo) * d + k] * u.data[(bb * n + i) * d + k];
    out.data[((bb * n + i) * j + jj) * o + oo] = acc;
  }
  return out;
}

/** c [B, N, J], u_hat [B, N, J, O] -> s [B, J, O] = sum_i c u_hat. */
export function weightedSum(c: Nd, uhat: Nd): Nd {
  const [b, n, j, o] = uhat.shape;
  const out = nd([b, j, o]);
  for (let bb = 0; bb < b; bb++) for (let i = 0; i < n; i++) for (let jj = 0; jj < j; jj++) for (let oo = 0; oo < o; oo++) {
    out.data[(bb * j + jj) * o + oo] += c.data[(bb * n + i) * j + jj] * uhat.data[((bb * n + i) * j + jj) * o + oo];
  }
  return out;
}

/** u_hat [B, N, J, O], v [B, J, O] -> a [B, N, J] = u_hat . v. */
export function agreement(uhat: Nd, v: Nd): Nd {
  const [b, n, j, o] = uhat.shape;
  const out = nd([b, n, j]);
  for (let bb = 0; bb < b; bb++) for (let i = 0; i < n; i++) for (let jj = 0; jj < j; jj++) {
    let acc = 0;
    for (let oo = 0; oo < o; oo++) acc += uhat.data[((bb * n + i) * j + jj) * o + oo] * v.data[(bb * j + jj) * o + oo];
    out.data[(bb * n + i) * j + jj] = acc;
  }
  return out;
}

/** softmax over the last axis. */
export function softmaxLast(x: Nd): Nd {
  const j = x.shape[x.shape.length - 1];
  const out = nd(x.shape);
  for (let r = 0; r < x.data.length / j; r++) {
    let m = -Infinity, s = 0;
    for (let k = 0; k < j; k++) m = Math.max(m, x.data[r * j + k]);
    for (let k = 0; k < j; k++) s += Math.exp(x.data[r * j + k] - m);
    for (let k = 0; k < j; k++) out.data[r * j + k] = Math.exp(x.data[r * j + k] - m) / s;
  }
  return out;
}

/**
 * Routing by agreement (procedure 1 of the paper) on u_hat [B, N, J, O]; init [N, J] starting logits or null.
 * `frozen`: a u_hat used for the routing logits only (the stop-gradient variant holds the couplings fixed).
 */
export function route(uhat: Nd, iterations: number, init: Nd | null, frozen?: Nd): {v: Nd; c: Nd} {
  const [b, n, j] = uhat.shape;
  const r = frozen ?? uhat;
  let logits = nd([b, n, j]);
  if (init) for (let bb = 0; bb < b; bb++) logits.data.set(init.data, bb * n * j);
  for (let it = 0; ; it++) {
    const c = softmaxLast(logits);
    const last = it === iterations - 1;
    const v = squash(weightedSum(c, last ? uhat : r));
    if (last) return {v, c};
    const a = agreement(r, v);
    logits = nd(logits.shape, logits.data.map((x, k) => x + a.data[k]));
  }
}

/** Margin loss, mean over the batch: lengths [B, J], labels. */
export function marginLoss(len: Nd, labels: number[], mPlus = 0.9, mMinus = 0.1, lambda = 0.5): number {
  const [b, j] = len.shape;
  let total = 0;
  for (let bb = 0; bb < b; bb++) for (let k = 0; k < j; k++) {
    const l = len.data[bb * j + k];
    total += labels[bb] === k ? Math.max(0, mPlus - l) ** 2 : lambda * Math.max(0, l - mMinus) ** 2;
  }
  return total / b;
}
