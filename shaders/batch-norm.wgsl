// Batch normalisation in training mode over x viewed as [N, C, HW] (channel axis 1): the per-channel batch
// statistics, the normalise + affine pass, and the backward's per-channel sums and input gradient.
// The *4 entry points read vec4s of a plane (HW % 4 == 0). stats = [mean; sqrt(var + eps)], [2, C]; M = N * HW.
// Uniforms (p), WG and thread_id come from its declaration, BATCH_NORM in src/graph/shaders.ts.

override HAS_WEIGHT: bool = false;
override HAS_BIAS: bool = false;
// Vec4s of one plane per thread in bn_norm4 and bn_dx4 (a run): the channel's factors are loaded once for them all.
override RUN: u32 = 1u;
// Thread t's run in bn_norm4 and bn_dx4: its plane and its vec4s j0 .. end - 1 of the plane's hw4 (ok: t has one).
struct Run { ok: bool, plane: u32, j0: u32, end: u32 }
fn run_of(t: u32, hw4: u32) -> Run {
  let runs = (hw4 + RUN - 1u) / RUN;
  let plane = t / runs;
  let j0 = (t - plane * runs) * RUN;
  return Run(t < p.N * p.C * runs, plane, j0, min(j0 + RUN, hw4));
}
// The activation that follows the affine map (0: none, 1: relu, 2: relu6), as the relu and relu6 ops compute it. The
// backward's passes take g through it from the output y (bound at ya / ya4): relu passes g where y > 0, relu6 where
// 0 < y < 6 (0 at the bounds, as PyTorch's hardtanh), and both where y is NaN.
override ACT: u32 = 0u;
fn is_nan4(v: vec4<f32>) -> vec4<bool> {
  return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}
fn activate4(v: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) { return select(max(v, vec4<f32>(0.0)), v, is_nan4(v)); }
  if (ACT == 2u) { return select(clamp(v, vec4<f32>(0.0), vec4<f32>(6.0)), v, is_nan4(v)); }
  return v;
}
fn activate(v: f32) -> f32 { return activate4(vec4<f32>(v)).x; }
fn through4(y: vec4<f32>, g: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) { return select(vec4<f32>(0.0), g, (y > vec4<f32>(0.0)) | is_nan4(y)); }
  if (ACT == 2u) {
    let outside = (y <= vec4<f32>(0.0)) | (y >= vec4<f32>(6.0));
    return select(g, vec4<f32>(0.0), outside & !is_nan4(y));
  }
  return g;
}
fn through(y: f32, g: f32) -> f32 { return through4(vec4<f32>(y), vec4<f32>(g)).x; }
// Where the vec4 backward passes take the activation's gradient from: false, the forward's output (ya4, dxy4); true,
// the activation's input recomputed from x by affine4, the operations bn_norm4 ran, so the same value and one stream
// less. through4 decides alike on either: y <= 0 exactly where its input is, y >= 6 likewise, and NaN stays NaN.
override ACT_FROM_INPUT: bool = false;
// The normalising pass's affine map of one vec4, before the activation: (x - mean) / sd * w + b.
fn affine4(x: vec4<f32>, mean: vec4<f32>, sd: f32, w: f32, b: vec4<f32>) -> vec4<f32> {
  return (x - mean) / sd * w + b;
}

var<workgroup> red: array<vec2<f32>, WG>;

// A workgroup's sum as a tree in `red`, each entry point running: red[lid] = v; barrier; the loop below with a barrier
// after each step; total = red[0] (and a barrier before red is written again). The barriers stay in the entry points:
// on llvmpipe, with them inside a called function, threads other than 0 read a wrong red[0]
// (docs/kernel-measurements.md#batch-norm-barriers).
fn tree_step(lid: u32, k: u32) { if (lid < k) { red[lid] += red[lid + k]; } }

// The sum of a vec4's lanes in a fixed order (dot() leaves the order to the adapter).
fn sum4(v: vec4<f32>) -> f32 { return ((v.x + v.y) + v.z) + v.w; }

// One workgroup per channel (grid1d folds more than 65535 into y).
fn channel_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

// Flat index of the j-th of a channel's M values (j = n * HW + s), for planes of `hw` elements.
fn at_channel(j: u32, c: u32, hw: u32) -> u32 {
  let n = j / hw;
  return (n * p.C + c) * hw + (j - n * hw);
}

@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> smean: array<f32>;
@group(0) @binding(3) var<storage, read_write> svar: array<f32>;
@group(0) @binding(4) var<storage, read_write> sstats: array<f32>;

fn store_stats(c: u32, mean: f32, variance: f32) {
  smean[c] = mean;
  svar[c] = variance;
  sstats[c] = mean;
  sstats[p.C + c] = sqrt(variance + p.eps);
}

// Pass 1 sums the values less the channel's first one (x0), so the partial sums stay small where the values share a
// large offset; pass 2 sums squared deviations from the mean (no E[x^2] - E[x]^2 cancellation).
@compute @workgroup_size(WG)
fn bn_stats(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = channel_of(wid, nwg);
  if (c >= p.C) { return; }
  let m = p.N * p.HW;
  let x0 = sx[c * p.HW];
  var s = 0.0;
  for (var j = lid; j < m; j += WG) { s += sx[at_channel(j, c, p.HW)] - x0; }
  red[lid] = vec2<f32>(s, 0.0);
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) { tree_step(lid, k); workgroupBarrier(); }
  let mean = x0 + red[0].x / f32(m);
  var q = 0.0;
  for (var j = lid; j < m; j += WG) { let d = sx[at_channel(j, c, p.HW)] - mean; q += d * d; }
  workgroupBarrier();
  red[lid] = vec2<f32>(q, 0.0);
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) { tree_step(lid, k); workgroupBarrier(); }
  let variance = red[0].x / f32(m);
  if (lid == 0u) { store_stats(c, mean, variance); }
}

// bn_stats with one thread per channel and no barriers, for CPU adapters, where a workgroup's barriers cost more than
// its sums (the table in kernels/norm/select.ts). Sums run in blocks of 32 added to a total, so rounding grows with
// 32 + M / 32 terms rather than M, as close as the tree's.
const SERIAL_BLOCK = 32u;

@compute @workgroup_size(WG)
fn bn_stats_serial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  let m = p.N * p.HW;
  let x0 = sx[c * p.HW];
  var s = 0.0;
  for (var j0 = 0u; j0 < m; j0 += SERIAL_BLOCK) {
    var b = 0.0;
    for (var j = j0; j < min(j0 + SERIAL_BLOCK, m); j++) { b += sx[at_channel(j, c, p.HW)] - x0; }
    s += b;
  }
  let mean = x0 + s / f32(m);
  var q = 0.0;
  for (var j0 = 0u; j0 < m; j0 += SERIAL_BLOCK) {
    var b = 0.0;
    for (var j = j0; j < min(j0 + SERIAL_BLOCK, m); j++) { let d = sx[at_channel(j, c, p.HW)] - mean; b += d * d; }
    q += b;
  }
  store_stats(c, mean, q / f32(m));
}

@group(0) @binding(1) var<storage, read> sx4: array<vec4<f32>>;

// bn_stats over vec4s.
@compute @workgroup_size(WG)
fn bn_stats4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = channel_of(wid, nwg);
  if (c >= p.C) { return; }
  let hw4 = p.HW / 4u;
  let m4 = p.N * hw4;
  let x0 = vec4<f32>(sx4[c * hw4].x);
  var s = vec4<f32>(0.0);
  for (var j = lid; j < m4; j += WG) { s += sx4[at_channel(j, c, hw4)] - x0; }
  red[lid] = vec2<f32>(sum4(s), 0.0);
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) { tree_step(lid, k); workgroupBarrier(); }
  let mean = x0.x + red[0].x / f32(p.N * p.HW);
  var q = vec4<f32>(0.0);
  for (var j = lid; j < m4; j += WG) { let d = sx4[at_channel(j, c, hw4)] - vec4<f32>(mean); q += d * d; }
  workgroupBarrier();
  red[lid] = vec2<f32>(sum4(q), 0.0);
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) { tree_step(lid, k); workgroupBarrier(); }
  let variance = red[0].x / f32(p.N * p.HW);
  if (lid == 0u) { store_stats(c, mean, variance); }
}

// The 'planes' sums, for CPU adapters: a thread per plane (n, c) of whole vec4s reads it alone and in order, its
// partial results go to [c * N + n], and a thread per channel combines the N partials. The statistics combine each
// plane's mean and squared deviations about it (as Chan, Golub and LeVeque), every plane holding HW values.
@group(0) @binding(2) var<storage, read_write> plane_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> plane_m2: array<f32>;

@compute @workgroup_size(WG)
fn bn_plane_stats4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.N * p.C) { return; }
  let hw4 = p.HW / 4u;
  let base = t * hw4;
  // Welford's running mean and squared deviations of each lane of the vec4s, less the plane's first value (so they
  // stay small where values share a large offset), the plane read once; then the four lanes' (hw4 values each)
  // combined as the planes are. Two passes (sum, then squared deviations) read it twice: 1.3-2x slower on CPU adapters.
  let x0 = vec4<f32>(sx4[base].x);
  var m = vec4<f32>(0.0);
  var q = vec4<f32>(0.0);
  for (var j = 0u; j < hw4; j++) {
    let v = sx4[base + j] - x0;
    let d = v - m;
    m += d * (1.0 / f32(j + 1u));
    q += d * (v - m);
  }
  let lanes_mean = sum4(m) / 4.0;
  let e = m - vec4<f32>(lanes_mean);
  let n = t / p.C;
  let o = (t - n * p.C) * p.N + n;
  plane_mean[o] = x0.x + lanes_mean;
  plane_m2[o] = sum4(q) + f32(hw4) * sum4(e * e);
}

@group(0) @binding(1) var<storage, read> comb_mean: array<f32>;
@group(0) @binding(5) var<storage, read> comb_m2: array<f32>;

@compute @workgroup_size(WG)
fn bn_plane_stats_combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(gid, nwg);
  if (c >= p.C) { return; }
  let first = comb_mean[c * p.N];
  var s = 0.0;
  for (var n = 0u; n < p.N; n++) { s += comb_mean[c * p.N + n] - first; }
  let mean = first + s / f32(p.N);
  var m2 = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let d = comb_mean[c * p.N + n] - mean;
    m2 += comb_m2[c * p.N + n] + f32(p.HW) * d * d;
  }
  store_stats(c, mean, m2 / f32(p.N * p.HW));
}

@group(0) @binding(1) var<storage, read> nx: array<f32>;
@group(0) @binding(2) var<storage, read> nstats: array<f32>;
@group(0) @binding(3) var<storage, read> nw: array<f32>;
@group(0) @binding(4) var<storage, read> nb: array<f32>;
@group(0) @binding(5) var<storage, read_write> ny: array<f32>;

// y = (x - mean) / sqrt(var + eps) * w + b, the composed path's operations in its order: rounded otherwise, a ReLU6
// input of the MobileNetV2 fixture near 0 changed sides (docs/kernel-measurements.md#batch-norm-rounding).
fn norm_w(c: u32) -> f32 { if (HAS_WEIGHT) { return nw[c]; } return 1.0; }
fn norm_shift(c: u32) -> f32 { if (HAS_BIAS) { return nb[c]; } return 0.0; }

// One thread per element.
@compute @workgroup_size(WG)
fn bn_norm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.N * p.C * p.HW) { return; }
  let c = (i / p.HW) % p.C;
  ny[i] = activate((nx[i] - nstats[c]) / nstats[p.C + c] * norm_w(c) + norm_shift(c));
}

@group(0) @binding(1) var<storage, read> nx4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> ny4: array<vec4<f32>>;

// One thread per run of RUN vec4s of a plane.
@compute @workgroup_size(WG)
fn bn_norm4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let hw4 = p.HW / 4u;
  let r = run_of(thread_id(gid, nwg), hw4);
  if (!r.ok) { return; }
  let c = r.plane % p.C;
  let mean = vec4<f32>(nstats[c]);
  let sd = nstats[p.C + c];
  let w = norm_w(c);
  let b = vec4<f32>(norm_shift(c));
  for (var j = r.j0; j < r.end; j++) {
    let i = r.plane * hw4 + j;
    ny4[i] = activate4(affine4(nx4[i], mean, sd, w, b));
  }
}

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gg: array<f32>;
@group(0) @binding(3) var<storage, read> gstats: array<f32>;
@group(0) @binding(4) var<storage, read_write> gsum: array<f32>;
@group(0) @binding(5) var<storage, read_write> gsumx: array<f32>;
@group(0) @binding(6) var<storage, read> ya: array<f32>;

// g at flat index k, through the activation.
fn grad_at(k: u32) -> f32 {
  if (ACT == 0u) { return gg[k]; }
  return through(ya[k], gg[k]);
}

// The backward's per-channel sums, one workgroup per channel: sum(g) and sum(g * xhat) (the bias and weight gradients).
@compute @workgroup_size(WG)
fn bn_grad_sums(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = channel_of(wid, nwg);
  if (c >= p.C) { return; }
  let mean = gstats[c];
  var s = vec2<f32>(0.0);
  for (var j = lid; j < p.N * p.HW; j += WG) {
    let k = at_channel(j, c, p.HW);
    s += grad_at(k) * vec2<f32>(1.0, gx[k] - mean);
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) { tree_step(lid, k); workgroupBarrier(); }
  let total = red[0];
  if (lid == 0u) {
    gsum[c] = total.x;
    gsumx[c] = total.y / gstats[p.C + c];
  }
}

// bn_grad_sums with one thread per channel and no barriers, in blocks (as bn_stats_serial).
@compute @workgroup_size(WG)
fn bn_grad_sums_serial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  let m = p.N * p.HW;
  let mean = gstats[c];
  var s = vec2<f32>(0.0);
  for (var j0 = 0u; j0 < m; j0 += SERIAL_BLOCK) {
    var b = vec2<f32>(0.0);
    for (var j = j0; j < min(j0 + SERIAL_BLOCK, m); j++) {
      let k = at_channel(j, c, p.HW);
      b += grad_at(k) * vec2<f32>(1.0, gx[k] - mean);
    }
    s += b;
  }
  gsum[c] = s.x;
  gsumx[c] = s.y / gstats[p.C + c];
}

@group(0) @binding(1) var<storage, read> gx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gg4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> ya4: array<vec4<f32>>;
fn grad4_at(k: u32) -> vec4<f32> {
  if (ACT == 0u) { return gg4[k]; }
  return through4(ya4[k], gg4[k]);
}

// bn_grad_sums over vec4s.
@compute @workgroup_size(WG)
fn bn_grad_sums4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = channel_of(wid, nwg);
  if (c >= p.C) { return; }
  let hw4 = p.HW / 4u;
  let mean = vec4<f32>(gstats[c]);
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var j = lid; j < p.N * hw4; j += WG) {
    let k = at_channel(j, c, hw4);
    let g = grad4_at(k);
    sg += g;
    sgx += g * (gx4[k] - mean);
  }
  red[lid] = vec2<f32>(sum4(sg), sum4(sgx));
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) { tree_step(lid, k); workgroupBarrier(); }
  let total = red[0];
  if (lid == 0u) {
    gsum[c] = total.x;
    gsumx[c] = total.y / gstats[p.C + c];
  }
}

// The gradient's 'planes' sums: sum(g) and sum(g * (x - mean)) of each plane, then a thread per channel adds them.
@group(0) @binding(4) var<storage, read_write> plane_sg: array<f32>;
@group(0) @binding(5) var<storage, read_write> plane_sgx: array<f32>;
@group(0) @binding(7) var<storage, read> gw: array<f32>;
@group(0) @binding(8) var<storage, read> gb: array<f32>;

@compute @workgroup_size(WG)
fn bn_plane_grad_sums4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.N * p.C) { return; }
  let n = t / p.C;
  let c = t - n * p.C;
  let hw4 = p.HW / 4u;
  let base = t * hw4;
  let mean = vec4<f32>(gstats[c]);
  let sd = gstats[p.C + c];
  var w = 1.0;
  if (HAS_WEIGHT) { w = gw[c]; }
  var b = vec4<f32>(0.0);
  if (HAS_BIAS) { b = vec4<f32>(gb[c]); }
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var j = 0u; j < hw4; j++) {
    let x = gx4[base + j];
    var g: vec4<f32>;
    if (ACT != 0u && ACT_FROM_INPUT) { g = through4(affine4(x, mean, sd, w, b), gg4[base + j]); }
    else { g = grad4_at(base + j); }
    sg += g;
    sgx += g * (x - mean);
  }
  plane_sg[c * p.N + n] = sum4(sg);
  plane_sgx[c * p.N + n] = sum4(sgx);
}

@group(0) @binding(1) var<storage, read> comb_sg: array<f32>;
@group(0) @binding(2) var<storage, read> comb_sgx: array<f32>;

@compute @workgroup_size(WG)
fn bn_plane_grad_combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(gid, nwg);
  if (c >= p.C) { return; }
  var s = vec2<f32>(0.0);
  for (var n = 0u; n < p.N; n++) { s += vec2<f32>(comb_sg[c * p.N + n], comb_sgx[c * p.N + n]); }
  gsum[c] = s.x;
  gsumx[c] = s.y / gstats[p.C + c];
}

@group(0) @binding(1) var<storage, read> dxx: array<f32>;
@group(0) @binding(2) var<storage, read> dxg: array<f32>;
@group(0) @binding(3) var<storage, read> dxstats: array<f32>;
@group(0) @binding(4) var<storage, read> dxw: array<f32>;
@group(0) @binding(5) var<storage, read> dxsum: array<f32>;
@group(0) @binding(6) var<storage, read> dxsumx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<storage, read> dxy: array<f32>;

// The gradient through the batch mean and variance in closed form, xhat = (x - mean) * invstd:
// dx = w * invstd * (g - sum(g) / M - xhat * sum(g * xhat) / M). dx_coef gathers one channel's factors.
struct DxCoef { k: f32, mg: f32, mgx: f32, mean: f32, invstd: f32 }
fn dx_coef(c: u32) -> DxCoef {
  let m = f32(p.N * p.HW);
  let invstd = 1.0 / dxstats[p.C + c];
  var k = invstd;
  if (HAS_WEIGHT) { k *= dxw[c]; }
  return DxCoef(k, dxsum[c] / m, dxsumx[c] / m, dxstats[c], invstd);
}

// One thread per element.
@compute @workgroup_size(WG)
fn bn_dx(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.N * p.C * p.HW) { return; }
  let f = dx_coef((i / p.HW) % p.C);
  let xhat = (dxx[i] - f.mean) * f.invstd;
  var g = dxg[i];
  if (ACT != 0u) { g = through(dxy[i], g); }
  dx[i] = f.k * (g - f.mg - xhat * f.mgx);
}

@group(0) @binding(1) var<storage, read> dxx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dxg4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> dxy4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> dxb: array<f32>;

// One thread per run of RUN vec4s of a plane.
@compute @workgroup_size(WG)
fn bn_dx4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let hw4 = p.HW / 4u;
  let r = run_of(thread_id(gid, nwg), hw4);
  if (!r.ok) { return; }
  let c = r.plane % p.C;
  let f = dx_coef(c);
  // The normalising pass's factors, where the activation's gradient is taken from x.
  let sd = dxstats[p.C + c];
  var w = 1.0;
  if (HAS_WEIGHT) { w = dxw[c]; }
  var b = vec4<f32>(0.0);
  if (HAS_BIAS) { b = vec4<f32>(dxb[c]); }
  for (var j = r.j0; j < r.end; j++) {
    let i = r.plane * hw4 + j;
    let x = dxx4[i];
    let xhat = (x - vec4<f32>(f.mean)) * f.invstd;
    var g = dxg4[i];
    if (ACT != 0u) {
      if (ACT_FROM_INPUT) { g = through4(affine4(x, vec4<f32>(f.mean), sd, w, b), g); }
      else { g = through4(dxy4[i], g); }
    }
    dx4[i] = f.k * (g - vec4<f32>(f.mg) - xhat * f.mgx);
  }
}

// The running statistics after a training batch, in place, a thread per channel: running = running * keep + batch *
// take (keep = 1 - momentum; take = momentum, for the variance times M / (M - 1), unbiased). Uniforms: r.
@group(0) @binding(1) var<storage, read> rbatch_mean: array<f32>;
@group(0) @binding(2) var<storage, read> rbatch_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> rmean: array<f32>;
@group(0) @binding(4) var<storage, read_write> rvar: array<f32>;

@compute @workgroup_size(WG)
fn bn_running(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(gid, nwg);
  if (c >= r.C) { return; }
  rmean[c] = rmean[c] * r.keep + rbatch_mean[c] * r.take_mean;
  rvar[c] = rvar[c] * r.keep + rbatch_var[c] * r.take_var;
}
