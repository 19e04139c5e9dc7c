// conv2d on NCHW tensors, weights [K, C, KH, KW]: the weight gradient, 8 output channels x 4 flattened taps per thread.
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.

override PADDED: bool = true;

@group(0) @binding(1) var<storage, read> wx: array<f32>;
@group(0) @binding(2) var<storage, read> wdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;   // [split][K][C][KH][KW]

// Weight gradient, 8 output channels x 4 kernel taps per thread. Taps are the flattened kh * KW + kw index, so
// a 5x5 kernel is 7 groups of 4 (28 for 25 taps) instead of 5 rows of 2 column groups (40 for 25). Without
// padding (PADDED false) every tap of every output pixel is inside the input, so the inner loop has no bounds
// checks: one gather of 4 input values and two of 4 output-gradient values serve 32 multiply-adds.
// Thread (s, kg = 8-channel group (p.groups4 holds their count), c, tap group); images s, s + split, ...
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let kk = p.KH * p.KW;
  let tg = (kk + 3u) / 4u;
  let base = p.C * tg;
  if (i >= p.split * p.groups4 * base) { return; }
  let r = i % base;
  let kg = (i / base) % p.groups4;
  let s = i / (base * p.groups4);
  let t0 = (r % tg) * 4u;
  let c = r / tg;
  // Taps past the kernel read tap kk - 1 and are never stored.
  let tc = min(vec4<u32>(t0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(kk - 1u));
  let kh = tc / vec4<u32>(p.KW);
  let kw = tc % vec4<u32>(p.KW);
  let toff = kh * p.W + kw;
  let k0 = kg * 8u;
  let km = p.K - 1u;
  let npix = p.OH * p.OW;
  let d0 = vec4<u32>(min(k0, km), min(k0 + 1u, km), min(k0 + 2u, km), min(k0 + 3u, km)) * npix;
  let d1 = vec4<u32>(min(k0 + 4u, km), min(k0 + 5u, km), min(k0 + 6u, km), min(k0 + 7u, km)) * npix;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  for (var n = s; n < p.N; n += p.split) {
    let xplane = (n * p.C + c) * p.H * p.W;
    var o = n * p.K * npix;
    for (var oh = 0u; oh < p.OH; oh++) {
      let ihs = i32(oh * p.SH) - i32(p.PH);
      let ih = vec4<i32>(ihs) + vec4<i32>(kh);
      let rowok = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H)));
      let xrow = xplane + oh * p.SH * p.W;
      for (var ow = 0u; ow < p.OW; ow++) {
        var xv: vec4<f32>;
        if (PADDED) {
          let iw = vec4<i32>(i32(ow * p.SW) - i32(p.PW)) + vec4<i32>(kw);
          let ok = rowok & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
          let idx = vec4<u32>(clamp(ih, vec4<i32>(0), vec4<i32>(i32(p.H) - 1))) * p.W +
            vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
          xv = select(vec4<f32>(0.0), vec4<f32>(wx[xplane + idx.x], wx[xplane + idx.y], wx[xplane + idx.z], wx[xplane + idx.w]), ok);
        } else {
          let xb = xrow + ow * p.SW;
          xv = vec4<f32>(wx[xb + toff.x], wx[xb + toff.y], wx[xb + toff.z], wx[xb + toff.w]);
        }
        let g0 = vec4<f32>(wdy[o + d0.x], wdy[o + d0.y], wdy[o + d0.z], wdy[o + d0.w]);
        let g1 = vec4<f32>(wdy[o + d1.x], wdy[o + d1.y], wdy[o + d1.z], wdy[o + d1.w]);
        // a_j / b_j: tap t0 + j; lanes: output channels k0 .. k0 + 3 / k0 + 4 .. k0 + 7
        a0 += xv.x * g0; a1 += xv.y * g0; a2 += xv.z * g0; a3 += xv.w * g0;
        b0 += xv.x * g1; b1 += xv.y * g1; b2 += xv.z * g1; b3 += xv.w * g1;
        o++;
      }
    }
  }
  let ckk = p.C * kk;
  let ob = s * p.K * ckk + c * kk + t0;
  for (var j = 0u; j < 4u; j++) {
    if (t0 + j < kk) {
      for (var q = 0u; q < 4u; q++) {
        if (k0 + q < p.K) { wdw[ob + (k0 + q) * ckk + j] = array<vec4<f32>, 4>(a0, a1, a2, a3)[j][q]; }
        if (k0 + 4u + q < p.K) { wdw[ob + (k0 + 4u + q) * ckk + j] = array<vec4<f32>, 4>(b0, b1, b2, b3)[j][q]; }
      }
    }
  }
}
