// Sums over the middle axis of [outer, r, inner], one workgroup per output: its threads stride over the axis, each
// subgroup adds its lanes in registers (subgroupAdd), and one thread adds the subgroups' totals: one barrier
// instead of a tree's log2(WG). Only on adapters with the `subgroups` feature (kernels/reduce/select.ts).

@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> sy: array<f32>;
var<workgroup> totals: array<f32, WG>;

@compute @workgroup_size(WG)
fn reduce_subgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let out = wid.x + wid.y * nwg.x;
  let valid = out < p.outer * p.inner;
  let base = (out / p.inner) * p.r * p.inner + out % p.inner;
  var acc = 0.0;
  if (valid) {
    for (var j = li; j < p.r; j += WG) { acc += sx[base + j * p.inner]; }
  }
  let total = subgroupAdd(acc);
  // Each subgroup's first lane keeps its total; the others hold 0, so the sum below counts each subgroup once.
  totals[li] = select(0.0, total, lane == 0u);
  workgroupBarrier();
  if (li == 0u && valid) {
    var s = 0.0;
    for (var i = 0u; i < WG; i++) { s += totals[i]; }
    sy[out] = s * p.alpha;
  }
}
