// conv2d on NCHW tensors, weights [K, C, KH, KW]: forward, input gradient, weight gradient.
// Weights are read as vec4 over output (forward) or input (input gradient) channels from a layout the host
// prepares ([C*KH*KW, Kpad] or [K*KH*KW, Cpad]); each thread computes 4 channels of one pixel, no barriers.

override WG: u32 = 64u;
override HAS_BIAS: bool = false;

struct Params {
  N: u32, C: u32, H: u32, W: u32,
  K: u32, OH: u32, OW: u32, KH: u32,
  KW: u32, SH: u32, SW: u32, PH: u32,
  PW: u32, groups4: u32, split: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn thread_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<vec4<f32>>;   // [C*KH*KW][Kpad/4]
@group(0) @binding(3) var<storage, read> fbias: array<f32>;
@group(0) @binding(4) var<storage, read_write> fy: array<f32>;

// Thread (n, kg, oh, ow): output channels 4*kg .. 4*kg+3 of pixel (oh, ow).
@compute @workgroup_size(WG)
fn conv_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let npix = p.OH * p.OW;
  if (i >= p.N * p.groups4 * npix) { return; }
  let pix = i % npix;
  let kg = (i / npix) % p.groups4;
  let n = i / (npix * p.groups4);
  let oh = pix / p.OW;
  let ow = pix % p.OW;
  var acc = vec4<f32>(0.0);
  for (var c = 0u; c < p.C; c++) {
    let xplane = (n * p.C + c) * p.H * p.W;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      let wrow = ((c * p.KH + kh) * p.KW) * p.groups4 + kg;
      for (var kw = 0u; kw < p.KW; kw++) {
        let iw = i32(ow * p.SW + kw) - i32(p.PW);
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        acc += fx[xrow + u32(iw)] * fw[wrow + kw * p.groups4];
      }
    }
  }
  let k0 = kg * 4u;
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      var v = acc[j];
      if (HAS_BIAS) { v += fbias[k]; }
      fy[(n * p.K + k) * npix + pix] = v;
    }
  }
}

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<vec4<f32>>;   // [K*KH*KW][Cpad/4]
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// Thread (n, cg, ih, iw): input channels 4*cg .. 4*cg+3 of input pixel (ih, iw).
@compute @workgroup_size(WG)
fn conv_bwd_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let npix = p.H * p.W;
  if (i >= p.N * p.groups4 * npix) { return; }
  let pix = i % npix;
  let cg = (i / npix) % p.groups4;
  let n = i / (npix * p.groups4);
  let ih = pix / p.W;
  let iw = pix % p.W;
  var acc = vec4<f32>(0.0);
  for (var kh = 0u; kh < p.KH; kh++) {
    let th = i32(ih + p.PH) - i32(kh);
    if (th < 0 || th % i32(p.SH) != 0) { continue; }
    let oh = u32(th) / p.SH;
    if (oh >= p.OH) { continue; }
    for (var kw = 0u; kw < p.KW; kw++) {
      let tw = i32(iw + p.PW) - i32(kw);
      if (tw < 0 || tw % i32(p.SW) != 0) { continue; }
      let ow = u32(tw) / p.SW;
      if (ow >= p.OW) { continue; }
      for (var k = 0u; k < p.K; k++) {
        acc += bdy[((n * p.K + k) * p.OH + oh) * p.OW + ow] * bw[((k * p.KH + kh) * p.KW + kw) * p.groups4 + cg];
      }
    }
  }
  let c0 = cg * 4u;
  for (var j = 0u; j < 4u; j++) {
    let c = c0 + j;
    if (c < p.C) { bdx[(n * p.C + c) * npix + pix] = acc[j]; }
  }
}

@group(0) @binding(1) var<storage, read> wx: array<f32>;
@group(0) @binding(2) var<storage, read> wdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;   // [split][K][C][KH][KW]

// Thread (s, kg, c, kh, kw): partial weight gradient of 4 output channels over images s, s+split, ...
@compute @workgroup_size(WG)
fn conv_bwd_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let ckk = p.C * p.KH * p.KW;
  if (i >= p.split * p.groups4 * ckk) { return; }
  let r = i % ckk;
  let kg = (i / ckk) % p.groups4;
  let s = i / (ckk * p.groups4);
  let kw = r % p.KW;
  let kh = (r / p.KW) % p.KH;
  let c = r / (p.KW * p.KH);
  let k0 = kg * 4u;
  let ks = vec4<u32>(k0, min(k0 + 1u, p.K - 1u), min(k0 + 2u, p.K - 1u), min(k0 + 3u, p.K - 1u));
  let npix = p.OH * p.OW;
  var acc = vec4<f32>(0.0);
  for (var n = s; n < p.N; n += p.split) {
    let xplane = (n * p.C + c) * p.H * p.W;
    let dyb = n * p.K * npix;
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      let dyrow = dyb + oh * p.OW;
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = i32(ow * p.SW + kw) - i32(p.PW);
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        let xv = wx[xrow + u32(iw)];
        let o = dyrow + ow;
        acc += xv * vec4<f32>(wdy[o + ks.x * npix], wdy[o + ks.y * npix], wdy[o + ks.z * npix], wdy[o + ks.w * npix]);
      }
    }
  }
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + j;
    if (k < p.K) { wdw[(s * p.K + k) * ckk + r] = acc[j]; }
  }
}
