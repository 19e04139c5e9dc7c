// matmul_reg: any strides and N; each thread 4 x 4 outputs with scalar loads. The table's last resort.
// Uniforms (p) and the WG_X x WG_Y workgroup come from its declaration, MATMUL_KERNELS in src/graph/shaders.ts (the
// launcher, src/graph/kernels/matmul/hand-written.ts, sizes its grids from the same numbers).

@group(0) @binding(1) var<storage, read> ra: array<f32>;
@group(0) @binding(2) var<storage, read> rb: array<f32>;
@group(0) @binding(3) var<storage, read_write> rc: array<f32>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x * 4u;
  let row = gid.y * 4u;
  let b = gid.z;
  if (row >= p.M || col >= p.N) { return; }
  // Clamped indices keep loads in bounds without branches; out-of-range lanes are never stored.
  let rows = vec4<u32>(row, min(row + 1u, p.M - 1u), min(row + 2u, p.M - 1u), min(row + 3u, p.M - 1u));
  let cols = vec4<u32>(col, min(col + 1u, p.N - 1u), min(col + 2u, p.N - 1u), min(col + 3u, p.N - 1u));
  var ai = b * p.a_bs + rows * p.a_rs;
  var bi = b * p.b_bs + cols * p.b_cs;
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let av = vec4<f32>(ra[ai.x], ra[ai.y], ra[ai.z], ra[ai.w]);
    let bv = vec4<f32>(rb[bi.x], rb[bi.y], rb[bi.z], rb[bi.w]);
    acc0 += av.x * bv; acc1 += av.y * bv; acc2 += av.z * bv; acc3 += av.w * bv;
    ai += vec4<u32>(p.a_cs);
    bi += vec4<u32>(p.b_rs);
  }
  let cb = b * p.c_bs;
  for (var j = 0u; j < 4u; j++) {
    if (col + j < p.N) {
      rc[cb + row * p.N + col + j] = epilogue(acc0[j], col + j);
      if (row + 1u < p.M) { rc[cb + (row + 1u) * p.N + col + j] = epilogue(acc1[j], col + j); }
      if (row + 2u < p.M) { rc[cb + (row + 2u) * p.N + col + j] = epilogue(acc2[j], col + j); }
      if (row + 3u < p.M) { rc[cb + (row + 3u) * p.N + col + j] = epilogue(acc3[j], col + j); }
    }
  }
}
