// Capsule kernels (Sabour, Frosst & Hinton 2017): squash, the prediction transform u_hat_{j|i} = W_ij u_i, and the
// three products routing by agreement is made of. src/graph/capsule-gen.ts generates blocked versions of the
// prediction transform and the routing products, which run where they apply; these are the fallback, and what the
// tests force with kernelPrefs 'scalar'. With u_hat laid out [B, N, J, O] (batch, input capsule i, output
// capsule j, output dim o), a coupling / logit tensor [B, N, J] and output capsules [B, J, O]:
//   weighted_sum  s[b,j,o]      = sum_i c[b,i,j] * u_hat[b,i,j,o]   (the coupling-weighted sum)
//   agreement     a[b,i,j]      = sum_o u_hat[b,i,j,o] * v[b,j,o]  (the routing-logit update)
//   outer         u_hat'[b,i,j,o] = c[b,i,j] * v[b,j,o]
// Each one's gradient is made of the other two, so three kernels carry routing forward and backward; the routing
// softmax over j is the softmax kernel's. The float64 reference and the composition of generic ops (matmul, mul,
// sum) are what the tests check these against.

// The uniform p (threads n; batch b, input capsules i, output capsules j, output dim o, input dim d) and WG are
// declared in src/graph/shaders.ts (CAPSULE).

// ---- squash over rows of length p.d: v = s * |s| / (1 + |s|^2) ----
@group(0) @binding(1) var<storage, read> sq_s: array<f32>;
@group(0) @binding(2) var<storage, read_write> sq_v: array<f32>;

@compute @workgroup_size(WG)
fn squash_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = thread_id(gid, nwg);
  if (r >= p.n) { return; }
  let base = r * p.d;
  var n2 = 0.0;
  for (var k = 0u; k < p.d; k++) { n2 += sq_s[base + k] * sq_s[base + k]; }
  // At |s| = 0 the factor is 0 (v = 0), not 0/0.
  let f = sqrt(n2) / (1.0 + n2);
  for (var k = 0u; k < p.d; k++) { sq_v[base + k] = sq_s[base + k] * f; }
}

@group(0) @binding(1) var<storage, read> sqb_s: array<f32>;
@group(0) @binding(2) var<storage, read> sqb_g: array<f32>;
@group(0) @binding(3) var<storage, read_write> sqb_dx: array<f32>;

// dv/ds = f(n) I + s s^T (1 - n) / (|s| (1 + n)^2), n = |s|^2: ds = f g + s (s.g) (1 - n) / (|s| (1 + n)^2).
// The second term tends to 0 with |s| (it is O(|s|)), so at s = 0 the gradient is f(0) g = 0: finite, no NaN.
@compute @workgroup_size(WG)
fn squash_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = thread_id(gid, nwg);
  if (r >= p.n) { return; }
  let base = r * p.d;
  var n2 = 0.0;
  var sg = 0.0;
  for (var k = 0u; k < p.d; k++) {
    n2 += sqb_s[base + k] * sqb_s[base + k];
    sg += sqb_s[base + k] * sqb_g[base + k];
  }
  let len = sqrt(n2);
  let f = len / (1.0 + n2);
  var h = 0.0;
  if (len > 0.0) { h = sg * (1.0 - n2) / (len * (1.0 + n2) * (1.0 + n2)); }
  for (var k = 0u; k < p.d; k++) { sqb_dx[base + k] = f * sqb_g[base + k] + h * sqb_s[base + k]; }
}

// ---- prediction transform: u [B, N, D], W [N, J, O, D] -> u_hat [B, N, J, O] ----
@group(0) @binding(1) var<storage, read> pr_u: array<f32>;
@group(0) @binding(2) var<storage, read> pr_w: array<f32>;
@group(0) @binding(3) var<storage, read_write> pr_out: array<f32>;

@compute @workgroup_size(WG)
fn predict_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.n) { return; }
  let jo = t % (p.j * p.o);
  let bi = t / (p.j * p.o);
  let i = bi % p.i;
  let ub = bi * p.d;
  let wb = (i * p.j * p.o + jo) * p.d;
  var acc = 0.0;
  for (var k = 0u; k < p.d; k++) { acc += pr_w[wb + k] * pr_u[ub + k]; }
  pr_out[t] = acc;
}

// du[b,i,d] = sum_{j,o} W[i,j,o,d] g[b,i,j,o]; binding 1 is g, 2 is W, 3 the result.
@compute @workgroup_size(WG)
fn predict_bwd_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.n) { return; }
  let d = t % p.d;
  let bi = t / p.d;
  let i = bi % p.i;
  let jo_n = p.j * p.o;
  let gb = bi * jo_n;
  let wb = i * jo_n * p.d + d;
  var acc = 0.0;
  for (var k = 0u; k < jo_n; k++) { acc += pr_u[gb + k] * pr_w[wb + k * p.d]; }
  pr_out[t] = acc;
}

// dW[i,j,o,d] = sum_b g[b,i,j,o] u[b,i,d]; binding 1 is g, 2 is u, 3 the result.
@compute @workgroup_size(WG)
fn predict_bwd_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.n) { return; }
  let d = t % p.d;
  let ijo = t / p.d;
  let i = ijo / (p.j * p.o);
  let jo = ijo % (p.j * p.o);
  let jo_n = p.j * p.o;
  var acc = 0.0;
  for (var b = 0u; b < p.b; b++) {
    acc += pr_u[(b * p.i + i) * jo_n + jo] * pr_w[(b * p.i + i) * p.d + d];
  }
  pr_out[t] = acc;
}

// ---- routing products; binding 1 is [B, N, J] (couplings, logit gradients), 2 is u_hat or [B, J, O] ----
@group(0) @binding(1) var<storage, read> rt_c: array<f32>;
@group(0) @binding(2) var<storage, read> rt_x: array<f32>;
@group(0) @binding(3) var<storage, read_write> rt_out: array<f32>;

// s[b,j,o] = sum_i c[b,i,j] * u_hat[b,i,j,o]
@compute @workgroup_size(WG)
fn weighted_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.n) { return; }
  let o = t % p.o;
  let bj = t / p.o;
  let j = bj % p.j;
  let b = bj / p.j;
  var acc = 0.0;
  for (var i = 0u; i < p.i; i++) {
    let bij = (b * p.i + i) * p.j + j;
    acc += rt_c[bij] * rt_x[bij * p.o + o];
  }
  rt_out[t] = acc;
}

// u_hat'[b,i,j,o] = c[b,i,j] * v[b,j,o]
@compute @workgroup_size(WG)
fn outer(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.n) { return; }
  let o = t % p.o;
  let bij = t / p.o;
  let j = bij % p.j;
  let b = bij / (p.i * p.j);
  rt_out[t] = rt_c[bij] * rt_x[(b * p.j + j) * p.o + o];
}

@group(0) @binding(1) var<storage, read> ag_uhat: array<f32>;
@group(0) @binding(2) var<storage, read> ag_v: array<f32>;
@group(0) @binding(3) var<storage, read_write> ag_out: array<f32>;

// a[b,i,j] = sum_o u_hat[b,i,j,o] * v[b,j,o]
@compute @workgroup_size(WG)
fn agreement(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.n) { return; }
  let j = t % p.j;
  let b = t / (p.i * p.j);
  let ub = t * p.o;
  let vb = (b * p.j + j) * p.o;
  var acc = 0.0;
  for (var o = 0u; o < p.o; o++) { acc += ag_uhat[ub + o] * ag_v[vb + o]; }
  ag_out[t] = acc;
}

// The gradient of u_hat through all routing iterations in one pass: du[b,i,j,o] = sum_k A[k,b,i,j] * X[k,b,j,o],
// where the K = 2r - 1 terms are (c_t, ds_t) of every weighted sum and (db_{t+1}, v_t) of every agreement update.
// Summing them here reads the small per-iteration tensors instead of writing and adding r full-size outer products.
// p.d holds K.
@compute @workgroup_size(WG)
fn outer_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= p.n) { return; }
  let o = t % p.o;
  let bij = t / p.o;
  let j = bij % p.j;
  let b = bij / (p.i * p.j);
  let a_stride = p.b * p.i * p.j;
  let x_stride = p.b * p.j * p.o;
  let xo = (b * p.j + j) * p.o + o;
  var acc = 0.0;
  for (var k = 0u; k < p.d; k++) { acc += rt_c[k * a_stride + bij] * rt_x[k * x_stride + xo]; }
  rt_out[t] = acc;
}
