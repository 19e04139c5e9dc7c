// The generated weight-gradient tiles of a conv2d: per kernel row, and per output-channel lane (SwiftShader).
import {loopSteps} from '../../kernel-def.js';
import {checkSegments4, declare, groupLanes, laneOf, laneType, narrow, realGroups, segment4, convTileName, type Entry,
  type ConvTile, type ConvTileKernel} from './tile-gen.js';

/**
 * A weight-gradient tile (entry point `main`, 1-D launch; any stride and padding), generated per kernel width
 * `kw` and column stride `sw` and declared at its first use. Reads dy transposed to [N, OH, OW, Kpad] (vec4 over
 * output channels) and writes partial sums [split][K][C][KH][KW] like conv_bwd_weight8. Thread (batch part s,
 * group of 4 * groups output channels, input channel c, kernel row kh) holds all KW taps of its kernel row; per
 * `pixels` output columns it loads the input row segment ((pixels - 1) * SW + KW values) and pixels x groups vec4s
 * of dy once, for pixels x groups x KW vec4 multiply-adds.
 */
export function convBwdWeightKernel(t: ConvTile, kw: number, sw: number): ConvTileKernel {
  const rows = t.rows ?? 1;
  if (!(Number.isInteger(rows) && rows >= 1)) throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: rows must be a positive integer, got ${rows}`);
  const direct = !!t.dyDirect4;
  const name = `w-k${4 * t.groups}p${t.pixels}${t.segments4 ? 'v' : ''}${rows > 1 ? `r${rows}` : ''}${direct ? 'd' : ''}` +
    `${t.lanes ? `l${t.lanes}` : ''}${t.exact ? 'x' : ''}${t.bias ? 'b' : ''}${t.texture ? 't' : ''}-kw${kw}s${sw}`;
  checkSegments4(t, false);
  if (direct && t.pixels % 4 !== 0) throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: reading dy in place needs 4k pixels`);
  const bindings = [`@group(0) @binding(1) var<storage, read> wx: array<${t.segments4 ? 'vec4<f32>' : 'f32'}>;`,
    `@group(0) @binding(2) var<storage, read> wdy: array<vec4<f32>>;   // ${direct ? '[N][K][OH][OW/4]' : '[N][OH][OW][Kpad/4]'}`,
    `@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;   // [split][K][C][KH][KW]${t.bias ? '[K]' : ''}, ` +
      'parts padded to vec4s'];
  if (t.bias) bindings.push('@group(0) @binding(4) var<storage, read_write> wdb: array<f32>;   // [K] where split == 1');
  return declare(name, bindings, () => {
    const G = t.groups, P = t.pixels, S = (P - 1) * sw + kw, R = rows;
    const gg = realGroups(t), pp = [...Array(P).keys()], ss = [...Array(S).keys()], kk = [...Array(kw).keys()];
    const rr = [...Array(R).keys()];
    // Output channels the thread really holds (its vec4 lanes past ConvTile.lanes are never loaded).
    const realChannels = t.lanes ?? 4 * G;
    const L: string[] = [];
    // Thread (s, kg, c, block of R kernel rows from kh0); rows past KH are computed from a clamped row, masked.
    L.push(`  let ng = p.groups4 / ${G}u;`);
    L.push(`  let nkh = (p.KH + ${R - 1}u) / ${R}u;`);
    L.push('  if (i >= p.split * ng * p.C * nkh) { return; }');
    L.push(`  let kh0 = (i % nkh) * ${R}u;`);
    L.push('  let c = (i / nkh) % p.C;');
    L.push('  let kg = (i / (nkh * p.C)) % ng;');
    L.push('  let s = i / (nkh * p.C * ng);');
    // Part s takes a contiguous run of the N * OH (image, output row) pairs: parts can outnumber the images, so a
    // first layer with one thread per part (LeNet's conv1: 6 channels, one input channel, 5 rows per thread) still
    // spreads over several workgroups, and so over the cores of a CPU driver, which runs a workgroup on one core.
    L.push('  let pairs = p.N * p.OH;');
    L.push('  let per = (pairs + p.split - 1u) / p.split;');
    L.push('  let f0 = s * per;');
    L.push('  let f1 = min(pairs, f0 + per);');
    const acc = (r: number, k: number, g: number) => (R > 1 ? `a${r}_${k}_${g}` : `a${k}_${g}`);
    for (const r of rr) {
      for (const k of kk) for (const g of gg) L.push(`  var ${acc(r, k, g)} = ${laneType(groupLanes(t, g))}(0.0);`);
    }
    if (t.bias) for (const g of gg) L.push(`  var bsum${g} = ${laneType(groupLanes(t, g))}(0.0);`);
    L.push('  for (var f = f0; f < f1; f++) {');
    L.push('      let n = f / p.OH;');
    L.push('      let oh = f % p.OH;');
    const exact = !!t.exact;
    if (exact) {
      for (const r of rr) L.push(`      let xrow${R > 1 ? r : ''} = ((n * p.C + c) * p.H + oh * p.SH + kh0 + ${r}u) * p.W;`);
    } else if (R === 1) {
      L.push('      let ih = i32(oh * p.SH + kh0) - i32(p.PH);');
      L.push('      if (ih < 0 || ih >= i32(p.H)) { continue; }');
      L.push('      let xrow = ((n * p.C + c) * p.H + u32(ih)) * p.W;');
    } else {
      // Each of the R rows: its input row (clamped into the plane) and whether it is real.
      for (const r of rr) {
        L.push(`      let ih${r} = i32(oh * p.SH + kh0 + ${r}u) - i32(p.PH);`);
        L.push(`      let ok${r} = kh0 + ${r}u < p.KH && ih${r} >= 0 && ih${r} < i32(p.H);`);
        L.push(`      let xrow${r} = ((n * p.C + c) * p.H + u32(clamp(ih${r}, 0, i32(p.H) - 1))) * p.W;`);
      }
    }
    if (direct) {
      // Channel j of the thread's 4 * G: its dy row (clamped to channel K - 1; masked past K).
      for (let j = 0; j < realChannels; j++) {
        L.push(`      let k${j} = ${4 * G}u * kg + ${j}u;`);
        if (!exact) L.push(`      let k${j}ok = k${j} < p.K;`);
        L.push(`      let k${j}row = ((n * p.K + ${exact ? `k${j}` : `min(k${j}, p.K - 1u)`}) * p.OH + oh) * (p.OW / 4u);`);
      }
    } else {
      L.push(`      let dyrow = (n * p.OH + oh) * p.OW * p.groups4 + ${G}u * kg;`);
    }
    L.push(`      for (var ow0 = 0u; ow0 < p.OW; ow0 += ${P}u) {`);
    // Output columns past the row's end read a clamped column times 0. dy is loaded once for all R rows.
    if (direct) {
      // OW % 4 == 0 and ow0 % 4 == 0: each vec4 of 4 pixels lies wholly inside the row or wholly past its end.
      for (let m = 0; m < P / 4; m++) {
        if (exact) {
          for (let j = 0; j < realChannels; j++) L.push(`        let v${j}_${m} = wdy[k${j}row + ow0 / 4u + ${m}u];`);
          continue;
        }
        L.push(`        let m${m}ok = ow0 + ${4 * m}u < p.OW;`);
        L.push(`        let m${m}i = min(ow0 / 4u + ${m}u, p.OW / 4u - 1u);`);
        for (let j = 0; j < realChannels; j++) {
          L.push(`        let v${j}_${m} = select(vec4<f32>(0.0), wdy[k${j}row + m${m}i], m${m}ok && k${j}ok);`);
        }
      }
      for (const q of pp) {
        for (const g of gg) {
          const n = groupLanes(t, g);
          const lanes = [...Array(n).keys()].map((c) => `v${4 * g + c}_${q >> 2}[${q & 3}]`).join(', ');
          L.push(`        let d${q}_${g} = ${laneType(n)}(${lanes});`);
        }
      }
    } else {
      for (const q of pp) {
        L.push(`        let q${q}ok = ow0 + ${q}u < p.OW;`);
        L.push(`        let q${q}i = dyrow + min(ow0 + ${q}u, p.OW - 1u) * p.groups4;`);
        for (const g of gg) {
          const n = groupLanes(t, g);
          L.push(`        let d${q}_${g} = select(${laneType(n)}(0.0), wdy[q${q}i + ${g}u]${narrow(n)}, q${q}ok);`);
        }
      }
    }
    // The bias gradient: the pixels' dy (zero past the row's end and K), summed by every thread, stored by some.
    if (t.bias) for (const g of gg) L.push(`        bsum${g} += ${pp.map((q) => `d${q}_${g}`).join(' + ')};`);
    if (!exact) for (const j of ss) L.push(`        let x${j}c = i32(ow0 * ${sw}u + ${j}u) - i32(p.PW);`);
    for (const r of rr) {
      const row = R > 1 ? `xrow${r}` : 'xrow', sx = R > 1 ? `s${r}_` : 's', seg = R > 1 ? `x${r}_` : 'x';
      const rowOk = R > 1 ? ` && ok${r}` : '';
      // Input column of segment entry j: ow0 * SW + j - PW; outside the row it reads a clamped column times 0. An
      // exact tile's segment lies inside its row (with vec4s, W % 4 == 0, so does each one it touches).
      // With vec4 segments (W % 4 == 0, PW % 4 == 0, pixels % 4 == 0) the segment starts 4-aligned.
      if (t.segments4) {
        L.push(...segment4('wx', 'p.N * p.C * p.H * p.W', `i32(${row} + ow0 * ${sw}u) - i32(p.PW)`, S, seg, '        ',
          !exact));
      }
      for (const j of ss) {
        if (exact) {
          L.push(`        let ${sx}${j} = ${t.segments4 ? `${seg}${j}v` : `wx[${row} + ow0 * ${sw}u + ${j}u]`};`);
          continue;
        }
        const value = t.segments4 ? `${seg}${j}v` : `wx[${row} + u32(clamp(x${j}c, 0, i32(p.W) - 1))]`;
        L.push(`        let ${sx}${j} = select(0.0, ${value}, x${j}c >= 0 && x${j}c < i32(p.W)${rowOk});`);
      }
      for (const k of kk) for (const q of pp) for (const g of gg) L.push(`        ${acc(r, k, g)} += ${sx}${q * sw + k} * d${q}_${g};`);
    }
    L.push('      }');
    L.push('  }');
    // Split parts are rows padded to whole vec4s, for reduce_rows4; one part is the gradient itself, unpadded.
    L.push('  let dwsize = p.K * p.C * p.KH * p.KW;');
    L.push(`  let pstride = select(dwsize, (dwsize + ${t.bias ? 'p.K + ' : ''}3u) / 4u * 4u, p.split > 1u);`);
    if (t.bias) {
      // Input channel 0's threads of the first kernel rows: one a part and channel group. Split parts hold the bias
      // after dW's values; one part writes it to its own tensor.
      L.push('  if (c == 0u && kh0 == 0u) {');
      for (const g of gg) {
        const n = groupLanes(t, g);
        for (let j = 0; j < n; j++) {
          L.push(`    { let k = ${4 * G}u * kg + ${4 * g + j}u;`);
          L.push(`      if (k < p.K) { if (p.split > 1u) { wdw[s * pstride + dwsize + k] = ${laneOf(`bsum${g}`, n, j)}; } ` +
            `else { wdb[k] = ${laneOf(`bsum${g}`, n, j)}; } } }`);
        }
      }
      L.push('  }');
    }
    for (const r of rr) {
      for (const g of gg) {
        const n = groupLanes(t, g);
        for (let j = 0; j < n; j++) {
          L.push(`  { let k = ${4 * G}u * kg + ${4 * g + j}u;`);
          L.push(`    if (k < p.K && kh0 + ${r}u < p.KH) {`);
          L.push(`      let o = s * pstride + ((k * p.C + c) * p.KH + kh0 + ${r}u) * p.KW;`);
          for (const k of kk) L.push(`      wdw[o + ${k}u] = ${laneOf(acc(r, k, g), n, j)};`);
          L.push('    }');
          L.push('  }');
        }
      }
    }
    return L;
  }, undefined, (p) => weightTileSteps(p, t.pixels), t.texture ? ['wx', 'wdy'] : []);
}

/**
 * The weight tile's loops: its part of the (image, output row) pairs (rows outside the input skipped), and in each
 * the row in steps of `pixels`.
 */
export const weightTileSteps = (p: {N: number; OH: number; OW: number; split: number}, pixels: number): number =>
  loopSteps(Math.ceil(p.N * p.OH / p.split), loopSteps(Math.ceil(p.OW / pixels))) + 8;

/** The shape a lane-per-channel weight-gradient kernel is generated for (convBwdWeightLanesKernel). */
export interface WeightLanesShape {
  /** Kernel rows and columns, dy's row width in vec4s, x's row width (floats). */
  KH: number; KW: number; OW4: number; W: number;
  /** Invocations per workgroup (SIMD lanes on CPU drivers), and output channels per invocation, `lanes` apart. */
  lanes: number; perLane: number;
  /** Also sum the bias gradient from the dy rows loaded (the workgroups of input channel 0 store it). */
  bias?: boolean;
}

/**
 * A weight-gradient kernel for unpadded, column-stride-1 convolutions whose dy rows are a multiple of 4 wide,
 * written for CPU drivers that run a workgroup's invocations as SIMD lanes (SwiftShader). Each invocation takes
 * `perLane` output channels; its workgroup fixes (output-channel block, input channel c, batch part s). Every x
 * load then has the same address in every lane, and only dy's rows (one channel per lane) are gathered. The
 * invocation holds perLane x KH x KW vec4 accumulators over 4 neighbouring output columns (dW[k, c, kh, kw] = sum
 * over n, oh, ow of dy[n, k, oh, ow] * x[n, c, oh * SH + kh, ow + kw]); the windows x[ow + kw ..] are regrouped
 * from the row's loaded vec4s, free on a CPU driver, where a vec4 is 4 registers per lane. The 4 columns are
 * summed at the end. Same output as convBwdWeightKernel: partial sums [split][K][C][KH][KW], parts padded to vec4s
 * when split > 1.
 */
export function convBwdWeightLanesKernel(s: WeightLanesShape): ConvTileKernel {
  const {KH, KW, OW4, W, lanes, perLane: P, bias = false} = s;
  const segment = 4 * OW4 + KW - 1;
  if (segment > W) throw new Error(`webgpu-transfer: weight-gradient lanes kernel: rows of ${4 * OW4} outputs and ${KW} taps need ${segment} inputs, W is ${W}`);
  const vecX = W % 4 === 0;
  const name = `wl-${KH}x${KW}-ow${4 * OW4}-w${W}-l${lanes}x${P}${bias ? 'b' : ''}`;
  const loads = Math.ceil(segment / (vecX ? 4 : 1));
  const bindings = [`@group(0) @binding(1) var<storage, read> wx: array<${vecX ? 'vec4<f32>' : 'f32'}>;   // [N][C][H][W]`,
    '@group(0) @binding(2) var<storage, read> wdy: array<vec4<f32>>;   // [N][K][OH][OW/4]',
    `@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;   // [split][K][C][KH][KW]${bias ? '[K]' : ''}, ` +
      'parts padded to vec4s'];
  if (bias) bindings.push('@group(0) @binding(4) var<storage, read_write> wdb: array<f32>;   // [K] where split == 1');
  const entry: Entry = {args: '@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, ' +
    '@builtin(num_workgroups) nwg: vec3<u32>', prologue: [], workgroupSize: lanes};
  return declare(name, bindings, () => {
    const L: string[] = [];
    // Workgroup (s, kb, c), c fastest; channels past K compute channel K - 1 and store nothing.
    L.push('  let wgi = wid.x + wid.y * nwg.x;');
    L.push(`  let nkb = (p.K + ${lanes * P - 1}u) / ${lanes * P}u;`);
    L.push('  let c = wgi % p.C;');
    L.push('  let kb = (wgi / p.C) % nkb;');
    L.push('  let s = wgi / (p.C * nkb);');
    L.push('  if (s >= p.split) { return; }');
    for (let j = 0; j < P; j++) {
      L.push(`  let k${j} = kb * ${lanes * P}u + ${j * lanes}u + lid.x;`);
      L.push(`  let k${j}r = min(k${j}, p.K - 1u);`);
    }
    L.push('  let pairs = p.N * p.OH;');
    L.push('  let per = (pairs + p.split - 1u) / p.split;');
    L.push('  let f0 = s * per;');
    L.push('  let f1 = min(pairs, f0 + per);');
    const acc = (j: number, kh: number, kw: number) => `a${j}_${kh}_${kw}`;
    for (let j = 0; j < P; j++) {
      for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) L.push(`  var ${acc(j, kh, kw)} = vec4<f32>(0.0);`);
    }
    if (bias) for (let j = 0; j < P; j++) L.push(`  var bsum${j} = vec4<f32>(0.0);`);
    L.push('  for (var f = f0; f < f1; f++) {');
    L.push('    let n = f / p.OH;');
    L.push('    let oh = f % p.OH;');
    for (let j = 0; j < P; j++) {
      L.push(`    let dyrow${j} = ((n * p.K + k${j}r) * p.OH + oh) * ${OW4}u;`);
      for (let m = 0; m < OW4; m++) L.push(`    let d${j}_${m} = wdy[dyrow${j} + ${m}u];`);
      if (bias) L.push(`    bsum${j} += ${[...Array(OW4).keys()].map((m) => `d${j}_${m}`).join(' + ')};`);
    }
    // Input column i of the row's loaded segment, as a WGSL expression.
    const xi = (kh: number, i: number) => (vecX ? `x${kh}_${i >> 2}[${i & 3}]` : `x${kh}_${i}`);
    for (let kh = 0; kh < KH; kh++) {
      L.push(`    let xrow${kh} = ((n * p.C + c) * p.H + oh * p.SH + ${kh}u) * ${vecX ? W / 4 : W}u;`);
      for (let i = 0; i < loads; i++) L.push(`    let x${kh}_${i} = wx[xrow${kh} + ${i}u];`);
      for (let kw = 0; kw < KW; kw++) {
        for (let m = 0; m < OW4; m++) {
          L.push(`    let w${kh}_${kw}_${m} = vec4<f32>(${[0, 1, 2, 3].map((q) => xi(kh, 4 * m + kw + q)).join(', ')});`);
          for (let j = 0; j < P; j++) L.push(`    ${acc(j, kh, kw)} += d${j}_${m} * w${kh}_${kw}_${m};`);
        }
      }
    }
    L.push('  }');
    L.push('  let dwsize = p.K * p.C * p.KH * p.KW;');
    L.push(`  let pstride = select(dwsize, (dwsize + ${bias ? 'p.K + ' : ''}3u) / 4u * 4u, p.split > 1u);`);
    for (let j = 0; j < P; j++) {
      if (bias) {
        // Input channel 0's workgroups store the bias: after dW's values in a part, or in its own tensor.
        L.push(`  if (c == 0u && k${j} < p.K) {`);
        L.push(`    let b = dot(bsum${j}, vec4<f32>(1.0));`);
        L.push(`    if (p.split > 1u) { wdw[s * pstride + dwsize + k${j}] = b; } else { wdb[k${j}] = b; }`);
        L.push('  }');
      }
      L.push(`  if (k${j} < p.K) {`);
      L.push(`    let o = s * pstride + (k${j} * p.C + c) * ${KH * KW}u;`);
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) L.push(`    wdw[o + ${kh * KW + kw}u] = dot(${acc(j, kh, kw)}, vec4<f32>(1.0));`);
      }
      L.push('  }');
    }
    return L;
  }, entry);
}
