// Reductions over the middle axis of an [outer, r, inner] view: any run of adjacent axes reduces in one
// dispatch without a transpose. Barrier-free, which suits CPU adapters. A long axis with few outputs is split
// into `chunks` ranges of `chunk` elements, one thread each, writing [outer, chunks, inner] partials that the
// host reduces again (so a full sum uses every core / SM instead of one thread).
// OP: 0 sum, 1 max, 2 min (scaled by alpha afterwards: mean = sum with alpha = 1/r).

override OP: u32 = 0u;

// Thread i's place in the [outer, chunks, inner] grid of partial results: (outer index, chunk, inner index).
struct Cell { o: u32, ch: u32, k: u32 }
fn cell_of(i: u32) -> Cell { return Cell(i / (p.inner * p.chunks), (i / p.inner) % p.chunks, i % p.inner); }

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn reduce_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer * p.chunks * p.inner) { return; }
  let c = cell_of(i);
  let k = c.k;
  let o = c.o;
  let j0 = c.ch * p.chunk;
  let len = min(p.chunk, p.r - j0);
  var base = (o * p.r + j0) * p.inner + k;
  var acc: f32;
  if (OP == 0u) { acc = 0.0; } else { acc = x[base]; }
  // Four partial accumulators shorten the dependency chain of long sums.
  var a1 = 0.0; var a2 = 0.0; var a3 = 0.0;
  var j = 0u;
  if (OP == 0u) {
    for (; j + 4u <= len; j += 4u) {
      acc += x[base]; a1 += x[base + p.inner]; a2 += x[base + 2u * p.inner]; a3 += x[base + 3u * p.inner];
      base += 4u * p.inner;
    }
    acc = (acc + a1) + (a2 + a3);
  }
  for (; j < len; j++) {
    let v = x[base];
    acc = combine(acc, v);  // NaN propagates
    base += p.inner;
  }
  y[i] = acc * p.alpha;
}

@group(0) @binding(1) var<storage, read> ax: array<f32>;
@group(0) @binding(2) var<storage, read_write> ay: array<i32>;

// Index of the first maximum along the middle axis; a NaN counts as the maximum (the first NaN, as torch).
@compute @workgroup_size(WG)
fn argmax_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer * p.inner) { return; }
  let o = i / p.inner;
  let k = i % p.inner;
  let base = o * p.r * p.inner + k;
  var best = ax[base];
  var arg = 0u;
  for (var j = 1u; j < p.r && !is_nan(best); j++) {
    let v = ax[base + j * p.inner];
    if (v > best || is_nan(v)) { best = v; arg = j; }
  }
  ay[i] = i32(arg);
}

// argmax_main over a long axis split into runs of p.chunk, one thread each (one thread's loops over a whole long axis
// are slow, and llvmpipe stops them near 65,535 iterations): each run's first maximum and its index along the axis,
// [outer, chunks, inner] of each; argmax_merge then takes the first run holding the maximum.
@group(0) @binding(1) var<storage, read> px: array<f32>;
@group(0) @binding(2) var<storage, read_write> pbest: array<f32>;
@group(0) @binding(3) var<storage, read_write> parg: array<i32>;

@compute @workgroup_size(WG)
fn argmax_part(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer * p.chunks * p.inner) { return; }
  let c = cell_of(i);
  let j0 = c.ch * p.chunk;
  let j1 = min(p.r, j0 + p.chunk);
  let base = c.o * p.r * p.inner + c.k;
  var best = px[base + j0 * p.inner];
  var arg = j0;
  for (var j = j0 + 1u; j < j1 && !is_nan(best); j++) {
    let v = px[base + j * p.inner];
    if (v > best || is_nan(v)) { best = v; arg = j; }
  }
  pbest[i] = best;
  parg[i] = i32(arg);
}

@group(0) @binding(1) var<storage, read> mbest: array<f32>;
@group(0) @binding(2) var<storage, read> marg: array<i32>;
@group(0) @binding(3) var<storage, read_write> my: array<i32>;

// A later run wins only with a larger value or the first NaN, so ties keep the earliest index.
@compute @workgroup_size(WG)
fn argmax_merge(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.chunks * p.inner + i % p.inner;
  var best = mbest[base];
  var arg = marg[base];
  for (var c = 1u; c < p.chunks && !is_nan(best); c++) {
    let v = mbest[base + c * p.inner];
    if (v > best || is_nan(v)) { best = v; arg = marg[base + c * p.inner]; }
  }
  my[i] = arg;
}

@group(0) @binding(1) var<storage, read> sx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sy: array<f32>;
@group(0) @binding(3) var<storage, read_write> sy_tail: array<f32>;

// Sum of r rows of `inner` floats, each row padded to a whole number of vec4s (a conv weight gradient's partial
// sums are written so): one thread per vec4 of the row, a quarter of reduce_main's loads (which CPU drivers run
// lane by lane). The padding lanes are summed too but never stored. The first p.chunk floats of the sum go to sy,
// the rest to sy_tail (a conv's bias gradient after its weight gradient; chunk = inner where there is none).
@compute @workgroup_size(WG)
fn reduce_rows4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let row4 = (p.inner + 3u) / 4u;
  if (i >= row4) { return; }
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0);
  var j = 0u;
  // Two partial accumulators shorten the dependency chain of long sums.
  for (; j + 2u <= p.r; j += 2u) {
    a0 += sx4[j * row4 + i];
    a1 += sx4[(j + 1u) * row4 + i];
  }
  if (j < p.r) { a0 += sx4[j * row4 + i]; }
  let s = (a0 + a1) * p.alpha;
  for (var q = 0u; q < 4u; q++) {
    let o = 4u * i + q;
    if (o < p.chunk) { sy[o] = s[q]; } else if (o < p.inner) { sy_tail[o - p.chunk] = s[q]; }
  }
}

// Sums over the outer and inner axes of [outer, r, inner] (a conv's bias gradient, over images and pixels): one
// thread per middle index, in one dispatch where the two-pass route takes two or three (CPU adapters, where a
// dispatch's hand-off costs tens of microseconds: docs/kernel-measurements.md#channel-sums). sum_channels4 reads
// rows of whole vec4s (inner a multiple of 4), four of them an iteration.
@compute @workgroup_size(WG)
fn sum_channels4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(gid, nwg);
  if (c >= p.r) { return; }
  let row4 = p.inner / 4u;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var o = 0u; o < p.outer; o++) {
    let base = (o * p.r + c) * row4;
    var j = 0u;
    for (; j + 4u <= row4; j += 4u) {
      a0 += sx4[base + j]; a1 += sx4[base + j + 1u]; a2 += sx4[base + j + 2u]; a3 += sx4[base + j + 3u];
    }
    for (; j < row4; j++) { a0 += sx4[base + j]; }
  }
  let s = (a0 + a1) + (a2 + a3);
  sy[c] = ((s.x + s.y) + (s.z + s.w)) * p.alpha;
}

@compute @workgroup_size(WG)
fn sum_channels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(gid, nwg);
  if (c >= p.r) { return; }
  var a0 = 0.0; var a1 = 0.0; var a2 = 0.0; var a3 = 0.0;
  for (var o = 0u; o < p.outer; o++) {
    let base = (o * p.r + c) * p.inner;
    var j = 0u;
    for (; j + 4u <= p.inner; j += 4u) {
      a0 += x[base + j]; a1 += x[base + j + 1u]; a2 += x[base + j + 2u]; a3 += x[base + j + 3u];
    }
    for (; j < p.inner; j++) { a0 += x[base + j]; }
  }
  y[c] = ((a0 + a1) + (a2 + a3)) * p.alpha;
}

@group(0) @binding(1) var<storage, read> rout: array<f32>;       // a relu's output [outer, inner]
@group(0) @binding(2) var<storage, read> rg: array<f32>;         // the gradient of that output
@group(0) @binding(3) var<storage, read_write> rgm: array<f32>;  // the gradient through the relu
@group(0) @binding(4) var<storage, read_write> rdb: array<f32>;  // its column sums [inner]

// A linear layer's gradient through its relu and its bias gradient in one pass: rgm = relu'(out) * g (NaN passes g
// on, as torch) and rdb[j] = the sum of rgm's column j. One thread a column, over the rows in order.
@compute @workgroup_size(WG)
fn relu_grad_col_sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = thread_id(gid, nwg);
  if (j >= p.inner) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.outer; r++) {
    let k = r * p.inner + j;
    let o = rout[k];
    let v = select(0.0, rg[k], o > 0.0 || is_nan(o));
    rgm[k] = v;
    acc += v;
  }
  rdb[j] = acc;
}

// ---- one workgroup per output: its threads stride over the axis, then a tree in workgroup memory (GPUs) ----
var<workgroup> tree: array<f32, WG>;

fn combine(a: f32, b: f32) -> f32 {
  if (OP == 0u) { return a + b; }
  if (OP == 1u) { return nan_max(a, b); }
  return nan_min(a, b);
}

@compute @workgroup_size(WG)
fn reduce_tree(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32) {
  let out = wid.x + wid.y * nwg.x;
  let valid = out < p.outer * p.inner;
  let base = (out / p.inner) * p.r * p.inner + out % p.inner;
  // Max and min start from the axis' first value (taking it twice changes nothing); a sum from 0.
  var acc = 0.0;
  if (valid) {
    if (OP != 0u) { acc = x[base]; }
    for (var j = li; j < p.r; j += WG) { acc = combine(acc, x[base + j * p.inner]); }
  }
  tree[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { tree[li] = combine(tree[li], tree[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u && valid) { y[out] = tree[0] * p.alpha; }
}
