// conv2d on NCHW tensors, weights [K, C, KH, KW]: the weight gradient, 4 output channels x 4 kernel columns per thread (convWeight 'cols4').
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.

@group(0) @binding(1) var<storage, read> wx: array<f32>;
@group(0) @binding(2) var<storage, read> wdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;   // [split][K][C][KH][KW]

// Thread (s, kg, c, kh, 4 neighbouring kw): partial weight gradient of 4 output channels x 4 kernel columns
// over images s, s + split, ... (the host sums the splits).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let kwg = (p.KW + 3u) / 4u;
  let base = p.C * p.KH * kwg;
  if (i >= p.split * p.groups4 * base) { return; }
  let r = i % base;
  let kg = (i / base) % p.groups4;
  let s = i / (base * p.groups4);
  let kw0 = (r % kwg) * 4u;
  let kh = (r / kwg) % p.KH;
  let c = r / (kwg * p.KH);
  let k0 = kg * 4u;
  let ks = vec4<u32>(k0, min(k0 + 1u, p.K - 1u), min(k0 + 2u, p.K - 1u), min(k0 + 3u, p.K - 1u));
  let npix = p.OH * p.OW;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var n = s; n < p.N; n += p.split) {
    let xplane = (n * p.C + c) * p.H * p.W;
    let dyb = n * p.K * npix;
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      let dyrow = dyb + oh * p.OW;
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = vec4<i32>(i32(ow * p.SW + kw0) - i32(p.PW)) + vec4<i32>(0, 1, 2, 3);
        let ok = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
        let idx = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
        let xv = select(vec4<f32>(0.0), vec4<f32>(wx[xrow + idx.x], wx[xrow + idx.y], wx[xrow + idx.z], wx[xrow + idx.w]), ok);
        let o = dyrow + ow;
        let d = vec4<f32>(wdy[o + ks.x * npix], wdy[o + ks.y * npix], wdy[o + ks.z * npix], wdy[o + ks.w * npix]);
        // a_j: kernel column kw0 + j, lanes: the four output channels
        a0 += xv.x * d; a1 += xv.y * d; a2 += xv.z * d; a3 += xv.w * d;
      }
    }
  }
  let ckk = p.C * p.KH * p.KW;
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      let o = (s * p.K + k) * ckk + (c * p.KH + kh) * p.KW + kw0;
      wdw[o] = a0[j];
      if (kw0 + 1u < p.KW) { wdw[o + 1u] = a1[j]; }
      if (kw0 + 2u < p.KW) { wdw[o + 2u] = a2[j]; }
      if (kw0 + 3u < p.KW) { wdw[o + 3u] = a3[j]; }
    }
  }
}
