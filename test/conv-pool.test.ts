import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp} from './lib/check.js';
import * as R from './lib/reference.js';
import {hoistedPixels, SWIFTSHADER_WEIGHT_SEGMENT} from '../src/graph/kernels/conv/index.js';

const t = suite('conv2d and pooling');
interface ConvCase { x: number[]; w: number[]; stride: [number, number]; pad: [number, number]; bias: boolean }
const convs: ConvCase[] = [
  {x: [1, 1, 5, 5], w: [1, 1, 3, 3], stride: [1, 1], pad: [0, 0], bias: false},
  {x: [2, 3, 7, 6], w: [5, 3, 3, 2], stride: [1, 1], pad: [1, 0], bias: true},
  {x: [2, 2, 9, 8], w: [6, 2, 3, 3], stride: [2, 2], pad: [1, 1], bias: true},
  {x: [3, 5, 6, 7], w: [7, 5, 2, 3], stride: [2, 1], pad: [0, 2], bias: true},
  {x: [2, 3, 7, 9], w: [5, 3, 2, 3], stride: [1, 2], pad: [1, 1], bias: true},   // width stride 2, W % 4 != 0
  {x: [1, 2, 6, 13], w: [3, 2, 3, 6], stride: [2, 3], pad: [2, 3], bias: false}, // KW 6: two partial column groups
  {x: [4, 1, 12, 12], w: [6, 1, 5, 5], stride: [1, 1], pad: [0, 0], bias: true},   // LeNet conv1, small batch
  {x: [2, 6, 12, 12], w: [16, 6, 5, 5], stride: [1, 1], pad: [0, 0], bias: true}, // LeNet conv2
  {x: [2, 3, 11, 10], w: [9, 3, 4, 3], stride: [2, 2], pad: [0, 0], bias: true},   // stride 2, no padding, K % 8 != 0
  {x: [1, 1, 13, 13], w: [10, 1, 9, 9], stride: [1, 1], pad: [0, 0], bias: false}, // CapsNet-like 9x9, one channel
  {x: [2, 5, 12, 12], w: [6, 5, 9, 9], stride: [2, 2], pad: [0, 0], bias: true},    // CapsNet-like 9x9 stride 2
  {x: [2, 10, 7, 9], w: [5, 10, 3, 5], stride: [1, 1], pad: [1, 2], bias: true},   // stride 1, width padded, C > 8
  {x: [1, 3, 5, 6], w: [4, 3, 2, 1], stride: [1, 1], pad: [0, 0], bias: false},    // KW 1
  // vec4 row segments at the tensor's ends: a forward row of 10 outputs read by 8-pixel tiles (the last segment
  // runs past the last row), and width padding 4 with a 9-wide kernel (the weight gradient's segment starts at
  // column -4; the input gradient's at iw0 + PW - (KW - 1) = iw0 - 4).
  {x: [2, 3, 6, 12], w: [5, 3, 3, 3], stride: [1, 1], pad: [0, 0], bias: true},
  {x: [2, 3, 6, 8], w: [4, 3, 3, 9], stride: [1, 1], pad: [1, 4], bias: false},
  // vec4 stores (rows a multiple of 4 wide): forward rows of 12 outputs by 8-pixel tiles (the last tile's second
  // vec4 lies past the row and is not stored), input-gradient rows of 16.
  {x: [2, 3, 6, 16], w: [5, 3, 3, 5], stride: [1, 1], pad: [0, 0], bias: true},
  // A forward row of 20 outputs, which llvmpipe's 'auto' computes whole in one thread (hoistedPixels).
  {x: [2, 2, 5, 24], w: [5, 2, 3, 5], stride: [1, 1], pad: [0, 0], bias: true},
  // Row stride 2 over rows 7 wide (W % 4 != 0: the weight-gradient lanes kernel loads x as floats), 20 output
  // channels (its second block of 16 holds 4).
  {x: [2, 3, 9, 7], w: [20, 3, 3, 4], stride: [2, 1], pad: [0, 0], bias: false},
];
// Every conv kernel variant on every case (kernelPrefs force them; 'auto' is what the adapter picks). The direct
// kernels are forced with convLowering 'direct' (else 'auto' may lower a case to matrix products instead).
const direct = {convLowering: 'direct'} as const;
const convVariants: [string, Partial<wt.internals.KernelPrefs>][] = [
  ['auto', {}],
  ['fwd k4, input c4, weight cols4', {...direct, convForward: 'k4', convInput: 'c4', convWeight: 'cols4'}],
  ['fwd k8, input c8, weight taps8', {...direct, convForward: 'k8', convInput: 'c8', convWeight: 'taps8'}],
  ...[{groups: 1, pixels: 8}, {groups: 2, pixels: 8}, {groups: 4, pixels: 4}, {groups: 2, pixels: 4}, {groups: 1, pixels: 16}]
    .map((tile) => [`fwd generated k${4 * tile.groups}p${tile.pixels}`, {...direct, convForward: tile}] as
      [string, Partial<wt.internals.KernelPrefs>]),
  // The generated tiles that hold a row segment across a kernel row's taps, all three passes.
  ...[{groups: 2, pixels: 8, hoist: true}, {groups: 1, pixels: 5, hoist: true}, {groups: 4, pixels: 4, hoist: true}]
    .map((tile) => [`fwd, input and weight generated k${4 * tile.groups}p${tile.pixels}, hoisted`,
      {...direct, convForward: tile, convInput: tile, convWeight: tile}] as
      [string, Partial<wt.internals.KernelPrefs>]),
  // 12 pixels per thread, which 'auto' picks for 12-wide input-gradient rows (not for weight gradients: SwiftShader's
  // shader compiler runs out of memory on a 12-pixel weight tile of a 9x9 stride-2 kernel).
  ['fwd and input generated k8p12, hoisted', {...direct, convForward: {groups: 2, pixels: 12, hoist: true},
    convInput: {groups: 2, pixels: 12, hoist: true}}],
  // The weight-gradient tile holding 2 kernel rows per thread: 5-row kernels end in a half-empty block (llvmpipe
  // only: other adapters keep one row, see weightGradRows).
  ['weight generated k8p8, 2 kernel rows per thread', {...direct, convWeight: {groups: 2, pixels: 8, hoist: true, rows: 2}}],
  // The same tiles with their weights read from storage instead of a uniform array, their row segments as
  // floats where 'auto' would load 4-aligned ones as vec4s, and their outputs stored as floats.
  ['fwd, input and weight generated k8p8, hoisted, weights from storage, scalar segments and stores, dy transposed',
    {...direct, convForward: {groups: 2, pixels: 8, hoist: true}, convInput: {groups: 2, pixels: 8, hoist: true},
      convWeight: {groups: 2, pixels: 8, hoist: true}, convUniformWeights: 'storage', convSegments4: false,
      convStores4: false, convDyDirect4: false}],
  // 'auto' narrows its tiles to the real channels (ConvTile.lanes: LeNet's 6 of 8 lanes), drops an input gradient's
  // padding columns over whole rows (ConvTile.wholeRow, strided too), reads few, small weights in place
  // (nativeWeights) and leaves out a weight tile's bounds tests where nothing can fall outside (exact): the same
  // tiles without any of the four.
  ['auto without lane narrowing, whole-row input gradients, weights read in place or exact weight tiles',
    {convLanes: false, convWholeRows: false, convNativeWeights: false, convExact: false}],
  // Weights read in place by a tile that computes its padding channels (K = 6 of 8 lanes: zero weights there).
  ['auto without lane narrowing, weights read in place', {convLanes: false}],
  // The weight gradient with one block of output channels per SIMD lane wherever the shape allows ('auto': on
  // SwiftShader, for K % 16 == 0): LeNet's conv1 and conv2, rows of 12 and 20 outputs, K = 5 and 20.
  ['weight lanes kernel', {...direct, convWeightLanes: true}],
  // Whole-row input-gradient tiles with 3 images per thread: batches of 2 and 4 end in a part-empty block ('auto'
  // takes 2 or 4 from batches of 16 or 32 on).
  ['input whole-row tiles, 3 images per thread', {...direct, convInputImages: 3}],
  // Hoisting forward tiles with 3 images per thread (those reading weights in place keep one), weights from storage
  // too, so every unpadded case takes them.
  ['fwd hoisted tiles, 3 images per thread', {...direct, convForwardImages: 3}],
  ['fwd hoisted tiles, 2 images per thread, weights from storage, scalar segments',
    {...direct, convForwardImages: 2, convNativeWeights: false, convUniformWeights: 'storage', convSegments4: false}],
  // Lowered to matrix products (im2col), on the tuned matmul tile and on the hand-written kernel.
  ['lowered to matmul', {convLowering: 'gemm'}],
  ['lowered to matmul, fixed matmul kernel', {convLowering: 'gemm', matmulTile: 'fixed'}],
  // The forward as W @ cols^T wherever N*OH*OW % 4 == 0 ('auto' takes it for large products only).
  ['lowered to matmul, the forward transposed', {convLowering: 'gemm', convGemmTransposed: 'always'}],
  // The weight gradient as dW^T = cols^T @ dy (C*KH*KW rows) wherever it lowers.
  ['lowered to matmul, the weight gradient transposed', {convLowering: 'gemm', convWeightGemmTransposed: 'always'}],
  ['lowered to matmul, a vec4-K register tile', {convLowering: 'gemm', matmulTile: wt.internals.MATMUL_CANDIDATES[0]}],

  // Implicit products on workgroup tiles ('auto' on hardware GPUs), the weight gradient's sum in parts.
  ['implicit products on workgroup tiles', {convLowering: 'implicit'}],
  ['implicit products on 128 x 128 tiles', {convLowering: 'implicit128'}],
];
const withPrefs = wt.internals.withKernelPrefs;
// Variants that only some cases reach, run on those: the uniform panels writing the output images themselves (bias
// included), on the cases whose stride or padding differ by axis; forwards lowered 2 images at a time, each
// chunk's product written into the output's images (as a batch of photos too large for one binding runs), on the
// panels and on the register tile with the rows copied in after, for the batches of 3 and 4.
const uneven = (c: ConvCase) => c.stride[0] !== c.stride[1] || c.pad[0] !== c.pad[1];
const someVariants: [string, Partial<wt.internals.KernelPrefs>, (c: ConvCase) => boolean][] = [
  ['lowered to matmul on the uniform panels, A from a texture', {convLowering: 'gemm', matmul: 'panels-texture'}, uneven],
  ['lowered forward in chunks of 2 images, on the panels', {convLowering: 'gemm', convLoweringImages: 2,
    matmul: 'panels-texture'}, (c) => c.x[0] > 2],
  ['lowered forward in chunks of 2 images, on the register tile', {convLowering: 'gemm', convLoweringImages: 2},
    (c) => c.x[0] > 2],
];
const variantCases = [...convVariants.flatMap(([vname, prefs]) => convs.map((c) => [vname, prefs, c] as const)),
  ...someVariants.flatMap(([vname, prefs, on]) => convs.filter(on).map((c) => [vname, prefs, c] as const))];
for (const [vname, prefs, c] of variantCases) {
  const K = c.w[1] * c.w[2] * c.w[3];
  t(`conv2d[${vname}] x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} stride ${c.stride} pad ${c.pad}`, () => withPrefs(prefs, () => checkOp({
    name: 'conv2d', refKey: `stride ${c.stride} pad ${c.pad}`,
    inputs: [R.randomNd(c.x, 41), R.randomNd(c.w, 42), ...(c.bias ? [R.randomNd([c.w[0]], 43)] : [])],
    gpu: ([x, w, b]) => wt.conv2d(x, w, b, {stride: c.stride, padding: c.pad}),
    ref: ([x, w, b]) => R.conv2d(x, w, b ?? null, c.stride, c.pad),
    refGrad: ([x, w], up) => R.conv2dGrad(x, w, up, c.stride, c.pad).slice(0, c.bias ? 3 : 2),
    atol: 2e-6 * K + 1e-5, sample: 48, gatol: 1e-4 * Math.sqrt(c.x[0] * c.x[2] * c.x[3]) + 1e-4,
  })));
}

// An ImageNet stem (3 channels, 7x7, stride 2, padding 3, 64 outputs) as the tables run it: the forward lowered to a
// product, the weight gradient on the generated tile on llvmpipe and lowered elsewhere (the cases above have fewer
// than 64 outputs, which never lower).
t('conv2d[auto] an ImageNet stem: x[2,3,16,20] w[64,3,7,7] stride 2 pad 3', () => checkOp({
  name: 'conv2d', refKey: 'stride 2,2 pad 3,3',
  inputs: [R.randomNd([2, 3, 16, 20], 44), R.randomNd([64, 3, 7, 7], 45)],
  gpu: ([x, w]) => wt.conv2d(x, w, null, {stride: 2, padding: 3}),
  ref: ([x, w]) => R.conv2d(x, w, null, [2, 2], [3, 3]),
  refGrad: ([x, w], up) => R.conv2dGrad(x, w, up, [2, 2], [3, 3]).slice(0, 2),
  atol: 2e-6 * 147 + 1e-5, sample: 48, gatol: 1e-4 * Math.sqrt(2 * 16 * 20) + 1e-4,
}));

// On llvmpipe 'auto' fits the stem's weight tile with 16 output channels and all 7 kernel rows a thread
// (stridedWeightTile), 8 and 4 without convWeightStridedWide; the case above checks its sums.
for (const wide of [true, false]) {
  t(`conv2d[auto] an ImageNet stem's weight tile, convWeightStridedWide ${wide}`, () =>
    withPrefs({convWeightStridedWide: wide}, async () => {
      const x = wt.randn([2, 3, 16, 20], {seed: 46}), w = wt.randn([64, 3, 7, 7], {seed: 47, requiresGrad: true});
      const prof = await wt.debug.profile(() => wt.tidy(() => {
        wt.sum(wt.conv2d(x, w, null, {stride: 2, padding: 3})).backward();
      }), {steps: 1, warmup: 0});
      const tiles = prof.rows.map((r) => r.kernel).filter((k) => k.startsWith('conv-gen/w-'));
      const a = wt.adapter();
      if (a.isCpu && a.featureLevel === 'compatibility') {
        assert.is(tiles.length, 1, `one weight tile ran: ${tiles.join(', ')}`);
        assert.match(tiles[0], wide ? /^conv-gen\/w-k16p\d+r7/ : /^conv-gen\/w-k8p\d+r4/);
      } else {
        for (const k of tiles) assert.not.match(k, /^conv-gen\/w-k16/, `${k}: llvmpipe's rule only`);
      }
      for (const v of [x, w, w.grad]) v?.dispose();
    }));
}

// Winograd's F(2x2, 3x3) and F(4x4, 3x3) on 3x3 stride-1 convolutions, all three passes: tiles cut by the output's
// edge (odd sizes), uneven and asymmetric padding, channels off multiples of 4, a bias; C = 520 runs the forward's
// product over two windows of K and K = 36 ends in a 4-column panel; 4 images of 9x9 sum the weight gradient's
// products over 100 tiles (F(2x2)) or 36 cut by the edge (F(4x4)). 'vec4' runs the products through matmulK instead
// of the panels.
const winogradConvs: ConvCase[] = [
  {x: [1, 1, 5, 5], w: [1, 1, 3, 3], stride: [1, 1], pad: [0, 0], bias: false},
  {x: [2, 6, 7, 9], w: [10, 6, 3, 3], stride: [1, 1], pad: [1, 1], bias: true},
  {x: [1, 17, 5, 11], w: [6, 17, 3, 3], stride: [1, 1], pad: [2, 1], bias: true},
  {x: [3, 20, 4, 4], w: [20, 20, 3, 3], stride: [1, 1], pad: [1, 1], bias: false},
  {x: [1, 520, 3, 4], w: [36, 520, 3, 3], stride: [1, 1], pad: [1, 1], bias: true},
  {x: [4, 16, 9, 9], w: [24, 16, 3, 3], stride: [1, 1], pad: [1, 1], bias: false},
];
const winogradVariants: [string, Partial<wt.internals.KernelPrefs>][] = [
  ['winograd F(2x2)', {convWinograd: 'f2'}], ['winograd F(4x4)', {convWinograd: 'f4'}],
  ['winograd F(4x4), products by matmulK', {convWinograd: 'f4', matmul: 'vec4'}],
  ['winograd F(2x2), panels reading A from storage', {convWinograd: 'f2', matmul: 'panels'}],
  ['winograd F(2x2), channel rows, A from a texture',
    {convWinograd: 'f2', convWinogradRows: 'channels', matmul: 'panels-texture'}],
  ['winograd F(4x4), channel rows, panels reading A from storage',
    {convWinograd: 'f4', convWinogradRows: 'channels', matmul: 'panels'}],
  ['winograd F(4x4), weight products as outer products', {convWinograd: 'f4', convWinogradWeightProducts: 'outer'}],
  ['winograd F(2x2), weight products by matmulK', {convWinograd: 'f2', convWinogradWeightProducts: 'matmul'}],
];
for (const [vname, prefs] of winogradVariants) for (const c of winogradConvs) {
  const K = c.w[1] * c.w[2] * c.w[3];
  t(`conv2d[${vname}] x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} pad ${c.pad}`, () => withPrefs(prefs, () => {
    const ran = wt.internals.recordCases(() => wt.tidy(() => {
      const x = wt.zeros(c.x, {requiresGrad: true});
      wt.sum(wt.conv2d(x, wt.zeros(c.w, {requiresGrad: true}), null, {padding: c.pad})).backward();
    }));
    for (const pass of ['conv.forward', 'conv.input', 'conv.weight']) {
      const r = ran.find((f) => f.family.name === pass)!;
      assert.match(wt.internals.chooseVariant(r.family, r.c), /^winograd/, `${pass} runs Winograd`);
    }
    return checkOp({
      name: 'conv2d', refKey: `stride 1 pad ${c.pad}`,
      inputs: [R.randomNd(c.x, 41), R.randomNd(c.w, 42), ...(c.bias ? [R.randomNd([c.w[0]], 43)] : [])],
      gpu: ([x, w, b]) => wt.conv2d(x, w, b, {padding: c.pad}),
      ref: ([x, w, b]) => R.conv2d(x, w, b ?? null, [1, 1], c.pad),
      refGrad: ([x, w], up) => R.conv2dGrad(x, w, up, [1, 1], c.pad).slice(0, c.bias ? 3 : 2),
      atol: 2e-6 * K + 1e-5, sample: 48, gatol: 1e-4 * Math.sqrt(c.x[0] * c.x[2] * c.x[3]) + 1e-4,
    });
  }));
}

// On the panels, a Winograd forward takes output channels as its products' rows where its tiles are at most its
// output channels ('auto'), and as forced; tiles otherwise. The input gradient's forward follows the same rule.
for (const [rows, x, w, expected] of [['auto', [2, 8, 4, 4], [16, 8, 3, 3], true], ['auto', [8, 8, 8, 8], [8, 8, 3, 3],
  false], ['channels', [8, 8, 8, 8], [8, 8, 3, 3], true], ['tiles', [2, 8, 4, 4], [16, 8, 3, 3], false]] as const) {
  t(`conv2d Winograd products' rows (${rows}): x${JSON.stringify(x)} w${JSON.stringify(w)}`, async () => {
    await withPrefs({convWinograd: 'f2', convWinogradRows: rows, matmul: 'panels'}, async () => {
      const xt = wt.randn([...x], {seed: 13}), wt0 = wt.randn([...w], {seed: 14, requiresGrad: true});
      const prof = await wt.debug.profile(() => wt.tidy(() => {
        wt.sum(wt.conv2d(xt, wt0, null, {padding: 1})).backward();
      }), {steps: 1, warmup: 0});
      const names = prof.rows.map((r) => r.kernel);
      const pixels = names.filter((k) => k.includes('winograd2_pixel'));
      assert.is(pixels.length > 0, true, 'a Winograd forward ran');
      for (const k of pixels) assert.is(k.includes('_rows'), expected, `${k} with channel rows: ${expected}`);
      xt.dispose(); wt0.grad?.dispose(); wt0.dispose();
    });
  });
}

// 'auto' sums a Winograd weight gradient's products as outer products on llvmpipe (compatibility mode: through the
// staging texture before Mesa 26, from storage on 26), where they were measured faster; by matmulK elsewhere.
t('conv2d Winograd weight products (auto): outer products on llvmpipe only', () =>
  withPrefs({convWinograd: 'f2'}, async () => {
    const x = wt.randn([2, 8, 4, 4], {seed: 15}), w = wt.randn([8, 8, 3, 3], {seed: 16, requiresGrad: true});
    const prof = await wt.debug.profile(() => wt.tidy(() => {
      wt.sum(wt.conv2d(x, w, null, {padding: 1})).backward();
    }), {steps: 1, warmup: 0});
    const a = wt.adapter(), expected = a.isCpu && a.featureLevel === 'compatibility';
    assert.is(prof.rows.some((r) => r.kernel.includes('winograd_outer')), expected,
      `outer products on ${a.description}: ${expected}`);
    for (const v of [x, w, w.grad]) v?.dispose();
  }));

// The weight gradient's outer products over 70,000 tiles, past llvmpipe's loop limit: they run in parts there. Ones
// in x and dy make every sum an exact integer; the centre tap sees every one of the 2 x 140,000 output pixels.
t('conv2d Winograd weight gradient as outer products over 70,000 tiles: the whole sum', () =>
  withPrefs({convWinograd: 'f2', convWinogradWeightProducts: 'outer'}, async () => {
    const x = wt.ones([1, 1, 2, 140000]), w = wt.ones([1, 1, 3, 3], {requiresGrad: true});
    wt.tidy(() => wt.sum(wt.conv2d(x, w, null, {padding: 1})).backward());
    const dw = Array.from(await w.grad!.data());
    assert.equal(dw, [139999, 140000, 139999, 279998, 280000, 279998, 139999, 140000, 139999]);
    for (const v of [x, w, w.grad]) v?.dispose();
  }));

// The 1x1 weight gradient's channel blocks over spans of the (image, pixel quad) pairs, 8 output channels a block
// where they come in 8s (else 4): one span (target 1), spans that cut images apart (target 18 over 54 or 2 x 9 pairs:
// spans of 3 and 5), a span per pair.
for (const target of [1, 18, 4096]) for (const [x, w] of [[[3, 8, 4, 6], [12, 8, 1, 1]], [[2, 4, 2, 2], [4, 4, 1, 1]],
  [[2, 16, 6, 6], [8, 16, 1, 1]]]) {
  t(`conv2d 1x1 weight gradient, pointwise kernel, split target ${target}: x${JSON.stringify(x)} w${JSON.stringify(w)}`,
    () => withPrefs({convWeight: 'pointwise', convSplitTarget: target}, () => {
      const ran = wt.internals.recordCases(() => wt.tidy(() => {
        wt.sum(wt.conv2d(wt.zeros(x), wt.zeros(w, {requiresGrad: true}), null)).backward();
      })).find((r) => r.family.name === 'conv.weight')!;
      assert.is(wt.internals.chooseVariant(ran.family, ran.c), w[0] % 8 ? 'pointwise4' : 'pointwise8');
      return checkOp({name: 'conv2d 1x1', inputs: [R.randomNd(x, 44), R.randomNd(w, 45)], gradOf: [1],
        gpu: ([a, b]) => wt.conv2d(a, b, null), ref: ([a, b]) => R.conv2d(a, b, null, [1, 1], [0, 0]),
        gatol: 1e-4 * Math.sqrt(x[0] * x[2] * x[3]) + 1e-4});
    }));
}

t('conv2d weight gradient with the GPU batch split (many partial sums reduced)', async () => {
  await withPrefs({convSplitTarget: 16384, convLowering: 'direct'}, () => checkOp({
    name: 'conv2d split', inputs: [R.randomNd([6, 3, 8, 8], 48), R.randomNd([4, 3, 3, 3], 49)], gradOf: [1],
    gpu: ([x, w]) => wt.conv2d(x, w, null, {padding: 1}), ref: ([x, w]) => R.conv2d(x, w, null, [1, 1], [1, 1]), gatol: 1e-3,
  }));
});

// Splits that do not divide the work, with padding and with stride 2. The generated weight tile splits the N * OH
// (image, output row) pairs into contiguous runs that cross image boundaries: on llvmpipe (3 kernel rows per
// thread) stride 1 has 40 pairs, in 6 runs of 7 (target 18; the last run 5) or 10 runs of 4 (target 36); stride 2
// has 15, in 5 runs of 3 or 8 runs of 2 (a target asking for more parts than runs gets no empty part).
// conv_bwd_weight8 interleaves the images in 3 parts (0, 3 / 1, 4 / 2).
for (const [convWeight, target] of [['auto', 18], ['auto', 36], ['taps8', 18]] as const) for (const [stride, pad] of [[1, 1], [2, 0]]) {
  t(`conv2d weight gradient, uneven batch split, ${convWeight}, target ${target}, stride ${stride} pad ${pad}`, () =>
    withPrefs({convSplitTarget: target, convLowering: 'direct', convWeight}, () => checkOp({
      name: 'conv2d uneven split', inputs: [R.randomNd([5, 3, 8, 9], 50), R.randomNd([4, 3, 3, 2], 51)], gradOf: [1],
      gpu: ([x, w]) => wt.conv2d(x, w, null, {stride, padding: pad}),
      ref: ([x, w]) => R.conv2d(x, w, null, [stride, stride], [pad, pad]), gatol: 1e-3,
    })));
}

/** A conv's backward (x [5, 3, 8, 9], w [6, 3, 3, 2]) runs as many dispatches with a bias as without. */
function biasCostsNoDispatch(stride: number): void {
  const x = wt.randn([5, 3, 8, 9], {seed: 59}), w = wt.randn([6, 3, 3, 2], {seed: 60, requiresGrad: true});
  const b = wt.randn([6], {seed: 61, requiresGrad: true});
  const r = wt.internals.rt();
  const count = (bias: wt.Tensor | null) => {
    const y = wt.conv2d(x, w, bias, {stride}), g = wt.ones(y.shape);
    const d0 = r.stats.dispatches;
    y.backward(g);
    const d = r.stats.dispatches - d0;
    for (const v of [y, g, w.grad!, ...(bias ? [bias.grad!] : [])]) v.dispose();
    w.grad = null; b.grad = null;
    return d;
  };
  assert.is(count(b), count(null), 'backward dispatches with the bias and without');
  for (const v of [x, w, b]) v.dispose();
}

// The generated weight tile sums the bias gradient with dW where it visits every pixel of dy: in one part (the bias
// its own tensor), in uneven parts (after dW's values in each part, both summed in one pass), one kernel row per
// thread or several (llvmpipe). A one-row tile skips padded rows, so there a reduction of its own sums the bias. Where
// the tile sums it, the bias costs no dispatch.
for (const target of [1, 18, 'auto'] as const) for (const [stride, pad] of [[1, 0], [1, 1], [2, 0]]) {
  const prefs = {convSplitTarget: target, convLowering: 'direct', convWeightLanes: false} as const;
  t(`conv2d weight gradient and bias gradient together, target ${target}, stride ${stride} pad ${pad}`, () =>
    withPrefs(prefs, async () => {
      await checkOp({
        name: 'conv2d bias with dW', inputs: [R.randomNd([5, 3, 8, 9], 56), R.randomNd([6, 3, 3, 2], 57),
          R.randomNd([6], 58)], gradOf: [1, 2],
        gpu: ([x, w, b]) => wt.conv2d(x, w, b, {stride, padding: pad}),
        ref: ([x, w, b]) => R.conv2d(x, w, b, [stride, stride], [pad, pad]), gatol: 1e-3,
      });
      if (pad > 0) return;
      biasCostsNoDispatch(stride);
    }));
}

// The lanes kernel's split: 30 (image, output row) pairs, 12 threads per part; target 1: one part (no sum), 18: 2
// parts of 15, 100: 8 runs of 4 (the last 2). Rows 9 wide (x loaded as floats), 8 outputs. It sums the bias gradient
// too: after dW's values in each part, or into its own tensor in one part, with no dispatch of its own.
for (const target of [1, 18, 100]) {
  t(`conv2d weight gradient, lanes kernel, target ${target}`, () =>
    withPrefs({convSplitTarget: target, convLowering: 'direct', convWeightLanes: true}, async () => {
      await checkOp({
        name: 'conv2d lanes split', inputs: [R.randomNd([5, 3, 8, 9], 54), R.randomNd([4, 3, 3, 2], 55)], gradOf: [1],
        gpu: ([x, w]) => wt.conv2d(x, w, null), ref: ([x, w]) => R.conv2d(x, w, null, [1, 1], [0, 0]), gatol: 1e-3,
      });
      await checkOp({
        name: 'conv2d lanes split with bias', inputs: [R.randomNd([5, 3, 8, 9], 62), R.randomNd([6, 3, 3, 2], 63),
          R.randomNd([6], 64)], gradOf: [1, 2],
        gpu: ([x, w, b]) => wt.conv2d(x, w, b), ref: ([x, w, b]) => R.conv2d(x, w, b, [1, 1], [0, 0]), gatol: 1e-3,
      });
      biasCostsNoDispatch(1);
    }));
}

// Weights past the uniform cap (UNIFORM_WEIGHTS_MAX_BYTES, 64 KiB, or a device's smaller limit: 32 * 3 * 3 taps x
// 64 channels x 4 bytes = 72 KiB as re-laid out) stay in storage on the generated tiles: same answer, and no
// uniform binding over the limit.
// SwiftShader's compiler takes minutes on weight tiles holding long row segments: there they take fewer pixels,
// forced tiles too (KW 6, stride 3: 8 pixels hold 27 floats, 5 hold 18). Other passes and adapters keep theirs.
t('weight tiles hold at most SWIFTSHADER_WEIGHT_SEGMENT floats of a row on SwiftShader, forced ones too', () => {
  const swift = wt.adapter().architecture === 'swiftshader';
  const k8p8 = {groups: 2, pixels: 8, hoist: true};
  assert.is(hoistedPixels(k8p8, 13, 6, 3, 'weight').pixels, swift ? 5 : 8);
  assert.is(hoistedPixels(k8p8, 13, 6, 3, 'forward').pixels, 8);
  assert.is(hoistedPixels(k8p8, 13, 6, 1, 'weight').pixels, 8, '13 floats fit');
  const chosen = hoistedPixels({...k8p8, pixels: 0}, 32, 6, 3, 'weight').pixels;
  if (swift) assert.ok((chosen - 1) * 3 + 6 <= SWIFTSHADER_WEIGHT_SEGMENT, `auto took ${chosen} pixels`);
});

t('conv2d whose weights do not fit a uniform binding reads them from storage', () =>
  withPrefs({convLowering: 'direct'}, () => checkOp({
    name: 'conv2d big weights', inputs: [R.randomNd([1, 32, 6, 7], 52), R.randomNd([64, 32, 3, 3], 53)],
    gpu: ([x, w]) => wt.conv2d(x, w), ref: ([x, w]) => R.conv2d(x, w, null, [1, 1], [0, 0]),
    refGrad: ([x, w], up) => R.conv2dGrad(x, w, up, [1, 1], [0, 0]), atol: 1e-3, sample: 48, gatol: 1e-3,
  })));

t('conv2d large (batch 16, 28x28 LeNet conv1), forward only', () => checkOp({
  name: 'conv2d large', inputs: [R.randomNd([16, 1, 28, 28], 44), R.randomNd([6, 1, 5, 5], 45)], gradOf: [],
  gpu: ([x, w]) => wt.conv2d(x, w), ref: ([x, w]) => R.conv2d(x, w, null, [1, 1], [0, 0]), atol: 1e-4,
}));

t('conv2d with a frozen weight runs no weight-gradient kernel', async () => {
  const backwardDispatches = (freeze: boolean) => {
    const x = wt.tensor(Float32Array.from(R.randomNd([1, 2, 5, 5], 46).data), [1, 2, 5, 5], {requiresGrad: true});
    const w = wt.tensor(Float32Array.from(R.randomNd([3, 2, 3, 3], 47).data), [3, 2, 3, 3], {requiresGrad: !freeze});
    const loss = wt.sum(wt.conv2d(x, w));
    const before = wt.internals.rt().stats.dispatches;
    loss.backward();
    assert.ok(x.grad, 'input gradient');
    assert.is(w.grad === null, freeze, 'weight gradient only when trainable');
    return wt.internals.rt().stats.dispatches - before;
  };
  const frozen = backwardDispatches(true), trainable = backwardDispatches(false);
  assert.ok(frozen < trainable, `frozen ${frozen} dispatches vs trainable ${trainable}`);
});

t('conv2d lowering too large for one storage binding falls back to the direct kernels', async () => {
  // Batch sized so the lowered input (one row of C*KH*KW taps per output pixel) passes the binding limit.
  const perImage = 4 * 64 * 64 * 16 * 9;
  const n = Math.floor(wt.internals.rt().maxTensorBytes.bytes / perImage) + 1;
  if (n > 64) return; // a hardware GPU's limit: too large a test
  const x = wt.randn([n, 16, 66, 66], {seed: 1}), w = wt.randn([8, 16, 3, 3], {seed: 2});
  const run = (lowering: 'gemm' | 'direct') =>
    withPrefs({convLowering: lowering}, () => wt.sum(wt.conv2d(x, w), [1, 2, 3]).data());
  const preferred = await run('gemm'), direct = await run('direct');
  assert.equal(Array.from(preferred), Array.from(direct));
  x.dispose(); w.dispose();
});

// A lowered forward leaves its im2col matrix in the node for the weight gradient: the same gradient as lowering
// again, one im2col dispatch instead of two, and nothing left alive once tidy() ends.
t('conv2d lowered: the weight gradient reuses the forward im2col and frees it with the graph', async () => {
  await withPrefs({convLowering: 'gemm'}, async () => {
    const x = wt.randn([2, 3, 7, 6], {seed: 11});
    const run = async (reuse: boolean) => {
      const w = wt.randn([5, 3, 3, 2], {seed: 12, requiresGrad: true});
      const before = wt.memory().liveBytes;
      const prof = await wt.debug.profile(() => wt.tidy(() => {
        const y = wt.conv2d(x, w, null, {padding: 1});
        const saved = y.node!.saved as {cols: wt.Tensor | null};
        assert.ok(saved.cols, 'the forward kept its im2col matrix');
        if (!reuse) saved.cols = null;   // forgotten (tidy still frees it): the gradient lowers x again
        wt.sum(wt.mul(y, y)).backward();
      }), {steps: 1, warmup: 0});
      const leaked = wt.memory().liveBytes - before - w.grad!.buffer.size;
      const im2col = prof.rows.filter((r) => r.kernel.startsWith('conv2d/im2col-rows')).reduce((a, r) => a + r.count, 0);
      const dw = Array.from(await w.grad!.data());
      w.grad!.dispose(); w.dispose();
      return {dw, leaked, im2col};
    };
    const reused = await run(true), again = await run(false);
    assert.equal(reused.dw, again.dw);
    assert.is(reused.im2col, 1);
    assert.is(again.im2col, 2);
    assert.ok(reused.leaked <= 0, `${reused.leaked} bytes left alive`);
    // The output returned from a tidy() whose end freed the matrix: backward lowers x again.
    const w = wt.randn([5, 3, 3, 2], {seed: 12, requiresGrad: true});
    const y = wt.tidy(() => wt.conv2d(x, w, null, {padding: 1}));
    wt.sum(wt.mul(y, y)).backward();
    assert.equal(Array.from(await w.grad!.data()), reused.dw);
    // Disposing the output of a graph never run backward frees the matrix with it.
    const before = wt.memory().liveBytes;
    const y2 = wt.conv2d(x, w, null, {padding: 1});
    assert.ok(wt.memory().liveBytes - before > y2.buffer.size, 'the forward kept its matrix');
    y2.dispose();
    assert.is(wt.memory().liveBytes, before);
    y.dispose(); w.grad!.dispose(); w.dispose(); x.dispose();
  });
});

t('conv2d errors name the shapes', () => {
  assert.throws(() => wt.conv2d(wt.zeros([1, 3, 8, 8]), wt.zeros([4, 2, 3, 3])), /conv2d: input \[1, 3, 8, 8\] has 3 channels but weight \[4, 2, 3, 3\] expects 2/);
  assert.throws(() => wt.conv2d(wt.zeros([1, 1, 2, 2]), wt.zeros([1, 1, 3, 3])), /does not fit input/);
});

interface PoolCase { x: number[]; k: [number, number]; s: [number, number]; p: [number, number] }
const pools: PoolCase[] = [
  {x: [1, 1, 4, 4], k: [2, 2], s: [2, 2], p: [0, 0]},
  {x: [2, 3, 7, 9], k: [3, 3], s: [2, 2], p: [1, 1]},
  {x: [2, 2, 5, 6], k: [2, 3], s: [1, 2], p: [0, 1]},
  {x: [3, 6, 24, 24], k: [2, 2], s: [2, 2], p: [0, 0]},
  {x: [2, 3, 7, 9], k: [2, 3], s: [3, 3], p: [1, 1]},   // stride > kernel, padded: the scatter path
  {x: [2, 3, 6, 8], k: [2, 2], s: [2, 2], p: [0, 0]},   // 2x2 pairs: W = 8, an odd count of pairs per plane
  {x: [1, 2, 2, 12], k: [2, 2], s: [2, 2], p: [0, 0]},  // one output row per plane
  {x: [2, 2, 6, 6], k: [2, 2], s: [2, 2], p: [0, 0]},   // W not a multiple of 4: the general kernels
  {x: [1, 2, 5, 8], k: [2, 2], s: [2, 2], p: [0, 0]},   // H odd (its last row in no window): the general kernels
  {x: [2, 3, 8, 16], k: [3, 3], s: [2, 2], p: [1, 1]},  // 3x3 quads: two a row, the first padded on the left
  {x: [1, 2, 7, 8], k: [3, 3], s: [2, 2], p: [1, 1]},   // 3x3 quads, H odd: the last windows' third row is padding
  {x: [2, 2, 6, 24], k: [3, 3], s: [2, 2], p: [1, 1]},  // 3x3 quads: three a row
];
// 'pairs': 2x2 stride-2 pools by pool2_fwd / pool2_bwd and 3x3 stride-2 ones by pool3_fwd / pool3_bwd where they fit; 'scatter'
// / 'search': the general kernels.
const poolPaths = {pairs: {pool2x2: true, pool3x3: true, poolScatter: true},
  scatter: {pool2x2: false, pool3x3: false, poolScatter: true},
  search: {pool2x2: false, pool3x3: false, poolScatter: false}};
for (const [path, prefs] of Object.entries(poolPaths)) for (const c of pools) {
  const tag = `x${JSON.stringify(c.x)} k${c.k} s${c.s} p${c.p}`;
  t(`maxPool2d[${path}] ${tag}`, () => withPrefs(prefs, () => checkOp({
    name: 'maxPool2d', refKey: tag, inputs: [R.distinct(c.x, 51)], sample: 64,
    gpu: ([x]) => wt.maxPool2d(x, c.k, {stride: c.s, padding: c.p}), ref: ([x]) => R.pool2d(x, c.k, c.s, c.p, 'max'),
    refGrad: ([x], up) => [R.pool2dGrad(x, up, c.k, c.s, c.p, 'max')],
  })));
  // maxPool2d(relu(x)) in one pass: half the inputs are negative, so some windows pool only negatives.
  t(`reluMaxPool2d[${path}] ${tag}`, () => withPrefs(prefs, () => checkOp({
    name: 'reluMaxPool2d', refKey: tag, inputs: [R.distinct(c.x, 53)], sample: 64,
    gpu: ([x]) => wt.internals.reluMaxPool2d(x, c.k, {stride: c.s, padding: c.p}),
    ref: ([x]) => R.pool2d(R.map(x, (v) => Math.max(v, 0)), c.k, c.s, c.p, 'max'),
    refGrad: ([x], up) => {
      const g = R.pool2dGrad(R.map(x, (v) => Math.max(v, 0)), up, c.k, c.s, c.p, 'max');
      return [{shape: g.shape, data: g.data.map((v, i) => (x.data[i] > 0 ? v : 0))}];
    },
  })));
  if (path === 'search') continue;
  t(`avgPool2d[${path}] ${tag}`, () => withPrefs(prefs, () => checkOp({
    name: 'avgPool2d', refKey: tag, inputs: [R.randomNd(c.x, 52)], sample: 64,
    gpu: ([x]) => wt.avgPool2d(x, c.k, {stride: c.s, padding: c.p}), ref: ([x]) => R.pool2d(x, c.k, c.s, c.p, 'avg'),
    refGrad: ([x], up) => [R.pool2dGrad(x, up, c.k, c.s, c.p, 'avg')],
  })));
}

// Ties, NaN and infinities: the pair kernels pick the same argmax as the general one (the first maximum in row
// order; a NaN wins and a later NaN replaces it), so values and gradients agree (NaN as NaN).
t('reluMaxPool2d equals maxPool2d of relu on ties, NaN and infinities, values and gradients', async () => {
  const v = [1, -1, -2, -3, NaN, 2, 0, NaN, -Infinity, -Infinity, Infinity, 0, 5, 5, -1, 7,
    0, -0, -5, -6, -Infinity, -Infinity, -Infinity, -Infinity, 2, NaN, -1, -1, 4, 4, 4, 4];
  const up = wt.tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [1, 1, 2, 4]);
  for (const pool2x2 of [true, false]) await withPrefs({pool2x2}, async () => {
    const grads = async (f: (x: wt.Tensor) => wt.Tensor) => {
      const x = wt.tensor(Float32Array.from(v), [1, 1, 4, 8], {requiresGrad: true});
      const y = f(x);
      wt.sum(wt.mul(y, up)).backward();
      const out = {y: Array.from(await y.data()), dx: Array.from(await x.grad!.data())};
      x.dispose(); y.dispose();
      return out;
    };
    const fused = await grads((x) => wt.internals.reluMaxPool2d(x, 2));
    assert.equal(fused, await grads((x) => wt.maxPool2d(wt.relu(x), 2)), `pool2x2 ${pool2x2}`);
    assert.equal(fused, await grads((x) => wt.relu(wt.maxPool2d(x, 2))), `pool2x2 ${pool2x2}`);
  });
  up.dispose();
});

// conv2dReluPool2x2: the tile pooling in its output write (convPoolWrite, CPU adapters' generated forward) and the
// convolution and reluMaxPool2d apart, against relu, 2x2 max pooling and the convolution in float64.
const poolWriteCases = [
  {x: [2, 3, 9, 11], w: [5, 3, 3, 3], bias: true},   // OH 7, OW 9: the last row and column lie in no window
  {x: [2, 1, 12, 12], w: [6, 1, 5, 5], bias: true},  // LeNet conv1 (its weights read in place)
  {x: [2, 6, 12, 12], w: [16, 6, 5, 5], bias: true}, // LeNet conv2
  {x: [1, 2, 7, 8], w: [7, 2, 2, 2], bias: false},   // 7 channels (a group's real lanes), no bias
  {x: [2, 2, 5, 28], w: [3, 2, 3, 3], bias: true},   // rows of 26 outputs
];
// A forced tile that does not hold its row segments cannot pool in its write: the two run apart.
const poolWritePaths = {'pool write': {convPoolWrite: true}, apart: {convPoolWrite: false},
  'tile without hoisting': {convPoolWrite: true, convForward: {groups: 2, pixels: 4}}} as const;
for (const [path, prefs] of Object.entries(poolWritePaths)) for (const c of poolWriteCases) {
  const tag = `x${JSON.stringify(c.x)} w${JSON.stringify(c.w)}${c.bias ? '' : ' no bias'}`;
  const K = c.w[1] * c.w[2] * c.w[3];
  const pre = (x: R.Nd, w: R.Nd, b: R.Nd | null) => R.conv2d(x, w, b, [1, 1], [0, 0]);
  t(`conv2dReluPool2x2[${path}] ${tag}`, () => withPrefs(prefs, () => checkOp({
    name: 'conv2dReluPool2x2', refKey: tag,
    inputs: [R.randomNd(c.x, 61), R.randomNd(c.w, 62), ...(c.bias ? [R.randomNd([c.w[0]], 63)] : [])],
    gpu: ([x, w, b]) => wt.internals.conv2dReluPool2x2(x, w, b),
    ref: ([x, w, b]) => R.pool2d(R.map(pre(x, w, b ?? null), (v) => Math.max(v, 0)), [2, 2], [2, 2], [0, 0], 'max'),
    refGrad: ([x, w, b], up) => {
      const y = pre(x, w, b ?? null);
      const g = R.pool2dGrad(R.map(y, (v) => Math.max(v, 0)), up, [2, 2], [2, 2], [0, 0], 'max');
      const dy = {shape: g.shape, data: g.data.map((v, i) => (y.data[i] > 0 ? v : 0))};
      return R.conv2dGrad(x, w, dy, [1, 1], [0, 0]).slice(0, c.bias ? 3 : 2);
    },
    atol: 2e-6 * K + 1e-5, sample: 48, gatol: 1e-4 * Math.sqrt(c.x[0] * c.x[2] * c.x[3]) + 1e-4,
  })));
}

// The pooled write takes each window's maximum as reluMaxPool2d does (the first in row order; a NaN wins and a later
// NaN replaces it): with a 1 x 2 kernel of weights (1, 0) the convolution's output is x without its last column, so
// values, argmaxima and gradients must equal reluMaxPool2d's on ties, NaN and infinities. On CPU adapters the tile
// pools in its write: one dispatch fewer than the convolution and the pooling apart.
t('conv2dReluPool2x2 pools as reluMaxPool2d on ties, NaN and infinities', async () => {
  const v = [1, -1, -2, -3, NaN, 2, 0, NaN, -Infinity, 9, -Infinity, Infinity, 0, 5, 5, -1, 7, 3,
    0, -0, -5, -6, -Infinity, -Infinity, -Infinity, -Infinity, 1, 2, NaN, -1, -1, 4, 4, 4, 4, 4];
  const x = wt.tensor(Float32Array.from(v), [1, 1, 4, 9], {requiresGrad: true});
  const w = wt.tensor([1, 0], [1, 1, 1, 2]);
  const up = wt.tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [1, 1, 2, 4]);
  const run = async (f: () => wt.Tensor) => {
    const y = f();
    wt.sum(wt.mul(y, up)).backward();
    const out = {y: Array.from(await y.data()), dx: Array.from(await x.grad!.data()), op: y.node?.op};
    x.grad!.dispose(); x.grad = null; y.dispose();
    return out;
  };
  const apart = await run(() => wt.internals.reluMaxPool2d(wt.conv2d(x, w), 2));
  const fused = await withPrefs({convPoolWrite: true}, () => run(() => wt.internals.conv2dReluPool2x2(x, w)));
  assert.equal(fused.y, apart.y);
  assert.equal(fused.dx, apart.dx);
  assert.is(fused.op, 'conv2dReluPool2x2');
  const dispatches = (convPoolWrite: boolean) => withPrefs({convPoolWrite}, () => {
    const step = wt.compile([{shape: [1, 1, 4, 9]}], [v], (xs) => wt.noGrad(() => wt.internals.conv2dReluPool2x2(xs, w)));
    const n = step.dispatchCount;
    step.output.dispose(); step.dispose();
    return n;
  });
  if (wt.adapter().isCpu) assert.is(dispatches(true), dispatches(false) - 1, 'dispatches: the pool written by the tile');
  x.dispose(); w.dispose(); up.dispose();
});

t('maxPool2d: pair kernels match the general kernel on ties, NaN and infinities', async () => {
  const v = [1, 1, 1, 1, NaN, 2, 3, NaN, -Infinity, -Infinity, Infinity, 0, 5, 5, -1, 7,
    0, -0, 0, 0, -Infinity, -Infinity, -Infinity, -Infinity, 2, NaN, NaN, 1, 4, 4, 4, 4];
  const run = (pool2x2: boolean) => withPrefs({pool2x2}, async () => {
    const x = wt.tensor(Float32Array.from(v), [1, 1, 4, 8], {requiresGrad: true});
    const y = wt.maxPool2d(x, 2);
    wt.sum(wt.mul(y, wt.tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [1, 1, 2, 4]))).backward();
    const out = {y: Array.from(await y.data()), dx: Array.from(await x.grad!.data())};
    x.dispose(); y.dispose();
    return out;
  });
  const pairs = await run(true), general = await run(false);
  assert.equal(pairs, general);
  assert.equal(pairs.y, [1, Infinity, NaN, NaN, NaN, NaN, 4, 4]);
  // Each window's gradient lands on its first maximum (or its last NaN), nowhere else.
  assert.equal(pairs.dx, [1, 0, 0, 0, 3, 0, 0, 4, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 0, 7, 0, 8, 0]);
});

// 3x3 stride-2 windows padded by 1 (ResNet's stem pool): pool3_fwd / pool3_bwd against pool_fwd / pool_bwd bit for
// bit on ties, NaN and infinities (max, with and without the relu, and average), and the variant that ran.
t('maxPool2d 3x3 stride 2: the quad kernels match the general kernels on ties, NaN and infinities', async () => {
  // H even and odd (the last input row in one output row), two and three quads a row.
  for (const [H, W] of [[6, 16], [7, 24]]) {
    const OH = Math.ceil(H / 2), OW = W / 2;
    const v = Float32Array.from(R.distinct([1, 2, H, W], 57).data);
    const special = [NaN, Infinity, -Infinity, 0, -0, 5, 5, 5];
    for (let i = 0; i < v.length; i += 3) v[i] = special[(i / 3) % special.length];
    const upstream = Float32Array.from(R.randomNd([1, 2, OH, OW], 58).data);
    const run = (pool3x3: boolean, op: 'max' | 'relu' | 'avg') => withPrefs({pool3x3}, async () => {
      const x = wt.tensor(v, [1, 2, H, W], {requiresGrad: true}), up = wt.tensor(upstream, [1, 2, OH, OW]);
      let y: wt.Tensor | null = null;
      const p = await wt.debug.profile(() => {
        const o = {stride: 2, padding: 1};
        const pool = {max: wt.maxPool2d, relu: wt.internals.reluMaxPool2d, avg: wt.avgPool2d}[op];
        y = pool(x, 3, o);
        wt.sum(wt.mul(y, up)).backward();
      }, {steps: 1, warmup: 0});
      const ran = (entry: string) => p.rows.some((r) => r.kernel.includes(`:${entry}`));
      const out = {y: Array.from(await y!.data()), dx: Array.from(await x.grad!.data()),
        forward: ran('pool3_fwd'), backward: ran('pool3_bwd')};
      for (const t of [x, up, y!]) t.dispose();
      return out;
    });
    for (const op of ['max', 'relu', 'avg'] as const) {
      const tag = `${op} ${H}x${W}`;
      const quads = await run(true, op), general = await run(false, op);
      assert.ok(quads.forward && !general.forward, `${tag}: pool3_fwd ran only where asked`);
      assert.ok(quads.backward && !general.backward, `${tag}: pool3_bwd ran only where asked`);
      assert.equal(quads.y, general.y, `${tag}: values`);
      assert.equal(quads.dx, general.dx, `${tag}: gradients`);
      assert.ok(quads.y.some(Number.isNaN) && quads.y.includes(Infinity), `${tag}: NaN and Infinity reach the output`);
    }
  }
});

// A weight gradient over 33,000 (image, output row) pairs with 256 threads' worth of channels: one part per thread
// would loop 33,000 x 2 times, past the ~65,535 iterations llvmpipe runs in a thread (it stops them short, silently),
// so the pairs are split further there (about 3 s on llvmpipe: fewer multiply-adds cannot pass the limit). Only
// llvmpipe has the limit; elsewhere the case is one more shape, 13 s on SwiftShader, and is skipped.
t('conv2d weight gradient over 33,000 rows of 4 pixels (direct; llvmpipe)', () => withPrefs(direct, async () => {
  if (wt.adapter().architecture === 'swiftshader') return;
  const [C, K, H, W] = [32, 64, 33000, 4];
  const x = wt.randn([1, C, H, W], {seed: 5}), w = wt.randn([K, C, 1, 1], {seed: 6, requiresGrad: true});
  const r = wt.randn([1, K, H, W], {seed: 7});
  wt.sum(wt.mul(wt.conv2d(x, w), r)).backward();
  const [g, xd, rd] = [await w.grad!.data(), await x.data(), await r.data()];
  for (const [k, c] of [[0, 0], [5, 17], [K - 1, C - 1], [40, 3]]) {
    let want = 0;
    for (let q = 0; q < H * W; q++) want += rd[k * H * W + q] * xd[c * H * W + q];
    assert.ok(Math.abs(g[k * C + c] - want) <= 1e-3 * (1 + Math.abs(want)), `dW[${k}, ${c}]: got ${g[k * C + c]}, want ${want}`);
  }
  for (const v of [x, w, r]) v.dispose();
  w.grad!.dispose();
}));

// The hand-written kernels forced past llvmpipe's loop limit (their step counts: directForwardSteps and the others in
// conv/select.ts). Before they counted loop tests, forcing them gave 10,923 for a 20,000-channel forward and 21,845
// for a 30,000-row weight gradient there. Now the weight gradient splits its images where they all fit one thread,
// and a forced kernel that cannot run a case is refused with its name and shape; other adapters compute them all.
const forcedDirect = [['k4, c4, cols4', {convForward: 'k4', convInput: 'c4', convWeight: 'cols4'}, 'conv_fwd, conv_fwd8'],
  ['k8, c8, taps8', {convForward: 'k8', convInput: 'c8', convWeight: 'taps8'}, 'conv_fwd8']] as const;
for (const [name, prefs, forward] of forcedDirect) {
  t(`conv2d forced to the hand-written kernels past llvmpipe's loop limit: whole sums or refused (${name})`, () =>
    withPrefs({...direct, ...prefs, convSplitTarget: 1}, async () => {
      const limited = wt.internals.loopsLimited();
      const cases: [string, number[], number[], 'y' | 'dx' | 'dw', number, string | null][] = [
        ['forward over 20,000 channels', [1, 20000, 1, 1], [1, 20000, 1, 1], 'y', 20000,
          `conv.forward 1x20000x1x1>1x1x1/s1,1/p0,0: ${forward} appl`],
        ['input gradient over 3 x 3 taps of 10,000 channels', [1, 1, 5, 5], [10000, 1, 3, 3], 'dx', 90000,
          'conv.input 1x1x5x5>10000x3x3/s1,1/p0,0: conv_bwd_input'],
        ['weight gradient over one image of 30,000 rows', [1, 1, 30000, 1], [1, 1, 1, 1], 'dw', 30000,
          'conv.weight 1x1x30000x1>1x1x1/s1,1/p0,0: conv_bwd_weight'],
        ['weight gradient over 30,000 images of 2 pixels', [30000, 1, 1, 2], [1, 1, 1, 1], 'dw', 60000, null],
      ];
      for (const [what, xs, ws, out, want, refusal] of cases) {
        const x = wt.ones(xs, {requiresGrad: true}), w = wt.ones(ws, {requiresGrad: true});
        let y: wt.Tensor | undefined;
        try {
          y = wt.conv2d(x, w);
          wt.sum(y).backward();
          assert.ok(!limited || !refusal, `${what}: ran on llvmpipe`);
          const got = Math.max(...await (out === 'y' ? y : out === 'dx' ? x.grad! : w.grad!).data());
          assert.is(got, want, `${what}: got ${got}`);
        } catch (e) {
          if (!limited || !refusal || !(e instanceof Error) || !e.message.includes(refusal)) throw e;
        }
        for (const v of [x, w, y, x.grad, w.grad]) v?.dispose();
      }
    }));
}

t.run();
