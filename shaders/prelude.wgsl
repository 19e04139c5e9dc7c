// Index helpers shared by every kernel declared with defineKernel() (src/graph/kernel-def.ts), added to each
// such file at load together with its generated uniform structs and `override WG` (the declared workgroup size).

// The flat index of this thread in a 1-D launch (grid1d folds more than 65535 workgroups into y).
fn thread_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

// Element i of a 'vec8u' uniform field (a shape or strides of rank <= 8).
fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

// One step of an 8 x 8 register tile of the 128 x 128 workgroup tiles (matmul_tiled128, implicit_rows128): rows a0 and
// a1 (4 each, 64 apart), columns b0 and b1 (likewise); acc[2 * i + h] holds row i's columns of b_h.
fn outer8(acc: ptr<function, array<vec4<f32>, 16>>, a0: vec4<f32>, a1: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>) {
  for (var i = 0u; i < 4u; i++) {
    (*acc)[2u * i] += a0[i] * b0;
    (*acc)[2u * i + 1u] += a0[i] * b1;
    (*acc)[8u + 2u * i] += a1[i] * b0;
    (*acc)[8u + 2u * i + 1u] += a1[i] * b1;
  }
}

// Where a thread's i-th of its 8 rows (or columns) lies in a 128 x 128 tile, as outer8 lays them out: two runs of 4,
// 64 apart, the thread's lane picking the run. Its value there is acc[2 * row + column / 4][column % 4].
fn tile8_at(i: u32, lane: u32) -> u32 { return (i / 4u) * 64u + lane * 4u + i % 4u; }
