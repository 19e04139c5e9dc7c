// matmul_vec4: batched C[b] = A[b] @ B[b] with B and C rows read and written as vec4 (N % 4 == 0, B row-major),
// A by strides; each thread 4 rows x 2 vec4 columns, no workgroup memory or barriers. Chosen by
// src/graph/kernels/matmul/select.ts (CPU adapters where no tuned register tile takes the product).
// Uniforms (p) and the WG_X x WG_Y workgroup come from its declaration, MATMUL_KERNELS in src/graph/shaders.ts (the
// launcher, src/graph/kernels/matmul/hand-written.ts, sizes its grids from the same numbers).

@group(0) @binding(1) var<storage, read> va: array<f32>;
@group(0) @binding(2) var<storage, read> vb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> vc: array<vec4<f32>>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = p.N / 4u;
  let col4 = gid.x * 2u;          // first of two vec4 columns
  let row = gid.y * 4u;
  let b = gid.z;
  if (row >= p.M || col4 >= n4) { return; }
  let col4b = min(col4 + 1u, n4 - 1u);
  let r1 = min(row + 1u, p.M - 1u);
  let r2 = min(row + 2u, p.M - 1u);
  let r3 = min(row + 3u, p.M - 1u);
  let abase = b * p.a_bs;
  var ai0 = abase + row * p.a_rs;
  var ai1 = abase + r1 * p.a_rs;
  var ai2 = abase + r2 * p.a_rs;
  var ai3 = abase + r3 * p.a_rs;
  var bi = b * (p.b_bs / 4u);
  let brs = p.b_rs / 4u;
  var c00 = vec4<f32>(0.0); var c01 = vec4<f32>(0.0);
  var c10 = vec4<f32>(0.0); var c11 = vec4<f32>(0.0);
  var c20 = vec4<f32>(0.0); var c21 = vec4<f32>(0.0);
  var c30 = vec4<f32>(0.0); var c31 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let b0 = vb[bi + col4];
    let b1 = vb[bi + col4b];
    let a0 = va[ai0]; let a1 = va[ai1]; let a2 = va[ai2]; let a3 = va[ai3];
    c00 += a0 * b0; c01 += a0 * b1;
    c10 += a1 * b0; c11 += a1 * b1;
    c20 += a2 * b0; c21 += a2 * b1;
    c30 += a3 * b0; c31 += a3 * b1;
    ai0 += p.a_cs; ai1 += p.a_cs; ai2 += p.a_cs; ai3 += p.a_cs;
    bi += brs;
  }
  let cb = b * (p.c_bs / 4u);
  let has2 = col4 + 1u < n4;
  vc[cb + row * n4 + col4] = epilogue4(c00, col4);
  if (has2) { vc[cb + row * n4 + col4 + 1u] = epilogue4(c01, col4 + 1u); }
  if (row + 1u < p.M) { vc[cb + (row + 1u) * n4 + col4] = epilogue4(c10, col4); if (has2) { vc[cb + (row + 1u) * n4 + col4 + 1u] = epilogue4(c11, col4 + 1u); } }
  if (row + 2u < p.M) { vc[cb + (row + 2u) * n4 + col4] = epilogue4(c20, col4); if (has2) { vc[cb + (row + 2u) * n4 + col4 + 1u] = epilogue4(c21, col4 + 1u); } }
  if (row + 3u < p.M) { vc[cb + (row + 3u) * n4 + col4] = epilogue4(c30, col4); if (has2) { vc[cb + (row + 3u) * n4 + col4 + 1u] = epilogue4(c31, col4 + 1u); } }
}
