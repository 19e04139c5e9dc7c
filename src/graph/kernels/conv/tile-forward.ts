// The generated forward tile of a conv2d (see tile-gen.ts for the tile and its declaration).
import {loopSteps} from '../../kernel-def.js';
import {POOL_WINDOW_WGSL} from '../../shaders.js';
import {checkSegments4, declare, groupLanes, laneOf, laneType, narrow, outType, realGroups, rowTiles, segment4,
  storeRows, uniformSuffix, weightBinding, convTileName, type ConvTile, type ConvTileKernel} from './tile-gen.js';

/**
 * A forward tile's kernel (entry point `main`, 1-D launch), generated and declared at its first use. A hoisting
 * tile is generated for one kernel width and column stride (`kw`, `sw`). `pool`: relu and 2x2 max pooling (stride 2)
 * in the output write: a thread computes two neighbouring output rows and stores their pooled values and argmaxima
 * (@binding(5)), as reluMaxPool2d would from the convolution's output, which is never written.
 */
export function convFwdKernel(t: ConvTile, hasBias: boolean, kw = 0, sw = 1, uniformWeights = 0, pool = false)
  : ConvTileKernel {
  if (t.hoist && !(kw >= 1 && sw >= 1)) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: hoisting needs the kernel width and stride`);
  }
  const native = t.nativeWeights;
  if (native && !(t.hoist && uniformWeights > 0)) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: weights in their own layout need a hoisting tile reading uniforms`);
  }
  const B = t.images ?? 1;
  if (B > 1 && !(t.hoist && !native)) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: several images per thread need a hoisting tile with re-laid weights`);
  }
  if (pool && !(t.hoist && B === 1 && t.pixels % 2 === 0 && !t.stores4)) {
    throw new Error(`webgpu-transfer: conv tile ${convTileName(t)}: pooling in the write needs a hoisting tile of ` +
      'one image, an even pixel count and scalar stores');
  }
  // Sets of accumulators: B images, or with `pool` two output rows.
  const sets = pool ? 2 : B;
  const name = `${convTileName(t)}${t.hoist ? `-kw${kw}s${sw}` : ''}${native ? `-n${native.C}x${native.KH}x${native.K}` : ''}` +
    `${B > 1 ? `i${B}` : ''}${hasBias ? 'b' : ''}${uniformSuffix(uniformWeights)}${pool ? '-pool2' : ''}`;
  checkSegments4(t, true);
  const bindings = [`@group(0) @binding(1) var<storage, read> fx: array<${t.segments4 ? 'vec4<f32>' : 'f32'}>;`,
    weightBinding('fw', uniformWeights),
    '@group(0) @binding(3) var<storage, read> fbias: array<f32>;',
    `@group(0) @binding(4) var<storage, read_write> fy: array<${outType(t)}>;`,
    ...(pool ? ['@group(0) @binding(5) var<storage, read_write> farg: array<i32>;', POOL_WINDOW_WGSL] : [])];
  return declare(name, bindings, () => {
    const G = t.groups, P = t.pixels;
    const gg = realGroups(t), pp = [...Array(P).keys()];
    const bb = [...Array(sets).keys()];
    // Set b's accumulators and segment values (an image, or an output row): a{g}_{q} and s{j} for one set,
    // b{b}a{g}_{q} and b{b}s{j}.
    const acc = (b: number) => (sets > 1 ? `b${b}a` : 'a'), seg = (b: number) => (sets > 1 ? `b${b}s` : 's');
    // With B images per thread, thread i takes images B * (i / (ntile * ng)) ..; past the batch's end it reads the
    // last image again and stores nothing. With `pool`, a thread's rows are 2 ph and 2 ph + 1 (below OH).
    const L = rowTiles(P, G, pool ? '(p.OH / 2u)' : 'p.OH', 'p.OW', 'kg', pool ? 'ph' : 'oh', 'ow0', B);
    if (pool) L.push('  let oh = 2u * ph;');
    // Pixels past the row end read a clamped column (computed, never stored).
    if (!t.hoist) for (const q of pp) L.push(`  let x${q} = min(ow0 + ${q}u, p.OW - 1u) * p.SW;`);
    for (const b of bb) for (const g of gg) for (const q of pp) L.push(`  var ${acc(b)}${g}_${q} = ${laneType(groupLanes(t, g))}(0.0);`);
    for (const b of bb.slice(1)) {
      const next = pool ? `${b}u * p.SH * p.W` : `(min(n + ${b}u, p.N - 1u) - n) * p.C * p.H * p.W`;
      L.push(`  let xoff${b} = ${next};`);
    }
    // Hoisting: segment column t of a kernel row is input column ow0 * SW + t, clamped (only pixels past the row's
    // end read past it, and they are never stored).
    const S = (P - 1) * sw + kw, ss = [...Array(S).keys()];
    if (t.hoist && !t.segments4) for (const j of ss) L.push(`  let s${j}c = min(ow0 * ${sw}u + ${j}u, p.W - 1u);`);
    // One kernel row of one input channel: its input segment, then the KW taps (xrow set, `w(k, g)` a group's
    // weights at tap k).
    const hoistedRow = (w: (k: number, g: number) => string): string[] => {
      const R: string[] = [];
      for (const b of bb) {
        const row = b > 0 ? `xrow + xoff${b}` : 'xrow';
        if (t.segments4) {
          // Unpadded, W % 4 == 0 and pixels % 4 == 0: the segment starts 4-aligned.
          const v = sets > 1 ? `b${b}x` : 'x';
          R.push(...segment4('fx', 'p.N * p.C * p.H * p.W', `i32(${row} + ow0 * ${sw}u)`, S, v, '      '));
          for (const j of ss) R.push(`      let ${seg(b)}${j} = ${v}${j}v;`);
        } else {
          for (const j of ss) R.push(`      let ${seg(b)}${j} = fx[${row} + s${j}c];`);
        }
      }
      for (let k = 0; k < kw; k++) {
        for (const g of gg) R.push(`      let w${k}_${g} = ${w(k, g)};`);
        for (const b of bb) {
          for (const q of pp) for (const g of gg) R.push(`      ${acc(b)}${g}_${q} += ${seg(b)}${q * sw + k} * w${k}_${g};`);
        }
      }
      return R;
    };
    if (native) {
      // Every channel in this thread (kg = 0), weight (k, c, kh, tap) at float (k * C * KH + c * KH + kh) * KW + tap.
      for (let c = 0; c < native.C; c++) {
        for (let kh = 0; kh < native.KH; kh++) {
          L.push('  {');
          L.push(`    let xrow = ((n * p.C + ${c}u) * p.H + oh * p.SH + ${kh}u) * p.W;`);
          L.push(...hoistedRow((k, g) => {
            const n = groupLanes(t, g);
            // Padding channels past K (lanes not narrowed to the real ones) have no weights: zero.
            const lanes = [...Array(n).keys()].map((j) => {
              if (4 * g + j >= native.K) return '0.0';
              const f = (((4 * g + j) * native.C + c) * native.KH + kh) * kw + k;
              return `fw[${f >> 2}][${f & 3}]`;
            });
            return `${laneType(n)}(${lanes.join(', ')})`;
          }));
          L.push('  }');
        }
      }
    } else {
      L.push('  for (var c = 0u; c < p.C; c++) {');
      L.push('    let xplane = (n * p.C + c) * p.H * p.W;');
      L.push('    for (var kh = 0u; kh < p.KH; kh++) {');
      L.push('      let xrow = xplane + (oh * p.SH + kh) * p.W;');
      L.push(`      var wi = ((c * p.KH + kh) * p.KW) * p.groups4 + ${G}u * kg;`);
      if (t.hoist) {
        L.push(...hoistedRow((k, g) => `fw[wi + ${k}u * p.groups4 + ${g}u]${narrow(groupLanes(t, g))}`));
      } else {
        L.push('      for (var kw = 0u; kw < p.KW; kw++) {');
        for (const g of gg) L.push(`        let w${g} = fw[wi + ${g}u]${narrow(groupLanes(t, g))};`);
        L.push('        wi += p.groups4;');
        L.push('        let xb = xrow + kw;');
        for (const q of pp) {
          L.push(`        let v${q} = fx[xb + x${q}];`);
          for (const g of gg) L.push(`        a${g}_${q} += v${q} * w${g};`);
        }
        L.push('      }');
      }
      L.push('    }');
      L.push('  }');
    }
    if (pool) {
      L.push(...pooledStores(t, hasBias));
      return L;
    }
    L.push('  let npix = p.OH * p.OW;');
    for (const b of bb) {
      if (B > 1) L.push(`  if (n + ${b}u < p.N) {`);
      L.push(`  let obase${b} = (n + ${b}u) * p.K * npix + oh * p.OW + ow0;`);
      // Without bias fbias is still used (select keeps 0.0), so the auto layout keeps binding 3.
      L.push(...storeRows(t, {chan: 'k', group: 'kg', bound: 'p.K', out: 'fy', offset: `obase${b} + k * npix`,
        col0: 'ow0', width: 'p.OW', before: [`let b = ${hasBias ? 'fbias[k]' : 'select(fbias[0], 0.0, true)'};`],
        plus: ' + b', vec4: t.stores4, acc: acc(b)}));
      if (B > 1) L.push('  }');
    }
    return L;
  }, undefined, native ? undefined : (p) => (t.hoist ? loopSteps(p.C, loopSteps(p.KH))
    : loopSteps(p.C, loopSteps(p.KH, loopSteps(p.KW)))) + 8, t.texture ? ['fx'] : []);
}

/**
 * The pooled write: for each channel and each window of the thread's two rows (columns ow0 + 2q, + 1), the biased
 * outputs' maximum after the relu into fy and its argmax into farg, both [N, K, OH / 2, OW / 2], by pool.wgsl's rule
 * (shaders/pool-window.wgsl; -1 where the relu passes nothing).
 */
function pooledStores(t: ConvTile, hasBias: boolean): string[] {
  const L = ['  let pw_n = p.OW / 2u;', '  let plane = (p.OH / 2u) * pw_n;',
    '  let pbase = n * p.K * plane + ph * pw_n + ow0 / 2u;', '  let ibase = i32(oh * p.OW + ow0);'];
  for (const g of realGroups(t)) {
    const n = groupLanes(t, g);
    for (let j = 0; j < n; j++) {
      L.push(`  { let k = ${4 * t.groups}u * kg + ${4 * g + j}u;`, '    if (k < p.K) {');
      // Without bias fbias is still used (select keeps 0.0), so the auto layout keeps binding 3.
      L.push(`      let b = ${hasBias ? 'fbias[k]' : 'select(fbias[0], 0.0, true)'};`, '      let o = pbase + k * plane;');
      for (let q = 0; q < t.pixels / 2; q++) {
        const v = (r: number, c: number) => `${laneOf(`b${r}a${g}_${2 * q + c}`, n, j)} + b`;
        L.push(`      if (ow0 / 2u + ${q}u < pw_n) {`,
          `        let m = window_max(${v(0, 0)}, ${v(0, 1)}, ${v(1, 0)}, ${v(1, 1)}, ibase + ${2 * q}, i32(p.OW));`,
          `        fy[o + ${q}u] = select(0.0, m.v, relu_keeps(m.v));`,
          `        farg[o + ${q}u] = select(-1, m.i, relu_keeps(m.v));`, '      }');
      }
      L.push('    }', '  }');
    }
  }
  return L;
}
