// conv2d on NCHW tensors, weights [K, C, KH, KW]: W @ cols^T [K, N*OH*OW] laid out as NCHW, plus the bias
// (the transposed lowered forward; the usual one's product writes NCHW itself).
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.
// The lowered layouts: src/graph/kernels/conv/gemm.ts.

override HAS_BIAS: bool = false;

@group(0) @binding(1) var<storage, read> ryt: array<f32>;       // [K][N][OH][OW]
@group(0) @binding(2) var<storage, read> rbias: array<f32>;
@group(0) @binding(3) var<storage, read_write> ry: array<f32>;       // [N][K][OH][OW]

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let npix = p.OH * p.OW;
  if (i >= p.N * p.K * npix) { return; }
  let pix = i % npix;
  let k = (i / npix) % p.K;
  let n = i / (npix * p.K);
  var v = ryt[(k * p.N + n) * npix + pix];
  if (HAS_BIAS) { v += rbias[k]; }
  ry[i] = v;
}
