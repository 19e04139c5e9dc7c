// matmul_tiled128: 128 x 128 workgroup tiles, BK = 8, for hardware GPUs: 16 x 16 threads of 8 x 8 outputs each, twice
// the work per thread of matmul_tiled and four times the tile, so each value loaded into workgroup memory is used 16
// times instead of 4. Both tiles are kept k-major as vec4s (A's transposed on the way in), so a thread reads its 8
// rows and 8 columns as four vec4s per k step; its rows are ty*4..ty*4+3 and 64 + those (columns likewise), so the
// vec4 reads of neighbouring threads fall on neighbouring banks. Global loads run along whichever axis of each
// operand is contiguous, so neighbouring threads read neighbouring addresses. Uniforms (p) and the 16 x 16 workgroup
// come from its declaration, MATMUL_KERNELS in src/graph/shaders.ts; split-K as matmul_tiled (matmul/index.ts).
const BM: u32 = 128u;
const BK: u32 = 8u;
var<workgroup> tA: array<array<vec4<f32>, 32>, 8>;   // [k][m / 4]
var<workgroup> tB: array<array<vec4<f32>, 32>, 8>;   // [k][n / 4]

@group(0) @binding(1) var<storage, read> ta: array<f32>;
@group(0) @binding(2) var<storage, read> tb: array<f32>;
@group(0) @binding(3) var<storage, read_write> tc: array<f32>;

fn a_at(base: u32, r: u32, k: u32, kend: u32) -> f32 {
  if (r < p.M && k < kend) { return ta[base + r * p.a_rs + k * p.a_cs]; }
  return 0.0;
}

fn b_at(base: u32, k: u32, c: u32, kend: u32) -> f32 {
  if (c < p.N && k < kend) { return tb[base + k * p.b_rs + c * p.b_cs]; }
  return 0.0;
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = wid.z / p.split;
  let part = wid.z % p.split;
  let krun = ((p.K + p.split - 1u) / p.split + BK - 1u) / BK * BK;
  let kbegin = part * krun;
  let kend = min(p.K, kbegin + krun);
  let row0 = wid.y * BM;
  let col0 = wid.x * BM;
  let t = lid.y * 16u + lid.x;
  let abase = b * p.a_bs;
  let bbase = b * p.b_bs;
  var acc: array<vec4<f32>, 16>;   // acc[2 * i + h]: row i of the thread's 8, columns h * 64 + tx * 4 ..
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = kbegin; k0 < kend; k0 += BK) {
    // 256 threads load 128 x 8 of A and 8 x 128 of B, 4 values each, along the contiguous axis.
    if (p.a_cs == 1u) {
      // A's rows run along k: thread t takes half a row's 8 values.
      let m = t / 2u;
      let k4 = (t % 2u) * 4u;
      for (var e = 0u; e < 4u; e++) { tA[k4 + e][m / 4u][m % 4u] = a_at(abase, row0 + m, k0 + k4 + e, kend); }
    } else {
      // A transposed (its columns run along m): thread t takes 4 neighbouring rows at one k.
      let kk = t / 32u;
      let m4 = t % 32u;
      let r = row0 + m4 * 4u;
      tA[kk][m4] = vec4<f32>(a_at(abase, r, k0 + kk, kend), a_at(abase, r + 1u, k0 + kk, kend),
        a_at(abase, r + 2u, k0 + kk, kend), a_at(abase, r + 3u, k0 + kk, kend));
    }
    if (p.b_cs == 1u) {
      let kk = t / 32u;
      let n4 = t % 32u;
      let c = col0 + n4 * 4u;
      tB[kk][n4] = vec4<f32>(b_at(bbase, k0 + kk, c, kend), b_at(bbase, k0 + kk, c + 1u, kend),
        b_at(bbase, k0 + kk, c + 2u, kend), b_at(bbase, k0 + kk, c + 3u, kend));
    } else {
      // B transposed (its rows run along k): thread t takes half a column's 8 values.
      let n = t / 2u;
      let k4 = (t % 2u) * 4u;
      for (var e = 0u; e < 4u; e++) { tB[k4 + e][n / 4u][n % 4u] = b_at(bbase, k0 + k4 + e, col0 + n, kend); }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a0 = tA[kk][lid.y];
      let a1 = tA[kk][lid.y + 16u];
      let b0 = tB[kk][lid.x];
      let b1 = tB[kk][lid.x + 16u];
      for (var i = 0u; i < 4u; i++) {
        acc[2u * i] += a0[i] * b0;
        acc[2u * i + 1u] += a0[i] * b1;
        acc[8u + 2u * i] += a1[i] * b0;
        acc[8u + 2u * i + 1u] += a1[i] * b1;
      }
    }
    workgroupBarrier();
  }
  let cb = (part * (nwg.z / p.split) + b) * p.c_bs;
  for (var i = 0u; i < 8u; i++) {
    let r = row0 + (i / 4u) * 64u + lid.y * 4u + i % 4u;
    if (r < p.M) {
      for (var h = 0u; h < 2u; h++) {
        let v = acc[2u * i + h];
        for (var j = 0u; j < 4u; j++) {
          let c = col0 + h * 64u + lid.x * 4u + j;
          if (c < p.N) { tc[cb + r * p.N + c] = v[j] * p.alpha; }
        }
      }
    }
  }
}
