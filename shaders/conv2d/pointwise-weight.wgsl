// The weight gradient of a 1x1 convolution (stride 1, unpadded), dW[k, c] = sum over images n and pixels p of
// dy[n, k, p] x[n, c, p]: a product whose sum (N x H x W) dwarfs its K x C outputs. A thread takes a block of 4 (ROWS8:
// 8) output x 4 input channels and a span of the (image, pixel quad) pairs: 8 vec4 loads serve 16 dot products, 12
// serve 32 (the conv tiles, made for kernel rows of several taps, load about one value per multiply-add here). Each
// span's sums land in partial[span, k, c], added after where there are several. Pixel counts are whole vec4s.
// Uniforms (pw) and WG come from its declaration, CONV_POINTWISE_WEIGHT in src/graph/shaders.ts.

override ROWS8: bool = false;

@group(0) @binding(1) var<storage, read> px: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> pdy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> pdw: array<vec4<f32>>;

// Row r of the block: output channel rows * k4 + r against its 4 input channels.
fn row_dots(d: vec4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(d, x0), dot(d, x1), dot(d, x2), dot(d, x3));
}

@compute @workgroup_size(WG)
fn pointwise_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let cb = pw.C / 4u;
  let rows = select(4u, 8u, ROWS8);
  let kb = pw.K / rows;
  if (i >= cb * kb * pw.spans) { return; }
  let c4 = i % cb;
  let k4 = (i / cb) % kb;  // the block's first output channel is rows * k4
  let span = i / (cb * kb);
  let first = span * pw.span;
  let end = min(first + pw.span, pw.N * pw.P4);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0);
  // The pair (n, q) of element e, stepped without dividing.
  var n = first / pw.P4;
  var q = first % pw.P4;
  for (var e = first; e < end; e++) {
    let xb = (n * pw.C + 4u * c4) * pw.P4 + q;
    let x0 = px[xb];
    let x1 = px[xb + pw.P4];
    let x2 = px[xb + 2u * pw.P4];
    let x3 = px[xb + 3u * pw.P4];
    let db = (n * pw.K + rows * k4) * pw.P4 + q;
    a0 += row_dots(pdy[db], x0, x1, x2, x3);
    a1 += row_dots(pdy[db + pw.P4], x0, x1, x2, x3);
    a2 += row_dots(pdy[db + 2u * pw.P4], x0, x1, x2, x3);
    a3 += row_dots(pdy[db + 3u * pw.P4], x0, x1, x2, x3);
    if (ROWS8) {
      a4 += row_dots(pdy[db + 4u * pw.P4], x0, x1, x2, x3);
      a5 += row_dots(pdy[db + 5u * pw.P4], x0, x1, x2, x3);
      a6 += row_dots(pdy[db + 6u * pw.P4], x0, x1, x2, x3);
      a7 += row_dots(pdy[db + 7u * pw.P4], x0, x1, x2, x3);
    }
    q += 1u;
    if (q == pw.P4) { q = 0u; n += 1u; }
  }
  // partial[span, k, c] in vec4s of c.
  let o = (span * pw.K + rows * k4) * cb + c4;
  pdw[o] = a0;
  pdw[o + cb] = a1;
  pdw[o + 2u * cb] = a2;
  pdw[o + 3u * cb] = a3;
  if (ROWS8) {
    pdw[o + 4u * cb] = a4;
    pdw[o + 5u * cb] = a5;
    pdw[o + 6u * cb] = a6;
    pdw[o + 7u * cb] = a7;
  }
}
