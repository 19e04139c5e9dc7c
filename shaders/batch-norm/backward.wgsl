// Batch normalisation in training mode, backward (src/graph/kernels/norm/batch-norm-train.ts): the per-channel sums
// of g and g * xhat (the bias and weight gradients) and the input gradient, g taken back through the activation. The
// *4 entry points read vec4s of a plane (HW % 4 == 0). The overrides and helpers are in
// shaders/batch-norm/common.wgsl, appended; uniforms (p), WG and thread_id come from the declaration,
// BATCH_NORM_BACKWARD in src/graph/shaders.ts.

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
  // The normalising pass's factors, where the activation's gradient is taken from x.
  let sd = gstats[p.C + c];
  var w = 1.0;
  if (HAS_WEIGHT && ACT_FROM_INPUT) { w = gw[c]; }
  var b = vec4<f32>(0.0);
  if (HAS_BIAS && ACT_FROM_INPUT) { b = vec4<f32>(gb[c]); }
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
// dx = w * invstd * (g - sum(g) / M - xhat * sum(g * xhat) / M). dx_coef gathers one channel's factors, with the
// normalising pass's sd and w (1 without a weight) for the activation's gradient taken from x.
struct DxCoef { k: f32, mg: f32, mgx: f32, mean: f32, invstd: f32, sd: f32, w: f32 }
fn dx_coef(c: u32) -> DxCoef {
  let m = f32(p.N * p.HW);
  let sd = dxstats[p.C + c];
  let invstd = 1.0 / sd;
  var w = 1.0;
  if (HAS_WEIGHT) { w = dxw[c]; }
  return DxCoef(invstd * w, dxsum[c] / m, dxsumx[c] / m, dxstats[c], invstd, sd, w);
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
  // The normalising pass's shift, where the activation's gradient is taken from x.
  var b = vec4<f32>(0.0);
  if (HAS_BIAS && ACT_FROM_INPUT) { b = vec4<f32>(dxb[c]); }
  for (var j = r.j0; j < r.end; j++) {
    let i = r.plane * hw4 + j;
    let x = dxx4[i];
    let xhat = (x - vec4<f32>(f.mean)) * f.invstd;
    var g = dxg4[i];
    if (ACT != 0u) {
      if (ACT_FROM_INPUT) { g = through4(affine4(x, vec4<f32>(f.mean), f.sd, f.w, b), g); }
      else { g = through4(dxy4[i], g); }
    }
    dx4[i] = f.k * (g - vec4<f32>(f.mg) - xhat * f.mgx);
  }
}
