// IEEE special values made explicit, prepended to every kernel file (src/graph/shaders.ts).
// WGSL lets an implementation assume that no NaN or infinity occurs, and CPU adapters do: SwiftShader's
// log(0) is -88.03, its log(NaN) 89.1, its max(NaN, x) x, its tanh(100) NaN. Kernels that must give PyTorch's
// answers on every adapter test bit patterns (integer operations, which no float assumption can remove) and
// build NaN and Inf from bits instead of trusting the builtins at the edges.

fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn sign_bit(x: f32) -> bool { return (bitcast<u32>(x) & 0x80000000u) != 0u; }

// Through a var: a NaN or Inf constant expression is a shader-creation error.
fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn inf_f32(negative: bool) -> f32 { var bits = select(0x7f800000u, 0xff800000u, negative); return bitcast<f32>(bits); }

// max/min that propagate NaN (torch.max, torch.maximum, max pooling).
fn nan_max(a: f32, b: f32) -> f32 {
  if (is_nan(a)) { return a; }
  if (is_nan(b)) { return b; }
  return max(a, b);
}
fn nan_min(a: f32, b: f32) -> f32 {
  if (is_nan(a)) { return a; }
  if (is_nan(b)) { return b; }
  return min(a, b);
}

fn ieee_exp(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 88.72284) { return inf_f32(false); }   // overflows float32
  if (x < -103.98) { return 0.0; }               // below the smallest subnormal
  return exp(x);
}

// log(0) = -Inf, log(x < 0) = NaN, log(Inf) = Inf, log(NaN) = NaN. Subnormals count as 0 (CPU adapters flush them).
fn ieee_log(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return nan_f32(); }
  if (x == 0.0) { return inf_f32(true); }
  if (is_inf(x)) { return x; }
  return log(x);
}

fn ieee_sqrt(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return nan_f32(); }
  if (is_inf(x)) { return x; }
  return sqrt(x);
}

// tanh(x) rounds to +-1 in float32 beyond |x| = 9.1; some builtins overflow to NaN there.
fn ieee_tanh(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (abs(x) > 10.0) { return select(-1.0, 1.0, x > 0.0); }
  return tanh(x);
}

fn ieee_sigmoid(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  return 1.0 / (1.0 + ieee_exp(-x));
}

// x^e as torch.pow: pow(x, 0) = 1 and pow(1, e) = 1 (NaN included); a negative base needs an integer exponent
// (odd keeps the sign), else NaN; 0^-e = Inf; overflow gives Inf, underflow 0.
fn ieee_pow(x: f32, e: f32) -> f32 {
  if (e == 0.0 || x == 1.0) { return 1.0; }
  if (is_nan(x) || is_nan(e)) { return nan_f32(); }
  let ax = abs(x);
  var r: f32;
  if (ax == 0.0) {
    r = select(0.0, inf_f32(false), e < 0.0);
  } else if (is_inf(ax)) {
    r = select(inf_f32(false), 0.0, e < 0.0);
  } else if (is_inf(e)) {
    if (ax == 1.0) { return 1.0; }
    r = select(0.0, inf_f32(false), (ax > 1.0) == (e > 0.0));
  } else {
    let l = e * log2(ax);
    if (l >= 128.0) { r = inf_f32(false); } else if (l < -150.0) { r = 0.0; } else { r = pow(ax, e); }
  }
  if (!sign_bit(x) || is_inf(e)) { return r; }
  let odd = fract(e * 0.5) != 0.0 && fract(e) == 0.0;
  if (fract(e) != 0.0) { return select(nan_f32(), r, ax == 0.0); }
  return select(r, -r, odd);
}
