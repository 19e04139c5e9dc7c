// Fused optimizer updates, one thread per parameter element, updating parameter and state in place.
// Hyper-parameters come in a uniform that the optimizer rewrites each step (so captured steps replay them).

override WG: u32 = 256u;

struct SgdParams { n: u32, lr: f32, momentum: f32, dampening: f32, weight_decay: f32, nesterov: u32, first: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> sp: SgdParams;
@group(0) @binding(1) var<storage, read_write> sparam: array<f32>;
@group(0) @binding(2) var<storage, read> sgrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> sbuf: array<f32>;   // momentum buffer

fn thread_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

// PyTorch SGD: g += wd * p; buf = first ? g : momentum * buf + (1 - dampening) * g; step = nesterov ? g + momentum * buf : buf
@compute @workgroup_size(WG)
fn sgd_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= sp.n) { return; }
  var g = sgrad[i] + sp.weight_decay * sparam[i];
  if (sp.momentum != 0.0) {
    var b: f32;
    if (sp.first != 0u) { b = g; } else { b = sp.momentum * sbuf[i] + (1.0 - sp.dampening) * g; }
    sbuf[i] = b;
    if (sp.nesterov != 0u) { g = g + sp.momentum * b; } else { g = b; }
  }
  sparam[i] = sparam[i] - sp.lr * g;
}

struct AdamParams {
  n: u32, lr: f32, beta1: f32, beta2: f32,
  eps: f32, weight_decay: f32, decoupled: u32, bc1: f32,   // bc1 = 1 - beta1^t
  bc2: f32, _a: u32, _b: u32, _c: u32,                     // bc2 = 1 - beta2^t
}

@group(0) @binding(0) var<uniform> ap: AdamParams;
@group(0) @binding(1) var<storage, read_write> aparam: array<f32>;
@group(0) @binding(2) var<storage, read> agrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> am: array<f32>;
@group(0) @binding(4) var<storage, read_write> av: array<f32>;

// Adam (decoupled = 0, L2 added to the gradient) and AdamW (decoupled = 1), as in PyTorch.
@compute @workgroup_size(WG)
fn adam_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= ap.n) { return; }
  var w = aparam[i];
  var g = agrad[i];
  if (ap.decoupled != 0u) { w = w * (1.0 - ap.lr * ap.weight_decay); } else { g = g + ap.weight_decay * w; }
  let m = ap.beta1 * am[i] + (1.0 - ap.beta1) * g;
  let v = ap.beta2 * av[i] + (1.0 - ap.beta2) * g * g;
  am[i] = m;
  av[i] = v;
  let denom = sqrt(v / ap.bc2) + ap.eps;
  aparam[i] = w - (ap.lr / ap.bc1) * m / denom;
}
