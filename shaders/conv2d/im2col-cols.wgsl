// conv2d on NCHW tensors, weights [K, C, KH, KW]: the lowered input transposed, cols^T [C*KH*KW, N*OH*OW].
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.
// The lowered layouts: src/graph/kernels/conv/gemm.ts.

@group(0) @binding(1) var<storage, read> tx: array<f32>;
@group(0) @binding(2) var<storage, read_write> tcols: array<f32>;  // [C*KH*KW][N*OH*OW]

// Thread (c, kh, n, oh): the KW x OW values that input row feeds, into KW rows of cols^T (OW neighbours each).
// Per-lane integer divisions are dear on CPU drivers: this grain needs five per thread, a vec4 of four scattered
// pixels per thread twenty (docs/kernel-measurements.md#im2col-cols).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.C * p.KH * p.N * p.OH) { return; }
  let oh = i % p.OH;
  let n = (i / p.OH) % p.N;
  let kh = (i / (p.OH * p.N)) % p.KH;
  let c = i / (p.OH * p.N * p.KH);
  let rows = p.N * p.OH * p.OW;
  let ih = i32(oh * p.SH + kh) - i32(p.PH);
  let rowok = ih >= 0 && ih < i32(p.H);
  let xrow = i32(((n * p.C + c) * p.H) * p.W) + ih * i32(p.W);
  var o = (c * p.KH + kh) * p.KW * rows + (n * p.OH + oh) * p.OW;
  for (var kw = 0u; kw < p.KW; kw++) {
    for (var ow = 0u; ow < p.OW; ow++) {
      let iw = i32(ow * p.SW + kw) - i32(p.PW);
      var v = 0.0;
      if (rowok && iw >= 0 && iw < i32(p.W)) { v = tx[u32(xrow + iw)]; }
      tcols[o + ow] = v;
    }
    o += rows;
  }
}
