// Elementwise kernels: unary, binary and ternary (where), with NumPy broadcasting up to rank 8.
// The op is an override constant, so each op compiles to its own branch-free pipeline; shapes are uniforms.
// Op codes are mirrored in src/graph/op-codes.ts.

override OP: u32 = 0u;
// false: every operand has the output's shape and is contiguous (or is a 1-element scalar): no index math.
override BROADCAST: bool = false;
override WG: u32 = 256u;
// Rank of the broadcast index space, fixed per pipeline so the offset loop unrolls.
override RANK: u32 = 1u;

struct Params {
  n: u32,
  rank: u32,
  alpha: f32,
  beta: f32,
  shape: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,  // element strides of operand a in the output's index space (0 where broadcast)
  sb: array<vec4<u32>, 2>,
  sc: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;

fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

fn thread_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

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

// pow(x, e) for any sign of x: exact sign for integer e, NaN for a negative base and fractional e (as PyTorch).
fn pow_scalar(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  let r = pow(abs(x), e);
  if (x >= 0.0) { return r; }
  var nan_bits = 0x7fc00000u;  // a var, so the NaN is not a (rejected) constant expression
  if (fract(e) != 0.0) { return bitcast<f32>(nan_bits); }
  return select(r, -r, fract(e * 0.5) != 0.0);
}

fn unary(x: f32) -> f32 {
  switch OP {
    case 0u: { return x; }                                  // copy
    case 1u: { return -x; }                                 // neg
    case 2u: { return exp(x); }                             // exp
    case 3u: { return log(x); }                             // log
    case 4u: { return sqrt(x); }                            // sqrt
    case 5u: { return max(x, 0.0); }                        // relu
    case 6u: { return select(p.alpha * x, x, x > 0.0); }    // leaky relu (alpha = slope)
    case 7u: { return 1.0 / (1.0 + exp(-x)); }              // sigmoid
    case 8u: { return tanh(x); }                            // tanh
    case 9u: { return abs(x); }                             // abs
    case 10u: { return clamp(x, p.alpha, p.beta); }         // clamp
    case 11u: { return x * p.alpha + p.beta; }              // affine (scalar mul/add)
    case 12u: { return pow_scalar(x, p.alpha); }            // pow by a scalar exponent
    case 13u: { return x * x; }                             // square
    case 14u: { return 1.0 / x; }                           // reciprocal
    case 15u: { return sign(x); }                           // sign
    case 16u: { return select(0.0, 1.0, x > p.alpha); }     // step: x > alpha
    case 17u: { return select(0.0, 1.0, (x >= p.alpha) && (x <= p.beta)); } // inside [alpha, beta]
    case 18u: { return p.alpha; }                           // fill
    default: { return x; }
  }
}

fn binary(a: f32, b: f32) -> f32 {
  switch OP {
    case 0u: { return a + b; }
    case 1u: { return a - b; }
    case 2u: { return a * b; }
    case 3u: { return a / b; }
    case 4u: { return pow(a, b); }
    case 5u: { return max(a, b); }
    case 6u: { return min(a, b); }
    case 7u: { return select(0.0, 1.0, a > b); }
    case 8u: { return select(0.0, 1.0, a < b); }
    case 9u: { return select(0.0, 1.0, a >= b); }
    case 10u: { return select(0.0, 1.0, a == b); }
    // Fused gradient ops: a = forward input or output, b = incoming gradient.
    case 20u: { return select(0.0, b, a > 0.0); }                 // relu'
    case 21u: { return select(p.alpha * b, b, a > 0.0); }         // leaky relu'
    case 22u: { return b * a * (1.0 - a); }                       // sigmoid' from output
    case 23u: { return b * (1.0 - a * a); }                       // tanh' from output
    case 24u: { return select(0.0, b, (a >= p.alpha) && (a <= p.beta)); } // clamp'
    case 25u: { return b * sign(a); }                             // abs'
    case 26u: { return a * p.alpha + b * p.beta; }                // axpby
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
  bout[i] = binary(ba[o.x], bb[o.y]);
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
