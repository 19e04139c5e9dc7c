// conv2d on NCHW tensors, weights [K, C, KH, KW]: the forward, 8 output channels x 4 neighbouring output pixels per thread.
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.

override HAS_BIAS: bool = false;
override PADDED: bool = true;

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<vec4<f32>>;   // [C*KH*KW][Kpad/4]
@group(0) @binding(3) var<storage, read> fbias: array<f32>;
@group(0) @binding(4) var<storage, read_write> fy: array<f32>;

// Forward, 8 output channels x 4 neighbouring output pixels per thread (two weight vec4s serve four pixels,
// each input value eight channels). Without padding (PADDED false) every tap of an in-range pixel is inside
// the input: no bounds checks, only a clamp for pixels past the row end (computed, never stored).
// Thread (n, kg = 8-channel group, oh, ow0); p.groups4 counts vec4 groups of the weight layout (2 per kg).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let owg = (p.OW + 3u) / 4u;
  let ntile = p.OH * owg;
  let ng8 = p.groups4 / 2u;
  if (i >= p.N * ng8 * ntile) { return; }
  let tile = i % ntile;
  let kg = (i / ntile) % ng8;
  let n = i / (ntile * ng8);
  let oh = tile / owg;
  let ow0 = (tile % owg) * 4u;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  let owc = min(vec4<u32>(ow0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.OW - 1u)) * p.SW;
  for (var c = 0u; c < p.C; c++) {
    let xplane = (n * p.C + c) * p.H * p.W;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (PADDED && (ih < 0 || ih >= i32(p.H))) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      var wi = ((c * p.KH + kh) * p.KW) * p.groups4 + 2u * kg;
      for (var kw = 0u; kw < p.KW; kw++) {
        let w0 = fw[wi];
        let w1 = fw[wi + 1u];
        wi += p.groups4;
        var xv: vec4<f32>;
        if (PADDED) {
          let iw = vec4<i32>(owc + vec4<u32>(kw)) - vec4<i32>(i32(p.PW));
          let ok = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
          let idx = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
          xv = select(vec4<f32>(0.0), vec4<f32>(fx[xrow + idx.x], fx[xrow + idx.y], fx[xrow + idx.z], fx[xrow + idx.w]), ok);
        } else {
          let idx = owc + vec4<u32>(xrow + kw);
          xv = vec4<f32>(fx[idx.x], fx[idx.y], fx[idx.z], fx[idx.w]);
        }
        a0 += xv.x * w0; a1 += xv.y * w0; a2 += xv.z * w0; a3 += xv.w * w0;
        b0 += xv.x * w1; b1 += xv.y * w1; b2 += xv.z * w1; b3 += xv.w * w1;
      }
    }
  }
  let npix = p.OH * p.OW;
  let k0 = kg * 8u;
  for (var j = 0u; j < 8u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      var b = 0.0;
      if (HAS_BIAS) { b = fbias[k]; }
      let q = j % 4u;
      var v: vec4<f32>;
      if (j < 4u) { v = vec4<f32>(a0[q], a1[q], a2[q], a3[q]); } else { v = vec4<f32>(b0[q], b1[q], b2[q], b3[q]); }
      let o = (n * p.K + k) * npix + oh * p.OW + ow0;
      fy[o] = v.x + b;
      if (ow0 + 1u < p.OW) { fy[o + 1u] = v.y + b; }
      if (ow0 + 2u < p.OW) { fy[o + 2u] = v.z + b; }
      if (ow0 + 3u < p.OW) { fy[o + 3u] = v.w + b; }
    }
  }
}
