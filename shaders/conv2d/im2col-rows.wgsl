// conv2d on NCHW tensors, weights [K, C, KH, KW]: the lowered input cols [N*OH*OW, C*KH*KW rounded up to 4], of N
// images from image n0 of x. A thread per (output pixel, input channel) writes that channel's KH*KW taps, a
// contiguous run of the row; the row's last channel also zeroes the padding columns.
// Uniforms (p), WG and thread_id come from its declaration, IM2COL_ROWS in src/graph/shaders.ts; x is read through
// load_x only, so its twin IM2COL_ROWS_TEXTURE reads it from the staging texture. The lowered layouts:
// src/graph/kernels/conv/gemm.ts.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;
fn load_x(i: u32) -> f32 { return x[i]; }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let npix = p.OH * p.OW;
  if (i >= p.N * npix * p.C) { return; }
  let width = p.groups4 * 4u;
  let c = i % p.C;
  let row = i / p.C;
  let n = row / npix;
  let oh = (row % npix) / p.OW;
  let ow = row % p.OW;
  let kk = p.KH * p.KW;
  var o = row * width + c * kk;
  let ih0 = i32(oh * p.SH) - i32(p.PH);
  let iw0 = i32(ow * p.SW) - i32(p.PW);
  let xplane = ((p.n0 + n) * p.C + c) * p.H * p.W;
  for (var kh = 0u; kh < p.KH; kh++) {
    let ih = ih0 + i32(kh);
    let rowok = ih >= 0 && ih < i32(p.H);
    let xrow = i32(xplane) + ih * i32(p.W);
    for (var kw = 0u; kw < p.KW; kw++) {
      let iw = iw0 + i32(kw);
      var v = 0.0;
      if (rowok && iw >= 0 && iw < i32(p.W)) { v = load_x(u32(xrow + iw)); }
      cols[o] = v;
      o++;
    }
  }
  if (c + 1u == p.C) {
    for (var j = p.C * kk; j < width; j++) { cols[row * width + j] = 0.0; }
  }
}
