// Every kernel variant that fits a case gives the table's answer: each op below is run once to record the cases it
// launches, then again with each case forced, in turn, to every variant that fits it (as a measured choice may),
// and its outputs and gradients compared with the table's run. The table's kernels are checked against float64
// references and finite differences in their own suites; this covers what measurement may pick instead.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';

const t = suite('kernel variants: every variant that fits agrees with the table');
const I = wt.internals;

/** An op under test: a synchronous closure from fresh inputs to the tensors it compares (outputs and grads). */
interface OpCase { name: string; run: () => wt.Tensor[]; families: string[] }

const grads = (...xs: wt.Tensor[]) => xs.map((x) => x.grad!);
const fresh = (shape: number[], seed: number) => wt.randn(shape, {seed, requiresGrad: true});

function convCase(x: number[], w: number[], stride: number, padding: number, groups = 1): OpCase {
  return {name: `conv2d x ${x} w ${w} stride ${stride} padding ${padding}${groups > 1 ? ` groups ${groups}` : ''}`,
    families: ['conv.', 'matmul'], run: () => {
      const xi = fresh(x, 1), wi = fresh(w, 2);
      const y = wt.conv2d(xi, wi, null, {stride, padding, groups});
      wt.sum(wt.mul(y, y)).backward();
      return [y, ...grads(xi, wi)];
    }};
}

const CASES: OpCase[] = [
  convCase([2, 3, 9, 7], [5, 3, 3, 3], 2, 1),
  convCase([2, 8, 6, 6], [64, 8, 1, 1], 1, 0),
  convCase([3, 16, 8, 8], [68, 16, 3, 3], 1, 0),
  convCase([2, 6, 10, 10], [16, 6, 3, 3], 1, 0),
  convCase([3, 6, 7, 9], [6, 1, 3, 3], 1, 1, 6),
  convCase([2, 4, 9, 11], [8, 2, 5, 5], 2, 2, 2),
  ...([[2, 2, 0], [3, 2, 1], [3, 3, 0]] as const).flatMap(([k, s, p]) => ['max', 'avg'].map((kind): OpCase => ({
    name: `${kind} pool ${k}x${k} stride ${s} padding ${p} over [2, 3, 10, 8]`, families: ['pool.'],
    run: () => {
      const x = fresh([2, 3, 10, 8], 3);
      const y = (kind === 'max' ? wt.maxPool2d : wt.avgPool2d)(x, k, {stride: s, padding: p});
      wt.sum(wt.mul(y, y)).backward();
      return [y, x.grad!];
    }}))),
  ...([[1, 1], [3, 2]] as const).map(([oh, ow]): OpCase => ({
    name: `adaptive average pool to ${oh}x${ow}`, families: ['pool.'],
    run: () => {
      const x = fresh([2, 5, 7, 6], 4);
      const y = wt.adaptiveAvgPool2d(x, [oh, ow]);
      wt.sum(wt.mul(y, y)).backward();
      return [y, x.grad!];
    }})),
  ...[[4, 6, 5], [2, 3, 64]].map(([n, c, hw]): OpCase => ({
    name: `batch norm [${n}, ${c}, ${hw}]`, families: ['norm.'],
    run: () => {
      const x = fresh([n, c, hw, 1], 5), w = fresh([c], 6), b = fresh([c], 7);
      const {y} = I.batchNormTrain(x, w, b);
      wt.sum(wt.mul(y, wt.randn(y.shape, {seed: 8}))).backward();
      return [y, ...grads(x, w, b)];
    }})),
  ...([[7, 12, 8, false, false], [9, 16, 4, true, false], [8, 5, 12, false, true], [64, 36, 20, true, true], [8, 2048, 12, false, false]] as const)
    .map(([m, k, n, ta, tb]): OpCase => ({
      name: `matmul ${m}x${k} @ ${k}x${n}${ta ? ', A transposed' : ''}${tb ? ', B transposed' : ''}`,
      families: ['matmul'],
      run: () => {
        const a = fresh(ta ? [k, m] : [m, k], 9), b = fresh(tb ? [n, k] : [k, n], 10);
        const y = wt.matmul(ta ? wt.transpose(a, 0, 1) : a, tb ? wt.transpose(b, 0, 1) : b);
        wt.sum(wt.mul(y, y)).backward();
        return [y, ...grads(a, b)];
      }})),
  // A linear layer with its bias and relu (the tile's epilogue, on W^T read in place), and batched B^T.
  {name: 'linear + relu [24, 40] x [28, 40]^T + [28]', families: ['matmul'],
    run: () => {
      const x = fresh([24, 40], 11), w = fresh([28, 40], 12), b = fresh([28], 13);
      const y = I.linearRelu(x, w, b);
      wt.sum(wt.mul(y, y)).backward();
      return [y, ...grads(x, w, b)];
    }},
  // The tiles on offer come from the autotuner's measured picks, which vary by machine and run: one forced kvec tile
  // (as a pick) gives the tile and tile_nt a case everywhere a tile can run.
  {name: 'matmul [20, 36] @ [24, 36]^T and [20, 36] @ [36, 24] with a kvec register tile as the pick', families: ['matmul'],
    run: () => I.withKernelPrefs({matmulTile: {rows: 8, cols4: 2, kvec: true, spread: true, wgx: 8, wgy: 4}}, () => {
      const a = fresh([20, 36], 19), bt = fresh([24, 36], 20), b = fresh([36, 24], 21);
      const y = wt.matmul(a, wt.transpose(bt, 0, 1)), z = wt.matmul(a, b);
      wt.sum(wt.add(wt.mul(y, y), wt.mul(z, z))).backward();
      return [y, z, ...grads(a, bt, b)];
    })},
  // K and N off multiples of 4: the tile on zero-padded copies (tile_padded) among the variants.
  {name: 'matmul [20, 37] @ [37, 22] with a kvec register tile as the pick', families: ['matmul'],
    run: () => I.withKernelPrefs({matmulTile: {rows: 8, cols4: 2, kvec: true, spread: true, wgx: 8, wgy: 4}}, () => {
      const a = fresh([20, 37], 22), b = fresh([37, 22], 23);
      const y = wt.matmul(a, b);
      wt.sum(wt.mul(y, y)).backward();
      return [y, ...grads(a, b)];
    })},
  {name: 'matmul [3, 9, 12] @ [3, 16, 12]^T', families: ['matmul'],
    run: () => {
      const a = fresh([3, 9, 12], 14), b = fresh([3, 16, 12], 16);
      const y = wt.matmul(a, wt.transpose(b, 1, 2));
      wt.sum(wt.mul(y, y)).backward();
      return [y, ...grads(a, b)];
    }},
  ...([['sum', [3, 300, 5], 1], ['max', [257, 7], 0], ['min', [4, 70], 1], ['mean', [1000], 0], ['sum', [2, 9], 1]] as const)
    .map(([op, shape, axis]): OpCase => ({name: `${op} over axis ${axis} of [${shape}]`, families: ['reduce'],
      run: () => {
        const x = fresh([...shape], 15);
        const y = wt[op](x, axis);
        wt.sum(wt.mul(y, y)).backward();
        return [y, x.grad!];
      }})),
  // Sums around kept axes (a conv's bias gradient): rows of whole vec4s and not, and a mean.
  ...([['sum', [3, 5, 8], [0, 2]], ['sum', [2, 3, 5, 5], [0, 2, 3]], ['mean', [4, 2, 3, 12], [0, 1, 3]]] as const)
    .map(([op, shape, axes]): OpCase => ({name: `${op} over axes ${axes} of [${shape}]`, families: ['reduce'],
      run: () => {
        const x = fresh([...shape], 18);
        const y = wt[op](x, [...axes]);
        wt.sum(wt.mul(y, y)).backward();
        return [y, x.grad!];
      }})),
  ...[12, 13].map((n): OpCase => ({name: `elementwise over ${n}`, families: ['elementwise'],
    run: () => {
      const a = fresh([n], 11), b = fresh([n], 12);
      const y = wt.mul(wt.add(a, b), a);
      wt.sum(y).backward();
      return [y, ...grads(a, b)];
    }})),
  {name: 'elementwise with a per-channel operand, [2, 3, 4] * [3, 1]', families: ['elementwise'], run: () => {
    const a = fresh([2, 3, 4], 16), b = fresh([3, 1], 17);
    const y = wt.mul(a, b);
    wt.sum(wt.mul(y, y)).backward();
    return [y, ...grads(a, b)];
  }},
  {name: 'capsule predict and routing, u [3, 10, 8], W [10, 4, 8, 8]', families: ['capsule.'], run: () => {
    const u = fresh([3, 10, 8], 13), w = wt.randn([10, 4, 8, 8], {seed: 14, requiresGrad: true});
    const uhat = wt.capsnet.capsulePredict(u, wt.mul(w, wt.full([1], 0.2)));
    const {v} = wt.capsnet.capsuleRouting(uhat, {iterations: 3, initialLogits: null, stopGradient: false});
    wt.sum(wt.mul(v, v)).backward();
    return [uhat, v, ...grads(u, w)];
  }},
];

/** The op's tensors as arrays (read after the scope that made them). */
async function values(op: OpCase, force?: {family: string; key: string; variant: string}): Promise<Float32Array[]> {
  const made = wt.tidy(() => {
    const out = force ? I.withForcedVariant(force.family, force.key, force.variant, op.run) : op.run();
    return out.map((o) => wt.keep(wt.detach(o)));
  });
  const data = await Promise.all(made.map(async (m) => Float32Array.from(await m.data())));
  for (const m of made) m.dispose();
  return data;
}

const familyOf = (name: string) => I.KERNEL_FAMILIES.find((f) => f.name === name)!;
/** family:variant pairs checked on some case. */
const covered = new Set<string>();
/** Whether a recorded product had a register tile on offer, and one with chained k steps on B^T. */
const offered = {tile: false, kvec: false};

for (const op of CASES) {
  t(op.name, async () => {
    const want = await values(op);
    const cases = I.recordCases(() => wt.tidy(() => { op.run(); }));
    let checked = 0;
    for (const {family, c} of cases) {
      if (!op.families.some((p) => family.name.startsWith(p))) continue;
      const tile = family.name === 'matmul' ? (c as {tile: {kvec?: boolean} | null}).tile : null;
      if (tile) { offered.tile = true; offered.kvec ||= !!tile.kvec && (c as {b: {trans: boolean}}).b.trans; }
      const f = familyOf(family.name);
      assert.ok(f, `${family.name} is listed in KERNEL_FAMILIES`);
      for (const variant of I.fittingVariants(f, c as never)) {
        const got = await values(op, {family: f.name, key: f.key(c as never), variant});
        for (let i = 0; i < want.length; i++) {
          let worst = 0, scale = 1;
          for (let j = 0; j < want[i].length; j++) {
            worst = Math.max(worst, Math.abs(got[i][j] - want[i][j]));
            scale = Math.max(scale, Math.abs(want[i][j]));
          }
          // Sums in another order: float32 rounding, relative to the largest value.
          assert.ok(worst <= 2e-4 * scale, `${f.name} ${f.key(c as never)} as ${variant}: output ${i} differs by ` +
            `${worst} (largest value ${scale})`);
        }
        checked++;
        covered.add(`${f.name}:${variant}`);
      }
    }
    assert.ok(checked >= 1, 'a variant checked');
  });
}

t('every family chosen through choose() can be measured', () => {
  assert.equal(I.measurableFamilies(), I.KERNEL_FAMILIES.map((f) => f.name).sort());
});

// A row that applies but cannot run a case gives way to the next that applies; where none is left, the error names
// the case instead of a kernel computing it wrong.
t('selection never runs a variant that cannot run the case', () => {
  const f: wt.internals.Family<'forced' | 'unused' | 'last', number> = {
    name: 'test.family', key: (n) => String(n), open: () => true, table: [
      {variant: 'forced', when: () => true, fits: (n) => n < 5, why: 'forced, runs cases under 5'},
      {variant: 'unused', when: () => false, fits: () => true, why: 'not applying'},
      {variant: 'last', when: () => true, fits: (n) => n < 10, why: 'the last row, runs cases under 10'},
    ]};
  assert.is(I.chooseVariant(f, 3), 'forced');
  assert.is(I.chooseVariant(f, 7), 'last', 'the next row that applies and can run it');
  assert.throws(() => I.chooseVariant(f, 50),
    (e: Error) => /test\.family 50: forced, last apply but cannot run this case/.test(e.message));
});

t('every variant of every family was checked above', () => {
  // The workgroup tiles keep a thread's loop over all of K, which llvmpipe would cut short: they fit only elsewhere.
  const elsewhere = I.loopsLimited() ? ['matmul:matmul_tiled', 'matmul:matmul_tiled128'] : [];
  // Subgroup sums need the adapter's subgroups feature (SwiftShader has it, llvmpipe not).
  if (!I.rt().device.features.has('subgroups')) elsewhere.push('reduce:subgroup');
  // Reads through the staging texture: llvmpipe's compatibility mode only.
  const report = I.rt().ctx.report;
  if (!(report.isCpu && report.featureLevel === 'compatibility')) {
    elsewhere.push('conv.im2col:texture', 'pool.forward:pool_fwd_texture', 'pool.forward:pool2_fwd_texture',
      'pool.forward:pool3_fwd_texture', 'pool.backward:pool2_bwd4_texture', 'pool.backward:pool3_bwd_texture',
      'elementwise:vec4_texture', 'elementwise:channel4_texture',
      'conv.forward:tile-texture', 'conv.input:tile-texture', 'conv.weight:tile-texture', 'matmul:tile_texture',
      'matmul:tile_nt_texture');
  }
  // The tiles run where a tile is on offer (not where the workgroup tiles take every product), tile_nt where a tile
  // that chains its k steps meets B^T.
  if (!offered.tile) elsewhere.push('matmul:tile', 'matmul:tile_texture', 'matmul:tile_padded');
  if (!offered.kvec) elsewhere.push('matmul:tile_nt', 'matmul:tile_nt_texture');
  const all = I.KERNEL_FAMILIES.flatMap((f) => f.table.map((r) => `${f.name}:${r.variant}`));
  const missing = all.filter((v) => !covered.has(v) && !elsewhere.includes(v));
  assert.equal(missing, [], `variants no case here exercised: ${missing.join(', ')}`);
});

t.run();
