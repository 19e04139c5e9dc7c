// Gradient reversal (Ganin & Lempitsky 2015), the DANN layer between features and domain classifier:
// identity forward, -lambda * g backward. lambda is read from a one-element storage buffer (a RuntimeValue's
// tensor) rather than the uniforms, because uniforms are written once when a step is captured while the host
// rewrites that buffer before every replay: the schedule lambda_p really changes step to step. A JS-number
// lambda (a constant) comes through the uniforms instead (LAMBDA_FROM_BUFFER = false).

override LAMBDA_FROM_BUFFER: bool = false;

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read_write> fy: array<f32>;

// Forward: y = x (a copy, so the output owns its buffer like every other op's).
@compute @workgroup_size(WG)
fn reverse_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.n) { return; }
  fy[i] = fx[i];
}

@group(0) @binding(1) var<storage, read> bg: array<f32>;
@group(0) @binding(2) var<storage, read> blam: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// Backward: dx = -lambda * g. NaN/Inf in g or lambda propagate (no clamping: anomaly mode should see them).
@compute @workgroup_size(WG)
fn reverse_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.n) { return; }
  var lam = p.lambda;
  if (LAMBDA_FROM_BUFFER) { lam = blam[0]; }
  bdx[i] = -lam * bg[i];
}
