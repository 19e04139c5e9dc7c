// conv2d on NCHW tensors, weights [K, C, KH, KW]: forward, input gradient, weight gradient.
// Weights are read as vec4 over output (forward) or input (input gradient) channels from a layout the host
// prepares ([C*KH*KW, Kpad] or [K*KH*KW, Cpad]). Each thread computes a 4x4 register tile (4 channels x 4
// neighbouring pixels or kernel columns) without workgroup memory or barriers, which suits CPU adapters.

// Uniforms (p), WG and thread_id come from its declaration, CONV2D in src/graph/shaders.ts.

override HAS_BIAS: bool = false;

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<vec4<f32>>;   // [C*KH*KW][Kpad/4]
@group(0) @binding(3) var<storage, read> fbias: array<f32>;
@group(0) @binding(4) var<storage, read_write> fy: array<f32>;

// Thread (n, kg, oh, 4 neighbouring ow): a 4-pixel x 4-channel register tile. Each weight vec4 serves four
// pixels and each input value four channels.
@compute @workgroup_size(WG)
fn conv_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let owg = (p.OW + 3u) / 4u;
  let ntile = p.OH * owg;
  if (i >= p.N * p.groups4 * ntile) { return; }
  let tile = i % ntile;
  let kg = (i / ntile) % p.groups4;
  let n = i / (ntile * p.groups4);
  let oh = tile / owg;
  let ow0 = (tile % owg) * 4u;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var c = 0u; c < p.C; c++) {
    let xplane = (n * p.C + c) * p.H * p.W;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      let wrow = ((c * p.KH + kh) * p.KW) * p.groups4 + kg;
      for (var kw = 0u; kw < p.KW; kw++) {
        let w = fw[wrow + kw * p.groups4];
        let iw0 = i32(ow0 * p.SW + kw) - i32(p.PW);
        let iw = vec4<i32>(iw0, iw0 + i32(p.SW), iw0 + 2 * i32(p.SW), iw0 + 3 * i32(p.SW));
        let ok = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
        let idx = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
        let xv = select(vec4<f32>(0.0), vec4<f32>(fx[xrow + idx.x], fx[xrow + idx.y], fx[xrow + idx.z], fx[xrow + idx.w]), ok);
        a0 += xv.x * w; a1 += xv.y * w; a2 += xv.z * w; a3 += xv.w * w;
      }
    }
  }
  let npix = p.OH * p.OW;
  let k0 = kg * 4u;
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      var b = 0.0;
      if (HAS_BIAS) { b = fbias[k]; }
      let o = (n * p.K + k) * npix + oh * p.OW + ow0;
      fy[o] = a0[j] + b;
      if (ow0 + 1u < p.OW) { fy[o + 1u] = a1[j] + b; }
      if (ow0 + 2u < p.OW) { fy[o + 2u] = a2[j] + b; }
      if (ow0 + 3u < p.OW) { fy[o + 3u] = a3[j] + b; }
    }
  }
}

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<vec4<f32>>;   // [K*KH*KW][Cpad/4]
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// Thread (n, cg, ih, 4 neighbouring iw): input channels 4*cg .. 4*cg+3 of four input pixels.
@compute @workgroup_size(WG)
fn conv_bwd_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let iwg = (p.W + 3u) / 4u;
  let ntile = p.H * iwg;
  if (i >= p.N * p.groups4 * ntile) { return; }
  let tile = i % ntile;
  let cg = (i / ntile) % p.groups4;
  let n = i / (ntile * p.groups4);
  let ih = tile / iwg;
  let iw0 = (tile % iwg) * 4u;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  let dyplane = p.OH * p.OW;
  for (var kh = 0u; kh < p.KH; kh++) {
    let th = i32(ih + p.PH) - i32(kh);
    if (th < 0 || th % i32(p.SH) != 0) { continue; }
    let oh = u32(th) / p.SH;
    if (oh >= p.OH) { continue; }
    for (var kw = 0u; kw < p.KW; kw++) {
      // Output columns reached by the four input columns through this kernel tap (stride-aligned, in range).
      let tw = vec4<i32>(i32(iw0 + p.PW) - i32(kw)) + vec4<i32>(0, 1, 2, 3);
      let sw = i32(p.SW);
      let ow = tw / vec4<i32>(sw);
      let ok = (tw >= vec4<i32>(0)) & (tw % vec4<i32>(sw) == vec4<i32>(0)) & (ow < vec4<i32>(i32(p.OW))) & (vec4<u32>(iw0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.W));
      let owc = vec4<u32>(clamp(ow, vec4<i32>(0), vec4<i32>(i32(p.OW) - 1)));
      let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), ok);
      var dyi = n * p.K * dyplane + oh * p.OW;
      var wi = (kh * p.KW + kw) * p.groups4 + cg;
      let wstep = p.KH * p.KW * p.groups4;
      for (var k = 0u; k < p.K; k++) {
        let w = bw[wi];
        let d = vec4<f32>(bdy[dyi + owc.x], bdy[dyi + owc.y], bdy[dyi + owc.z], bdy[dyi + owc.w]) * mask;
        a0 += d.x * w; a1 += d.y * w; a2 += d.z * w; a3 += d.w * w;
        dyi += dyplane;
        wi += wstep;
      }
    }
  }
  let npix = p.H * p.W;
  let c0 = cg * 4u;
  for (var j = 0u; j < 4u; j++) {
    let c = c0 + j;
    if (c < p.C) {
      let o = (n * p.C + c) * npix + ih * p.W + iw0;
      bdx[o] = a0[j];
      if (iw0 + 1u < p.W) { bdx[o + 1u] = a1[j]; }
      if (iw0 + 2u < p.W) { bdx[o + 2u] = a2[j]; }
      if (iw0 + 3u < p.W) { bdx[o + 3u] = a3[j]; }
    }
  }
}

@group(0) @binding(1) var<storage, read> wx: array<f32>;
@group(0) @binding(2) var<storage, read> wdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;   // [split][K][C][KH][KW]

// Thread (s, kg, c, kh, 4 neighbouring kw): partial weight gradient of 4 output channels x 4 kernel columns
// over images s, s + split, ... (the host sums the splits).
@compute @workgroup_size(WG)
fn conv_bwd_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let kwg = (p.KW + 3u) / 4u;
  let base = p.C * p.KH * kwg;
  if (i >= p.split * p.groups4 * base) { return; }
  let r = i % base;
  let kg = (i / base) % p.groups4;
  let s = i / (base * p.groups4);
  let kw0 = (r % kwg) * 4u;
  let kh = (r / kwg) % p.KH;
  let c = r / (kwg * p.KH);
  let k0 = kg * 4u;
  let ks = vec4<u32>(k0, min(k0 + 1u, p.K - 1u), min(k0 + 2u, p.K - 1u), min(k0 + 3u, p.K - 1u));
  let npix = p.OH * p.OW;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var n = s; n < p.N; n += p.split) {
    let xplane = (n * p.C + c) * p.H * p.W;
    let dyb = n * p.K * npix;
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      let dyrow = dyb + oh * p.OW;
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = vec4<i32>(i32(ow * p.SW + kw0) - i32(p.PW)) + vec4<i32>(0, 1, 2, 3);
        let ok = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
        let idx = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
        let xv = select(vec4<f32>(0.0), vec4<f32>(wx[xrow + idx.x], wx[xrow + idx.y], wx[xrow + idx.z], wx[xrow + idx.w]), ok);
        let o = dyrow + ow;
        let d = vec4<f32>(wdy[o + ks.x * npix], wdy[o + ks.y * npix], wdy[o + ks.z * npix], wdy[o + ks.w * npix]);
        // a_j: kernel column kw0 + j, lanes: the four output channels
        a0 += xv.x * d; a1 += xv.y * d; a2 += xv.z * d; a3 += xv.w * d;
      }
    }
  }
  let ckk = p.C * p.KH * p.KW;
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      let o = (s * p.K + k) * ckk + (c * p.KH + kh) * p.KW + kw0;
      wdw[o] = a0[j];
      if (kw0 + 1u < p.KW) { wdw[o + 1u] = a1[j]; }
      if (kw0 + 2u < p.KW) { wdw[o + 2u] = a2[j]; }
      if (kw0 + 3u < p.KW) { wdw[o + 3u] = a3[j]; }
    }
  }
}

override PADDED: bool = true;

// Weight gradient, 8 output channels x 4 kernel taps per thread. Taps are the flattened kh * KW + kw index, so
// a 5x5 kernel is 7 groups of 4 (28 for 25 taps) instead of 5 rows of 2 column groups (40 for 25). Without
// padding (PADDED false) every tap of every output pixel is inside the input, so the inner loop has no bounds
// checks: one gather of 4 input values and two of 4 output-gradient values serve 32 multiply-adds.
// Thread (s, kg = 8-channel group (p.groups4 holds their count), c, tap group); images s, s + split, ...
@compute @workgroup_size(WG)
fn conv_bwd_weight8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let kk = p.KH * p.KW;
  let tg = (kk + 3u) / 4u;
  let base = p.C * tg;
  if (i >= p.split * p.groups4 * base) { return; }
  let r = i % base;
  let kg = (i / base) % p.groups4;
  let s = i / (base * p.groups4);
  let t0 = (r % tg) * 4u;
  let c = r / tg;
  // Taps past the kernel read tap kk - 1 and are never stored.
  let tc = min(vec4<u32>(t0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(kk - 1u));
  let kh = tc / vec4<u32>(p.KW);
  let kw = tc % vec4<u32>(p.KW);
  let toff = kh * p.W + kw;
  let k0 = kg * 8u;
  let km = p.K - 1u;
  let npix = p.OH * p.OW;
  let d0 = vec4<u32>(min(k0, km), min(k0 + 1u, km), min(k0 + 2u, km), min(k0 + 3u, km)) * npix;
  let d1 = vec4<u32>(min(k0 + 4u, km), min(k0 + 5u, km), min(k0 + 6u, km), min(k0 + 7u, km)) * npix;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  for (var n = s; n < p.N; n += p.split) {
    let xplane = (n * p.C + c) * p.H * p.W;
    var o = n * p.K * npix;
    for (var oh = 0u; oh < p.OH; oh++) {
      let ihs = i32(oh * p.SH) - i32(p.PH);
      let ih = vec4<i32>(ihs) + vec4<i32>(kh);
      let rowok = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H)));
      let xrow = xplane + oh * p.SH * p.W;
      for (var ow = 0u; ow < p.OW; ow++) {
        var xv: vec4<f32>;
        if (PADDED) {
          let iw = vec4<i32>(i32(ow * p.SW) - i32(p.PW)) + vec4<i32>(kw);
          let ok = rowok & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
          let idx = vec4<u32>(clamp(ih, vec4<i32>(0), vec4<i32>(i32(p.H) - 1))) * p.W +
            vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
          xv = select(vec4<f32>(0.0), vec4<f32>(wx[xplane + idx.x], wx[xplane + idx.y], wx[xplane + idx.z], wx[xplane + idx.w]), ok);
        } else {
          let xb = xrow + ow * p.SW;
          xv = vec4<f32>(wx[xb + toff.x], wx[xb + toff.y], wx[xb + toff.z], wx[xb + toff.w]);
        }
        let g0 = vec4<f32>(wdy[o + d0.x], wdy[o + d0.y], wdy[o + d0.z], wdy[o + d0.w]);
        let g1 = vec4<f32>(wdy[o + d1.x], wdy[o + d1.y], wdy[o + d1.z], wdy[o + d1.w]);
        // a_j / b_j: tap t0 + j; lanes: output channels k0 .. k0 + 3 / k0 + 4 .. k0 + 7
        a0 += xv.x * g0; a1 += xv.y * g0; a2 += xv.z * g0; a3 += xv.w * g0;
        b0 += xv.x * g1; b1 += xv.y * g1; b2 += xv.z * g1; b3 += xv.w * g1;
        o++;
      }
    }
  }
  let ckk = p.C * kk;
  let ob = s * p.K * ckk + c * kk + t0;
  for (var j = 0u; j < 4u; j++) {
    if (t0 + j < kk) {
      for (var q = 0u; q < 4u; q++) {
        if (k0 + q < p.K) { wdw[ob + (k0 + q) * ckk + j] = array<vec4<f32>, 4>(a0, a1, a2, a3)[j][q]; }
        if (k0 + 4u + q < p.K) { wdw[ob + (k0 + 4u + q) * ckk + j] = array<vec4<f32>, 4>(b0, b1, b2, b3)[j][q]; }
      }
    }
  }
}

// Forward, 8 output channels x 4 neighbouring output pixels per thread (two weight vec4s serve four pixels,
// each input value eight channels). Without padding (PADDED false) every tap of an in-range pixel is inside
// the input: no bounds checks, only a clamp for pixels past the row end (computed, never stored).
// Thread (n, kg = 8-channel group, oh, ow0); p.groups4 counts vec4 groups of the weight layout (2 per kg).
@compute @workgroup_size(WG)
fn conv_fwd8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let owg = (p.OW + 3u) / 4u;
  let ntile = p.OH * owg;
  let ng8 = p.groups4 / 2u;
  if (i >= p.N * ng8 * ntile) { return; }
  let tile = i % ntile;
  let kg = (i / ntile) % ng8;
  let n = i / (ntile * ng8);
  let oh = tile / owg;
  let ow0 = (tile % owg) * 4u;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  let owc = min(vec4<u32>(ow0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.OW - 1u)) * p.SW;
  for (var c = 0u; c < p.C; c++) {
    let xplane = (n * p.C + c) * p.H * p.W;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.SH + kh) - i32(p.PH);
      if (PADDED && (ih < 0 || ih >= i32(p.H))) { continue; }
      let xrow = xplane + u32(ih) * p.W;
      var wi = ((c * p.KH + kh) * p.KW) * p.groups4 + 2u * kg;
      for (var kw = 0u; kw < p.KW; kw++) {
        let w0 = fw[wi];
        let w1 = fw[wi + 1u];
        wi += p.groups4;
        var xv: vec4<f32>;
        if (PADDED) {
          let iw = vec4<i32>(owc + vec4<u32>(kw)) - vec4<i32>(i32(p.PW));
          let ok = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
          let idx = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
          xv = select(vec4<f32>(0.0), vec4<f32>(fx[xrow + idx.x], fx[xrow + idx.y], fx[xrow + idx.z], fx[xrow + idx.w]), ok);
        } else {
          let idx = owc + vec4<u32>(xrow + kw);
          xv = vec4<f32>(fx[idx.x], fx[idx.y], fx[idx.z], fx[idx.w]);
        }
        a0 += xv.x * w0; a1 += xv.y * w0; a2 += xv.z * w0; a3 += xv.w * w0;
        b0 += xv.x * w1; b1 += xv.y * w1; b2 += xv.z * w1; b3 += xv.w * w1;
      }
    }
  }
  let npix = p.OH * p.OW;
  let k0 = kg * 8u;
  for (var j = 0u; j < 8u; j++) {
    let k = k0 + j;
    if (k < p.K) {
      var b = 0.0;
      if (HAS_BIAS) { b = fbias[k]; }
      let q = j % 4u;
      var v: vec4<f32>;
      if (j < 4u) { v = vec4<f32>(a0[q], a1[q], a2[q], a3[q]); } else { v = vec4<f32>(b0[q], b1[q], b2[q], b3[q]); }
      let o = (n * p.K + k) * npix + oh * p.OW + ow0;
      fy[o] = v.x + b;
      if (ow0 + 1u < p.OW) { fy[o + 1u] = v.y + b; }
      if (ow0 + 2u < p.OW) { fy[o + 2u] = v.z + b; }
      if (ow0 + 3u < p.OW) { fy[o + 3u] = v.w + b; }
    }
  }
}

// Input gradient, 8 input channels x 4 input columns per thread. The four columns share their residue mod the
// column stride (iw = rho + (4 g + j) SW), so a kernel tap either reaches all four (at four consecutive output
// columns) or none: with stride 2 no work is spent on taps that miss, where conv_bwd_input masks 3 in 4.
// Thread (n, cg = 8-channel group (2 vec4 groups of the weight layout), ih, rho, g).
@compute @workgroup_size(WG)
fn conv_bwd_input8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let gpr = ((p.W + p.SW - 1u) / p.SW + 3u) / 4u;   // column groups per residue
  let ntile = p.H * p.SW * gpr;
  let ng8 = p.groups4 / 2u;
  if (i >= p.N * ng8 * ntile) { return; }
  let tile = i % ntile;
  let cg = (i / ntile) % ng8;
  let n = i / (ntile * ng8);
  let ih = tile / (p.SW * gpr);
  let rho = (tile / gpr) % p.SW;
  let g = tile % gpr;
  let j4 = vec4<u32>(0u, 1u, 2u, 3u);
  let iw = vec4<u32>(rho + 4u * g * p.SW) + j4 * p.SW;
  let colok = iw < vec4<u32>(p.W);
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  let dyplane = p.OH * p.OW;
  let wstep = p.KH * p.KW * p.groups4;
  for (var kh = 0u; kh < p.KH; kh++) {
    let th = i32(ih + p.PH) - i32(kh);
    if (th < 0 || th % i32(p.SH) != 0) { continue; }
    let oh = u32(th) / p.SH;
    if (oh >= p.OH) { continue; }
    for (var kw = 0u; kw < p.KW; kw++) {
      let tw0 = i32(rho + p.PW) - i32(kw);     // column offset of j = 0, g = 0
      if (((tw0 % i32(p.SW)) + i32(p.SW)) % i32(p.SW) != 0) { continue; }
      let ow = vec4<i32>(tw0 / i32(p.SW) + i32(4u * g)) + vec4<i32>(j4);
      // tw0 / SW truncates toward zero; tw0 is a multiple of SW here, so it is exact.
      let ok = colok & (ow >= vec4<i32>(0)) & (ow < vec4<i32>(i32(p.OW)));
      if (!any(ok)) { continue; }
      let owc = vec4<u32>(clamp(ow, vec4<i32>(0), vec4<i32>(i32(p.OW) - 1)));
      let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), ok);
      var dyi = n * p.K * dyplane + oh * p.OW;
      var wi = (kh * p.KW + kw) * p.groups4 + 2u * cg;
      for (var k = 0u; k < p.K; k++) {
        let w0 = bw[wi];
        let w1 = bw[wi + 1u];
        let d = vec4<f32>(bdy[dyi + owc.x], bdy[dyi + owc.y], bdy[dyi + owc.z], bdy[dyi + owc.w]) * mask;
        a0 += d.x * w0; a1 += d.y * w0; a2 += d.z * w0; a3 += d.w * w0;
        b0 += d.x * w1; b1 += d.y * w1; b2 += d.z * w1; b3 += d.w * w1;
        dyi += dyplane;
        wi += wstep;
      }
    }
  }
  let npix = p.H * p.W;
  let c0 = cg * 8u;
  for (var j = 0u; j < 8u; j++) {
    let c = c0 + j;
    if (c < p.C) {
      let q = j % 4u;
      var v: vec4<f32>;
      if (j < 4u) { v = vec4<f32>(a0[q], a1[q], a2[q], a3[q]); } else { v = vec4<f32>(b0[q], b1[q], b2[q], b3[q]); }
      let o = (n * p.C + c) * npix + ih * p.W;
      if (colok.x) { bdx[o + iw.x] = v.x; }
      if (colok.y) { bdx[o + iw.y] = v.y; }
      if (colok.z) { bdx[o + iw.z] = v.z; }
      if (colok.w) { bdx[o + iw.w] = v.w; }
    }
  }
}

// ---- Lowering to matrix products (im2col): the convolution as products on the tuned matmul kernels ----
// The lowered matrix has one row per output pixel (n, oh, ow) and one column per tap (c, kh, kw); its rows are
// groups4 * 4 long so the matmul kernels read them as vec4 (im2col_rows, generated by src/graph/kernels/conv/im2col.ts,
// writes the padding as zeros). Then
//   forward         Y^T  [N*OH*OW, K]    = cols @ W^T      (matmulK lays the rows out as NCHW, with the bias)
//   weight gradient dW   [K, C*KH*KW]    = dY^T @ cols     (dY^T: dy as [K, N*OH*OW])
//   input gradient  dcols [N*OH*OW, C*KH*KW] = dY @ W (dY: dy as [N*OH*OW, K]; the padding columns are not read),
//                   folded back onto the input by col2im_rows (a gather, so each input value is written once and
//                   the sum has a fixed order).

@group(0) @binding(1) var<storage, read> cdcols: array<f32>;         // [N*OH*OW][groups4 * 4]
@group(0) @binding(2) var<storage, read_write> cdx: array<f32>;      // [N][C][H][W]

// Thread per input value: the sum over the taps (kh, kw) that read it, stepping kh and kw by the stride from the
// first one whose output position is whole; each step moves the output position back by one, so the loops divide
// nothing (integer division is a per-lane loop on CPU drivers).
@compute @workgroup_size(WG)
fn col2im_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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

// The lowered forward's product laid out as NCHW, plus the bias: Y^T [N*OH*OW][groups4 * 4], or with KMAJOR the
// transposed lowering's Y [K][N*OH*OW].
override KMAJOR: bool = false;
@group(0) @binding(1) var<storage, read> ryt: array<f32>;
@group(0) @binding(2) var<storage, read> rbias: array<f32>;
@group(0) @binding(3) var<storage, read_write> ry: array<f32>;       // [N][K][OH][OW]

@compute @workgroup_size(WG)
fn rows_to_nchw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let npix = p.OH * p.OW;
  if (i >= p.N * p.K * npix) { return; }
  let pix = i % npix;
  let k = (i / npix) % p.K;
  let n = i / (npix * p.K);
  var v = ryt[select((n * npix + pix) * p.groups4 * 4u + k, (k * p.N + n) * npix + pix, KMAJOR)];
  if (HAS_BIAS) { v += rbias[k]; }
  ry[i] = v;
}

// The forward lowered the other way round (conv2dGemmK, where the products' shapes favour it):
//   Y [K, N*OH*OW] = W [K, C*KH*KW] @ cols^T, W read in place and cols^T [C*KH*KW, N*OH*OW] written by
//   im2col_cols; rows_to_nchw (KMAJOR) adds the bias and lays Y out as NCHW.

@group(0) @binding(1) var<storage, read> tx: array<f32>;
@group(0) @binding(2) var<storage, read_write> tcols: array<f32>;  // [C*KH*KW][N*OH*OW]

// Thread (c, kh, n, oh): the KW x OW values that input row feeds, into KW rows of cols^T (OW neighbours each).
// Per-lane integer divisions are dear on CPU drivers: this grain needs five per thread, a vec4 of four scattered
// pixels per thread twenty (docs/kernel-measurements.md#im2col-cols).
@compute @workgroup_size(WG)
fn im2col_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  if (i >= p.C * p.KH * p.N * p.OH) { return; }
  let oh = i % p.OH;
  let n = (i / p.OH) % p.N;
  let kh = (i / (p.OH * p.N)) % p.KH;
  let c = i / (p.OH * p.N * p.KH);
  let rows = p.N * p.OH * p.OW;
  let ih = i32(oh * p.SH + kh) - i32(p.PH);
  let rowok = ih >= 0 && ih < i32(p.H);
  let xrow = i32(((n * p.C + c) * p.H) * p.W) + ih * i32(p.W);
  var o = (c * p.KH + kh) * p.KW * rows + (n * p.OH + oh) * p.OW;
  for (var kw = 0u; kw < p.KW; kw++) {
    for (var ow = 0u; ow < p.OW; ow++) {
      let iw = i32(ow * p.SW + kw) - i32(p.PW);
      var v = 0.0;
      if (rowok && iw >= 0 && iw < i32(p.W)) { v = tx[u32(xrow + iw)]; }
      tcols[o + ow] = v;
    }
    o += rows;
  }
}

@group(0) @binding(1) var<storage, read> tdy: array<f32>;             // [N][K][OH][OW]
@group(0) @binding(2) var<storage, read_write> tpix: array<vec4<f32>>; // [N*OH*OW][groups4]

// dy to pixel rows for the generated weight-gradient tiles: thread (n, pixel) writes the pixel's groups4 vec4s,
// channels past K as 0 (so the padding needs no fill).
@compute @workgroup_size(WG)
fn nchw_to_pixels4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let npix = p.OH * p.OW;
  if (i >= p.N * npix) { return; }
  let pix = i % npix;
  let n = i / npix;
  var src = n * p.K * npix + pix;
  var k = 0u;
  for (var g = 0u; g < p.groups4; g++) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      if (k < p.K) { v[j] = tdy[src]; }
      src += npix;
      k++;
    }
    tpix[i * p.groups4 + g] = v;
  }
}

@group(0) @binding(1) var<storage, read> tdy4: array<vec4<f32>>;       // [N][K][OH*OW / 4]

// The same transpose when OH*OW is a multiple of 4: thread (n, 4 pixels) loads each channel's 4 pixels as one vec4
// and transposes 4 channels x 4 pixels in registers, a quarter of nchw_to_pixels4's loads (CPU drivers run each
// storage load lane by lane, whatever its width).
@compute @workgroup_size(WG)
fn nchw4_to_pixels4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(gid, nwg);
  let quads = p.OH * p.OW / 4u;
  if (i >= p.N * quads) { return; }
  let n = i / quads;
  let src = n * p.K * quads + i % quads;
  let dst = 4u * i * p.groups4;       // the quad's first pixel is 4 i
  for (var g = 0u; g < p.groups4; g++) {
    let k = 4u * g;
    let last = p.K - 1u;              // channels past K read K - 1 (in bounds) and are replaced by 0
    let z = vec4<f32>(0.0);
    let c0 = select(z, tdy4[src + min(k, last) * quads], k < p.K);   // a whole padding group past K: zeros
    let c1 = select(z, tdy4[src + min(k + 1u, last) * quads], k + 1u < p.K);
    let c2 = select(z, tdy4[src + min(k + 2u, last) * quads], k + 2u < p.K);
    let c3 = select(z, tdy4[src + min(k + 3u, last) * quads], k + 3u < p.K);
    tpix[dst + g] = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
    tpix[dst + p.groups4 + g] = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
    tpix[dst + 2u * p.groups4 + g] = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
    tpix[dst + 3u * p.groups4 + g] = vec4<f32>(c0.w, c1.w, c2.w, c3.w);
  }
}
