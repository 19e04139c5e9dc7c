// conv2d on NCHW tensors, weights [K, C, KH, KW]: the lowered input gradient dcols folded back onto the input (col2im).
// Uniforms (p), WG and thread_id come from its declaration, CONV_KERNELS in src/graph/shaders.ts.
// The lowered layouts: src/graph/kernels/conv/gemm.ts.

@group(0) @binding(1) var<storage, read> cdcols: array<f32>;         // [N*OH*OW][groups4 * 4]
@group(0) @binding(2) var<storage, read_write> cdx: array<f32>;      // [N][C][H][W]

// Thread per input value: the sum over the taps (kh, kw) that read it, stepping kh and kw by the stride from the
// first one whose output position is whole; each step moves the output position back by one, so the loops divide
// nothing (integer division is a per-lane loop on CPU drivers).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.N * p.C * p.H * p.W) { return; }
  let w = i % p.W;
  let h = (i / p.W) % p.H;
  let c = (i / (p.W * p.H)) % p.C;
  let n = i / (p.W * p.H * p.C);
  let stride = p.groups4 * 4u;
  let th = h + p.PH;
  let tw = w + p.PW;
  let kh0 = th % p.SH;
  let kw0 = tw % p.SW;
  let ow0 = (tw - kw0) / p.SW;
  var oh = (th - kh0) / p.SH;   // kh <= th keeps oh >= 0 below
  var acc = 0.0;
  for (var kh = kh0; kh < p.KH && kh <= th; kh += p.SH) {
    if (oh < p.OH) {
      let rowbase = (n * p.OH + oh) * p.OW;
      let colbase = (c * p.KH + kh) * p.KW;
      var ow = ow0;
      for (var kw = kw0; kw < p.KW && kw <= tw; kw += p.SW) {
        if (ow < p.OW) { acc += cdcols[(rowbase + ow) * stride + colbase + kw]; }
        ow -= 1u;
      }
    }
    oh -= 1u;
  }
  cdx[i] = acc;
}
