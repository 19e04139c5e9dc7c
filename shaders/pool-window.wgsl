// Max pooling's window rule, shared by pool.wgsl's kernels and the conv tile that pools in its output write
// (src/graph/kernels/conv/tile-forward.ts), so both take the same maxima and argmaxima. src/graph/shaders.ts appends
// it to pool.wgsl (WGSL declarations may come in any order), so pool.wgsl's line numbers stay its own.

struct Best { v: f32, i: i32 }

// pool_fwd's test: a window's first value is taken (none yet: i < 0), then a greater one or a NaN.
fn consider(b: Best, v: f32, i: i32) -> Best {
  if (b.i < 0 || v > b.v || is_nan(v)) { return Best(v, i); }
  return b;
}

// The window (a0 a1 / b0 b1) whose top-left input has flat index i, in rows of w.
fn window_max(a0: f32, a1: f32, b0: f32, b1: f32, i: i32, w: i32) -> Best {
  return consider(consider(consider(Best(a0, i), a1, i + 1), b0, i + w), b1, i + w + 1);
}

// Whether a relu passes the gradient at a window's maximum v (relu' as elementwise reluGrad: v > 0 or NaN).
fn relu_keeps(v: f32) -> bool { return v > 0.0 || is_nan(v); }
