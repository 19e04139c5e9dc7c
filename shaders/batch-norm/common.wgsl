// Batch normalisation's shared part, appended to shaders/batch-norm/forward.wgsl and backward.wgsl (WGSL has no
// include): x is viewed as [N, C, HW] (channel axis 1); stats = [mean; sqrt(var + eps)], [2, C]; M = N * HW. The
// overrides, the activation and its gradient, the normalising pass's affine map, and the workgroup sums' helpers.

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
// backward's passes take g through it from the output y (bound at ya, dxy and their vec4 views) or its input
// (ACT_FROM_INPUT): relu passes g where y > 0, relu6 where 0 < y < 6 (0 at the bounds, as PyTorch's hardtanh), and
// both where y is NaN.
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

// The serial sums (bn_stats_serial, bn_grad_sums_serial) run in blocks of 32 added to a total, so rounding grows with
// 32 + M / 32 terms rather than M, as close as a workgroup tree's.
const SERIAL_BLOCK = 32u;
