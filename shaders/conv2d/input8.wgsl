// conv2d on NCHW tensors, weights [K, C, KH, KW]: the input gradient, 8 input channels x 4 same-residue input columns per thread.
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<vec4<f32>>;   // [K*KH*KW][Cpad/4]
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// Input gradient, 8 input channels x 4 input columns per thread. The four columns share their residue mod the
// column stride (iw = rho + (4 g + j) SW), so a kernel tap either reaches all four (at four consecutive output
// columns) or none: with stride 2 no work is spent on taps that miss, where conv_bwd_input masks 3 in 4.
// Thread (n, cg = 8-channel group (2 vec4 groups of the weight layout), ih, rho, g).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let gpr = ((p.W + p.SW - 1u) / p.SW + 3u) / 4u;   // column groups per residue
  let ntile = p.H * p.SW * gpr;
  let ng8 = p.groups4 / 2u;
  if (i >= p.N * ng8 * ntile) { return; }
  let tile = i % ntile;
  let cg = (i / ntile) % ng8;
  let n = i / (ntile * ng8);
  let ih = tile / (p.SW * gpr);
  let rho = (tile / gpr) % p.SW;
  let g = tile % gpr;
  let j4 = vec4<u32>(0u, 1u, 2u, 3u);
  let iw = vec4<u32>(rho + 4u * g * p.SW) + j4 * p.SW;
  let colok = iw < vec4<u32>(p.W);
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  let dyplane = p.OH * p.OW;
  let wstep = p.KH * p.KW * p.groups4;
  for (var kh = 0u; kh < p.KH; kh++) {
    let th = i32(ih + p.PH) - i32(kh);
    if (th < 0 || th % i32(p.SH) != 0) { continue; }
    let oh = u32(th) / p.SH;
    if (oh >= p.OH) { continue; }
    for (var kw = 0u; kw < p.KW; kw++) {
      let tw0 = i32(rho + p.PW) - i32(kw);     // column offset of j = 0, g = 0
      if (((tw0 % i32(p.SW)) + i32(p.SW)) % i32(p.SW) != 0) { continue; }
      let ow = vec4<i32>(tw0 / i32(p.SW) + i32(4u * g)) + vec4<i32>(j4);
      // tw0 / SW truncates toward zero; tw0 is a multiple of SW here, so it is exact.
      let ok = colok & (ow >= vec4<i32>(0)) & (ow < vec4<i32>(i32(p.OW)));
      if (!any(ok)) { continue; }
      let owc = vec4<u32>(clamp(ow, vec4<i32>(0), vec4<i32>(i32(p.OW) - 1)));
      let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), ok);
      var dyi = n * p.K * dyplane + oh * p.OW;
      var wi = (kh * p.KW + kw) * p.groups4 + 2u * cg;
      for (var k = 0u; k < p.K; k++) {
        let w0 = bw[wi];
        let w1 = bw[wi + 1u];
        let d = vec4<f32>(bdy[dyi + owc.x], bdy[dyi + owc.y], bdy[dyi + owc.z], bdy[dyi + owc.w]) * mask;
        a0 += d.x * w0; a1 += d.y * w0; a2 += d.z * w0; a3 += d.w * w0;
        b0 += d.x * w1; b1 += d.y * w1; b2 += d.z * w1; b3 += d.w * w1;
        dyi += dyplane;
        wi += wstep;
      }
    }
  }
  let npix = p.H * p.W;
  let c0 = cg * 8u;
  for (var j = 0u; j < 8u; j++) {
    let c = c0 + j;
    if (c < p.C) {
      let q = j % 4u;
      var v: vec4<f32>;
      if (j < 4u) { v = vec4<f32>(a0[q], a1[q], a2[q], a3[q]); } else { v = vec4<f32>(b0[q], b1[q], b2[q], b3[q]); }
      let o = (n * p.C + c) * npix + ih * p.W;
      if (colok.x) { bdx[o + iw.x] = v.x; }
      if (colok.y) { bdx[o + iw.y] = v.y; }
      if (colok.z) { bdx[o + iw.z] = v.z; }
      if (colok.w) { bdx[o + iw.w] = v.w; }
    }
  }
}
