// matmul_nt_vec4: A @ B^T with both operands read as vec4 along K (K % 4 == 0, rows contiguous): a linear layer's
// x @ W^T for [out, in] weights without materialising W^T, where no tuned register tile takes the product instead.
// Uniforms (p) and the WG_X x WG_Y workgroup come from its declaration, MATMUL_KERNELS in src/graph/shaders.ts (the
// launcher, src/graph/kernels/matmul/hand-written.ts, sizes its grids from the same numbers).

@group(0) @binding(1) var<storage, read> na: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> nb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> nc: array<f32>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x * 4u;
  let row = gid.y * 4u;
  let b = gid.z;
  if (row >= p.M || col >= p.N) { return; }
  let k4 = p.K / 4u;
  let ab = b * (p.a_bs / 4u);
  let bb = b * (p.b_bs / 4u);
  let r = vec4<u32>(row, min(row + 1u, p.M - 1u), min(row + 2u, p.M - 1u), min(row + 3u, p.M - 1u)) * k4 + ab;
  let c = vec4<u32>(col, min(col + 1u, p.N - 1u), min(col + 2u, p.N - 1u), min(col + 3u, p.N - 1u)) * k4 + bb;
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < k4; k++) {
    let a0 = na[r.x + k]; let a1 = na[r.y + k]; let a2 = na[r.z + k]; let a3 = na[r.w + k];
    let b0 = nb[c.x + k]; let b1 = nb[c.y + k]; let b2 = nb[c.z + k]; let b3 = nb[c.w + k];
    acc0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    acc1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    acc2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    acc3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  let cb = b * p.c_bs;
  for (var j = 0u; j < 4u; j++) {
    if (col + j < p.N) {
      nc[cb + row * p.N + col + j] = epilogue(acc0[j], col + j);
      if (row + 1u < p.M) { nc[cb + (row + 1u) * p.N + col + j] = epilogue(acc1[j], col + j); }
      if (row + 2u < p.M) { nc[cb + (row + 2u) * p.N + col + j] = epilogue(acc2[j], col + j); }
      if (row + 3u < p.M) { nc[cb + (row + 3u) * p.N + col + j] = epilogue(acc3[j], col + j); }
    }
  }
}
