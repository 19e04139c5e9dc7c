// Grouped conv2d (groups > 1; depthwise when every group has one input channel) on NCHW tensors, weights
// [K, CG, KH, KW] with CG = C / groups input and KG = K / groups output channels per group: forward, input
// gradient and weight gradient. Plain loops without unrolling, so SwiftShader's compiler stays quick. CPU drivers pay
// per load, so at column stride 1 (most depthwise layers) the row inputs a thread needs slide through vec4 windows,
// one new load per tap (grouped_fwd8, grouped_bwd_input8, the weight gradient's SW == 1 branch).
// Uniforms (p), WG and thread_id come from its declaration, CONV_GROUPED in src/graph/shaders.ts.

override HAS_BIAS: bool = false;

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<f32>;
@group(0) @binding(3) var<storage, read> fbias: array<f32>;
@group(0) @binding(4) var<storage, read_write> fy: array<f32>;

// Any column stride: thread (n, k, oh, 4 neighbouring ow), each weight load serving four outputs of a row.
@compute @workgroup_size(WG)
fn grouped_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let owq = (p.OW + 3u) / 4u;
  if (i >= p.N * p.K * p.OH * owq) { return; }
  let ow0 = (i % owq) * 4u;
  let oh = (i / owq) % p.OH;
  let k = (i / (owq * p.OH)) % p.K;
  let n = i / (owq * p.OH * p.K);
  let c0 = (k / p.KG) * p.CG;
  let sw = i32(p.SW);
  let iw_base = vec4<i32>(0, sw, 2 * sw, 3 * sw) + i32(ow0 * p.SW) - i32(p.PW);
  var acc = vec4<f32>(0.0);
  for (var ci = 0u; ci < p.CG; ci++) {
    let xplane = (n * p.C + c0 + ci) * p.H * p.W;
    let wbase = (k * p.CG + ci) * p.KH * p.KW;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      for (var kw = 0u; kw < p.KW; kw++) {
        let w = fw[wbase + kh * p.KW + kw];
        let iw = iw_base + i32(kw);
        let ok = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
        let idx = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1))) + xrow;
        let xv = vec4<f32>(fx[idx.x], fx[idx.y], fx[idx.z], fx[idx.w]);
        acc += select(vec4<f32>(0.0), xv, ok) * w;
      }
    }
  }
  var b = 0.0;
  if (HAS_BIAS) { b = fbias[k]; }
  let o = ((n * p.K + k) * p.OH + oh) * p.OW + ow0;
  fy[o] = acc.x + b;
  if (ow0 + 1u < p.OW) { fy[o + 1u] = acc.y + b; }
  if (ow0 + 2u < p.OW) { fy[o + 2u] = acc.z + b; }
  if (ow0 + 3u < p.OW) { fy[o + 3u] = acc.w + b; }
}

// x[row + col], 0 outside the row (padding).
fn x_at(xrow: u32, col: i32) -> f32 {
  return select(0.0, fx[xrow + u32(clamp(col, 0, i32(p.W) - 1))], col >= 0 && col < i32(p.W));
}

// Column stride 1: thread (n, k, oh, 8 neighbouring ow). The 8 inputs under tap kw are a window that slides one column
// per tap, so each tap loads one new input (7 + KW loads per kernel row instead of 8 KW): CPU drivers pay per load.
@compute @workgroup_size(WG)
fn grouped_fwd8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let owq = (p.OW + 7u) / 8u;
  if (i >= p.N * p.K * p.OH * owq) { return; }
  let ow0 = (i % owq) * 8u;
  let oh = (i / owq) % p.OH;
  let k = (i / (owq * p.OH)) % p.K;
  let n = i / (owq * p.OH * p.K);
  let c0 = (k / p.KG) * p.CG;
  let col0 = i32(ow0) - i32(p.PW);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  for (var ci = 0u; ci < p.CG; ci++) {
    let xplane = (n * p.C + c0 + ci) * p.H * p.W;
    let wbase = (k * p.CG + ci) * p.KH * p.KW;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      // Window of tap kw: columns col0 + kw + 0..7 in lo, hi; primed one column short, each tap shifts one in.
      var lo = vec4<f32>(0.0, x_at(xrow, col0), x_at(xrow, col0 + 1), x_at(xrow, col0 + 2));
      var hi = vec4<f32>(x_at(xrow, col0 + 3), x_at(xrow, col0 + 4), x_at(xrow, col0 + 5), x_at(xrow, col0 + 6));
      for (var kw = 0u; kw < p.KW; kw++) {
        lo = vec4<f32>(lo.yzw, hi.x);
        hi = vec4<f32>(hi.yzw, x_at(xrow, col0 + 7 + i32(kw)));
        let w = fw[wbase + kh * p.KW + kw];
        a0 += lo * w;
        a1 += hi * w;
      }
    }
  }
  var b = 0.0;
  if (HAS_BIAS) { b = fbias[k]; }
  let o = ((n * p.K + k) * p.OH + oh) * p.OW + ow0;
  fy[o] = a0.x + b;
  if (ow0 + 1u < p.OW) { fy[o + 1u] = a0.y + b; }
  if (ow0 + 2u < p.OW) { fy[o + 2u] = a0.z + b; }
  if (ow0 + 3u < p.OW) { fy[o + 3u] = a0.w + b; }
  if (ow0 + 4u < p.OW) { fy[o + 4u] = a1.x + b; }
  if (ow0 + 5u < p.OW) { fy[o + 5u] = a1.y + b; }
  if (ow0 + 6u < p.OW) { fy[o + 6u] = a1.z + b; }
  if (ow0 + 7u < p.OW) { fy[o + 7u] = a1.w + b; }
}

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// Any column stride: thread (n, c, ih, iw) gathers over the outputs whose windows hold it (no atomics): only the
// taps kh = (ih + PH) mod SH, + SH, ... land on an output row (likewise the columns), so no tap is tried in vain.
@compute @workgroup_size(WG)
fn grouped_bwd_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.N * p.C * p.H * p.W) { return; }
  let iw = i % p.W;
  let ih = (i / p.W) % p.H;
  let c = (i / (p.W * p.H)) % p.C;
  let n = i / (p.W * p.H * p.C);
  let ci = c % p.CG;
  let k0 = (c / p.CG) * p.KG;
  let hp = ih + p.PH;   // padded row: tap kh reaches output row (hp - kh) / SH when SH divides hp - kh
  let wp = iw + p.PW;
  let kh0 = hp % p.SH;
  let kw0 = wp % p.SW;
  let oh0 = i32(hp / p.SH);
  let ow0 = i32(wp / p.SW);
  var acc = 0.0;
  for (var kk = 0u; kk < p.KG; kk++) {
    let k = k0 + kk;
    let dyplane = (n * p.K + k) * p.OH * p.OW;
    let wbase = (k * p.CG + ci) * p.KH * p.KW;
    // Each step of SH taps moves one output row up; the output row and column advance with the taps (no division).
    var oh = oh0;
    for (var kh = kh0; kh < p.KH && oh >= 0; kh += p.SH) {
      if (oh < i32(p.OH)) {
        let dyrow = dyplane + u32(oh) * p.OW;
        let wrow = wbase + kh * p.KW;
        var ow = ow0;
        for (var kw = kw0; kw < p.KW && ow >= 0; kw += p.SW) {
          if (ow < i32(p.OW)) { acc += bdy[dyrow + u32(ow)] * bw[wrow + kw]; }
          ow--;
        }
      }
      oh--;
    }
  }
  bdx[i] = acc;
}

// dy[row + col], 0 outside the output row.
fn dy_at(dyrow: u32, col: i32) -> f32 {
  return select(0.0, bdy[dyrow + u32(clamp(col, 0, i32(p.OW) - 1))], col >= 0 && col < i32(p.OW));
}

// The thread of an eight-inputs kernel: (n, c, ih) and eight neighbouring iw from iw0, a multiple of 8; the input
// channel within its group, the group's first output channel, and the first kernel row and output row it reaches.
struct Inputs8 { ok: bool, n: u32, c: u32, ih: u32, iw0: u32, ci: u32, k0: u32, kh0: u32, oh0: i32 }

fn inputs8(gid: vec3<u32>, nwg: vec3<u32>) -> Inputs8 {
  let i = thread_id(gid, nwg);
  let iwq = (p.W + 7u) / 8u;
  let ih = (i / iwq) % p.H;
  let c = (i / (iwq * p.H)) % p.C;
  let hp = ih + p.PH;
  return Inputs8(i < p.N * p.C * p.H * iwq, i / (iwq * p.H * p.C), c, ih, (i % iwq) * 8u, c % p.CG, (c / p.CG) * p.KG,
    hp % p.SH, i32(hp / p.SH));
}

// Where output row oh of output channel k0 + kk starts in dy (x), and where kernel row kh of its weights for the
// thread's input channel starts (y).
fn rows_at(t: Inputs8, kk: u32, kh: u32, oh: i32) -> vec2<u32> {
  let k = t.k0 + kk;
  return vec2<u32>(((t.n * p.K + k) * p.OH + u32(oh)) * p.OW, ((k * p.CG + t.ci) * p.KH + kh) * p.KW);
}

// The eight inputs' gradients (a0: iw0 to iw0 + 3, a1: the next four), those within the row.
fn store_inputs8(t: Inputs8, a0: vec4<f32>, a1: vec4<f32>) {
  let o = ((t.n * p.C + t.c) * p.H + t.ih) * p.W + t.iw0;
  bdx[o] = a0.x;
  if (t.iw0 + 1u < p.W) { bdx[o + 1u] = a0.y; }
  if (t.iw0 + 2u < p.W) { bdx[o + 2u] = a0.z; }
  if (t.iw0 + 3u < p.W) { bdx[o + 3u] = a0.w; }
  if (t.iw0 + 4u < p.W) { bdx[o + 4u] = a1.x; }
  if (t.iw0 + 5u < p.W) { bdx[o + 5u] = a1.y; }
  if (t.iw0 + 6u < p.W) { bdx[o + 6u] = a1.z; }
  if (t.iw0 + 7u < p.W) { bdx[o + 7u] = a1.w; }
}

// Column stride 1: thread (n, c, ih, 8 neighbouring iw), each weight load serving eight inputs. Tap kw reaches output
// columns iw + PW - kw: a window that slides one column per tap, so each tap loads one new dy (taps run backwards).
@compute @workgroup_size(WG)
fn grouped_bwd_input8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = inputs8(gid, nwg);
  if (!t.ok) { return; }
  let iw0 = t.iw0;
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  let last = i32(iw0 + p.PW) - i32(p.KW);   // output column of lane 0 one tap past the last
  for (var kk = 0u; kk < p.KG; kk++) {
    var oh = t.oh0;
    for (var kh = t.kh0; kh < p.KH && oh >= 0; kh += p.SH) {
      if (oh < i32(p.OH)) {
        let rows = rows_at(t, kk, kh, oh);
        let dyrow = rows.x;
        var lo = vec4<f32>(0.0, dy_at(dyrow, last + 1), dy_at(dyrow, last + 2), dy_at(dyrow, last + 3));
        var hi = vec4<f32>(dy_at(dyrow, last + 4), dy_at(dyrow, last + 5), dy_at(dyrow, last + 6),
                           dy_at(dyrow, last + 7));
        for (var tap = 1u; tap <= p.KW; tap++) {
          lo = vec4<f32>(lo.yzw, hi.x);
          hi = vec4<f32>(hi.yzw, dy_at(dyrow, last + 7 + i32(tap)));
          let w = bw[rows.y + p.KW - tap];
          a0 += lo * w;
          a1 += hi * w;
        }
      }
      oh--;
    }
  }
  store_inputs8(t, a0, a1);
}

// Column stride 2: thread (n, c, ih, 8 neighbouring iw from a multiple of 8). Tap kw reaches input column iw where
// iw + PW - kw is even, at output column (iw + PW - kw) / 2: the even lanes for one parity of kw + PW and the odd lanes
// for the other, each lane set reading four neighbouring dy of the row. A tap is four loads for four inputs, with no
// division and no branch that differs between threads (grouped_bwd_input divides per input and diverges per lane).
@compute @workgroup_size(WG)
fn grouped_bwd_input_s2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = inputs8(gid, nwg);
  if (!t.ok) { return; }
  let iw0 = t.iw0;
  var ev = vec4<f32>(0.0);   // inputs iw0, iw0 + 2, iw0 + 4, iw0 + 6
  var od = vec4<f32>(0.0);   // inputs iw0 + 1, iw0 + 3, iw0 + 5, iw0 + 7
  let half = i32(iw0 / 2u);
  for (var kk = 0u; kk < p.KG; kk++) {
    var oh = t.oh0;
    for (var kh = t.kh0; kh < p.KH && oh >= 0; kh += p.SH) {
      if (oh < i32(p.OH)) {
        let rows = rows_at(t, kk, kh, oh);
        for (var kw = 0u; kw < p.KW; kw++) {
          // Lanes j = j0, j0 + 2, .. with j0 + PW - kw even read output columns iw0 / 2 + (j0 + PW - kw) / 2 + m.
          let j0 = (kw + p.PW) & 1u;
          let b = half + (i32(j0 + p.PW) - i32(kw)) / 2;
          let v = vec4<f32>(dy_at(rows.x, b), dy_at(rows.x, b + 1), dy_at(rows.x, b + 2), dy_at(rows.x, b + 3)) *
            bw[rows.y + kw];
          if (j0 == 0u) { ev += v; } else { od += v; }
        }
      }
      oh--;
    }
  }
  store_inputs8(t, vec4<f32>(ev.x, od.x, ev.y, od.y), vec4<f32>(ev.z, od.z, ev.w, od.w));
}

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gdw: array<f32>;

var<workgroup> partial: array<vec4<f32>, WG>;

// x[row + col], 0 outside the row (padding).
fn gx_at(xrow: u32, col: i32) -> f32 {
  return select(0.0, gx[xrow + u32(clamp(col, 0, i32(p.W) - 1))], col >= 0 && col < i32(p.W));
}

// A block of 4 neighbouring taps (k, ci, kh, kw0 .. kw0 + 3) of the weight: the weight gradient's unit of work, so
// each dy load serves up to 4 taps. e numbers the blocks, kw0 fastest.
struct TapBlock { k: u32, ci: u32, c: u32, kh: u32, kw0: u32 }
fn tap_block(e: u32) -> TapBlock {
  let kwq = (p.KW + 3u) / 4u;
  let kh = (e / kwq) % p.KH;
  let ci = (e / (kwq * p.KH)) % p.CG;
  let k = e / (kwq * p.KH * p.CG);
  return TapBlock(k, ci, (k / p.KG) * p.CG + ci, kh, (e % kwq) * 4u);
}
fn tap_blocks() -> u32 { return p.K * p.CG * p.KH * ((p.KW + 3u) / 4u); }

// The block's sums of dy * x over output columns start .. end - 1 of output row oh of image n.
fn row_sums(t: TapBlock, n: u32, oh: u32, start: u32, end: u32) -> vec4<f32> {
  var acc = vec4<f32>(0.0);
  let ih = i32(oh * p.SH + t.kh) - i32(p.PH);
  if (ih < 0 || ih >= i32(p.H)) { return acc; }
  let dyrow = ((n * p.K + t.k) * p.OH + oh) * p.OW;
  let xrow = ((n * p.C + t.c) * p.H + u32(ih)) * p.W;
  if (p.SW == 1u) {
    // Consecutive outputs read the block's 4 columns shifted by one: one new x load per output.
    let col = i32(start + t.kw0) - i32(p.PW);
    var win = vec4<f32>(0.0, gx_at(xrow, col), gx_at(xrow, col + 1), gx_at(xrow, col + 2));
    for (var ow = start; ow < end; ow++) {
      win = vec4<f32>(win.yzw, gx_at(xrow, i32(ow + t.kw0 + 3u) - i32(p.PW)));
      acc += win * gdy[dyrow + ow];
    }
  } else {
    let taps = vec4<i32>(vec4<u32>(0u, 1u, 2u, 3u) + t.kw0);
    for (var ow = start; ow < end; ow++) {
      // Input columns ow * SW + kw - PW of the block's taps (lanes past KW are computed but never stored).
      let col = taps + i32(ow * p.SW) - i32(p.PW);
      let ok = (col >= vec4<i32>(0)) & (col < vec4<i32>(i32(p.W)));
      let idx = vec4<u32>(clamp(col, vec4<i32>(0), vec4<i32>(i32(p.W) - 1))) + xrow;
      let xv = vec4<f32>(gx[idx.x], gx[idx.y], gx[idx.z], gx[idx.w]);
      acc += select(vec4<f32>(0.0), xv, ok) * gdy[dyrow + ow];
    }
  }
  return acc;
}

// The block's taps that lie within the kernel row.
fn store_taps(t: TapBlock, r: vec4<f32>) {
  let o = ((t.k * p.CG + t.ci) * p.KH + t.kh) * p.KW + t.kw0;
  gdw[o] = r.x;
  if (t.kw0 + 1u < p.KW) { gdw[o + 1u] = r.y; }
  if (t.kw0 + 2u < p.KW) { gdw[o + 2u] = r.z; }
  if (t.kw0 + 3u < p.KW) { gdw[o + 3u] = r.w; }
}

// One workgroup per tap block. Its threads stride over segments of output rows: the N * OH rows are cut into p.segs
// segments of p.seg columns each (the host sizes them so every thread has work when rows are few), each thread sums
// over its segments, and the workgroup adds its threads' sums as a tree.
@compute @workgroup_size(WG)
fn grouped_bwd_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let e = wid.x + wid.y * nwg.x;
  let live = e < tap_blocks();
  let t = tap_block(e);
  var acc = vec4<f32>(0.0);
  let items = select(0u, p.N * p.OH * p.segs, live);
  for (var it = lid; it < items; it += WG) {
    let row = it / p.segs;
    let s = it - row * p.segs;
    let n = row / p.OH;
    acc += row_sums(t, n, row - n * p.OH, s * p.seg, min(p.OW, (s + 1u) * p.seg));
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (lid < h) { partial[lid] += partial[lid + h]; }
    workgroupBarrier();
  }
  if (lid == 0u && live) { store_taps(t, partial[0]); }
}

// A thread per tap block over every output row, without workgroup memory or barriers: on small maps a CPU adapter's
// workgroup trees cost more than their sums (docs/kernel-measurements.md#grouped-weight-serial).
@compute @workgroup_size(WG)
fn grouped_bwd_weight_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = thread_id(gid, nwg);
  if (e >= tap_blocks()) { return; }
  let t = tap_block(e);
  var acc = vec4<f32>(0.0);
  for (var n = 0u; n < p.N; n++) {
    for (var oh = 0u; oh < p.OH; oh++) { acc += row_sums(t, n, oh, 0u, p.OW); }
  }
  store_taps(t, acc);
}
