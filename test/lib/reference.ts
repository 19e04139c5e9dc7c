// Float64 CPU references for every kernel family, written for clarity, not speed.
export interface Nd { shape: number[]; data: Float64Array }

export const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
export const nd = (shape: number[], data?: ArrayLike<number>): Nd => ({shape: [...shape], data: data ? Float64Array.from(data) : new Float64Array(size(shape))});
export const strides = (s: number[]) => { const r = new Array(s.length).fill(1); for (let i = s.length - 2; i >= 0; i--) r[i] = r[i + 1] * s[i + 1]; return r; };

function unravel(i: number, shape: number[]): number[] {
  const idx = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]; i = Math.floor(i / shape[d]); }
  return idx;
}

export function broadcastShape(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  // A dim of 1 takes the other's size, 0 included (NumPy: [1] with [0] broadcasts to [0]).
  return Array.from({length: r}, (_, i) => { const da = a[a.length - r + i] ?? 1, db = b[b.length - r + i] ?? 1; return da === 1 ? db : da; });
}

/** Value of x at the broadcast position `idx` of an output with rank idx.length. */
function bget(x: Nd, idx: number[]): number {
  const st = strides(x.shape);
  let o = 0;
  for (let d = 0; d < x.shape.length; d++) {
    const i = idx[idx.length - x.shape.length + d];
    o += (x.shape[d] === 1 ? 0 : i) * st[d];
  }
  return x.data[o];
}

export function map(x: Nd, f: (v: number) => number): Nd { return {shape: [...x.shape], data: x.data.map(f)}; }

export function zip(xs: Nd[], f: (...v: number[]) => number): Nd {
  const shape = xs.map((x) => x.shape).reduce(broadcastShape);
  const out = nd(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = f(...xs.map((x) => bget(x, idx)));
  }
  return out;
}

export function reduce(x: Nd, axes: number[], f: (acc: number, v: number) => number, init: number, post = (v: number, n: number) => v): Nd {
  const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = x.shape.filter((_, i) => !axes.includes(i));
  const acc = new Float64Array(size(keep)).fill(init);
  const ks = strides(keep);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    let o = 0;
    idx.forEach((v, d) => { if (!axes.includes(d)) o += v * ks[d]; });
    acc[o] = f(acc[o], x.data[i]);
  }
  const n = axes.reduce((a, d) => a * x.shape[d], 1);
  return {shape: outShape, data: acc.map((v) => post(v, n))};
}

export const sum = (x: Nd, axes: number[]) => reduce(x, axes, (a, v) => a + v, 0);
export const mean = (x: Nd, axes: number[]) => reduce(x, axes, (a, v) => a + v, 0, (v, n) => v / n);
export const max = (x: Nd, axes: number[]) => reduce(x, axes, Math.max, -Infinity);

export function softmax(x: Nd, axis: number, log = false): Nd {
  const m = reduce(x, [axis], Math.max, -Infinity);
  const keep = x.shape.map((d, i) => (i === axis ? 1 : d));
  const mk = {shape: keep, data: m.data};
  const e = zip([x, mk], (v, mm) => Math.exp(v - mm));
  const s = {shape: keep, data: sum(e, [axis]).data};
  return log ? zip([x, mk, s], (v, mm, ss) => v - mm - Math.log(ss)) : zip([e, s], (v, ss) => v / ss);
}

export function crossEntropyRows(logits: Nd, labels: number[]): Nd {
  const ls = softmax(logits, 1, true);
  const [n, c] = logits.shape;
  return nd([n], labels.map((l, i) => -ls.data[i * c + l]));
}

/** op(A) @ op(B) for [batch, rows, cols] with batch broadcast. */
export function matmul(a: Nd, b: Nd): Nd {
  const a3 = a.shape.length === 2 ? [1, ...a.shape] : a.shape;
  const b3 = b.shape.length === 2 ? [1, ...b.shape] : b.shape;
  const [ba, M, K] = a3, [bb, , N] = b3;
  const B = Math.max(ba, bb);
  const out = nd(a.shape.length === 2 && b.shape.length === 2 ? [M, N] : [B, M, N]);
  for (let t = 0; t < B; t++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let acc = 0;
    for (let k = 0; k < K; k++) acc += a.data[(ba > 1 ? t : 0) * M * K + i * K + k] * b.data[(bb > 1 ? t : 0) * K * N + k * N + j];
    out.data[(t * M + i) * N + j] = acc;
  }
  return out;
}

export function transpose2(x: Nd): Nd {
  const [r, c] = x.shape;
  const out = nd([c, r]);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[j * r + i] = x.data[i * c + j];
  return out;
}

export function permute(x: Nd, dims: number[]): Nd {
  const shape = dims.map((d) => x.shape[d]);
  const out = nd(shape);
  const st = strides(x.shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = x.data[idx.reduce((a, v, k) => a + v * st[dims[k]], 0)];
  }
  return out;
}

export function conv2d(x: Nd, w: Nd, bias: Nd | null, stride: [number, number], pad: [number, number]): Nd {
  const [N, C, H, W] = x.shape, [K, , KH, KW] = w.shape;
  const OH = Math.floor((H + 2 * pad[0] - KH) / stride[0]) + 1, OW = Math.floor((W + 2 * pad[1] - KW) / stride[1]) + 1;
  const out = nd([N, K, OH, OW]);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let acc = bias ? bias.data[k] : 0;
    for (let c = 0; c < C; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * stride[0] + kh - pad[0], iw = ow * stride[1] + kw - pad[1];
      if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
      acc += x.data[((n * C + c) * H + ih) * W + iw] * w.data[((k * C + c) * KH + kh) * KW + kw];
    }
    out.data[((n * K + k) * OH + oh) * OW + ow] = acc;
  }
  return out;
}

/** Grouped conv2d: weight [K, C / groups, KH, KW]; output k reads the input channels of group k / (K / groups). */
export function conv2dGrouped(x: Nd, w: Nd, bias: Nd | null, stride: [number, number], pad: [number, number],
  groups: number): Nd {
  const [N, , H, W] = x.shape, [K, , KH, KW] = w.shape;
  const OH = Math.floor((H + 2 * pad[0] - KH) / stride[0]) + 1, OW = Math.floor((W + 2 * pad[1] - KW) / stride[1]) + 1;
  const out = nd([N, K, OH, OW]);
  groupedTaps(x.shape, w.shape, [N, K, OH, OW], stride, pad, groups, (o, xi, wi) => {
    out.data[o] += x.data[xi] * w.data[wi];
  });
  if (bias) for (let o = 0; o < out.data.length; o++) out.data[o] += bias.data[Math.floor(o / (OH * OW)) % K];
  return out;
}

/** Calls f(output, input, weight) flat indices for every multiply-add of a grouped conv (padding taps skipped). */
function groupedTaps(xs: number[], ws: number[], ys: number[], stride: [number, number], pad: [number, number],
  groups: number, f: (o: number, xi: number, wi: number) => void): void {
  const [, C, H, W] = xs, [K, CG, KH, KW] = ws, [N, , OH, OW] = ys, KG = K / groups;
  for (let o = 0; o < N * K * OH * OW; o++) {
    const ow = o % OW, oh = Math.floor(o / OW) % OH;
    const k = Math.floor(o / (OW * OH)) % K, n = Math.floor(o / (OW * OH * K));
    for (let ci = 0; ci < CG; ci++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * stride[0] + kh - pad[0], iw = ow * stride[1] + kw - pad[1];
      if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
      const c = Math.floor(k / KG) * CG + ci;
      f(o, ((n * C + c) * H + ih) * W + iw, ((k * CG + ci) * KH + kh) * KW + kw);
    }
  }
}

/** PyTorch's adaptive bins of one axis: output i covers floor(i * size / out) .. ceil((i + 1) * size / out) - 1. */
export const adaptiveBin = (i: number, size: number, out: number): [number, number] =>
  [Math.floor(i * size / out), Math.ceil((i + 1) * size / out)];

export function adaptiveAvgPool2d(x: Nd, oh: number, ow: number): Nd {
  const [N, C, H, W] = x.shape;
  const out = nd([N, C, oh, ow]);
  for (let p = 0; p < N * C; p++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const [h0, h1] = adaptiveBin(i, H, oh), [w0, w1] = adaptiveBin(j, W, ow);
    let s = 0;
    for (let h = h0; h < h1; h++) for (let v = w0; v < w1; v++) s += x.data[(p * H + h) * W + v];
    out.data[(p * oh + i) * ow + j] = s / ((h1 - h0) * (w1 - w0));
  }
  return out;
}

export function pool2d(x: Nd, kernel: [number, number], stride: [number, number], pad: [number, number], kind: 'max' | 'avg'): Nd {
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * pad[0] - kernel[0]) / stride[0]) + 1, OW = Math.floor((W + 2 * pad[1] - kernel[1]) / stride[1]) + 1;
  const out = nd([N, C, OH, OW]);
  for (let p = 0; p < N * C; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let best = -Infinity, s = 0;
    for (let kh = 0; kh < kernel[0]; kh++) for (let kw = 0; kw < kernel[1]; kw++) {
      const ih = oh * stride[0] + kh - pad[0], iw = ow * stride[1] + kw - pad[1];
      if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
      const v = x.data[(p * H + ih) * W + iw];
      best = Math.max(best, v); s += v;
    }
    out.data[(p * OH + oh) * OW + ow] = kind === 'max' ? best : s / (kernel[0] * kernel[1]);
  }
  return out;
}

export function slice(x: Nd, starts: number[], ends: number[]): Nd {
  const shape = x.shape.map((d, i) => (ends[i] ?? d) - (starts[i] ?? 0));
  const out = nd(shape);
  const st = strides(x.shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = x.data[idx.reduce((a, v, d) => a + (v + (starts[d] ?? 0)) * st[d], 0)];
  }
  return out;
}

export function concat(xs: Nd[], axis: number): Nd {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((a, x) => a + x.shape[axis], 0);
  const out = nd(shape);
  const st = strides(shape);
  let off = 0;
  for (const x of xs) {
    for (let i = 0; i < x.data.length; i++) {
      const idx = unravel(i, x.shape);
      idx[axis] += off;
      out.data[idx.reduce((a, v, d) => a + v * st[d], 0)] = x.data[i];
    }
    off += x.shape[axis];
  }
  return out;
}

export function gather(x: Nd, idx: number[], axis: number): Nd {
  const shape = [...x.shape];
  shape[axis] = idx.length;
  const out = nd(shape);
  const st = strides(x.shape);
  for (let i = 0; i < out.data.length; i++) {
    const id = unravel(i, shape);
    id[axis] = idx[id[axis]];
    out.data[i] = x.data[id.reduce((a, v, d) => a + v * st[d], 0)];
  }
  return out;
}

// ---- seeded test data ----
export {mulberry32 as rng} from '../../src/rng.js';
import {mulberry32 as rng} from '../../src/rng.js';

/** Values in [lo, hi), rounded to float32 so GPU and reference see the same inputs. */
export function randomNd(shape: number[], seed: number, lo = -1, hi = 1): Nd {
  const r = rng(seed);
  return nd(shape, Float32Array.from({length: size(shape)}, () => lo + (hi - lo) * r()));
}

/** Values bounded away from 0 by `gap` (for ops with a kink at 0: relu, abs, ...). */
export function awayFromZero(shape: number[], seed: number, gap = 0.1): Nd {
  const r = rng(seed);
  return nd(shape, Float32Array.from({length: size(shape)}, () => (r() < 0.5 ? -1 : 1) * (gap + r())));
}

/** Distinct values in random order (no ties, for max and max-pooling). */
export function distinct(shape: number[], seed: number): Nd {
  const n = size(shape);
  const r = rng(seed);
  const v = Array.from({length: n}, (_, i) => (i - n / 2) / Math.max(1, n) * 4);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [v[i], v[j]] = [v[j], v[i]]; }
  return nd(shape, Float32Array.from(v));
}

/** Central finite differences of a float64 scalar function of several inputs, at chosen element indices. */
export function finiteDiff(f: (xs: Nd[]) => number, xs: Nd[], which: number, indices?: number[], eps = 1e-6): Float64Array {
  const x = xs[which];
  const idx = indices ?? [...x.data.keys()];
  const g = new Float64Array(idx.length);
  idx.forEach((i, k) => {
    const v = x.data[i];
    x.data[i] = v + eps; const fp = f(xs);
    x.data[i] = v - eps; const fm = f(xs);
    x.data[i] = v;
    g[k] = (fp - fm) / (2 * eps);
  });
  return g;
}

/** Max |a - b| / (atol + rtol |b|) over all elements: <= 1 means within tolerance. */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): {ok: boolean; worst: number; at: number; msg: string} {
  if (a.length !== b.length) return {ok: false, worst: Infinity, at: -1, msg: `length ${a.length} vs ${b.length}`};
  let worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    const e = d === 0 ? 0 : d / (atol + rtol * Math.abs(b[i]));
    if (!(e <= worst)) { worst = e; at = i; }
  }
  const ok = worst <= 1;
  return {ok, worst, at, msg: ok ? '' : `element ${at}: got ${a[at]}, expected ${b[at]} (atol ${atol}, rtol ${rtol}, ratio ${worst.toFixed(2)})`};
}

// ---- analytic float64 gradients: each returns d(sum(out * R))/d(input) given the upstream R ----

/** Sums g over broadcast dims down to `shape`. */
export function sumTo(g: Nd, shape: number[]): Nd {
  const lead = g.shape.length - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  return {shape: [...shape], data: axes.length ? reduce(g, axes, (a, v) => a + v, 0).data : Float64Array.from(g.data)};
}

/** Gradients of an elementwise op out = f(x1, x2, ...) from its partial derivatives. */
export function zipGrad(xs: Nd[], R: Nd, partials: ((...v: number[]) => number)[]): Nd[] {
  return partials.map((d) => sumTo(zip([R, ...xs], (r, ...v) => r * d(...v)), xs[partials.indexOf(d)].shape));
}

export function matmulGrad(a: Nd, b: Nd, R: Nd): [Nd, Nd] {
  // 2-D: dA = R B^T, dB = A^T R
  return [matmul(R, transpose2(b)), matmul(transpose2(a), R)];
}

/** Softmax / log-softmax over the last axis of [rows, n]. */
export function softmaxGrad(x: Nd, R: Nd, log: boolean): Nd {
  const [rows, n] = x.shape;
  const y = softmax(x, 1, false);
  const out = nd(x.shape);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += log ? R.data[i * n + j] : R.data[i * n + j] * y.data[i * n + j];
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      out.data[k] = log ? R.data[k] - y.data[k] * s : y.data[k] * (R.data[k] - s);
    }
  }
  return out;
}

/** Mean cross-entropy: d/dlogits = (softmax - onehot) * R / rows. */
export function crossEntropyGrad(x: Nd, labels: number[], R: Nd): Nd {
  const [rows, n] = x.shape;
  const y = softmax(x, 1, false);
  return {shape: x.shape, data: y.data.map((v, k) => (v - (labels[Math.floor(k / n)] === k % n ? 1 : 0)) * R.data[0] / rows)};
}

/** conv2d gradients by the chain rule on the loops of the forward reference. */
export function conv2dGrad(x: Nd, w: Nd, R: Nd, stride: [number, number], pad: [number, number]): [Nd, Nd, Nd] {
  const [N, C, H, W] = x.shape, [K, , KH, KW] = w.shape, [, , OH, OW] = R.shape;
  const dx = nd(x.shape), dw = nd(w.shape), db = nd([K]);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const r = R.data[((n * K + k) * OH + oh) * OW + ow];
    db.data[k] += r;
    for (let c = 0; c < C; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * stride[0] + kh - pad[0], iw = ow * stride[1] + kw - pad[1];
      if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
      const xi = ((n * C + c) * H + ih) * W + iw, wi = ((k * C + c) * KH + kh) * KW + kw;
      dx.data[xi] += r * w.data[wi];
      dw.data[wi] += r * x.data[xi];
    }
  }
  return [dx, dw, db];
}

/** Grouped conv2d gradients (input, weight, bias) by the chain rule on the loops of the forward reference. */
export function conv2dGroupedGrad(x: Nd, w: Nd, R: Nd, stride: [number, number], pad: [number, number],
  groups: number): [Nd, Nd, Nd] {
  const [K] = w.shape, [, , OH, OW] = R.shape;
  const dx = nd(x.shape), dw = nd(w.shape), db = nd([K]);
  groupedTaps(x.shape, w.shape, R.shape, stride, pad, groups, (o, xi, wi) => {
    dx.data[xi] += R.data[o] * w.data[wi];
    dw.data[wi] += R.data[o] * x.data[xi];
  });
  for (let o = 0; o < R.data.length; o++) db.data[Math.floor(o / (OH * OW)) % K] += R.data[o];
  return [dx, dw, db];
}

/** Adaptive average pooling gradient: each bin spreads R / count over its inputs (overlapping bins add up). */
export function adaptiveAvgPool2dGrad(x: Nd, R: Nd): Nd {
  const [N, C, H, W] = x.shape, [, , oh, ow] = R.shape;
  const dx = nd(x.shape);
  for (let p = 0; p < N * C; p++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const [h0, h1] = adaptiveBin(i, H, oh), [w0, w1] = adaptiveBin(j, W, ow);
    const r = R.data[(p * oh + i) * ow + j] / ((h1 - h0) * (w1 - w0));
    for (let h = h0; h < h1; h++) for (let v = w0; v < w1; v++) dx.data[(p * H + h) * W + v] += r;
  }
  return dx;
}

/** Pooling gradient: max routes R to the (unique) maximum of each window, avg spreads it evenly. */
export function pool2dGrad(x: Nd, R: Nd, kernel: [number, number], stride: [number, number], pad: [number, number], kind: 'max' | 'avg'): Nd {
  const [N, C, H, W] = x.shape, [, , OH, OW] = R.shape;
  const dx = nd(x.shape);
  for (let p = 0; p < N * C; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const r = R.data[(p * OH + oh) * OW + ow];
    let best = -Infinity, at = -1;
    for (let kh = 0; kh < kernel[0]; kh++) for (let kw = 0; kw < kernel[1]; kw++) {
      const ih = oh * stride[0] + kh - pad[0], iw = ow * stride[1] + kw - pad[1];
      if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
      const i = (p * H + ih) * W + iw;
      if (kind === 'avg') dx.data[i] += r / (kernel[0] * kernel[1]);
      else if (x.data[i] > best) { best = x.data[i]; at = i; }
    }
    if (kind === 'max' && at >= 0) dx.data[at] += r;
  }
  return dx;
}

// ---- batch normalisation with batch statistics (training mode) over the channel axis 1 of [N, C, ...] ----
/** The channel of each element of x. */
function channels(x: Nd): Int32Array {
  const hw = size(x.shape.slice(2)), C = x.shape[1];
  return Int32Array.from({length: x.data.length}, (_, i) => Math.floor(i / hw) % C);
}

/** Mean and biased variance of each channel (two passes, float64). */
export function batchNormStats(x: Nd): {mean: Float64Array; variance: Float64Array} {
  const C = x.shape[1], count = x.data.length / C;
  const mean = new Float64Array(C), variance = new Float64Array(C), ch = channels(x);
  x.data.forEach((v, i) => { mean[ch[i]] += v / count; });
  x.data.forEach((v, i) => { variance[ch[i]] += (v - mean[ch[i]]) ** 2 / count; });
  return {mean, variance};
}

/** (x - mean) / sqrt(var + eps) * w + b per channel; w or b null: 1 or 0. */
export function batchNormTrain(x: Nd, w: Nd | null, b: Nd | null, eps = 1e-5): Nd {
  const {mean, variance} = batchNormStats(x);
  return perChannel(x, (v, c) => (v - mean[c]) / Math.sqrt(variance[c] + eps) * (w ? w.data[c] : 1) + (b ? b.data[c] : 0));
}
function perChannel(x: Nd, f: (v: number, c: number) => number): Nd {
  const ch = channels(x);
  return nd(x.shape, x.data.map((v, i) => f(v, ch[i])));
}

/**
 * Gradients of sum(batchNormTrain(x, w, b) * R) for x, w and b, in closed form (xhat = (x - mean) * invstd, M values
 * per channel): dx = w * invstd * (R - sum(R) / M - xhat * sum(R * xhat) / M), dw = sum(R * xhat), db = sum(R).
 */
export function batchNormTrainGrad(x: Nd, w: Nd | null, R: Nd, eps = 1e-5): [Nd, Nd, Nd] {
  const C = x.shape[1], M = x.data.length / C;
  const {mean, variance} = batchNormStats(x);
  const invstd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const xhat = perChannel(x, (v, c) => (v - mean[c]) * invstd[c]);
  const db = nd([C]), dw = nd([C]), ch = channels(x);
  R.data.forEach((r, i) => { db.data[ch[i]] += r; dw.data[ch[i]] += r * xhat.data[i]; });
  const dx = nd(x.shape, R.data.map((r, i) => {
    const c = ch[i];
    return (w ? w.data[c] : 1) * invstd[c] * (r - db.data[c] / M - xhat.data[i] * dw.data[c] / M);
  }));
  return [dx, dw, db];
}
