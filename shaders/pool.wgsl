// 2-D max and average pooling on NCHW tensors, forward and backward.
// Backward runs one thread per input element and gathers from the windows that cover it (no atomics).

override MAX: bool = true;   // max pooling; false: average (count includes padding, as PyTorch's default)

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> arg: array<i32>;  // max: flat index ih*W+iw of the maximum

@compute @workgroup_size(WG)
fn pool_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.NC * p.OH * p.OW) { return; }
  let ow = i % p.OW;
  let oh = (i / p.OW) % p.OH;
  let plane = (i / (p.OW * p.OH)) * p.H * p.W;
  var best = -3.40282e38;
  var besti = -1;
  var sum = 0.0;
  for (var kh = 0u; kh < p.KH; kh++) {
    let ih = i32(oh * p.SH + kh) - i32(p.PH);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0u; kw < p.KW; kw++) {
      let iw = i32(ow * p.SW + kw) - i32(p.PW);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      let v = x[plane + u32(ih) * p.W + u32(iw)];
      if (MAX) {
        // A NaN wins (and a later NaN replaces it), as PyTorch's max pooling: NaN propagates.
        if (v > best || besti < 0 || is_nan(v)) { best = v; besti = ih * i32(p.W) + iw; }
      } else { sum += v; }
    }
  }
  if (MAX) { y[i] = best; arg[i] = besti; } else { y[i] = sum / f32(p.KH * p.KW); }
}

@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> barg: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn pool_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.NC * p.H * p.W) { return; }
  let iw = i32(i % p.W);
  let ih = i32((i / p.W) % p.H);
  let nc = i / (p.W * p.H);
  let flat = ih * i32(p.W) + iw;
  // Windows oh with oh*SH - PH <= ih <= oh*SH - PH + KH - 1.
  let oh_lo = max(0, (ih + i32(p.PH) - i32(p.KH) + i32(p.SH)) / i32(p.SH));
  let oh_hi = min(i32(p.OH) - 1, (ih + i32(p.PH)) / i32(p.SH));
  let ow_lo = max(0, (iw + i32(p.PW) - i32(p.KW) + i32(p.SW)) / i32(p.SW));
  let ow_hi = min(i32(p.OW) - 1, (iw + i32(p.PW)) / i32(p.SW));
  var acc = 0.0;
  for (var oh = oh_lo; oh <= oh_hi; oh++) {
    for (var ow = ow_lo; ow <= ow_hi; ow++) {
      let o = (nc * p.OH + u32(oh)) * p.OW + u32(ow);
      if (MAX) {
        if (barg[o] == flat) { acc += g[o]; }
      } else { acc += g[o]; }
    }
  }
  if (!MAX) { acc = acc / f32(p.KH * p.KW); }
  dx[i] = acc;
}

// Max-pool backward when windows do not overlap (stride >= kernel): each input is the maximum of at most one
// window, so one thread per output writes its gradient to the input it came from, into dx zeroed beforehand.
// It replaces pool_bwd's per-input window search (four integer divisions per input, which CPU drivers cannot
// vectorise) with one division per output.
@compute @workgroup_size(WG)
fn pool_bwd_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.NC * p.OH * p.OW) { return; }
  let nc = i / (p.OH * p.OW);
  dx[nc * p.H * p.W + u32(barg[i])] = g[i];
}
