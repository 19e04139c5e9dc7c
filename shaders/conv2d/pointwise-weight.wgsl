// The weight gradient of a 1x1 convolution (stride 1, unpadded), dW[k, c] = sum over images n and pixels p of
// dy[n, k, p] x[n, c, p]: a product whose sum (N x H x W) dwarfs its K x C outputs. A thread takes a block of 4 output
// x 4 input channels and a span of the (image, pixel quad) pairs: 8 vec4 loads serve 16 dot products (the conv tiles,
// made for kernel rows of several taps, load about one value per multiply-add here). Each span's sums land in
// partial[span, k, c], added after where there are several. Pixel counts are whole vec4s (H * W % 4 == 0).
// Uniforms (pw) and WG come from its declaration, CONV_POINTWISE_WEIGHT in src/graph/shaders.ts.

@group(0) @binding(1) var<storage, read> px: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> pdy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> pdw: array<vec4<f32>>;

// Row r of the block: output channel 4 k4 + r against its 4 input channels.
fn row_dots(d: vec4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(d, x0), dot(d, x1), dot(d, x2), dot(d, x3));
}

@compute @workgroup_size(WG)
fn pointwise_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let cb = pw.C / 4u;
  let kb = pw.K / 4u;
  if (i >= cb * kb * pw.spans) { return; }
  let c4 = i % cb;
  let k4 = (i / cb) % kb;
  let span = i / (cb * kb);
  let first = span * pw.span;
  let end = min(first + pw.span, pw.N * pw.P4);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  // The pair (n, q) of element e, stepped without dividing.
  var n = first / pw.P4;
  var q = first % pw.P4;
  for (var e = first; e < end; e++) {
    let xb = (n * pw.C + 4u * c4) * pw.P4 + q;
    let x0 = px[xb];
    let x1 = px[xb + pw.P4];
    let x2 = px[xb + 2u * pw.P4];
    let x3 = px[xb + 3u * pw.P4];
    let db = (n * pw.K + 4u * k4) * pw.P4 + q;
    a0 += row_dots(pdy[db], x0, x1, x2, x3);
    a1 += row_dots(pdy[db + pw.P4], x0, x1, x2, x3);
    a2 += row_dots(pdy[db + 2u * pw.P4], x0, x1, x2, x3);
    a3 += row_dots(pdy[db + 3u * pw.P4], x0, x1, x2, x3);
    q += 1u;
    if (q == pw.P4) { q = 0u; n += 1u; }
  }
  // partial[span, k, c] in vec4s of c.
  let o = (span * pw.K + 4u * k4) * cb + c4;
  pdw[o] = a0;
  pdw[o + cb] = a1;
  pdw[o + 2u * cb] = a2;
  pdw[o + 3u * cb] = a3;
}
