// matmul_small: one thread per output, any strides: small products on hardware GPUs, where threads are many.
// Uniforms (p) and the WG_X x WG_Y workgroup come from its declaration, MATMUL_KERNELS in src/graph/shaders.ts (the
// launcher, src/graph/kernels/matmul/hand-written.ts, sizes its grids from the same numbers).

@group(0) @binding(1) var<storage, read> ta: array<f32>;
@group(0) @binding(2) var<storage, read> tb: array<f32>;
@group(0) @binding(3) var<storage, read_write> tc: array<f32>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  let row = gid.y;
  let b = gid.z;
  if (row >= p.M || col >= p.N) { return; }
  var ai = b * p.a_bs + row * p.a_rs;
  var bi = b * p.b_bs + col * p.b_cs;
  // Two accumulators shorten the dependency chain.
  var s0 = 0.0;
  var s1 = 0.0;
  var k = 0u;
  for (; k + 2u <= p.K; k += 2u) {
    s0 += ta[ai] * tb[bi];
    s1 += ta[ai + p.a_cs] * tb[bi + p.b_rs];
    ai += 2u * p.a_cs;
    bi += 2u * p.b_rs;
  }
  if (k < p.K) { s0 += ta[ai] * tb[bi]; }
  tc[b * p.c_bs + row * p.N + col] = epilogue(s0 + s1, col);
}
