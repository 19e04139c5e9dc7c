// Elementwise kernels: unary, binary and ternary (where), with NumPy broadcasting up to rank 8.
// The op is an override constant, so each op compiles to its own branch-free pipeline; shapes are uniforms.
// OP selects a case by its name: the codes (UNARY_neg, BINARY_add, ...) are generated from the tables of
// src/graph/op-codes.ts, so the numbers live in one place. The uniforms `p` (n, rank, alpha, beta, shape, and the
// operands' strides sa, sb, sc in the output's index space, 0 where broadcast) are declared in src/graph/shaders.ts.

override OP: u32 = 0u;
// false: every operand has the output's shape and is contiguous (or is a 1-element scalar): no index math.
override BROADCAST: bool = false;
// Rank of the broadcast index space, fixed per pipeline so the offset loop unrolls.
override RANK: u32 = 1u;

// Offsets of the operands for output element i (broadcast path).
fn offsets(i: u32) -> vec3<u32> {
  var rem = i;
  var o = vec3<u32>(0u);
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    let dim = at(p.shape, u32(d));
    let idx = rem % dim;
    rem = rem / dim;
    o += idx * vec3<u32>(at(p.sa, u32(d)), at(p.sb, u32(d)), at(p.sc, u32(d)));
  }
  return o;
}

// Special values follow PyTorch through the helpers of numerics.wgsl (NaN propagates, log(0) = -Inf, ...).
fn unary(x: f32) -> f32 {
  switch OP {
    case UNARY_copy: { return x; }
    case UNARY_neg: { return -x; }
    case UNARY_exp: { return ieee_exp(x); }
    case UNARY_log: { return ieee_log(x); }
    case UNARY_sqrt: { return ieee_sqrt(x); }
    case UNARY_relu: { return select(max(x, 0.0), x, is_nan(x)); }
    case UNARY_leakyRelu: { return select(p.alpha * x, x, x > 0.0 || is_nan(x)); }  // leaky relu (alpha = slope)
    case UNARY_sigmoid: { return ieee_sigmoid(x); }
    case UNARY_tanh: { return ieee_tanh(x); }
    case UNARY_abs: { return abs(x); }
    case UNARY_clamp: { return select(clamp(x, p.alpha, p.beta), x, is_nan(x)); }
    case UNARY_affine: { return x * p.alpha + p.beta; }  // affine (scalar mul/add)
    case UNARY_powScalar: { return ieee_pow(x, p.alpha); }  // pow by a scalar exponent
    case UNARY_square: { return x * x; }
    case UNARY_reciprocal: { return 1.0 / x; }
    case UNARY_sign: { return sign(x); }
    case UNARY_stepAbove: { return select(0.0, 1.0, x > p.alpha); }  // step: x > alpha
    case UNARY_inside: { return select(0.0, 1.0, (x >= p.alpha) && (x <= p.beta)); }  // inside [alpha, beta]
    case UNARY_fill: { return p.alpha; }
    default: { return x; }
  }
}

fn unordered(a: f32, b: f32) -> bool { return is_nan(a) || is_nan(b); }

fn binary(a: f32, b: f32, alpha: f32, beta: f32) -> f32 {
  switch OP {
    case BINARY_add: { return a + b; }
    case BINARY_sub: { return a - b; }
    case BINARY_mul: { return a * b; }
    case BINARY_div: { return a / b; }
    case BINARY_pow: { return ieee_pow(a, b); }
    case BINARY_maximum: { return nan_max(a, b); }
    case BINARY_minimum: { return nan_min(a, b); }
    // Comparisons with NaN are false, stated explicitly (an implementation may assume there is none).
    case BINARY_gt: { return select(0.0, 1.0, a > b && !unordered(a, b)); }
    case BINARY_lt: { return select(0.0, 1.0, a < b && !unordered(a, b)); }
    case BINARY_ge: { return select(0.0, 1.0, a >= b && !unordered(a, b)); }
    case BINARY_eq: { return select(0.0, 1.0, a == b && !unordered(a, b)); }
    // Fused gradient ops: a = forward input or output, b = incoming gradient.
    case BINARY_reluGrad: { return select(0.0, b, a > 0.0 || is_nan(a)); }  // relu' (NaN input passes g on, as torch)
    case BINARY_leakyReluGrad: { return select(alpha * b, b, a > 0.0); }  // leaky relu'
    case BINARY_sigmoidGrad: { return b * a * (1.0 - a); }  // sigmoid' from output
    case BINARY_tanhGrad: { return b * (1.0 - a * a); }  // tanh' from output
    case BINARY_clampGrad: { return select(0.0, b, (a >= alpha) && (a <= beta)); }  // clamp'
    // hardtanh' (relu6): g strictly inside (alpha, beta), 0 at and beyond the bounds; NaN passes, as torch.
    case BINARY_hardtanhGrad: { return select(b, 0.0, (a <= alpha || a >= beta) && !is_nan(a)); }
    case BINARY_absGrad: { return b * sign(a); }  // abs'
    case BINARY_axpby: { return a * alpha + b * beta; }
    default: { return a; }
  }
}

@group(0) @binding(1) var<storage, read> ua: array<f32>;
@group(0) @binding(2) var<storage, read_write> uout: array<f32>;

@compute @workgroup_size(WG)
fn unary_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.n) { return; }
  var ia = i;
  if (BROADCAST) { ia = offsets(i).x; }
  uout[i] = unary(ua[ia]);
}

@group(0) @binding(1) var<storage, read> ba: array<f32>;
@group(0) @binding(2) var<storage, read> bb: array<f32>;
@group(0) @binding(3) var<storage, read_write> bout: array<f32>;

@compute @workgroup_size(WG)
fn binary_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.n) { return; }
  var o = vec3<u32>(i);
  if (BROADCAST) { o = offsets(i); }
  bout[i] = binary(ba[o.x], bb[o.y], p.alpha, p.beta);
}

// Four elements per thread as one vec4 load and store per operand (same-shape operands, n % 4 == 0; p.n counts
// vec4s here): CPU drivers pay per load and store far more than per arithmetic operation.
@group(0) @binding(1) var<storage, read> va: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> vuout: array<vec4<f32>>;
// va is read through load_va only, so ELEMENTWISE_TEXTURE can read it from the staging texture (src/graph/shaders.ts).
fn load_va(i: u32) -> vec4<f32> { return va[i]; }

@compute @workgroup_size(WG)
fn unary_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.n) { return; }
  let a = load_va(i);
  vuout[i] = vec4<f32>(unary(a.x), unary(a.y), unary(a.z), unary(a.w));
}

@group(0) @binding(2) var<storage, read> vb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> vbout: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn binary_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.n) { return; }
  let a = load_va(i);
  let b = vb[i];
  vbout[i] = vec4<f32>(binary(a.x, b.x, p.alpha, p.beta), binary(a.y, b.y, p.alpha, p.beta),
    binary(a.z, b.z, p.alpha, p.beta), binary(a.w, b.w, p.alpha, p.beta));
}

// a op b where b broadcasts as one value per run of q.inner elements (inner % 4 == 0), cycling every q.mid runs: a
// conv weight times a per-output-channel scale ([K, C, KH, KW] * [K, 1, 1, 1]), a bias over [N, C, H, W]. The strided
// index of binary_main costs a division per dimension per element; this one, one per vec4.
@compute @workgroup_size(WG)
fn binary_channel4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= q.n) { return; }
  let a = load_va(i);
  let b = bb[(i * 4u / q.inner) % q.mid];
  vbout[i] = vec4<f32>(binary(a.x, b, q.alpha, q.beta), binary(a.y, b, q.alpha, q.beta),
    binary(a.z, b, q.alpha, q.beta), binary(a.w, b, q.alpha, q.beta));
}

@group(0) @binding(1) var<storage, read> tc: array<f32>;
@group(0) @binding(2) var<storage, read> ta: array<f32>;
@group(0) @binding(3) var<storage, read> tb: array<f32>;
@group(0) @binding(4) var<storage, read_write> tout: array<f32>;

// where(cond, a, b): a where cond != 0, else b.
@compute @workgroup_size(WG)
fn where_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.n) { return; }
  var o = vec3<u32>(i);
  if (BROADCAST) { o = offsets(i); }
  // operand strides: sa -> cond, sb -> a, sc -> b
  tout[i] = select(tb[o.z], ta[o.y], tc[o.x] != 0.0);
}
