// Batch normalisation in training mode, forward (src/graph/kernels/norm/batch-norm-train.ts): the per-channel batch
// statistics over x viewed as [N, C, HW], the normalise + affine pass with its activation, and the running
// statistics' update. The *4 entry points read vec4s of a plane (HW % 4 == 0). The overrides and helpers are in
// shaders/batch-norm/common.wgsl, appended; uniforms (p, r), WG and thread_id come from the declaration,
// BATCH_NORM_FORWARD in src/graph/shaders.ts.

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
// its sums (the table in kernels/norm/select.ts), in blocks of SERIAL_BLOCK.
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
