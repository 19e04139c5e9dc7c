// conv2d on NCHW tensors, weights [K, C, KH, KW]: the same re-layout reading dy as vec4s where OH*OW % 4 == 0.
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.

@group(0) @binding(1) var<storage, read> tdy4: array<vec4<f32>>;       // [N][K][OH*OW / 4]
@group(0) @binding(2) var<storage, read_write> tpix: array<vec4<f32>>; // [N*OH*OW][groups4]

// The same transpose when OH*OW is a multiple of 4: thread (n, 4 pixels) loads each channel's 4 pixels as one vec4
// and transposes 4 channels x 4 pixels in registers, a quarter of nchw_to_pixels4's loads (CPU drivers run each
// storage load lane by lane, whatever its width).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let quads = p.OH * p.OW / 4u;
  if (i >= p.N * quads) { return; }
  let n = i / quads;
  let src = n * p.K * quads + i % quads;
  let dst = 4u * i * p.groups4;       // the quad's first pixel is 4 i
  for (var g = 0u; g < p.groups4; g++) {
    let k = 4u * g;
    let last = p.K - 1u;              // channels past K read K - 1 (in bounds) and are replaced by 0
    let z = vec4<f32>(0.0);
    let c0 = select(z, tdy4[src + min(k, last) * quads], k < p.K);   // a whole padding group past K: zeros
    let c1 = select(z, tdy4[src + min(k + 1u, last) * quads], k + 1u < p.K);
    let c2 = select(z, tdy4[src + min(k + 2u, last) * quads], k + 2u < p.K);
    let c3 = select(z, tdy4[src + min(k + 3u, last) * quads], k + 3u < p.K);
    tpix[dst + g] = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
    tpix[dst + p.groups4 + g] = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
    tpix[dst + 2u * p.groups4 + g] = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
    tpix[dst + 3u * p.groups4 + g] = vec4<f32>(c0.w, c1.w, c2.w, c3.w);
  }
}
