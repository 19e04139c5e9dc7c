// The output write of the hand-written matmul kernels (appended to each file by src/graph/shaders.ts): C * alpha,
// then a linear layer's bias over the columns and relu where the launcher asks, as the separate add and relu
// dispatches compute them (a linear layer's alpha is 1, so acc * alpha + bias rounds once either way; relu lets NaN
// pass). The bias binding is always bound: a placeholder where HAS_BIAS is off.

override HAS_BIAS: bool = false;
override RELU: bool = false;

@group(0) @binding(4) var<storage, read> mbias: array<f32>;

fn epilogue(v: f32, col: u32) -> f32 {
  var r = v * p.alpha;
  if (HAS_BIAS) { r = r + mbias[col]; }
  if (RELU) { r = select(max(r, 0.0), r, is_nan(r)); }
  return r;
}

// Four columns from column 4 * col4 on (N a multiple of 4).
fn epilogue4(v: vec4<f32>, col4: u32) -> vec4<f32> {
  let c = 4u * col4;
  return vec4<f32>(epilogue(v.x, c), epilogue(v.y, c + 1u), epilogue(v.z, c + 2u), epilogue(v.w, c + 3u));
}
