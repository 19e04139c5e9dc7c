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

@compute @workgroup_size(WG)
fn xent_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer) { return; }
  let base = i * p.r;
  var m = logits[base];
  for (var j = 1u; j < p.r; j++) { m = nan_max(m, logits[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.r; j++) { s += ieee_exp(logits[base + j] - m); }
  // An out-of-range label gives NaN (visible in the loss), never a silent clamp.
  let bad = labels[i] < 0 || labels[i] >= i32(p.r);
  let label = u32(clamp(labels[i], 0, i32(p.r) - 1));
  loss[i] = select((m + ieee_log(s) - logits[base + label]) * p.alpha, nan_f32(), bad);
}

@group(0) @binding(1) var<storage, read> gl: array<f32>;    // logits
@group(0) @binding(2) var<storage, read> glab: array<i32>;  // labels
@group(0) @binding(3) var<storage, read> gg: array<f32>;    // gradient of the per-row loss
@group(0) @binding(4) var<storage, read_write> gdx: array<f32>;

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
  let scale = gg[i] * p.alpha / s;
  let bad = glab[i] < 0 || glab[i] >= i32(p.r);
  let label = u32(clamp(glab[i], 0, i32(p.r) - 1));
  for (var j = 0u; j < p.r; j++) {
    var v = ieee_exp(gl[base + j] - m) * scale;
    if (j == label) { v -= gg[i] * p.alpha; }
    gdx[base + j] = select(v, nan_f32(), bad);
  }
}
