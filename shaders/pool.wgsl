// 2-D max and average pooling on NCHW tensors, forward and backward.
// Backward runs one thread per input element and gathers from the windows that cover it (no atomics).

override MAX: bool = true;   // max pooling; false: average (count includes padding, as PyTorch's default)
// Max pooling of relu(x) in the same pass (reluMaxPool2d): max(relu(window)) = relu(max(window)), and the argmax of
// x serves wherever the maximum is positive; elsewhere the relu passes no gradient, and the forward writes the argmax
// as -1, which no input matches, so the backward kernels need neither the pooled outputs nor a mask. NaN passes, as
// relu's.
override RELU: bool = false;

fn relu_if(v: f32) -> f32 {
  if (RELU && !(v > 0.0) && !is_nan(v)) { return 0.0; }
  return v;
}

// Whether the gradient passes the relu at a window's maximum v (relu_keeps: shaders/pool-window.wgsl).
fn relu_passes(v: f32) -> bool { return !RELU || relu_keeps(v); }
// The argmax i a max-pooling forward writes for a window whose maximum is v: -1 where the relu passes nothing.
fn relu_arg(v: f32, i: i32) -> i32 { return select(-1, i, relu_passes(v)); }

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// x is read through load_x only, so POOL_TEXTURE can read it from the staging texture instead (src/graph/shaders.ts).
fn load_x(i: u32) -> f32 { return x[i]; }
@group(0) @binding(3) var<storage, read_write> arg: array<i32>;  // max: flat index ih*W+iw of the maximum

@compute @workgroup_size(WG)
fn pool_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.NC * p.OH * p.OW) { return; }
  let ow = i % p.OW;
  let oh = (i / p.OW) % p.OH;
  let plane = (i / (p.OW * p.OH)) * p.H * p.W;
  var best = -3.40282e38;
  var besti = -1;
  var sum = 0.0;
  for (var kh = 0u; kh < p.KH; kh++) {
    let ih = i32(oh * p.SH + kh) - i32(p.PH);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0u; kw < p.KW; kw++) {
      let iw = i32(ow * p.SW + kw) - i32(p.PW);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      let v = load_x(plane + u32(ih) * p.W + u32(iw));
      if (MAX) {
        // A NaN wins (and a later NaN replaces it), as PyTorch's max pooling: NaN propagates.
        if (v > best || besti < 0 || is_nan(v)) { best = v; besti = ih * i32(p.W) + iw; }
      } else { sum += v; }
    }
  }
  if (MAX) { y[i] = relu_if(best); arg[i] = relu_arg(best, besti); } else { y[i] = sum / f32(p.KH * p.KW); }
}

@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> barg: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn pool_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.NC * p.H * p.W) { return; }
  let iw = i32(i % p.W);
  let ih = i32((i / p.W) % p.H);
  let nc = i / (p.W * p.H);
  let flat = ih * i32(p.W) + iw;
  // Windows oh with oh*SH - PH <= ih <= oh*SH - PH + KH - 1.
  let oh_lo = max(0, (ih + i32(p.PH) - i32(p.KH) + i32(p.SH)) / i32(p.SH));
  let oh_hi = min(i32(p.OH) - 1, (ih + i32(p.PH)) / i32(p.SH));
  let ow_lo = max(0, (iw + i32(p.PW) - i32(p.KW) + i32(p.SW)) / i32(p.SW));
  let ow_hi = min(i32(p.OW) - 1, (iw + i32(p.PW)) / i32(p.SW));
  var acc = 0.0;
  for (var oh = oh_lo; oh <= oh_hi; oh++) {
    for (var ow = ow_lo; ow <= ow_hi; ow++) {
      let o = (nc * p.OH + u32(oh)) * p.OW + u32(ow);
      if (MAX) {
        if (barg[o] == flat) { acc += g[o]; }
      } else { acc += g[o]; }
    }
  }
  if (!MAX) { acc = acc / f32(p.KH * p.KW); }
  dx[i] = acc;
}

// Max-pool backward when windows do not overlap (stride >= kernel): each input is the maximum of at most one
// window, so one thread per output writes its gradient to the input it came from, into dx zeroed beforehand.
// It replaces pool_bwd's per-input window search (four integer divisions per input, which CPU drivers cannot
// vectorise) with one division per output.
@compute @workgroup_size(WG)
fn pool_bwd_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.NC * p.OH * p.OW) { return; }
  let nc = i / (p.OH * p.OW);
  let a = barg[i];
  if (a >= 0) { dx[nc * p.H * p.W + u32(a)] = g[i]; }
}

// ---- 2x2 windows, stride 2, no padding, H even and W a multiple of 4 (the pools of LeNet, DANN and most CNNs) ----
// One thread per pair of neighbouring outputs reads the two window rows as two vec4s and writes the pair as vec2s:
// a quarter of the loads of pool_fwd (CPU drivers run each storage load lane by lane, whatever its width). The
// same comparisons in the same order as pool_fwd, so the same maxima, argmaxima and NaN propagation.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
// x4 is read through load_x4 only, so POOL_TEXTURE can read it from the staging texture instead.
fn load_x4(i: u32) -> vec4<f32> { return x4[i]; }
@group(0) @binding(2) var<storage, read_write> y2: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> arg2: array<vec2<i32>>;

// Best, consider and window_max: shaders/pool-window.wgsl (src/graph/shaders.ts appends it).

// (row of the window pair's top inputs in vec4s, flat index of its top-left input), or none past the last pair.
fn pair_origin(i: u32) -> vec3<u32> {
  let half_ow = p.OW / 2u;
  if (i >= p.NC * p.OH * half_ow) { return vec3<u32>(0u, 0u, 0u); }
  let q = i % half_ow;
  let row = i / half_ow;                  // nc * OH + oh
  let oh = row % p.OH;
  // The top row is nc * H + 2 oh = 2 row (H = 2 OH); W is a multiple of 4.
  return vec3<u32>(row * (p.W / 2u) + q, 2u * oh * p.W + 4u * q, 1u);
}

@compute @workgroup_size(WG)
fn pool2_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let o = pair_origin(i);
  if (o.z == 0u) { return; }
  let a = load_x4(o.x);
  let b = load_x4(o.x + p.W / 4u);
  if (MAX) {
    let w = i32(p.W);
    let l = window_max(a.x, a.y, b.x, b.y, i32(o.y), w);
    let r = window_max(a.z, a.w, b.z, b.w, i32(o.y) + 2, w);
    y2[i] = vec2<f32>(relu_if(l.v), relu_if(r.v));
    arg2[i] = vec2<i32>(relu_arg(l.v, l.i), relu_arg(r.v, r.i));
  } else {
    y2[i] = vec2<f32>(((a.x + a.y) + b.x) + b.y, ((a.z + a.w) + b.z) + b.w) / 4.0;
  }
}

@group(0) @binding(1) var<storage, read> g2: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> barg2: array<vec2<i32>>;
@group(0) @binding(3) var<storage, read_write> dx4: array<vec4<f32>>;

// Its backward: the same thread writes both window rows (every input lies in exactly one window), so no fill runs
// first. Max: the gradient goes to the argmax, zeros elsewhere; average: a quarter to each input.
@compute @workgroup_size(WG)
fn pool2_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let o = pair_origin(i);
  if (o.z == 0u) { return; }
  let gv = g2[i];
  var top: vec4<f32>;
  var bottom: vec4<f32>;
  if (MAX) {
    let m = barg2[i];
    let t = i32(o.y);
    let bt = t + i32(p.W);
    let z = 0.0;
    top = vec4<f32>(select(z, gv.x, m.x == t), select(z, gv.x, m.x == t + 1),
                    select(z, gv.y, m.y == t + 2), select(z, gv.y, m.y == t + 3));
    bottom = vec4<f32>(select(z, gv.x, m.x == bt), select(z, gv.x, m.x == bt + 1),
                       select(z, gv.y, m.y == bt + 2), select(z, gv.y, m.y == bt + 3));
  } else {
    let q = gv / 4.0;
    top = vec4<f32>(q.x, q.x, q.y, q.y);
    bottom = top;
  }
  dx4[o.x] = top;
  dx4[o.x + p.W / 4u] = bottom;
}

// The same backward a thread per 4 neighbouring outputs of a row where OW is a multiple of 4 (W of 8): the gradient
// and the argmaxima as one vec4 each, half the loads a output of pool2_bwd. The gradient is read through load_x4, so
// POOL_TEXTURE's twin reads it from the staging texture.
@compute @workgroup_size(WG)
fn pool2_bwd4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let quads = p.OW / 4u;
  if (i >= p.NC * p.OH * quads) { return; }
  let q = i % quads;
  let row = i / quads;                    // nc * OH + oh
  let oh = row % p.OH;
  // The top input row is nc * H + 2 oh = 2 row (H = 2 OH); its columns 8q .. 8q + 7 are two vec4s.
  let top = row * (p.W / 2u) + 2u * q;
  let below = p.W / 4u;
  let gv = load_x4(i);
  var lo: vec4<f32>;
  var hi: vec4<f32>;
  var blo: vec4<f32>;
  var bhi: vec4<f32>;
  if (MAX) {
    let m = barg4[i];
    let t = i32(2u * oh * p.W + 8u * q);  // flat index of the top row's column 8q in the plane
    let b = t + i32(p.W);
    let z = 0.0;
    lo = vec4<f32>(select(z, gv.x, m.x == t), select(z, gv.x, m.x == t + 1),
                   select(z, gv.y, m.y == t + 2), select(z, gv.y, m.y == t + 3));
    hi = vec4<f32>(select(z, gv.z, m.z == t + 4), select(z, gv.z, m.z == t + 5),
                   select(z, gv.w, m.w == t + 6), select(z, gv.w, m.w == t + 7));
    blo = vec4<f32>(select(z, gv.x, m.x == b), select(z, gv.x, m.x == b + 1),
                    select(z, gv.y, m.y == b + 2), select(z, gv.y, m.y == b + 3));
    bhi = vec4<f32>(select(z, gv.z, m.z == b + 4), select(z, gv.z, m.z == b + 5),
                    select(z, gv.w, m.w == b + 6), select(z, gv.w, m.w == b + 7));
  } else {
    let a = gv / 4.0;
    lo = vec4<f32>(a.x, a.x, a.y, a.y);
    hi = vec4<f32>(a.z, a.z, a.w, a.w);
    blo = lo;
    bhi = hi;
  }
  dx4[top] = lo;
  dx4[top + 1u] = hi;
  dx4[top + below] = blo;
  dx4[top + below + 1u] = bhi;
}

// ---- 3x3 windows, stride 2, padding 1, W a multiple of 8 (ResNet's stem pool) ----
// One thread per 4 neighbouring outputs of a row: their windows span input columns 8q - 1 .. 8q + 7, three vec4s a
// window row (the first only for its last value, col 8q - 1), 9 vec4 loads where pool_fwd makes 36 scalar ones. The
// same comparisons in the same order as pool_fwd (window rows, then columns, padding skipped), so the same maxima,
// argmaxima and NaN propagation; average: the sum over the window's inputs / 9 (padding counted, as pool_fwd).
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> arg4: array<vec4<i32>>;

// A thread index as (its place in a row of `inner`, its row in a plane of `rows`, its plane).
fn split3(i: u32, inner: u32, rows: u32) -> vec3<u32> {
  let row = i / inner;
  return vec3<u32>(i % inner, row % rows, row / rows);
}

@compute @workgroup_size(WG)
fn pool3_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let quads = p.OW / 4u;
  if (i >= p.NC * p.OH * quads) { return; }
  let at = split3(i, quads, p.OH);         // (q, oh, nc)
  let q = at.x;
  let oh = at.y;
  let nc = at.z;
  var b0 = Best(0.0, -1);
  var b1 = Best(0.0, -1);
  var b2 = Best(0.0, -1);
  var b3 = Best(0.0, -1);
  var s = vec4<f32>(0.0);
  for (var kh = 0u; kh < 3u; kh++) {
    let ih = i32(2u * oh + kh) - 1;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    let base = ((nc * p.H + u32(ih)) * p.W) / 4u + 2u * q;
    // Column 8q - 1 (the previous vec4's last value), or padding where q = 0.
    let left = load_x4(max(base, 1u) - 1u).w;
    let a = load_x4(base);
    let c = load_x4(base + 1u);
    let f = ih * i32(p.W) + 8 * i32(q);   // flat index of column 8q in the plane
    if (MAX) {
      if (q > 0u) { b0 = consider(b0, left, f - 1); }
      b0 = consider(consider(b0, a.x, f), a.y, f + 1);
      b1 = consider(consider(consider(b1, a.y, f + 1), a.z, f + 2), a.w, f + 3);
      b2 = consider(consider(consider(b2, a.w, f + 3), c.x, f + 4), c.y, f + 5);
      b3 = consider(consider(consider(b3, c.y, f + 5), c.z, f + 6), c.w, f + 7);
    } else {
      var l = 0.0;
      if (q > 0u) { l = left; }
      // Added one column at a time, as pool_fwd's running sum (a padded column adds 0).
      s = ((s + vec4<f32>(l, a.y, a.w, c.y)) + vec4<f32>(a.x, a.z, c.x, c.z)) + vec4<f32>(a.y, a.w, c.y, c.w);
    }
  }
  if (MAX) {
    y4[i] = vec4<f32>(relu_if(b0.v), relu_if(b1.v), relu_if(b2.v), relu_if(b3.v));
    arg4[i] = vec4<i32>(relu_arg(b0.v, b0.i), relu_arg(b1.v, b1.i), relu_arg(b2.v, b2.i), relu_arg(b3.v, b3.i));
  } else {
    y4[i] = s / f32(p.KH * p.KW);  // as pool_fwd (see pool3_bwd)
  }
}

// Its backward: one thread per 8 neighbouring inputs of a row (columns 8q .. 8q + 7), which lie in the windows of
// outputs 4q .. 4q + 4 of one output row (even input rows) or two (odd ones): a vec4 and the next vec4's first value
// of the gradient and the argmaxima per output row, where pool_bwd searches every input's
// windows with four divisions and loads them one by one. Sums in pool_bwd's order (output rows, then columns), each
// window adding its gradient where it is the argmax and 0 elsewhere (x + 0 is x), so the same values bit for bit.
@group(0) @binding(2) var<storage, read> barg4: array<vec4<i32>>;

// Input row ih's 8 sums (as two vec4s: columns 8q .. 8q + 3 and 8q + 4 .. 8q + 7) plus output row orow's windows.
fn pool3_add_row(acc: array<vec4<f32>, 2>, orow: u32, q: u32, f: i32) -> array<vec4<f32>, 2> {
  let quads = p.OW / 4u;
  let k = orow * quads + q;
  let g = load_x4(k);
  var g4 = 0.0;  // output 4q + 4, past the row's end for the last quad
  let has4 = q + 1u < quads;
  if (has4) { g4 = load_x4(k + 1u).x; }
  let z = 0.0;
  // Column 8q + c lies in output 4q + c / 2 (left) and, for odd c, 4q + (c + 1) / 2 (right), added in that order.
  var left_lo = vec4<f32>(g.x, g.x, g.y, g.y);
  var left_hi = vec4<f32>(g.z, g.z, g.w, g.w);
  var right_lo = vec4<f32>(z, g.y, z, g.z);
  var right_hi = vec4<f32>(z, g.w, z, g4);
  if (MAX) {
    let a = barg4[k];
    var a4 = -1;
    if (has4) { a4 = barg4[k + 1u].x; }
    left_lo = vec4<f32>(select(z, g.x, a.x == f), select(z, g.x, a.x == f + 1),
                        select(z, g.y, a.y == f + 2), select(z, g.y, a.y == f + 3));
    left_hi = vec4<f32>(select(z, g.z, a.z == f + 4), select(z, g.z, a.z == f + 5),
                        select(z, g.w, a.w == f + 6), select(z, g.w, a.w == f + 7));
    right_lo = vec4<f32>(z, select(z, g.y, a.y == f + 1), z, select(z, g.z, a.z == f + 3));
    right_hi = vec4<f32>(z, select(z, g.w, a.w == f + 5), z, select(z, g4, a4 == f + 7));
  }
  return array<vec4<f32>, 2>((acc[0] + left_lo) + right_lo, (acc[1] + left_hi) + right_hi);
}

@compute @workgroup_size(WG)
fn pool3_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let eighths = p.W / 8u;
  if (i >= p.NC * p.H * eighths) { return; }
  let at = split3(i, eighths, p.H);       // (q, ih, nc)
  let q = at.x;
  let ih = at.y;
  let nc = at.z;
  let f = i32(ih * p.W + 8u * q);         // flat index of column 8q in the plane
  // Input row ih lies in output row ih / 2 and, where ih is odd, the next one (if any).
  var acc = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
  let oh = ih / 2u;
  acc = pool3_add_row(acc, nc * p.OH + oh, q, f);
  if (ih % 2u == 1u && oh + 1u < p.OH) { acc = pool3_add_row(acc, nc * p.OH + oh + 1u, q, f); }
  if (!MAX) {
    // Divided by the uniform, as pool_bwd: a constant 9 lets a compiler multiply by its inexact reciprocal.
    let n = f32(p.KH * p.KW);
    acc[0] = acc[0] / n;
    acc[1] = acc[1] / n;
  }
  dx4[2u * i] = acc[0];
  dx4[2u * i + 1u] = acc[1];
}
