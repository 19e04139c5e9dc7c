// The workgroup-tile matmuls, for hardware GPUs: workgroup memory and barriers, 16 x 16 threads. Uniforms (p) and
// the 16 x 16 workgroup, which the tiles assume, come from their declaration, MATMUL_KERNELS in src/graph/shaders.ts.
//   main (matmul_tiled): a 64 x 64 tile, BK = 16, 4 x 4 outputs a thread.
//   main128 (matmul_tiled128): a 128 x 128 tile, BK = 8, 8 x 8 outputs a thread, so each value loaded into workgroup
//     memory is used 16 times instead of 4. Both tiles are kept k-major as vec4s (A's transposed on the way in), so
//     a thread reads its 8 rows and 8 columns as four vec4s a k step; its rows are ty*4..ty*4+3 and 64 + those
//     (columns likewise), so neighbouring threads' vec4 reads fall on neighbouring banks. Global loads run along
//     whichever axis of each operand is contiguous, so neighbouring threads read neighbouring addresses.
// Split-K where p.split > 1: workgroup layer z = b * split + part sums part's run of K (whole BK steps) into its own
// [M, N] slice of C (slice part * batches + b), which the host adds up after (matmul/index.ts).

@group(0) @binding(1) var<storage, read> ta: array<f32>;
@group(0) @binding(2) var<storage, read> tb: array<f32>;
@group(0) @binding(3) var<storage, read_write> tc: array<f32>;

// What a workgroup computes: its run [kbegin, kend) of K, the tile's first row and column, where its batch entry of A
// and of B begins, and where its slice of C does.
struct TileJob { kbegin: u32, kend: u32, row0: u32, col0: u32, abase: u32, bbase: u32, cbase: u32 }
fn tile_job(wid: vec3<u32>, nwg: vec3<u32>, size: u32, bk: u32) -> TileJob {
  let b = wid.z / p.split;
  let part = wid.z % p.split;
  let krun = ((p.K + p.split - 1u) / p.split + bk - 1u) / bk * bk;
  let kbegin = part * krun;
  return TileJob(kbegin, min(p.K, kbegin + krun), wid.y * size, wid.x * size, b * p.a_bs, b * p.b_bs,
    (part * (nwg.z / p.split) + b) * p.c_bs);
}

// A's value at row r and k, and B's at k and column c, for a job: 0 past the matrix or the job's run of K.
fn a_at(job: TileJob, r: u32, k: u32) -> f32 {
  if (r < p.M && k < job.kend) { return ta[job.abase + r * p.a_rs + k * p.a_cs]; }
  return 0.0;
}

fn b_at(job: TileJob, k: u32, c: u32) -> f32 {
  if (c < p.N && k < job.kend) { return tb[job.bbase + k * p.b_rs + c * p.b_cs]; }
  return 0.0;
}

// ---- main: 64 x 64 ----
const TILE: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> tA: array<array<f32, 64>, 16>;   // [k][m]
var<workgroup> tB: array<array<f32, 64>, 16>;   // [k][n]

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let job = tile_job(wid, nwg, TILE, BK);
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = job.kbegin; k0 < job.kend; k0 += BK) {
    // 256 threads load 16x64 of A and 16x64 of B: 4 elements each.
    for (var e = 0u; e < 4u; e++) {
      let idx = t + e * 256u;
      let kk = idx / TILE;
      let mm = idx % TILE;
      tA[kk][mm] = a_at(job, job.row0 + mm, k0 + kk);
      tB[kk][mm] = b_at(job, k0 + kk, job.col0 + mm);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let bv = vec4<f32>(tB[kk][lid.x * 4u], tB[kk][lid.x * 4u + 1u], tB[kk][lid.x * 4u + 2u], tB[kk][lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] += tA[kk][lid.y * 4u + i] * bv; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = job.row0 + lid.y * 4u + i;
    if (r < p.M) {
      for (var j = 0u; j < 4u; j++) {
        let c = job.col0 + lid.x * 4u + j;
        if (c < p.N) { tc[job.cbase + r * p.N + c] = epilogue(acc[i][j], c); }
      }
    }
  }
}

// ---- main128: 128 x 128 ----
const BM: u32 = 128u;
const BK128: u32 = 8u;
var<workgroup> tA128: array<array<vec4<f32>, 32>, 8>;   // [k][m / 4]
var<workgroup> tB128: array<array<vec4<f32>, 32>, 8>;   // [k][n / 4]

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main128(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let job = tile_job(wid, nwg, BM, BK128);
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 16>;   // acc[2 * i + h]: row i of the thread's 8, columns h * 64 + tx * 4 ..
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = job.kbegin; k0 < job.kend; k0 += BK128) {
    // 256 threads load 128 x 8 of A and 8 x 128 of B, 4 values each, along the contiguous axis.
    if (p.a_cs == 1u) {
      // A's rows run along k: thread t takes half a row's 8 values.
      let m = t / 2u;
      let k4 = (t % 2u) * 4u;
      for (var e = 0u; e < 4u; e++) { tA128[k4 + e][m / 4u][m % 4u] = a_at(job, job.row0 + m, k0 + k4 + e); }
    } else {
      // A transposed (its columns run along m): thread t takes 4 neighbouring rows at one k.
      let kk = t / 32u;
      let m4 = t % 32u;
      let r = job.row0 + m4 * 4u;
      tA128[kk][m4] = vec4<f32>(a_at(job, r, k0 + kk), a_at(job, r + 1u, k0 + kk),
        a_at(job, r + 2u, k0 + kk), a_at(job, r + 3u, k0 + kk));
    }
    if (p.b_cs == 1u) {
      let kk = t / 32u;
      let n4 = t % 32u;
      let c = job.col0 + n4 * 4u;
      tB128[kk][n4] = vec4<f32>(b_at(job, k0 + kk, c), b_at(job, k0 + kk, c + 1u),
        b_at(job, k0 + kk, c + 2u), b_at(job, k0 + kk, c + 3u));
    } else {
      // B transposed (its rows run along k): thread t takes half a column's 8 values.
      let n = t / 2u;
      let k4 = (t % 2u) * 4u;
      for (var e = 0u; e < 4u; e++) { tB128[k4 + e][n / 4u][n % 4u] = b_at(job, k0 + k4 + e, job.col0 + n); }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK128; kk++) {
      outer8(&acc, tA128[kk][lid.y], tA128[kk][lid.y + 16u], tB128[kk][lid.x], tB128[kk][lid.x + 16u]);
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 8u; i++) {
    let r = job.row0 + tile8_at(i, lid.y);
    if (r < p.M) {
      for (var j = 0u; j < 8u; j++) {
        let c = job.col0 + tile8_at(j, lid.x);
        if (c < p.N) { tc[job.cbase + r * p.N + c] = epilogue(acc[2u * i + j / 4u][j % 4u], c); }
      }
    }
  }
}
