// matmul_tiled: workgroup-memory tiles with barriers (16 x 16 threads, a 64 x 64 tile, BK = 16, 4 x 4 outputs per
// thread), for hardware GPUs. Uniforms (p) and its 16 x 16 workgroup, which the tiles assume, come from its
// declaration, MATMUL_KERNELS in src/graph/shaders.ts.
// Split-K where p.split > 1: workgroup layer z = b * split + part sums part's run of K (whole BK steps) into its own
// [M, N] slice of C (slice part * batches + b), which the host adds up after (matmul/index.ts).
const TILE: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> tA: array<array<f32, 64>, 16>;   // [k][m]
var<workgroup> tB: array<array<f32, 64>, 16>;   // [k][n]

@group(0) @binding(1) var<storage, read> ta: array<f32>;
@group(0) @binding(2) var<storage, read> tb: array<f32>;
@group(0) @binding(3) var<storage, read_write> tc: array<f32>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = wid.z / p.split;
  let part = wid.z % p.split;
  let krun = ((p.K + p.split - 1u) / p.split + BK - 1u) / BK * BK;
  let kbegin = part * krun;
  let kend = min(p.K, kbegin + krun);
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }
  let abase = b * p.a_bs;
  let bbase = b * p.b_bs;
  for (var k0 = kbegin; k0 < kend; k0 += BK) {
    // 256 threads load 16x64 of A and 16x64 of B: 4 elements each.
    for (var e = 0u; e < 4u; e++) {
      let idx = t + e * 256u;
      let kk = idx / TILE;
      let mm = idx % TILE;
      let gk = k0 + kk;
      var av = 0.0;
      if (gk < kend && row0 + mm < p.M) { av = ta[abase + (row0 + mm) * p.a_rs + gk * p.a_cs]; }
      tA[kk][mm] = av;
      var bv = 0.0;
      if (gk < kend && col0 + mm < p.N) { bv = tb[bbase + gk * p.b_rs + (col0 + mm) * p.b_cs]; }
      tB[kk][mm] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let bv = vec4<f32>(tB[kk][lid.x * 4u], tB[kk][lid.x * 4u + 1u], tB[kk][lid.x * 4u + 2u], tB[kk][lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] += tA[kk][lid.y * 4u + i] * bv; }
    }
    workgroupBarrier();
  }
  let cb = (part * (nwg.z / p.split) + b) * p.c_bs;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r < p.M) {
      for (var j = 0u; j < 4u; j++) {
        let c = col0 + lid.x * 4u + j;
        if (c < p.N) { tc[cb + r * p.N + c] = acc[i][j] * p.alpha; }
      }
    }
  }
}
