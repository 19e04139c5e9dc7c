// Adaptive average pooling on NCHW tensors (PyTorch's bins): output row i averages input rows
// floor(i * H / OH) .. ceil((i + 1) * H / OH) - 1, columns likewise; bins may overlap when OH does not divide H.
// Uniforms (p), WG and thread_id come from its declaration, ADAPTIVE_POOL in src/graph/shaders.ts.

fn bin_start(i: u32, size: u32, out: u32) -> u32 { return (i * size) / out; }
fn bin_end(i: u32, size: u32, out: u32) -> u32 { return ((i + 1u) * size + out - 1u) / out; }

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// One thread per output: the mean of its bin.
@compute @workgroup_size(WG)
fn adaptive_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.NC * p.OH * p.OW) { return; }
  let ow = i % p.OW;
  let oh = (i / p.OW) % p.OH;
  let plane = (i / (p.OW * p.OH)) * p.H * p.W;
  let h0 = bin_start(oh, p.H, p.OH);
  let h1 = bin_end(oh, p.H, p.OH);
  let w0 = bin_start(ow, p.W, p.OW);
  let w1 = bin_end(ow, p.W, p.OW);
  var sum = 0.0;
  for (var ih = h0; ih < h1; ih++) {
    for (var iw = w0; iw < w1; iw++) { sum += x[plane + ih * p.W + iw]; }
  }
  y[i] = sum / f32((h1 - h0) * (w1 - w0));
}

@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

// One thread per input: the sum of gy / count over the bins that hold it (no atomics). Rows i with
// floor(ih * OH / H) <= i <= ceil((ih + 1) * OH / H) - 1 are the candidates; each is checked against its bin.
@compute @workgroup_size(WG)
fn adaptive_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.NC * p.H * p.W) { return; }
  let iw = i % p.W;
  let ih = (i / p.W) % p.H;
  let nc = i / (p.W * p.H);
  let oh_lo = (ih * p.OH) / p.H;
  let oh_hi = min(p.OH - 1u, ((ih + 1u) * p.OH + p.H - 1u) / p.H - 1u);
  let ow_lo = (iw * p.OW) / p.W;
  let ow_hi = min(p.OW - 1u, ((iw + 1u) * p.OW + p.W - 1u) / p.W - 1u);
  var acc = 0.0;
  for (var oh = oh_lo; oh <= oh_hi; oh++) {
    let h0 = bin_start(oh, p.H, p.OH);
    let h1 = bin_end(oh, p.H, p.OH);
    if (ih < h0 || ih >= h1) { continue; }
    for (var ow = ow_lo; ow <= ow_hi; ow++) {
      let w0 = bin_start(ow, p.W, p.OW);
      let w1 = bin_end(ow, p.W, p.OW);
      if (iw < w0 || iw >= w1) { continue; }
      acc += gy[(nc * p.OH + oh) * p.OW + ow] / f32((h1 - h0) * (w1 - w0));
    }
  }
  dx[i] = acc;
}
