// Counter-based random numbers: a PCG hash of (seed, element index), so results do not depend on the
// dispatch shape and a seeded run is reproducible on any adapter.

@group(0) @binding(1) var<storage, read_write> out: array<f32>;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn uniform01(i: u32) -> f32 {
  let h = pcg(pcg(i) ^ pcg(u.seed + 0x9e3779b9u));
  return f32(h >> 8u) * (1.0 / 16777216.0);
}

// Dropout mask: scale (= 1 / (1 - p)) where kept, 0 where dropped.
@compute @workgroup_size(WG)
fn dropout_mask(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= u.n) { return; }
  out[i] = select(0.0, u.scale, uniform01(i) >= u.p);
}

// Uniform numbers in [0, 1) scaled: out = lo + (hi - lo) * U, with lo = p and hi - lo = scale.
@compute @workgroup_size(WG)
fn uniform_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= u.n) { return; }
  out[i] = u.p + u.scale * uniform01(i);
}
