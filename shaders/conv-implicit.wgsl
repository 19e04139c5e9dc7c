// conv2d as implicit matrix products on 64 x 64 workgroup tiles: 16 x 16 threads of 4 x 4 outputs, the reduction
// taken 16 steps at a time through workgroup memory. The im2col matrix is never written: each tile load works out
// the input pixel its element stands for. Meant for GPUs, where im2col's memory traffic costs more than the products.
//   forward:         Y[(n, oh, ow), k]  = sum over (c, kh, kw) of x[n, c, ih, iw] * w[k, c, kh, kw]
//   input gradient:  dX[(n, ih, iw), c] = sum over (k, kh, kw) of dy[n, k, oh, ow] * w[k, c, kh, kw],
//                    where oh * SH = ih + PH - kh and ow * SW = iw + PW - kw
//   weight gradient: dW[k, (c, kh, kw)] = sum over (n, oh, ow) of dy[n, k, oh, ow] * x[n, c, ih, iw], the sum cut
//                    into p.split parts (one per workgroup layer z), each written to its own slice of iout
// Bindings: forward (x, w, bias, y); input gradient (dy, w, -, dx); weight gradient (x, dy, -, partial dW).
// Entries: implicit_rows (forward, PASS 0; input gradient, PASS 1), implicit_rows128 (the same on 128 x 128 tiles of
// 8 x 8 outputs a thread, BK = 8, the tiles kept as vec4s), implicit_bwd_weight.
// Uniforms (p) come from its declaration, CONV_IMPLICIT in src/graph/shaders.ts.

override HAS_BIAS: bool = false;

const TILE: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> sa: array<array<f32, 64>, 16>;   // [reduction step][row]
var<workgroup> sb: array<array<f32, 64>, 16>;   // [reduction step][column]

@group(0) @binding(1) var<storage, read> ia: array<f32>;
@group(0) @binding(2) var<storage, read> ib: array<f32>;
@group(0) @binding(3) var<storage, read> ibias: array<f32>;
@group(0) @binding(4) var<storage, read_write> iout: array<f32>;

// acc[i][j] += sum over the 16 staged steps of sa[q][r4 + i] * sb[q][c4 + j]
fn mac16(r4: u32, c4: u32, acc: ptr<function, array<vec4<f32>, 4>>) {
  for (var q = 0u; q < BK; q++) {
    let bv = vec4<f32>(sb[q][c4], sb[q][c4 + 1u], sb[q][c4 + 2u], sb[q][c4 + 3u]);
    (*acc)[0] += sa[q][r4] * bv;
    (*acc)[1] += sa[q][r4 + 1u] * bv;
    (*acc)[2] += sa[q][r4 + 2u] * bv;
    (*acc)[3] += sa[q][r4 + 3u] * bv;
  }
}

// (i / (rows * cols), (i / cols) % rows, i % cols): a pixel index as (image, row, column), a tap as (channel, kh, kw)
fn split3(i: u32, rows: u32, cols: u32) -> vec3<u32> {
  return vec3<u32>(i / (rows * cols), (i / cols) % rows, i % cols);
}

// x[n, c, ih, iw] (binding ia) for output pixel r = (n, oh, ow) and tap q = (c, kh, kw); 0 in the padding
fn x_at(r: u32, q: u32) -> f32 {
  let o = split3(r, p.OH, p.OW);
  let t = split3(q, p.KH, p.KW);
  let ih = i32(o.y * p.SH + t.y) - i32(p.PH);
  let iw = i32(o.z * p.SW + t.z) - i32(p.PW);
  if (ih < 0 || iw < 0 || ih >= i32(p.H) || iw >= i32(p.W)) { return 0.0; }
  return ia[((o.x * p.C + t.x) * p.H + u32(ih)) * p.W + u32(iw)];
}

// dy[n, k, oh, ow] (binding ia) reaching input pixel r = (n, ih, iw) through tap q = (k, kh, kw); 0 where none does
fn dy_through(r: u32, q: u32) -> f32 {
  let i = split3(r, p.H, p.W);
  let t = split3(q, p.KH, p.KW);
  let th = i32(i.y + p.PH) - i32(t.y);
  let tw = i32(i.z + p.PW) - i32(t.z);
  if (th < 0 || tw < 0 || u32(th) % p.SH != 0u || u32(tw) % p.SW != 0u) { return 0.0; }
  let oh = u32(th) / p.SH;
  let ow = u32(tw) / p.SW;
  if (oh >= p.OH || ow >= p.OW) { return 0.0; }
  return ia[((i.x * p.K + t.x) * p.OH + oh) * p.OW + ow];
}

// The forward (PASS 0) and the input gradient (PASS 1) are the same product over different index spaces: rows are
// output pixels (n, oh, ow) or input pixels (n, ih, iw), columns output channels k or input channels c, and the
// reduction taps (c, kh, kw) or (k, kh, kw).
override PASS: u32 = 0u;

// This pass's product: rows (pixels), each image's plane of them, columns (channels), the reduction's length, and
// the first row and column of a workgroup's tile of `size`.
struct RowsJob { rows: u32, plane: u32, cols: u32, red: u32, row0: u32, col0: u32 }
fn rows_job(wid: vec3<u32>, size: u32) -> RowsJob {
  let khw = p.KH * p.KW;
  if (PASS == 1u) { return RowsJob(p.N * p.H * p.W, p.H * p.W, p.C, p.K * khw, wid.y * size, wid.x * size); }
  return RowsJob(p.N * p.OH * p.OW, p.OH * p.OW, p.K, p.C * khw, wid.y * size, wid.x * size);
}

// Writes output row r (a pixel), column col (a channel), plus the bias where there is one: NCHW, so neighbouring
// rows are neighbouring addresses.
fn store_row(job: RowsJob, r: u32, col: u32, v: f32) {
  var out = v;
  if (HAS_BIAS) { out += ibias[col]; }
  iout[(r / job.plane) * job.cols * job.plane + r % job.plane + col * job.plane] = out;
}

// The reduction's element q for row r (A) and column col (B) of this pass.
fn a_at(r: u32, q: u32) -> f32 {
  if (PASS == 0u) { return x_at(r, q); }
  return dy_through(r, q);
}
fn b_at(q: u32, col: u32) -> f32 {
  let khw = p.KH * p.KW;
  // forward: w[col, q] as [K, C*KH*KW]; input gradient: w[k, col, kh, kw] for q = (k, kh, kw)
  if (PASS == 0u) { return ib[col * p.C * khw + q]; }
  return ib[((q / khw) * p.C + col) * khw + q % khw];
}

@compute @workgroup_size(16, 16, 1)
fn implicit_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let job = rows_job(wid, TILE);
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var q0 = 0u; q0 < job.red; q0 += BK) {
    for (var e = 0u; e < 4u; e++) {
      let idx = t + e * 256u;
      // Consecutive threads load consecutive pixels of one tap, and consecutive taps of one channel.
      let qa = idx / TILE;
      let ra = idx % TILE;
      var av = 0.0;
      if (q0 + qa < job.red && job.row0 + ra < job.rows) { av = a_at(job.row0 + ra, q0 + qa); }
      sa[qa][ra] = av;
      let qb = idx % BK;
      let cb = idx / BK;
      var bv = 0.0;
      if (q0 + qb < job.red && job.col0 + cb < job.cols) { bv = b_at(q0 + qb, job.col0 + cb); }
      sb[qb][cb] = bv;
    }
    workgroupBarrier();
    mac16(lid.x * 4u, lid.y * 4u, &acc);
    workgroupBarrier();
  }
  // Rows along lid.x: neighbouring threads write neighbouring pixels of a channel plane (NCHW).
  for (var i = 0u; i < 4u; i++) {
    let r = job.row0 + lid.x * 4u + i;
    if (r < job.rows) {
      for (var j = 0u; j < 4u; j++) {
        let col = job.col0 + lid.y * 4u + j;
        if (col < job.cols) { store_row(job, r, col, acc[i][j]); }
      }
    }
  }
}

// ---- implicit_rows128: 128 x 128 tiles, 8 x 8 outputs a thread (rows lid.x * 4 + {0..3} and 64 + those, columns
// lid.y * 4 + ... likewise), BK = 8; each staged value is used 16 times, against 4 on the 64 x 64 tiles ----
const BIG: u32 = 128u;
const BK8: u32 = 8u;
var<workgroup> sa8: array<array<vec4<f32>, 32>, 8>;   // [reduction step][row / 4]
var<workgroup> sb8: array<array<vec4<f32>, 32>, 8>;   // [reduction step][column / 4]

@compute @workgroup_size(16, 16, 1)
fn implicit_rows128(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let job = rows_job(wid, BIG);
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 16>;   // acc[2 * i + h]: row i of the thread's 8, columns h * 64 + lid.y * 4 ..
  for (var q0 = 0u; q0 < job.red; q0 += BK8) {
    // A: consecutive threads take 4 neighbouring pixels each, of one tap; B: half a column's 8 taps each.
    let qa = q0 + t / 32u;
    let ra = job.row0 + (t % 32u) * 4u;
    var av = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) { if (qa < job.red && ra + e < job.rows) { av[e] = a_at(ra + e, qa); } }
    sa8[t / 32u][t % 32u] = av;
    let cb = t / 2u;
    let qb = (t % 2u) * 4u;
    for (var e = 0u; e < 4u; e++) {
      var bv = 0.0;
      if (q0 + qb + e < job.red && job.col0 + cb < job.cols) { bv = b_at(q0 + qb + e, job.col0 + cb); }
      sb8[qb + e][cb / 4u][cb % 4u] = bv;
    }
    workgroupBarrier();
    for (var q = 0u; q < BK8; q++) {
      outer8(&acc, sa8[q][lid.x], sa8[q][lid.x + 16u], sb8[q][lid.y], sb8[q][lid.y + 16u]);
    }
    workgroupBarrier();
  }
  // Rows along lid.x, as implicit_rows: neighbouring threads write neighbouring pixels of a channel plane (NCHW).
  for (var i = 0u; i < 8u; i++) {
    let r = job.row0 + tile8_at(i, lid.x);
    if (r < job.rows) {
      for (var j = 0u; j < 8u; j++) {
        let col = job.col0 + tile8_at(j, lid.y);
        if (col < job.cols) { store_row(job, r, col, acc[2u * i + j / 4u][j % 4u]); }
      }
    }
  }
}

@compute @workgroup_size(16, 16, 1)
fn implicit_bwd_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  _ = ibias[0];   // every entry binds the same four buffers: this one leaves the third unused
  let ohw = p.OH * p.OW;
  let red = p.N * ohw;
  let ckk = p.C * p.KH * p.KW;
  // Part wid.z of the sum: a run of whole BK steps.
  let chunk = ((red + p.split - 1u) / p.split + BK - 1u) / BK * BK;
  let r_begin = wid.z * chunk;
  let r_end = min(red, r_begin + chunk);
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var r0 = r_begin; r0 < r_end; r0 += BK) {
    for (var e = 0u; e < 4u; e++) {
      let idx = t + e * 256u;
      // dy[n, k, oh, ow] (binding ib): consecutive threads take consecutive pixels of one output channel.
      let qa = idx % BK;
      let ka = idx / BK;
      var av = 0.0;
      let r = r0 + qa;
      if (r < r_end && row0 + ka < p.K) { av = ib[((r / ohw) * p.K + row0 + ka) * ohw + r % ohw]; }
      sa[qa][ka] = av;
      // x at pixel r through tap q: consecutive threads take consecutive taps.
      let qb = idx / TILE;
      let cb = idx % TILE;
      var bv = 0.0;
      if (r0 + qb < r_end && col0 + cb < ckk) { bv = x_at(r0 + qb, col0 + cb); }
      sb[qb][cb] = bv;
    }
    workgroupBarrier();
    mac16(lid.y * 4u, lid.x * 4u, &acc);
    workgroupBarrier();
  }
  let slice = wid.z * p.K * ckk;
  for (var i = 0u; i < 4u; i++) {
    let k = row0 + lid.y * 4u + i;
    if (k < p.K) {
      for (var j = 0u; j < 4u; j++) {
        let q = col0 + lid.x * 4u + j;
        if (q < ckk) { iout[slice + k * ckk + q] = acc[i][j]; }
      }
    }
  }
}
