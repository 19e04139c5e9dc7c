// Softmax, log-softmax and cross-entropy over the middle axis of an [outer, r, inner] view.
// One thread per row; max-subtracted for stability. NaN and Inf follow IEEE arithmetic as PyTorch's kernels do
// (a NaN or +Inf in a row makes the row NaN), through the helpers of numerics.wgsl.

override LOG: bool = false;   // log-softmax instead of softmax

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn softmax_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.r * p.inner + i % p.inner;
  var m = x[base];
  for (var j = 1u; j < p.r; j++) { m = nan_max(m, x[base + j * p.inner]); }
  var s = 0.0;
  for (var j = 0u; j < p.r; j++) { s += ieee_exp(x[base + j * p.inner] - m); }
  if (LOG) {
    let lse = m + ieee_log(s);
    for (var j = 0u; j < p.r; j++) { y[base + j * p.inner] = x[base + j * p.inner] - lse; }
  } else {
    let inv = 1.0 / s;
    for (var j = 0u; j < p.r; j++) { y[base + j * p.inner] = ieee_exp(x[base + j * p.inner] - m) * inv; }
  }
}

@group(0) @binding(1) var<storage, read> by: array<f32>;   // forward output
@group(0) @binding(2) var<storage, read> bg: array<f32>;   // gradient of the output
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// softmax: dx = y * (g - sum(g * y));  log-softmax: dx = g - exp(y) * sum(g)
@compute @workgroup_size(WG)
fn softmax_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.r * p.inner + i % p.inner;
  var s = 0.0;
  for (var j = 0u; j < p.r; j++) {
    let k = base + j * p.inner;
    if (LOG) { s += bg[k]; } else { s += bg[k] * by[k]; }
  }
  for (var j = 0u; j < p.r; j++) {
    let k = base + j * p.inner;
    if (LOG) { bdx[k] = bg[k] - ieee_exp(by[k]) * s; } else { bdx[k] = by[k] * (bg[k] - s); }
  }
}

// Cross-entropy of logits [rows, classes] against integer labels: loss[row] = logsumexp(row) - row[label].
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

// Row i's maximum and sum of exp(logit - maximum).
fn xent_max_sum(i: u32) -> vec2<f32> {
  let base = i * p.r;
  var m = logits[base];
  for (var j = 1u; j < p.r; j++) { m = nan_max(m, logits[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.r; j++) { s += ieee_exp(logits[base + j] - m); }
  return vec2<f32>(m, s);
}

fn xent_bad(i: u32) -> bool { return labels[i] < 0 || labels[i] >= i32(p.r); }
fn xent_label(i: u32) -> u32 { return u32(clamp(labels[i], 0, i32(p.r) - 1)); }

// Row i's loss, or NaN for an out-of-range label (visible in the loss, never a silent clamp).
fn xent_row_of(i: u32, ms: vec2<f32>) -> f32 {
  return select(ms.x + ieee_log(ms.y) - logits[i * p.r + xent_label(i)], nan_f32(), xent_bad(i));
}
fn xent_row(i: u32) -> f32 { return xent_row_of(i, xent_max_sum(i)); }

@compute @workgroup_size(WG)
fn xent_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer) { return; }
  loss[i] = xent_row(i) * p.alpha;
}

// The mean (alpha = 1 / rows) or sum (alpha = 1) of the row losses in one pass: one workgroup strides over the
// rows and sums its threads' partial sums as a tree (a loss is a few hundred rows at most per step; a separate
// reduction pass and its backward would cost two more dispatches each step).
var<workgroup> xent_partial: array<f32, WG>;

@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;   // GRAD (else a placeholder)

// GRAD: also write the loss's gradient for a unit seed, (softmax(row) - onehot(label)) * alpha, as xent_bwd would
// with g = 1: a training step's backward then runs no kernel for it (gradients.ts).
override GRAD: bool = false;

@compute @workgroup_size(WG)
fn xent_reduce_fwd(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.outer; i += WG) {
    let ms = xent_max_sum(i);
    acc += xent_row_of(i, ms);
    if (GRAD) {
      let base = i * p.r;
      let scale = p.alpha / ms.y;
      let label = xent_label(i);
      let bad = xent_bad(i);
      for (var j = 0u; j < p.r; j++) {
        var v = ieee_exp(logits[base + j] - ms.x) * scale;
        if (j == label) { v -= p.alpha; }
        dlogits[base + j] = select(v, nan_f32(), bad);
      }
    }
  }
  xent_partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { xent_partial[lid] += xent_partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { loss[0] = xent_partial[0] * p.alpha; }
}

@group(0) @binding(1) var<storage, read> gl: array<f32>;    // logits
@group(0) @binding(2) var<storage, read> glab: array<i32>;  // labels
@group(0) @binding(3) var<storage, read> gg: array<f32>;    // gradient of the per-row loss
@group(0) @binding(4) var<storage, read_write> gdx: array<f32>;

override SCALAR_G: bool = false;   // the gradient of a mean or sum of the row losses: one value for every row

// dx = (softmax(row) - onehot(label)) * g[row] * alpha
@compute @workgroup_size(WG)
fn xent_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer) { return; }
  let base = i * p.r;
  var m = gl[base];
  for (var j = 1u; j < p.r; j++) { m = nan_max(m, gl[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.r; j++) { s += ieee_exp(gl[base + j] - m); }
  var gi: f32;
  if (SCALAR_G) { gi = gg[0]; } else { gi = gg[i]; }
  let scale = gi * p.alpha / s;
  let bad = glab[i] < 0 || glab[i] >= i32(p.r);
  let label = u32(clamp(glab[i], 0, i32(p.r) - 1));
  for (var j = 0u; j < p.r; j++) {
    var v = ieee_exp(gl[base + j] - m) * scale;
    if (j == label) { v -= gi * p.alpha; }
    gdx[base + j] = select(v, nan_f32(), bad);
  }
}
