// The generated input-gradient tile of a conv2d (see tile-gen.ts for the tile and its declaration).
import {loopSteps} from '../../kernel-def.js';
import {checkSegments4, declare, groupLanes, laneType, narrow, outType, realGroups, rowTiles, segment4, storeRows,
  uniformSuffix, weightBinding, convTileName, type ConvTile, type ConvTileKernel} from './tile-gen.js';

/**
 * An input-gradient tile (entry point `main`, 1-D launch; any padding; strided only over whole rows, see
 * ConvTile.wholeRow), generated per kernel width `kw` and declared at its first use. Thread (n, group of 4 * groups
 * input channels, input row ih, `pixels` neighbouring input columns from iw0): dx[n, c, ih, iw0 + q] = sum over k,
 * kh, kw of
 * dy[n, k, ih + PH - kh, iw0 + q + PW - kw] * w[k, c, kh, kw], taps outside dy contributing zero. For each (kh, k)
 * the dy row segment of columns iw0 + PW - (KW - 1) .. iw0 + PW + pixels - 1 is loaded once and serves all KW taps.
 * Same bindings and weight layout ([K * KH * KW, Cpad] read as vec4) as conv_bwd_input8 in shaders/conv2d/input8.wgsl.
 */
export function convBwdInputKernel(t: ConvTile, kw: number, uniformWeights = 0): ConvTileKernel {
  const whole = t.wholeRow;
  const sh = whole?.SH ?? 1, sw = whole?.SW ?? 1;
  const strides = sh > 1 || sw > 1 ? `s${sh}x${sw}` : '';
  const images = t.images ?? 1;
  if (images > 1 && !whole) throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: several images per thread need whole rows`);
  const rowTag = whole ? `-row${whole.PW}_${whole.OW}${strides}${images > 1 ? `i${images}` : ''}` : '';
  const name = `in-${convTileName(t)}-kw${kw}${rowTag}${uniformSuffix(uniformWeights)}`;
  checkSegments4(t, false);
  const bindings = [`@group(0) @binding(1) var<storage, read> bdy: array<${t.segments4 ? 'vec4<f32>' : 'f32'}>;`,
    weightBinding('bw', uniformWeights),
    `@group(0) @binding(3) var<storage, read_write> bdx: array<${outType(t)}>;`];
  // Its loops: the kernel rows (those outside dy skipped; whole rows: every sh-th), and in each the output channels.
  return declare(name, bindings, () => (whole ? wholeRowInputBody(t, kw, whole) : segmentInputBody(t, kw)), undefined,
    (p) => loopSteps(Math.ceil(p.KH / sh), loopSteps(p.K)) + 8, t.texture ? ['bdy'] : []);
}

/** Both input-gradient bodies' end: the (kh, k) loops close, then row ih's pixels are stored. */
function inputBodyEnd(t: ConvTile): string[] {
  return ['      dyi += dyplane;', '      wi += wstep;', '    }', '  }', '  let npix = p.H * p.W;',
    ...storeRows(t, {chan: 'c', group: 'cg', bound: 'p.C', out: 'bdx', offset: '(n * p.C + c) * npix + ih * p.W + iw0',
      col0: 'iw0', width: 'p.W', vec4: t.stores4})];
}

/** The input-gradient tile over row segments (any width; stride 1): see convBwdInputKernel. */
function segmentInputBody(t: ConvTile, kw: number): string[] {
  const G = t.groups, P = t.pixels, S = P + kw - 1;
  const gg = realGroups(t), pp = [...Array(P).keys()], ss = [...Array(S).keys()];
  const L = rowTiles(P, G, 'p.H', 'p.W', 'cg', 'ih', 'iw0');
  // Segment column j is dy column iw0 + PW + j - (KW - 1); outside dy it reads a clamped column, multiplied by 0.
  for (const j of ss) {
    L.push(`  let o${j} = i32(iw0 + p.PW + ${j}u) - ${kw - 1};`);
    L.push(`  let c${j} = u32(clamp(o${j}, 0, i32(p.OW) - 1));`);
    L.push(`  let m${j} = o${j} >= 0 && o${j} < i32(p.OW);`);
  }
  for (const g of gg) for (const q of pp) L.push(`  var a${g}_${q} = ${laneType(groupLanes(t, g))}(0.0);`);
  L.push('  let dyplane = p.OH * p.OW;');
  L.push('  let wstep = p.KH * p.KW * p.groups4;');
  L.push('  for (var kh = 0u; kh < p.KH; kh++) {');
  L.push('    let th = i32(ih + p.PH) - i32(kh);');
  L.push('    if (th < 0 || th >= i32(p.OH)) { continue; }');
  L.push('    var dyi = n * p.K * dyplane + u32(th) * p.OW;');
  L.push(`    var wi = kh * p.KW * p.groups4 + ${G}u * cg;`);
  L.push('    for (var k = 0u; k < p.K; k++) {');
  // select, not a product with 0: a clamped column holding Inf must still contribute exactly 0.
  // With vec4 segments (OW % 4 == 0, (KW - 1 - PW) % 4 == 0, pixels % 4 == 0) the segment starts 4-aligned.
  if (t.segments4) {
    L.push(...segment4('bdy', 'p.N * p.K * p.OH * p.OW', `i32(dyi + iw0 + p.PW) - ${kw - 1}`, S, 'y', '      '));
    for (const j of ss) L.push(`      let d${j} = select(0.0, y${j}v, m${j});`);
  } else {
    for (const j of ss) L.push(`      let d${j} = select(0.0, bdy[dyi + c${j}], m${j});`);
  }
  for (let k = 0; k < kw; k++) {
    for (const g of gg) L.push(`      let w${k}_${g} = bw[wi + ${k}u * p.groups4 + ${g}u]${narrow(groupLanes(t, g))};`);
    for (const q of pp) for (const g of gg) L.push(`      a${g}_${q} += d${q + kw - 1 - k} * w${k}_${g};`);
  }
  return [...L, ...inputBodyEnd(t)];
}

/**
 * The input-gradient tile over whole rows (ConvTile.wholeRow): thread (n, channel group, row ih). Each pixel's dy
 * column per tap is known here (dyCol: -1 for none, outside dy or between strided columns), so dy values are named
 * by column and a missing one is neither loaded nor multiplied. One row per thread: two rows sharing each weight load
 * ran slower on llvmpipe, with twice the accumulators (docs/kernel-measurements.md#conv-whole-row).
 */
function wholeRowInputBody(t: ConvTile, kw: number, whole: {PW: number; OW: number; SH?: number; SW?: number}): string[] {
  const G = t.groups, P = t.pixels, sh = whole.SH ?? 1, sw = whole.SW ?? 1, B = t.images ?? 1;
  const gg = realGroups(t), pp = [...Array(P).keys()], bb = [...Array(B).keys()];
  const dyCol = (q: number, k: number): number => {
    const c = q + whole.PW - k;
    return c >= 0 && c % sw === 0 && c / sw < whole.OW ? c / sw : -1;
  };
  // Image b's accumulators: a{g}_{q} for one image (as the segment body and inputBodyEnd name them), b{b}a{g}_{q}.
  const acc = (b: number) => (B > 1 ? `b${b}a` : 'a');
  // Neighbouring threads take neighbouring images of one row, not neighbouring rows: the lanes of a SIMD batch then
  // run the same kernel rows (under a stride of 2 rows of either parity take different ones, and the edge rows
  // fewer), where a CPU driver runs divergent lanes' loops for the union of their trips
  // (docs/kernel-measurements.md#conv-whole-row).
  // With B images per thread, thread i takes images B * (i % nb) ..; past the batch's end it reads the last image
  // again and stores nothing.
  const L = [
    `  let ng = p.groups4 / ${G}u;`,
    `  let nb = (p.N + ${B - 1}u) / ${B}u;`,
    '  if (i >= nb * ng * p.H) { return; }',
    `  let n = (i % nb) * ${B}u;`,
    '  let cg = (i / nb) % ng;',
    '  let ih = i / (nb * ng);',
    '  let iw0 = 0u;',
  ];
  for (const b of bb) for (const g of gg) for (const q of pp) L.push(`  var ${acc(b)}${g}_${q} = ${laneType(groupLanes(t, g))}(0.0);`);
  L.push('  let dyplane = p.OH * p.OW;');
  L.push('  let wstep = p.KH * p.KW * p.groups4;');
  for (const b of bb.slice(1)) L.push(`  let off${b} = (min(n + ${b}u, p.N - 1u) - n) * p.K * dyplane;`);
  // The kernel rows whose dy row is whole: th = ih + PH - kh a multiple of SH.
  L.push(`  for (var kh = (ih + p.PH) % ${sh}u; kh < p.KH; kh += ${sh}u) {`);
  L.push('    let th = i32(ih + p.PH) - i32(kh);');
  L.push(`    if (th < 0 || th >= i32(p.OH) * ${sh}) { continue; }`);
  L.push(`    var dyi = n * p.K * dyplane + u32(th) / ${sh}u * p.OW;`);
  L.push(`    var wi = kh * p.KW * p.groups4 + ${G}u * cg;`);
  L.push('    for (var k = 0u; k < p.K; k++) {');
  // The columns some pixel reads; with vec4 segments (OW % 4 == 0) dy's row starts 4-aligned.
  const used = [...new Set(pp.flatMap((q) => [...Array(kw).keys()].map((k) => dyCol(q, k))))].filter((c) => c >= 0);
  for (const b of bb) {
    const at = b > 0 ? `dyi + off${b}` : 'dyi', y = `y${b > 0 ? b + '_' : ''}`, d = `d${b > 0 ? b + '_' : ''}`;
    if (t.segments4) for (const m of new Set(used.map((c) => c >> 2))) L.push(`      let ${y}${m} = bdy[(${at}) / 4u + ${m}u];`);
    for (const c of used.sort((x, z) => x - z)) {
      L.push(`      let ${d}${c} = ${t.segments4 ? `${y}${c >> 2}[${c & 3}]` : `bdy[${at} + ${c}u]`};`);
    }
  }
  for (let k = 0; k < kw; k++) {
    for (const g of gg) L.push(`      let w${k}_${g} = bw[wi + ${k}u * p.groups4 + ${g}u]${narrow(groupLanes(t, g))};`);
    for (const b of bb) {
      for (const q of pp) {
        const c = dyCol(q, k);
        if (c >= 0) for (const g of gg) L.push(`      ${acc(b)}${g}_${q} += d${b > 0 ? b + '_' : ''}${c} * w${k}_${g};`);
      }
    }
  }
  if (B === 1) return [...L, ...inputBodyEnd(t)];
  L.push('      dyi += dyplane;', '      wi += wstep;', '    }', '  }', '  let npix = p.H * p.W;');
  for (const b of bb) {
    L.push(`  if (n + ${b}u < p.N) {`);
    L.push(...storeRows(t, {chan: 'c', group: 'cg', bound: 'p.C', out: 'bdx', acc: acc(b),
      offset: `((n + ${b}u) * p.C + c) * npix + ih * p.W + iw0`, col0: 'iw0', width: 'p.W', vec4: t.stores4}));
    L.push('  }');
  }
  return L;
}
