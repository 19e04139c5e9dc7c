// conv2d on NCHW tensors, weights [K, C, KH, KW]: the input gradient, 4 input channels x 4 neighbouring input pixels per thread (convInput 'c4').
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<vec4<f32>>;   // [K*KH*KW][Cpad/4]
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// Thread (n, cg, ih, 4 neighbouring iw): input channels 4*cg .. 4*cg+3 of four input pixels.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let iwg = (p.W + 3u) / 4u;
  let ntile = p.H * iwg;
  if (i >= p.N * p.groups4 * ntile) { return; }
  let tile = i % ntile;
  let cg = (i / ntile) % p.groups4;
  let n = i / (ntile * p.groups4);
  let ih = tile / iwg;
  let iw0 = (tile % iwg) * 4u;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  let dyplane = p.OH * p.OW;
  for (var kh = 0u; kh < p.KH; kh++) {
    let th = i32(ih + p.PH) - i32(kh);
    if (th < 0 || th % i32(p.SH) != 0) { continue; }
    let oh = u32(th) / p.SH;
    if (oh >= p.OH) { continue; }
    for (var kw = 0u; kw < p.KW; kw++) {
      // Output columns reached by the four input columns through this kernel tap (stride-aligned, in range).
      let tw = vec4<i32>(i32(iw0 + p.PW) - i32(kw)) + vec4<i32>(0, 1, 2, 3);
      let sw = i32(p.SW);
      let ow = tw / vec4<i32>(sw);
      let ok = (tw >= vec4<i32>(0)) & (tw % vec4<i32>(sw) == vec4<i32>(0)) & (ow < vec4<i32>(i32(p.OW))) & (vec4<u32>(iw0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.W));
      let owc = vec4<u32>(clamp(ow, vec4<i32>(0), vec4<i32>(i32(p.OW) - 1)));
      let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), ok);
      var dyi = n * p.K * dyplane + oh * p.OW;
      var wi = (kh * p.KW + kw) * p.groups4 + cg;
      let wstep = p.KH * p.KW * p.groups4;
      for (var k = 0u; k < p.K; k++) {
        let w = bw[wi];
        let d = vec4<f32>(bdy[dyi + owc.x], bdy[dyi + owc.y], bdy[dyi + owc.z], bdy[dyi + owc.w]) * mask;
        a0 += d.x * w; a1 += d.y * w; a2 += d.z * w; a3 += d.w * w;
        dyi += dyplane;
        wi += wstep;
      }
    }
  }
  let npix = p.H * p.W;
  let c0 = cg * 4u;
  for (var j = 0u; j < 4u; j++) {
    let c = c0 + j;
    if (c < p.C) {
      let o = (n * p.C + c) * npix + ih * p.W + iw0;
      bdx[o] = a0[j];
      if (iw0 + 1u < p.W) { bdx[o + 1u] = a1[j]; }
      if (iw0 + 2u < p.W) { bdx[o + 2u] = a2[j]; }
      if (iw0 + 3u < p.W) { bdx[o + 3u] = a3[j]; }
    }
  }
}
