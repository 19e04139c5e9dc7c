// conv2d on NCHW tensors, weights [K, C, KH, KW]: the forward, 4 output channels x 4 neighbouring output pixels per thread (convForward 'k4').
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.

override HAS_BIAS: bool = false;

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<vec4<f32>>;   // [C*KH*KW][Kpad/4]
@group(0) @binding(3) var<storage, read> fbias: array<f32>;
@group(0) @binding(4) var<storage, read_write> fy: array<f32>;

// Thread (n, kg, oh, 4 neighbouring ow): a 4-pixel x 4-channel register tile. Each weight vec4 serves four
// pixels and each input value four channels.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let owg = (p.OW + 3u) / 4u;
  let ntile = p.OH * owg;
  if (i >= p.N * p.groups4 * ntile) { return; }
  let tile = i % ntile;
  let kg = (i / ntile) % p.groups4;
  let n = i / (ntile * p.groups4);
  let oh = tile / owg;
  let ow0 = (tile % owg) * 4u;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var c = 0u; c < p.C; c++) {
    let xplane = (n * p.C + c) * p.H * p.W;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      let wrow = ((c * p.KH + kh) * p.KW) * p.groups4 + kg;
      for (var kw = 0u; kw < p.KW; kw++) {
        let w = fw[wrow + kw * p.groups4];
        let iw0 = i32(ow0 * p.SW + kw) - i32(p.PW);
        let iw = vec4<i32>(iw0, iw0 + i32(p.SW), iw0 + 2 * i32(p.SW), iw0 + 3 * i32(p.SW));
        let ok = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
        let idx = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
        let xv = select(vec4<f32>(0.0), vec4<f32>(fx[xrow + idx.x], fx[xrow + idx.y], fx[xrow + idx.z], fx[xrow + idx.w]), ok);
        a0 += xv.x * w; a1 += xv.y * w; a2 += xv.z * w; a3 += xv.w * w;
      }
    }
  }
  let npix = p.OH * p.OW;
  let k0 = kg * 4u;
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      var b = 0.0;
      if (HAS_BIAS) { b = fbias[k]; }
      let o = (n * p.K + k) * npix + oh * p.OW + ow0;
      fy[o] = a0[j] + b;
      if (ow0 + 1u < p.OW) { fy[o + 1u] = a1[j] + b; }
      if (ow0 + 2u < p.OW) { fy[o + 2u] = a2[j] + b; }
      if (ow0 + 3u < p.OW) { fy[o + 3u] = a3[j] + b; }
    }
  }
}
