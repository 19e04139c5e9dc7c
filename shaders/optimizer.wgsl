// Fused optimizer updates, updating parameter and state in place. Hyper-parameters come in a uniform that the
// optimizer rewrites each step (so captured steps replay schedules too). Declared in src/graph/shaders.ts.
//
// Two forms of each update, computing the same f32 expressions in the same order (so the same bits):
//  - *_main: one parameter tensor per dispatch (one thread per element).
//  - *_multi: every parameter of a group in one dispatch. Parameters, gradients and state live in arenas (one
//    buffer each; the optimizer copies parameters and gradients in and parameters out around the dispatch, since
//    a kernel binds only a few storage buffers: 4 in compatibility mode's minimum). `meta` describes the segments:
//    4 u32 per segment (start in the arena, size, first block, the optimizer step of its first update), then one
//    u32 per workgroup block naming its segment. Every block lies in one segment, so a workgroup reads its
//    segment once and no thread searches. A block is WG threads x VEC4S vec4s.

// ---- one tensor per dispatch ----
@group(0) @binding(1) var<storage, read_write> sparam: array<f32>;
@group(0) @binding(2) var<storage, read> sgrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> sbuf: array<f32>;   // momentum buffer

// PyTorch SGD: g += wd * p; buf = first ? g : momentum * buf + (1 - dampening) * g;
// step = nesterov ? g + momentum * buf : buf. On vec4s for the multi-tensor kernel; the one-tensor kernel splats one
// element (so both run the same expressions, and give the same bits).
struct Sgd4 { w: vec4<f32>, b: vec4<f32> }

fn sgd_update4(w: vec4<f32>, g0: vec4<f32>, b0: vec4<f32>, first: bool, lr: f32, momentum: f32, dampening: f32,
               wd: f32, nesterov: bool) -> Sgd4 {
  var g = g0 + wd * w;
  var b = b0;
  if (momentum != 0.0) {
    if (first) { b = g; } else { b = momentum * b0 + (1.0 - dampening) * g; }
    if (nesterov) { g = g + momentum * b; } else { g = b; }
  }
  return Sgd4(w - lr * g, b);
}

@compute @workgroup_size(WG)
fn sgd_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= sp.n) { return; }
  var b0 = 0.0;   // without momentum the state is a one-element stand-in, never read or written
  if (sp.momentum != 0.0) { b0 = sbuf[i]; }
  let r = sgd_update4(vec4<f32>(sparam[i]), vec4<f32>(sgrad[i]), vec4<f32>(b0), sp.first != 0u, sp.lr, sp.momentum,
                      sp.dampening, sp.weight_decay, sp.nesterov != 0u);
  if (sp.momentum != 0.0) { sbuf[i] = r.b.x; }
  sparam[i] = r.w.x;
}

@group(0) @binding(1) var<storage, read_write> aparam: array<f32>;
@group(0) @binding(2) var<storage, read> agrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> am: array<f32>;
@group(0) @binding(4) var<storage, read_write> av: array<f32>;

// Adam (decoupled = false, L2 added to the gradient) and AdamW (decoupled), as in PyTorch;
// bc1 = 1 - beta1^t, bc2 = 1 - beta2^t. On vec4s, as sgd_update4.
struct Adam4 { w: vec4<f32>, m: vec4<f32>, v: vec4<f32> }

fn adam_update4(w0: vec4<f32>, g0: vec4<f32>, m0: vec4<f32>, v0: vec4<f32>, lr: f32, beta1: f32, beta2: f32, eps: f32,
                wd: f32, decoupled: bool, bc1: f32, bc2: f32) -> Adam4 {
  var w = w0;
  var g = g0;
  if (decoupled) { w = w * (1.0 - lr * wd); } else { g = g + wd * w; }
  let m = beta1 * m0 + (1.0 - beta1) * g;
  let v = beta2 * v0 + (1.0 - beta2) * g * g;
  let denom = sqrt(v / bc2) + eps;
  return Adam4(w - (lr / bc1) * m / denom, m, v);
}

@compute @workgroup_size(WG)
fn adam_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= ap.n) { return; }
  let r = adam_update4(vec4<f32>(aparam[i]), vec4<f32>(agrad[i]), vec4<f32>(am[i]), vec4<f32>(av[i]), ap.lr, ap.beta1,
                       ap.beta2, ap.eps, ap.weight_decay, ap.decoupled != 0u, ap.bc1, ap.bc2);
  am[i] = r.m.x;
  av[i] = r.v.x;
  aparam[i] = r.w.x;
}

// ---- every parameter of a group per dispatch ----
// As vec4s: a segment starts on a 64-element slot boundary and its slot is padded to a multiple of 64, so a thread
// updates 4 elements with one load per array (CPU drivers run each storage load lane by lane, whatever its width:
// scalar updates cost 4x the loads). The lanes past a segment's size update the slot's padding, which is never copied
// out or read back.
struct Segment { start: u32, size: u32, first_block: u32, first_step: u32 }

fn segment(s: u32) -> Segment {
  return Segment(mmeta[4u * s], mmeta[4u * s + 1u], mmeta[4u * s + 2u], mmeta[4u * s + 3u]);
}

@group(0) @binding(1) var<storage, read_write> mparam: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> mgrad: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> mbuf: array<vec4<f32>>;   // SGD: momentum; Adam: m
@group(0) @binding(4) var<storage, read> mmeta: array<u32>;
@group(0) @binding(5) var<storage, read_write> mv: array<vec4<f32>>;     // Adam: v

// A thread updates VEC4S vec4s (a constant src/graph/shaders.ts appends), WG vec4s apart (neighbouring lanes on
// neighbouring vec4s). The workgroup's block: (the segment's start in the arena, its size, the block's first element
// within the segment, the segment's first step); size 0 for a block past the last.
fn block_of(wid: vec3<u32>, nwg: vec3<u32>, blocks: u32, segs: u32) -> vec4<u32> {
  let blk = wid.x + wid.y * nwg.x;
  if (blk >= blocks) { return vec4<u32>(0u); }
  let s = segment(mmeta[4u * segs + blk]);
  return vec4<u32>(s.start, s.size, (blk - s.first_block) * 4u * WG * VEC4S, s.first_step);
}

// The element within the segment of this thread's q-th vec4.
fn vec4_at(b: vec4<u32>, lid: u32, q: u32) -> u32 { return b.z + 4u * (lid + q * WG); }

@compute @workgroup_size(WG)
fn sgd_multi(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let b = block_of(wid, nwg, ms.blocks, ms.segs);
  for (var q = 0u; q < VEC4S; q++) {
    let j = vec4_at(b, lid, q);
    if (j >= b.y) { return; }
    let i = (b.x + j) / 4u;
    var b0 = vec4<f32>(0.0);   // without momentum the state is a stand-in, never read or written
    if (ms.momentum != 0.0) { b0 = mbuf[i]; }
    let r = sgd_update4(mparam[i], mgrad[i], b0, b.w == ms.step, ms.lr, ms.momentum, ms.dampening, ms.weight_decay,
                        ms.nesterov != 0u);
    if (ms.momentum != 0.0) { mbuf[i] = r.b; }
    mparam[i] = r.w;
  }
}

@compute @workgroup_size(WG)
fn adam_multi(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  // One bias correction for every segment: the optimizer dispatches the parameters of a group that started at
  // different steps separately (1 - beta^t in f32 loses digits to cancellation; the host computes it in float64).
  let b = block_of(wid, nwg, ma.blocks, ma.segs);
  for (var q = 0u; q < VEC4S; q++) {
    let j = vec4_at(b, lid, q);
    if (j >= b.y) { return; }
    let i = (b.x + j) / 4u;
    let r = adam_update4(mparam[i], mgrad[i], mbuf[i], mv[i], ma.lr, ma.beta1, ma.beta2, ma.eps, ma.weight_decay,
                         ma.decoupled != 0u, ma.bc1, ma.bc2);
    mbuf[i] = r.m;
    mv[i] = r.v;
    mparam[i] = r.w;
  }
}
