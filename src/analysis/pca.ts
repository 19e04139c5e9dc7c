// PCA and the numbers behind the DANN feature picture, in float64 on the CPU. For a few thousand points of a
// few hundred dimensions the covariance is ~0.5 GFLOP and the top eigenvectors a few hundred matrix-vector
// products: well under a second here, and no read-back round trips (the experiment measures the GPU
// alternative beside it). Nothing in this file is Node-only or GPU-bound.

export interface PcaResult {
  /** Principal directions, k rows of d values (unit length, sign fixed so the largest |entry| is positive). */
  components: Float64Array[];
  /** Variance along each direction (eigenvalues of the covariance, divisor n - 1), descending. */
  variances: number[];
  /** Each variance over the total variance (trace of the covariance). */
  explained: number[];
  mean: Float64Array;
  /** The points projected onto the components: n rows of k values. */
  projected: Float64Array[];
  iterations: number;
}

/** Column means of an n x d row-major matrix. */
export function columnMeans(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const m = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j] += x[i * d + j];
  for (let j = 0; j < d; j++) m[j] /= n;
  return m;
}

/** Covariance (divisor n - 1) of an n x d row-major matrix, d x d row-major. */
export function covariance(x: ArrayLike<number>, n: number, d: number, mean = columnMeans(x, n, d)): Float64Array {
  const c = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mean[j];
    // Upper triangle only; mirrored below.
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      const off = a * d;
      for (let b = a; b < d; b++) c[off + b] += ra * row[b];
    }
  }
  const div = Math.max(n - 1, 1);
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) { const v = c[a * d + b] / div; c[a * d + b] = v; c[b * d + a] = v; }
  return c;
}

/** Deterministic pseudo-random numbers in [-1, 1) for starting vectors. */
function starts(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/**
 * The top k eigenpairs of a symmetric positive semi-definite d x d matrix by subspace iteration with
 * Rayleigh-Ritz (orthonormalise k + extra vectors, multiply, repeat until the eigenvalues settle).
 */
export function topEigen(c: Float64Array, d: number, k: number, opts: {tol?: number; maxIter?: number; seed?: number} = {}):
  {values: number[]; vectors: Float64Array[]; iterations: number} {
  if (!Number.isInteger(k) || k < 1 || k > d) throw new Error(`webgpu-transfer: PCA: k must be an integer in 1..${d}, got ${k}`);
  if (c.length !== d * d) throw new Error(`webgpu-transfer: PCA: the matrix has ${c.length} entries, expected ${d} x ${d}`);
  // A few extra vectors make convergence depend on the gap to eigenvalue k + p rather than k + 1.
  const p = Math.min(d, k + Math.min(8, d - k));
  const tol = opts.tol ?? 1e-10, maxIter = opts.maxIter ?? 500;
  const r = starts(opts.seed ?? 12345);
  let V: Float64Array[] = Array.from({length: p}, () => Float64Array.from({length: d}, () => r()));
  const matvec = (v: Float64Array) => {
    const out = new Float64Array(d);
    for (let a = 0; a < d; a++) { let s = 0; const off = a * d; for (let b = 0; b < d; b++) s += c[off + b] * v[b]; out[a] = s; }
    return out;
  };
  const dot = (a: Float64Array, b: Float64Array) => { let s = 0; for (let i = 0; i < d; i++) s += a[i] * b[i]; return s; };
  const orthonormalise = (vs: Float64Array[]) => {
    // Modified Gram-Schmidt, twice for stability; a vector that vanishes is replaced by a fresh one.
    for (let pass = 0; pass < 2; pass++) for (let i = 0; i < vs.length; i++) {
      for (let j = 0; j < i; j++) { const q = dot(vs[i], vs[j]); for (let t = 0; t < d; t++) vs[i][t] -= q * vs[j][t]; }
      const nrm = Math.sqrt(dot(vs[i], vs[i]));
      if (nrm < 1e-300) { vs[i] = Float64Array.from({length: d}, () => r()); i--; continue; }
      for (let t = 0; t < d; t++) vs[i][t] /= nrm;
    }
    return vs;
  };
  V = orthonormalise(V);
  let prev: number[] = [];
  let iter = 0, values: number[] = [];
  for (; iter < maxIter; iter++) {
    const W = V.map(matvec);
    // Rayleigh-Ritz on the current subspace: the small p x p matrix V^T C V, diagonalised by Jacobi.
    const H = new Float64Array(p * p);
    for (let i = 0; i < p; i++) for (let j = i; j < p; j++) { const v = dot(V[i], W[j]); H[i * p + j] = v; H[j * p + i] = v; }
    const {values: hv, vectors: hq} = jacobiEigen(H, p);
    // Rotate W by the Ritz vectors (W = C V, so this is C times the Ritz vectors) and orthonormalise.
    const next = hq.map((q) => { const out = new Float64Array(d); for (let j = 0; j < p; j++) { const w = W[j]; for (let t = 0; t < d; t++) out[t] += q[j] * w[t]; } return out; });
    values = hv.slice(0, k);
    V = orthonormalise(next);
    const scale = Math.max(Math.abs(values[0]), 1e-300);
    if (prev.length && values.every((v, i) => Math.abs(v - prev[i]) <= tol * scale)) { iter++; break; }
    prev = values;
  }
  // Final Ritz values of the converged subspace, in its own basis.
  const vectors = V.slice(0, k).map((v) => {
    let big = 0;
    for (let i = 0; i < d; i++) if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
    return v[big] < 0 ? v.map((x) => -x) : v;
  });
  const W = vectors.map(matvec);
  return {values: vectors.map((v, i) => dot(v, W[i])), vectors, iterations: iter};
}

/** All eigenpairs of a small symmetric p x p matrix (cyclic Jacobi), sorted by descending eigenvalue. */
export function jacobiEigen(m: Float64Array, p: number): {values: number[]; vectors: Float64Array[]} {
  const a = Float64Array.from(m);
  const v = new Float64Array(p * p);
  for (let i = 0; i < p; i++) v[i * p + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) off += a[i * p + j] ** 2;
    if (off < 1e-30) break;
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) {
      const aij = a[i * p + j];
      if (Math.abs(aij) < 1e-300) continue;
      const theta = (a[j * p + j] - a[i * p + i]) / (2 * aij);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const cs = 1 / Math.sqrt(t * t + 1), sn = t * cs;
      for (let k = 0; k < p; k++) {
        const aki = a[k * p + i], akj = a[k * p + j];
        a[k * p + i] = cs * aki - sn * akj;
        a[k * p + j] = sn * aki + cs * akj;
      }
      for (let k = 0; k < p; k++) {
        const aik = a[i * p + k], ajk = a[j * p + k];
        a[i * p + k] = cs * aik - sn * ajk;
        a[j * p + k] = sn * aik + cs * ajk;
      }
      for (let k = 0; k < p; k++) {
        const vki = v[k * p + i], vkj = v[k * p + j];
        v[k * p + i] = cs * vki - sn * vkj;
        v[k * p + j] = sn * vki + cs * vkj;
      }
    }
  }
  const order = Array.from({length: p}, (_, i) => i).sort((x, y) => a[y * p + y] - a[x * p + x]);
  return {values: order.map((i) => a[i * p + i]), vectors: order.map((i) => Float64Array.from({length: p}, (_, k) => v[k * p + i]))};
}

/**
 * PCA of n points of dimension d (row-major) onto k components. `covariance` may be given (e.g. computed on the
 * GPU, features.ts gpuCovariance); otherwise it is computed here in float64.
 */
export function pca(x: ArrayLike<number>, n: number, d: number, k = 2, opts: {tol?: number; maxIter?: number; covariance?: Float64Array} = {}): PcaResult {
  if (!Number.isInteger(n) || n < 2) throw new Error(`webgpu-transfer: PCA: needs at least 2 points, got ${n}`);
  if (x.length !== n * d) throw new Error(`webgpu-transfer: PCA: ${x.length} values is not ${n} points x ${d} dimensions`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new Error(`webgpu-transfer: PCA: value ${i} (point ${Math.floor(i / d)}) is ${x[i]}`);
  const mean = columnMeans(x, n, d);
  if (opts.covariance && opts.covariance.length !== d * d) throw new Error(`webgpu-transfer: PCA: the given covariance has ${opts.covariance.length} entries, expected ${d} x ${d}`);
  const c = opts.covariance ?? covariance(x, n, d, mean);
  let trace = 0;
  for (let i = 0; i < d; i++) trace += c[i * d + i];
  const {values, vectors, iterations} = topEigen(c, d, k, opts);
  const projected = Array.from({length: n}, (_, i) => Float64Array.from(vectors, (v) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (x[i * d + j] - mean[j]) * v[j];
    return s;
  }));
  return {components: vectors, variances: values, explained: values.map((v) => (trace > 0 ? v / trace : 0)), mean, projected, iterations};
}

export interface DomainGap {
  /** Euclidean distance between the mean source feature and the mean target feature. */
  meanDistance: number;
  /** That distance over the root mean squared distance of points to their own domain's mean (scale-free). */
  relativeDistance: number;
  /** Held-out accuracy of a fresh logistic-regression domain classifier on the frozen features. */
  probeAccuracy: number;
}

/**
 * How far apart two domains' features are: the distance of their means, and how well a fresh linear classifier
 * (logistic regression on standardised features, full-batch gradient descent with a small L2 penalty) tells
 * them apart on held-out points (the even-indexed points of each domain train it, the odd ones test it).
 */
export function domainGap(source: ArrayLike<number>, ns: number, target: ArrayLike<number>, nt: number, d: number,
  opts: {iterations?: number; lr?: number; l2?: number} = {}): DomainGap {
  const ms = columnMeans(source, ns, d), mt = columnMeans(target, nt, d);
  let dist = 0;
  for (let j = 0; j < d; j++) dist += (ms[j] - mt[j]) ** 2;
  dist = Math.sqrt(dist);
  let within = 0;
  for (let i = 0; i < ns; i++) for (let j = 0; j < d; j++) within += (source[i * d + j] - ms[j]) ** 2;
  for (let i = 0; i < nt; i++) for (let j = 0; j < d; j++) within += (target[i * d + j] - mt[j]) ** 2;
  const rms = Math.sqrt(within / (ns + nt));
  // Standardise with the pooled mean and std of each dimension (constant dimensions are left at 0).
  const n = ns + nt;
  const all = new Float64Array(n * d);
  for (let i = 0; i < ns; i++) for (let j = 0; j < d; j++) all[i * d + j] = source[i * d + j];
  for (let i = 0; i < nt; i++) for (let j = 0; j < d; j++) all[(ns + i) * d + j] = target[i * d + j];
  const mu = columnMeans(all, n, d);
  const sd = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sd[j] += (all[i * d + j] - mu[j]) ** 2;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j] / n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) all[i * d + j] = sd[j] > 1e-12 ? (all[i * d + j] - mu[j]) / sd[j] : 0;
  const y = (i: number) => (i < ns ? 0 : 1);
  const train: number[] = [], test: number[] = [];
  for (let i = 0; i < n; i++) ((i < ns ? i : i - ns) % 2 === 0 ? train : test).push(i);
  const w = new Float64Array(d);
  let b = 0;
  const iters = opts.iterations ?? 300, lr = opts.lr ?? 0.5, l2 = opts.l2 ?? 1e-3;
  const gw = new Float64Array(d);
  // Each domain's training points weigh half of the loss, whatever their counts.
  const nsTrain = train.filter((i) => i < ns).length, ntTrain = train.length - nsTrain;
  for (let it = 0; it < iters; it++) {
    gw.fill(0);
    let gb = 0;
    for (const i of train) {
      let z = b;
      const off = i * d;
      for (let j = 0; j < d; j++) z += w[j] * all[off + j];
      const pr = 1 / (1 + Math.exp(-z));
      const e = (pr - y(i)) * 0.5 / (i < ns ? nsTrain : ntTrain);
      for (let j = 0; j < d; j++) gw[j] += e * all[off + j];
      gb += e;
    }
    for (let j = 0; j < d; j++) w[j] -= lr * (gw[j] + l2 * w[j]);
    b -= lr * gb;
  }
  let hitS = 0, hitT = 0, cs = 0, ct = 0;
  for (const i of test) {
    let z = b;
    for (let j = 0; j < d; j++) z += w[j] * all[i * d + j];
    if (i < ns) { cs++; if (z < 0) hitS++; } else { ct++; if (z > 0) hitT++; }
  }
  // Balanced accuracy: 0.5 means the classifier cannot tell the domains apart.
  const probeAccuracy = 0.5 * (cs ? hitS / cs : 0) + 0.5 * (ct ? hitT / ct : 0);
  return {meanDistance: dist, relativeDistance: rms > 0 ? dist / rms : 0, probeAccuracy};
}
