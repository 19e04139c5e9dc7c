// Data movement: one strided copy serves permute/transpose, slice, concat (copy into a region of the output),
// broadcast materialisation (stride 0) and pad; plus fill, gather along an axis, its scatter-add, and one-hot.
// Uniforms (declared in src/graph/shaders.ts): copy, transpose2d, fill, gather (also scatter-add), one_hot, and
// nonfinite (the anomaly scan).

// Rank of the strided copy, fixed per pipeline so the index loop unrolls and its uniform reads are static.
override RANK: u32 = 1u;

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// Each thread copies a run of COPY_RUN consecutive elements (in `shape`'s order): the index of the first comes from
// divisions, the next ones by stepping it like an odometer: integer division is a per-lane loop on CPU drivers
// (docs/kernel-measurements.md#copy-run). copyK sets it (8 on CPU adapters, 1 on GPUs, where neighbouring threads
// should store neighbouring elements).
override COPY_RUN: u32 = 1u;

// Where a copy stands at one element: its index in `shape` and its offsets into src and dst (in the copy's units).
struct CopyAt { idx: array<u32, 8>, si: u32, di: u32 }

fn copy_at(first: u32) -> CopyAt {
  var c: CopyAt;
  var rem = first;
  c.si = copy.in_offset;
  c.di = copy.out_offset;
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    let dim = at(copy.shape, u32(d));
    c.idx[d] = rem % dim;
    rem = rem / dim;
    c.si += c.idx[d] * at(copy.in_strides, u32(d));
    c.di += c.idx[d] * at(copy.out_strides, u32(d));
  }
  return c;
}

// Steps to the next element, carrying outward (u32 arithmetic wraps, so taking a full dimension back is exact).
fn copy_next(c: ptr<function, CopyAt>) {
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    let ud = u32(d);
    (*c).idx[ud] += 1u;
    (*c).si += at(copy.in_strides, ud);
    (*c).di += at(copy.out_strides, ud);
    if ((*c).idx[ud] < at(copy.shape, ud)) { break; }
    (*c).si -= (*c).idx[ud] * at(copy.in_strides, ud);
    (*c).di -= (*c).idx[ud] * at(copy.out_strides, ud);
    (*c).idx[ud] = 0u;
  }
}

@compute @workgroup_size(WG)
fn copy_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = thread_id(gid, nwg) * COPY_RUN;
  if (first >= copy.n) { return; }
  var c = copy_at(first);
  let end = min(first + COPY_RUN, copy.n);
  for (var e = first; e < end; e++) {
    dst[c.di] = src[c.si];
    copy_next(&c);
  }
}

// The same copy in vec4s (tsrc, tdst below), where the innermost dimension runs along both sides in whole vec4s and
// every other stride and both offsets are multiples of 4 (copyK converts shape, strides and offsets to vec4s): a
// quarter of the loads, stores and index steps, and CPU drivers run each lane by lane.
@compute @workgroup_size(WG)
fn copy_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = thread_id(gid, nwg) * COPY_RUN;
  if (first >= copy.n) { return; }
  var c = copy_at(first);
  let end = min(first + COPY_RUN, copy.n);
  for (var e = first; e < end; e++) {
    tdst[c.di] = tsrc[c.si];
    copy_next(&c);
  }
}

// A batched 2-D transpose in 4 x 4 blocks, for the strided copies that are one (copyK finds them, where every row
// stride, batch stride and offset is a multiple of 4): dst[b][i][j] = src[b][j][i] for i < 4 * transpose2d.bi and
// j < 4 * transpose2d.bj, row strides and offsets in vec4s. Each thread loads 4 source vec4s and stores 4: copy_main
// loads and stores 16 floats one by one, and CPU drivers run every load and store lane by lane.
@group(0) @binding(1) var<storage, read> tsrc: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> tdst: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn transpose4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= transpose2d.batch * transpose2d.bi * transpose2d.bj) { return; }
  // Neighbouring threads take neighbouring vec4s of a source row.
  let i4 = t % transpose2d.bi;
  let j4 = (t / transpose2d.bi) % transpose2d.bj;
  let b = t / (transpose2d.bi * transpose2d.bj);
  let s = transpose2d.src_off + b * transpose2d.src_bs + 4u * j4 * transpose2d.src_rs + i4;
  let r0 = tsrc[s];
  let r1 = tsrc[s + transpose2d.src_rs];
  let r2 = tsrc[s + 2u * transpose2d.src_rs];
  let r3 = tsrc[s + 3u * transpose2d.src_rs];
  let d = transpose2d.dst_off + b * transpose2d.dst_bs + 4u * i4 * transpose2d.dst_rs + j4;
  tdst[d] = vec4<f32>(r0.x, r1.x, r2.x, r3.x);
  tdst[d + transpose2d.dst_rs] = vec4<f32>(r0.y, r1.y, r2.y, r3.y);
  tdst[d + 2u * transpose2d.dst_rs] = vec4<f32>(r0.z, r1.z, r2.z, r3.z);
  tdst[d + 3u * transpose2d.dst_rs] = vec4<f32>(r0.w, r1.w, r2.w, r3.w);
}

// The same transposes with any sizes, strides and offsets (in floats; transpose2d.bi, transpose2d.bj count rows and
// columns of dst, and only short rows come here): thread (b, i) writes dst's row i, transpose2d.bj neighbouring
// floats, from a column of src. One division per thread where copy_main needs one per dimension and element run,
// and no private index array (SwiftShader runs copy_main slowly: docs/kernel-measurements.md#transpose-rows).
@group(0) @binding(1) var<storage, read> t1src: array<f32>;
@group(0) @binding(2) var<storage, read_write> t1dst: array<f32>;

@compute @workgroup_size(WG)
fn transpose_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_id(gid, nwg);
  if (t >= transpose2d.batch * transpose2d.bi) { return; }
  let i = t % transpose2d.bi;
  let b = t / transpose2d.bi;
  var s = transpose2d.src_off + b * transpose2d.src_bs + i;
  let d = transpose2d.dst_off + b * transpose2d.dst_bs + i * transpose2d.dst_rs;
  for (var j = 0u; j < transpose2d.bj; j++) {
    t1dst[d + j] = t1src[s];
    s += transpose2d.src_rs;
  }
}

// A matrix copied into zero-padded vec4 rows (a register tile's operand where K or N is not a multiple of 4):
// dst[b][r][4q + j] = src[b * src_bs + r * src_rs + (4q + j) * src_cs] inside rows x cols, else 0. A thread per dst
// row, storing vec4s where copy_main stores float by float, with no fill of the padding first and one division.
@group(0) @binding(1) var<storage, read> psrc: array<f32>;
@group(0) @binding(2) var<storage, read_write> pdst: array<vec4<f32>>;

// The thread's dst row: its first vec4 and its source row's first float; ok false past the last dst row, and for a
// row past `rows`, which is zeroed here.
struct PadRow { d: u32, start: u32, ok: bool }

fn pad4_row(gid: vec3<u32>, nwg: vec3<u32>) -> PadRow {
  let t = thread_id(gid, nwg);
  if (t >= pad4.batch * pad4.drows) { return PadRow(0u, 0u, false); }
  let b = t / pad4.drows;
  let r = t - b * pad4.drows;
  let d = t * pad4.dcols4;
  if (r >= pad4.rows) {
    for (var q = 0u; q < pad4.dcols4; q++) { pdst[d + q] = vec4<f32>(0.0); }
    return PadRow(d, 0u, false);
  }
  return PadRow(d, b * pad4.src_bs + r * pad4.src_rs, true);
}

@compute @workgroup_size(WG)
fn pad4_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = pad4_row(gid, nwg);
  if (!row.ok) { return; }
  let cs = pad4.src_cs;
  // Whole vec4s inside the row, then those that run past it: columns from `cols` on are zeros (clamped reads keep
  // every load in bounds).
  let whole = pad4.cols / 4u;
  let last = row.start + (pad4.cols - 1u) * cs;
  var s = row.start;
  for (var q = 0u; q < whole; q++) {
    pdst[row.d + q] = vec4<f32>(psrc[s], psrc[s + cs], psrc[s + 2u * cs], psrc[s + 3u * cs]);
    s += 4u * cs;
  }
  for (var q = whole; q < pad4.dcols4; q++) {
    let c = 4u * q;
    pdst[row.d + q] = vec4<f32>(select(0.0, psrc[min(s, last)], c < pad4.cols),
      select(0.0, psrc[min(s + cs, last)], c + 1u < pad4.cols),
      select(0.0, psrc[min(s + 2u * cs, last)], c + 2u < pad4.cols),
      select(0.0, psrc[min(s + 3u * cs, last)], c + 3u < pad4.cols));
    s += 4u * cs;
  }
}

// pad4_rows for rows read in place (src_cs == 1): each dst vec4 from the two aligned source vec4s it straddles, the
// first kept from the step before, so a vec4 load a store where pad4_rows loads four floats (loads dominate on CPU
// drivers). Source vec4 indices are clamped to the buffer; lanes past a row's end are zeros.
@group(0) @binding(1) var<storage, read> psrc4: array<vec4<f32>>;

fn shifted(lo: vec4<f32>, hi: vec4<f32>, sh: u32) -> vec4<f32> {
  if (sh == 0u) { return lo; }
  if (sh == 1u) { return vec4<f32>(lo.yzw, hi.x); }
  if (sh == 2u) { return vec4<f32>(lo.zw, hi.xy); }
  return vec4<f32>(lo.w, hi.xyz);
}

@compute @workgroup_size(WG)
fn pad4_rows_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = pad4_row(gid, nwg);
  if (!row.ok) { return; }
  let sh = row.start % 4u;
  let top = arrayLength(&psrc4) - 1u;
  var a = row.start / 4u;
  var lo = psrc4[min(a, top)];
  for (var q = 0u; q < pad4.dcols4; q++) {
    a += 1u;
    let hi = psrc4[min(a, top)];
    let c = 4u * q;
    let inside = vec4<u32>(c, c + 1u, c + 2u, c + 3u) < vec4<u32>(pad4.cols);
    pdst[row.d + q] = select(vec4<f32>(0.0), shifted(lo, hi, sh), inside);
    lo = hi;
  }
}

@group(0) @binding(1) var<storage, read_write> fout: array<f32>;

@compute @workgroup_size(WG)
fn fill_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= fill.n) { return; }
  fout[i] = fill.value;
}

// A multiple of 4 elements as vec4 stores (fill.n counts vec4s): a store costs a CPU driver far more than the value.
@group(0) @binding(1) var<storage, read_write> fout4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn fill_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= fill.n) { return; }
  fout4[i] = vec4<f32>(fill.value);
}

// gather: out[o, j, k] = x[o, idx[j], k] for x viewed as [outer, n, inner], idx of length m.
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gidx: array<i32>;
@group(0) @binding(3) var<storage, read_write> gout: array<f32>;

@compute @workgroup_size(WG)
fn gather_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= gather.outer * gather.m * gather.inner) { return; }
  let k = i % gather.inner;
  let j = (i / gather.inner) % gather.m;
  let o = i / (gather.inner * gather.m);
  // An out-of-range index gives NaN, never a silent clamp.
  let bad = gidx[j] < 0 || gidx[j] >= i32(gather.n);
  let src_row = u32(clamp(gidx[j], 0, i32(gather.n) - 1));
  gout[i] = select(gx[(o * gather.n + src_row) * gather.inner + k], nan_f32(), bad);
}

// scatter-add, the gradient of gather: dx[o, r, k] = sum over j with idx[j] == r of g[o, j, k].
// One thread per element of dx: no float atomics needed.
@group(0) @binding(1) var<storage, read> sg: array<f32>;
@group(0) @binding(2) var<storage, read> sidx: array<i32>;
@group(0) @binding(3) var<storage, read_write> sdx: array<f32>;

@compute @workgroup_size(WG)
fn scatter_add_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= gather.outer * gather.n * gather.inner) { return; }
  let k = i % gather.inner;
  let r = (i / gather.inner) % gather.n;
  let o = i / (gather.inner * gather.n);
  var acc = 0.0;
  for (var j = 0u; j < gather.m; j++) {
    if (sidx[j] == i32(r)) { acc += sg[(o * gather.m + j) * gather.inner + k]; }
  }
  sdx[i] = acc;
}

// one_hot: out[i, c] = (labels[i] == c) for c < classes.
@group(0) @binding(1) var<storage, read> olabels: array<i32>;
@group(0) @binding(2) var<storage, read_write> oout: array<f32>;

@compute @workgroup_size(WG)
fn one_hot_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= one_hot.n * one_hot.classes) { return; }
  let label = olabels[i / one_hot.classes];
  // An out-of-range label gives a NaN row (as gather and crossEntropy), never a silent row of zeros.
  let bad = label < 0 || label >= i32(one_hot.classes);
  oout[i] = select(select(0.0, 1.0, label == i32(i % one_hot.classes)), nan_f32(), bad);
}

// Anomaly mode (src/graph/anomaly.ts): flags[slot] |= 1 for a NaN, 2 for +Inf, 4 for -Inf anywhere in x.
@group(0) @binding(1) var<storage, read> kx: array<f32>;
@group(0) @binding(2) var<storage, read_write> kflags: array<atomic<u32>>;

@compute @workgroup_size(WG)
fn nonfinite_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= nonfinite.n) { return; }
  let v = kx[i];
  if (is_finite(v)) { return; }
  atomicOr(&kflags[nonfinite.slot], select(select(2u, 4u, sign_bit(v)), 1u, is_nan(v)));
}
