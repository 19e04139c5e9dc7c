// Batched matmul C[b] = A[b] (M x K) @ B[b] (K x N), transposes expressed by strides.
// Five variants, chosen per adapter and shape by src/graph/kernels/matmul/select.ts:
//  - matmul_vec4:  B and C rows read/written as vec4 (N % 4 == 0, B row-major); each thread 4 rows x 8 cols,
//                  no workgroup memory or barriers. Fastest on CPU adapters (SwiftShader, llvmpipe).
//  - matmul_nt_vec4: A @ B^T with both operands read as vec4 along K (K % 4 == 0): linear layers' x @ W^T
//                  without materialising W^T, where no tuned register tile takes the product instead.
//  - matmul_reg:   any strides and N; each thread 4x4 outputs with scalar loads.
//  - matmul_tiled: workgroup-memory tiles with barriers (64x64 per workgroup, 4x4 per thread); for hardware GPUs.
//  - matmul_small: one thread per output, any strides: small products on hardware GPUs, where threads are many.

// Uniforms (p) and the WG_X x WG_Y workgroup come from its declaration, MATMUL in src/graph/shaders.ts (the
// launcher sizes its grids from the same numbers); matmul_tiled keeps its own 16 x 16, which its tiles assume.

// ---- vec4 variant ----
@group(0) @binding(1) var<storage, read> va: array<f32>;
@group(0) @binding(2) var<storage, read> vb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> vc: array<vec4<f32>>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
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
  vc[cb + row * n4 + col4] = c00 * p.alpha;
  if (has2) { vc[cb + row * n4 + col4 + 1u] = c01 * p.alpha; }
  if (row + 1u < p.M) { vc[cb + (row + 1u) * n4 + col4] = c10 * p.alpha; if (has2) { vc[cb + (row + 1u) * n4 + col4 + 1u] = c11 * p.alpha; } }
  if (row + 2u < p.M) { vc[cb + (row + 2u) * n4 + col4] = c20 * p.alpha; if (has2) { vc[cb + (row + 2u) * n4 + col4 + 1u] = c21 * p.alpha; } }
  if (row + 3u < p.M) { vc[cb + (row + 3u) * n4 + col4] = c30 * p.alpha; if (has2) { vc[cb + (row + 3u) * n4 + col4 + 1u] = c31 * p.alpha; } }
}

// ---- A @ B^T with both read as vec4 along K (K % 4 == 0, rows contiguous): x @ W^T for [out, in] weights ----
@group(0) @binding(1) var<storage, read> na: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> nb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> nc: array<f32>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_nt_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
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
      nc[cb + row * p.N + col + j] = acc0[j] * p.alpha;
      if (row + 1u < p.M) { nc[cb + (row + 1u) * p.N + col + j] = acc1[j] * p.alpha; }
      if (row + 2u < p.M) { nc[cb + (row + 2u) * p.N + col + j] = acc2[j] * p.alpha; }
      if (row + 3u < p.M) { nc[cb + (row + 3u) * p.N + col + j] = acc3[j] * p.alpha; }
    }
  }
}

// ---- general register-tiled variant ----
@group(0) @binding(1) var<storage, read> ra: array<f32>;
@group(0) @binding(2) var<storage, read> rb: array<f32>;
@group(0) @binding(3) var<storage, read_write> rc: array<f32>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_reg(@builtin(global_invocation_id) gid: vec3<u32>) {
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
      rc[cb + row * p.N + col + j] = acc0[j] * p.alpha;
      if (row + 1u < p.M) { rc[cb + (row + 1u) * p.N + col + j] = acc1[j] * p.alpha; }
      if (row + 2u < p.M) { rc[cb + (row + 2u) * p.N + col + j] = acc2[j] * p.alpha; }
      if (row + 3u < p.M) { rc[cb + (row + 3u) * p.N + col + j] = acc3[j] * p.alpha; }
    }
  }
}

// ---- workgroup-memory tiled variant (16x16 threads, 64x64 tile, BK = 16) ----
// Split-K where p.split > 1: workgroup layer z = b * split + part sums part's run of K (whole BK steps) into its own
// [M, N] slice of C (slice part * batches + b), which the host adds up after (matmul/index.ts).
const TILE: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> tA: array<array<f32, 64>, 16>;   // [k][m]
var<workgroup> tB: array<array<f32, 64>, 16>;   // [k][n]

@group(0) @binding(1) var<storage, read> ta: array<f32>;
@group(0) @binding(2) var<storage, read> tb: array<f32>;
@group(0) @binding(3) var<storage, read_write> tc: array<f32>;

@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
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

// ---- one thread per output (small products on hardware GPUs: every output its own thread) ----
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_small(@builtin(global_invocation_id) gid: vec3<u32>) {
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
  tc[b * p.c_bs + row * p.N + col] = (s0 + s1) * p.alpha;
}
