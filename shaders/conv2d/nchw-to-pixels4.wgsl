// conv2d on NCHW tensors, weights [K, C, KH, KW]: dy [N, K, OH, OW] re-laid as pixel rows of vec4 channel groups (the weight tiles' input).
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.

@group(0) @binding(1) var<storage, read> tdy: array<f32>;             // [N][K][OH][OW]
@group(0) @binding(2) var<storage, read_write> tpix: array<vec4<f32>>; // [N*OH*OW][groups4]

// dy to pixel rows for the generated weight-gradient tiles: thread (n, pixel) writes the pixel's groups4 vec4s,
// channels past K as 0 (so the padding needs no fill).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let npix = p.OH * p.OW;
  if (i >= p.N * npix) { return; }
  let pix = i % npix;
  let n = i / npix;
  var src = n * p.K * npix + pix;
  var k = 0u;
  for (var g = 0u; g < p.groups4; g++) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      if (k < p.K) { v[j] = tdy[src]; }
      src += npix;
      k++;
    }
    tpix[i * p.groups4 + g] = v;
  }
}
