// @test order 90: last: it shuts the device down and starts it again
// Bad inputs: each row is one distinct misuse, the call that makes it, and the error it must raise.
// Every error names the op (or layer / optimizer) and what was wrong; none may return a wrong answer.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {claimedFreeCount} from '../src/graph/tensor.js';

const t = suite('errors: bad inputs');

const f32 = (shape: number[]) => wt.zeros(shape);
const i32 = (values: number[]) => wt.tensor(values, [values.length], {dtype: 'i32'});
const disposed = (shape: number[]) => { const x = wt.ones(shape); x.dispose(); return x; };

// [what is wrong, the call, the error it must raise]
const BAD: [string, () => unknown, RegExp][] = [
  // dtype names and mixed dtypes
  ['an unknown dtype name', () => wt.tensor([1, 2, 3], [3], {dtype: 'int64' as never}), /tensor: unknown dtype "int64": use 'f32' \(or 'float32'\) or 'i32'/],
  ['an unknown dtype in zeros()', () => wt.zeros([2], {dtype: 'float' as never}), /zeros: unknown dtype "float"/],
  ['an unknown dtype in a compile() input spec', () => wt.compile([{shape: [2], dtype: 'uint8' as never}], [[1, 2]], (x) => x), /compile input 0: unknown dtype "uint8"/],
  ['gt(int32, float32)', () => wt.gt(i32([1, 2]), f32([2])), /gt: a must be float32, got i32\[2\]/],
  ['eq(float32, int32)', () => wt.eq(f32([2]), i32([1, 2])), /eq: b must be float32, got i32\[2\]/],
  ['add of an int32 tensor', () => wt.add(f32([2]), i32([1, 2])), /add: b must be float32/],
  ['matmul of int32 matrices', () => wt.matmul(wt.tensor([1, 2, 3, 4], [2, 2], {dtype: 'i32'}), f32([2, 2])), /matmul: a must be float32/],
  ['a linear bias of int32', () => wt.linear(f32([1, 2]), f32([2, 2]), i32([1, 2])), /linear: bias must be float32, got i32\[2\]/],
  ['where with an int32 condition', () => wt.where(i32([1, 0]), f32([2]), f32([2])), /where: cond must be float32/],
  ['concat of float32 and int32', () => wt.concat([f32([2]), i32([1, 2])]), /concat: inputs mix dtypes/],
  ['gather with float indices', () => wt.gather(f32([3, 2]), f32([2])), /gather: indices must be int32, got f32\[2\]/],
  ['gather with a number as indices', () => wt.gather(f32([3, 2]), 1 as never), /gather: argument 'indices' must be a Tensor, got number 1/],
  ['oneHot of float labels', () => wt.oneHot(f32([3]), 4), /oneHot: labels must be int32/],
  ['backward() with an int32 gradient', () => wt.mul(wt.ones([2], {requiresGrad: true}), 2).backward(i32([1, 1])), /backward: gradient must be float32, got i32\[2\]/],
  ['add of a string', () => wt.add(f32([2]), 'a' as never), /add: argument 'b' must be a Tensor, got string a/],
  // shapes and creation
  ['randn with a negative dimension', () => wt.randn([-1, 3]), /randn: invalid shape \[-1, 3\]: dimensions must be non-negative integers/],
  ['zeros(3): a number, not a shape', () => wt.zeros(3 as never), /zeros: shape must be an array of dimensions, got 3/],
  ['ones with a fractional dimension', () => wt.ones([2.5]), /ones: invalid shape \[2.5\]/],
  ['tensor() with ragged nested arrays', () => wt.tensor([[1, 2], [3]] as never), /tensor: nested arrays are ragged: element \[1\] has length 1 where 2 was expected/],
  ['tensor() with a string element', () => wt.tensor(['a', 1] as never), /tensor: element 0 is string "a", expected a number/],
  ['tensor() with a shape that contradicts the nesting', () => wt.tensor([[1, 2], [3, 4]], [4]), /tensor: shape \[4\] given for nested arrays of shape \[2, 2\]/],
  ['tensor() of a number', () => wt.tensor(5 as never), /tensor: data must be an array or typed array of numbers, got number/],
  ['full() of a non-integer int32 value', () => wt.full([2], 1.5, {dtype: 'i32'}), /full: int32 value 1.5 is not an integer/],
  ['a tensor of 2^29 elements (past the per-buffer limit)', () => wt.zeros([2 ** 29]), /zeros: a f32\[536870912\] tensor needs 2147483648 bytes, more than this adapter allows per buffer/],
  ['reshape with two -1', () => wt.reshape(f32([4]), [-1, -1]), /reshape: invalid shape \[-1, -1\] for f32\[4\]: dimensions are non-negative, with at most one -1/],
  ['reshape with negative dimensions', () => wt.reshape(f32([6]), [-2, -3]), /reshape: invalid shape \[-2, -3\]/],
  ['reshape with a fractional dimension', () => wt.reshape(f32([6]), [1.5, 4]), /reshape: shape must be an array of integers, got \[1.5,4\]/],
  ['reshape to another size', () => wt.reshape(f32([6]), [4]), /reshape: cannot view f32\[6\] as \[4\]/],
  ['expand [2,3] to [2,1]', () => wt.expand(f32([2, 3]), [2, 1]), /expand: cannot expand f32\[2, 3\] to \[2, 1\]/],
  ['expand to a lower rank', () => wt.expand(f32([2, 3]), [3]), /expand: cannot expand f32\[2, 3\] to \[3\]/],
  ['slice with fractional starts', () => wt.slice(f32([4]), [0.5], [2]), /slice: starts must be an array of integers/],
  ['slice with more starts than dims', () => wt.slice(f32([4]), [0, 0], [2, 2]), /slice: 2 starts and 2 ends for f32\[4\] \(rank 1\)/],
  ['permute with a repeated dim', () => wt.permute(f32([2, 3]), [0, 0]), /permute: \[0, 0\] is not a permutation/],
  ['flatten from a dim past the rank', () => wt.flatten(f32([2, 3]), 5), /flatten: startDim 5 out of range/],
  ['sum over an axis out of range', () => wt.sum(f32([2, 3]), 2), /sum: axis 2 out of range for rank 2/],
  ['argmax of an empty tensor', () => wt.argmax(f32([0])), /argmax: empty input f32\[0\]/],
  ['mseLoss of [3,1] against [3]', () => wt.mseLoss(f32([3, 1]), f32([3])), /mseLoss: input f32\[3, 1\] and target f32\[3\] differ in shape/],
  ['oneHot with 0 classes', () => wt.oneHot(i32([0]), 0), /oneHot: classes must be an integer >= 1, got 0/],
  ['crossEntropy with an unknown reduction', () => wt.crossEntropy(f32([2, 3]), i32([0, 1]), 'avg' as never), /crossEntropy: reduction must be 'mean', 'sum' or 'none'/],
  ['clamp with a NaN bound', () => wt.clamp(f32([2]), NaN, 1), /clamp: min and max must be numbers/],
  ['dropout with p = 1', () => wt.dropout(f32([2]), 1), /dropout: p must be in \[0, 1\)/],
  // convolution and pooling arguments
  ['conv2d stride 1.5', () => wt.conv2d(f32([1, 1, 5, 5]), f32([1, 1, 3, 3]), null, {stride: 1.5}), /conv2d: stride must be an integer >= 1 or a pair of them, got 1.5/],
  ['conv2d stride 0', () => wt.conv2d(f32([1, 1, 5, 5]), f32([1, 1, 3, 3]), null, {stride: 0}), /conv2d: stride must be an integer >= 1/],
  ['conv2d negative padding', () => wt.conv2d(f32([1, 1, 5, 5]), f32([1, 1, 3, 3]), null, {padding: -1}), /conv2d: padding must be an integer >= 0/],
  ['conv2d fractional padding', () => wt.conv2d(f32([1, 1, 5, 5]), f32([1, 1, 3, 3]), null, {padding: [0, 0.5]}), /conv2d: padding must be an integer >= 0 or a pair of them, got \[0,0.5\]/],
  ['conv2d dilation 2 (not implemented)', () => wt.conv2d(f32([1, 1, 5, 5]), f32([1, 1, 3, 3]), null, {dilation: 2} as never), /conv2d: option dilation=2 is not supported/],
  ['maxPool2d stride 1.5', () => wt.maxPool2d(f32([1, 1, 4, 4]), 2, {stride: 1.5}), /maxPool2d: stride must be an integer >= 1/],
  ['maxPool2d kernel 0', () => wt.maxPool2d(f32([1, 1, 4, 4]), 0), /maxPool2d: kernel must be an integer >= 1/],
  ['avgPool2d stride 0', () => wt.avgPool2d(f32([1, 1, 4, 4]), 2, {stride: 0}), /avgPool2d: stride must be an integer >= 1/],
  ['avgPool2d negative padding', () => wt.avgPool2d(f32([1, 1, 4, 4]), 2, {padding: -1}), /avgPool2d: padding must be an integer >= 0/],
  // layers and optimizers
  ['Linear with -1 inputs', () => new wt.Linear(-1, 2), /Linear: inFeatures must be a positive integer, got -1/],
  ['Linear with 2.5 outputs', () => new wt.Linear(2, 2.5), /Linear: outFeatures must be a positive integer, got 2.5/],
  ['Conv2d with kernel 0', () => new wt.Conv2d(1, 6, 0), /Conv2d: kernel must be a positive integer, got 0/],
  ['Dropout with p = 2', () => new wt.Dropout(2), /Dropout: p must be in \[0, 1\), got 2/],
  ['BatchNorm2d with eps 0', () => new wt.BatchNorm2d(3, {eps: 0}), /BatchNorm2d: eps must be > 0/],
  ['SGD momentum -1', () => new wt.SGD([wt.ones([1])], {momentum: -1}), /SGD: momentum must be a finite number >= 0, got -1/],
  ['SGD dampening 2', () => new wt.SGD([wt.ones([1])], {momentum: 0.9, dampening: 2}), /SGD: dampening must be in \[0, 1\], got 2/],
  ['SGD lr NaN', () => new wt.SGD([wt.ones([1])], {lr: NaN}), /SGD: lr must be a finite number >= 0, got NaN/],
  ['Adam beta2 = 1', () => new wt.Adam([wt.ones([1])], {beta2: 1}), /Adam: betas must be in \[0, 1\), got 0.9, 1/],
  ['Adam eps -1', () => new wt.Adam([wt.ones([1])], {eps: -1}), /Adam: eps must be a finite number >= 0, got -1/],
  ['AdamW negative weight decay', () => new wt.AdamW([wt.ones([1])], {weightDecay: -0.1}), /AdamW: weightDecay must be a finite number >= 0, got -0.1/],
  ['an optimizer over an int32 parameter', () => new wt.SGD([i32([1])]), /SGD: parameter i32\[1\] is not float32/],
  ['StepLR gamma 0', () => new wt.StepLR(new wt.SGD([wt.ones([1])]), 10, 0), /StepLR: gamma must be a finite number > 0/],
  // disposed tensors
  ['gt of a disposed tensor', () => wt.gt(disposed([2]), f32([2])), /gt: input 'a' \(f32\[2\]\) was disposed/],
  ['slice of a disposed tensor', () => wt.slice(disposed([4]), [0], [2]), /slice: input 'x' \(f32\[4\]\) was disposed/],
  ['concat with a disposed tensor', () => wt.concat([f32([2]), disposed([2])]), /concat: input 'xs\[1\]' \(f32\[2\]\) was disposed/],
  ['permute of a disposed tensor', () => wt.permute(disposed([2, 3]), [1, 0]), /permute: input 'x' \(f32\[2, 3\]\) was disposed/],
  ['relu of a disposed tensor', () => wt.relu(disposed([2])), /relu: input 'x' \(f32\[2\]\) was disposed/],
  ['data() of a disposed tensor', () => disposed([2]).data(), /data\(\): tensor f32\[2\] was disposed/],
  // autograd
  ['backward() with a wrongly shaped gradient', () => wt.mul(wt.ones([3, 1], {requiresGrad: true}), 2).backward(wt.ones([3])),
    /backward: gradient f32\[3\] does not match the shape of output f32\[3, 1\]/],
  ['backward() after disposing an intermediate', () => {
    const w = wt.ones([3], {requiresGrad: true});
    const h = wt.relu(wt.mul(w, 2));
    const loss = wt.sum(h);
    h.dispose();
    loss.backward();
  }, /backward: tensor f32\[3\] \(output of 'relu', input of 'sum' \(f32\[\]\)\) was disposed before backward\(\)/],
  ['backward() of a disposed loss', () => { const l = wt.sum(wt.ones([2], {requiresGrad: true})); l.dispose(); l.backward(); }, /backward: tensor f32\[\] \(output of 'sum'\) was disposed/],
  ['customGrad whose forward returns no tensor', () => wt.internals.customGrad([f32([2])], () => 3 as never, (g) => [g]), /custom: customGrad: forward\(\) must return a Tensor/],
  // compile and tidy
  ['a nested compile()', () => wt.compile([{shape: [2]}], [[1, 2]], (x) => wt.compile([{shape: [2]}], [[1, 2]], (y) => wt.add(x, y))),
    /compile: called inside another compiled step's body; compiled steps cannot nest/],
  ['an async compile() body', () => wt.compile([{shape: [2]}], [[1, 2]], async (x) => wt.relu(x)), /compile: the body is an async function/],
  ['a compile() body returning a Promise', () => wt.compile([{shape: [2]}], [[1, 2]], (x) => Promise.resolve(wt.relu(x))), /compile: the body returned a Promise/],
  ['data() inside a compile() body (not awaited)', () => wt.compile([{shape: [2]}], [[1, 2]], (x) => { const y = wt.relu(x); void y.data(); return y; }),
    /data\(\)\/item\(\) of f32\[2\] inside a compiled step: a compiled body must be synchronous/],
  ['item() inside a compile() body', () => wt.compile([{shape: [1]}], [[1]], (x) => { void x.item(); return x; }), /data\(\)\/item\(\) of f32\[1\] inside a compiled step/],
  ['tidy() of an async function', () => wt.tidy((async () => wt.ones([2])) as never), /tidy\(fn\): fn returned a Promise; tidy needs a synchronous function/],
];

t(`${BAD.length} bad inputs each raise their error`, async () => {
  assert.ok(BAD.length >= 40, 'at least 40 distinct bad inputs');
  const failures: string[] = [];
  for (const [what, call, re] of BAD) {
    let msg: string | null = null;
    let result: unknown;
    try {
      wt.tidy(() => { result = call(); });
      if (result instanceof Promise) await result; // an async failure surfaces from the promise
    } catch (e) { msg = (e as Error).message; }
    if (msg === null) failures.push(`${what}: no error`);
    else if (!re.test(msg)) failures.push(`${what}: wrong error:\n      ${msg}\n      expected ${re}`);
  }
  assert.equal(failures, [], `\n  ${failures.join('\n  ')}`);
  await wt.internals.rt().sync();
});

t('dtype aliases: float32 and int32 are f32 and i32', async () => {
  const a = wt.tensor([1, 2, 3], [3], {dtype: 'int32'});
  assert.is(a.dtype, 'i32');
  assert.equal(Array.from(await a.data()), [1, 2, 3]);
  const b = wt.tensor([1.5, 2], [2], {dtype: 'float32'});
  assert.is(b.dtype, 'f32');
  assert.equal(Array.from(await b.data()), [1.5, 2]);
  assert.equal(Array.from(await wt.ones([2], {dtype: 'int32'}).data()), [1, 1], 'int32 ones hold the integer 1, not float bits');
  const step = wt.compile([{shape: [2], dtype: 'int32'}], [[0, 2]], (y) => wt.oneHot(y, 3));
  assert.equal(Array.from(await step.run([[2, 1]]).data()), [0, 0, 1, 0, 1, 0]);
  step.dispose();
});

t('tensor() infers the shape of nested arrays', async () => {
  const x = wt.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.equal(x.shape, [2, 3]);
  assert.equal(Array.from(await x.data()), [1, 2, 3, 4, 5, 6]);
  const y = wt.tensor([[[1], [2]]], undefined, {dtype: 'i32'});
  assert.equal(y.shape, [1, 2, 1]);
  assert.equal(Array.from(await y.data()), [1, 2]);
});

t('oneHot: an out-of-range label gives a NaN row, as gather and crossEntropy', async () => {
  const v = Array.from(await wt.oneHot(wt.tensor([1, 3, -1], [3], {dtype: 'i32'}), 3).data());
  assert.equal(v.slice(0, 3), [0, 1, 0]);
  assert.ok(v.slice(3).every(Number.isNaN), `rows of bad labels: ${v.slice(3)}`);
});

t('an error inside a gradient rule names the op', () => {
  const x = wt.ones([2], {requiresGrad: true});
  const y = wt.internals.customGrad([x], () => wt.mul(x, 2), () => { throw new Error('boom'); }, 'myOp');
  assert.throws(() => wt.sum(y).backward(), /backward of 'myOp' \(output f32\[2\], inputs f32\[2\]\): boom/);
});

// ---- compiled steps and the tensors they use ----
const eight = (k = 1) => Array.from({length: 8}, (_, i) => k * (i + 1));
/** Allocates (and keeps) a few tensors of `n` elements holding 100: what a freed buffer would be reused for. */
const reuseBuffers = (n: number) => Array.from({length: 3}, () => wt.keep(wt.mul(wt.ones([n]), 100)));
const FREED = (name: string, op: string) =>
  new RegExp(`compiled step: tensor ${name} \\(used by '${op}' in the step\\) was disposed after compile\\(\\); a replay would use its freed buffer`);

t('a compiled step refuses to replay after a tensor it uses was disposed, naming the tensor and the op', async () => {
  const w = wt.keep(wt.tensor(eight(), [8]));
  w.name = 'scale';
  const s = wt.compile([{shape: [8]}], [eight(0).map(() => 1)], (x) => wt.mul(x, w));
  assert.equal(Array.from(await s.output.data()), eight());
  w.dispose();
  const reused = reuseBuffers(8);
  assert.throws(() => s.run([eight()]), FREED('scale f32\\[8\\]', 'mul'));
  assert.throws(() => wt.tidy(() => s.run([eight()])), FREED('scale f32\\[8\\]', 'mul'), 'inside tidy() too');
  assert.throws(() => s.run([eight()]), FREED('scale f32\\[8\\]', 'mul'), 'every later run');
  for (const r of reused) assert.equal(Array.from(await r.data()), new Array(8).fill(100), 'the new tensors keep their values');
  s.dispose(); // releases what the step holds; nothing else is affected
  reused.forEach((r) => r.dispose());
});

t('a constant freed by the tidy() around compile() is an error at run(), not a wrong answer', () => {
  let s!: wt.CompiledStep<wt.Tensor>;
  wt.tidy(() => {
    const c = wt.mul(wt.ones([8]), 3); // made in the scope and not returned: tidy() frees it
    s = wt.compile([{shape: [8]}], [eight()], (x) => wt.add(x, c));
  });
  const reused = reuseBuffers(8);
  assert.throws(() => wt.tidy(() => s.run([eight()])), FREED('f32\\[8\\]', 'add'));
  s.dispose();
  reused.forEach((r) => r.dispose());
});

t('a Linear layer disposed after compile(): run() names its weight and the linear op', () => {
  const layer = new wt.Linear(4, 3);
  const s = wt.compile([{shape: [2, 4]}], [eight()], (x) => layer.forward(x));
  layer.dispose();
  const reused = reuseBuffers(12);
  assert.throws(() => s.run([eight(2)]), FREED('weight f32\\[3, 4\\]', 'linear'));
  s.dispose();
  reused.forEach((r) => r.dispose());
});

t('a training step after model.dispose() is an error; disposing model, optimizer and step in any order is not', async () => {
  const build = () => {
    const model = new wt.Sequential(new wt.Linear(4, 5), new wt.ReLU(), new wt.Linear(5, 3));
    const opt = new wt.Adam(model.parameters(), {lr: 0.01});
    const step = wt.compile([{shape: [2, 4]}, {shape: [2], dtype: 'i32'}], [eight(), [0, 2]], (x, y) => wt.tidy(() => {
      const loss = wt.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    }));
    return {model, opt, step};
  };
  const a = build();
  for (let k = 0; k < 3; k++) assert.ok(Number.isFinite(await a.step.run([eight(k), [1, 0]]).item()), 'optimizer state and grads replay');
  a.model.dispose();
  const reused = reuseBuffers(20);
  assert.throws(() => a.step.run([eight(), [1, 0]]), /compiled step: tensor (weight|bias) f32\[\d+(, \d+)?\] \(used by '[^']+' in the step\) was disposed after compile\(\)/);
  a.opt.dispose();
  a.step.output.dispose();
  a.step.dispose();
  // The usual order: step, then optimizer and model; and a step never run again after its model went first.
  const b = build();
  assert.ok(Number.isFinite(await b.step.run([eight(), [1, 0]]).item()));
  b.step.output.dispose();
  b.step.dispose();
  b.opt.dispose();
  b.model.dispose();
  reused.forEach((r) => r.dispose());
});

t('what a step may lose: its own outputs, a tensor whose buffer a view still holds, another step\'s tensor', async () => {
  const w = wt.keep(wt.tensor(eight(), [8]));
  const view = wt.keep(wt.reshape(w, [2, 4]));
  const s = wt.compile([{shape: [8]}], [eight()], (x) => wt.mul(x, w));
  const other = wt.keep(wt.ones([8]));
  const s2 = wt.compile([{shape: [8]}], [eight()], (x) => wt.add(x, other));
  w.dispose(); // the buffer lives on in the view
  s.output.dispose(); // the step's output buffer stays the step's
  other.dispose(); // only s2 used it
  const reused = reuseBuffers(8);
  assert.not.throws(() => s.run([eight()]));
  assert.equal(Array.from(await (wt.mul(view, 1)).data()), eight(), 'the view still holds the weights');
  assert.throws(() => s2.run([eight()]), FREED('f32\\[8\\]', 'add'));
  s2.dispose();
  // Once a step is disposed, the tensors it used may go without any step noticing.
  const u = wt.keep(wt.ones([8]));
  const s3 = wt.compile([{shape: [8]}], [eight()], (x) => wt.sub(x, u));
  s3.dispose();
  const before = claimedFreeCount();
  u.dispose();
  assert.is(claimedFreeCount(), before, 'step.dispose() released its claim');
  s.dispose();
  view.dispose();
  reused.forEach((r) => r.dispose());
});

t('compile() and run() take tensors as inputs, copied on the GPU; a wrong shape or dtype names the input', async () => {
  const x0 = wt.tensor(eight(), [8]);
  const labels = wt.tensor([2, 0], [2], {dtype: 'i32'});
  const s = wt.compile([{shape: [8]}, {shape: [2], dtype: 'i32'}], [x0, labels], (x, y) => wt.add(wt.mul(x, 2), wt.sum(wt.oneHot(y, 3))));
  assert.equal(Array.from(await s.output.data()), eight(2).map((v) => v + 2));
  assert.equal(Array.from(await x0.data()), eight(), 'the given tensor is only read');
  assert.equal(Array.from(await s.run([wt.tensor(eight(3), [8]), [1, 1]]).data()), eight(6).map((v) => v + 2));
  assert.equal(Array.from(await s.run([s.inputs[0], s.inputs[1]]).data()), eight(6).map((v) => v + 2), 'the step\'s own input');
  assert.throws(() => s.run([wt.zeros([2, 4]), [0, 0]]), /compiled step: input 0 is tensor f32\[2, 4\], but the input spec is f32\[8\]/);
  assert.throws(() => s.run([x0, wt.zeros([2])]), /compiled step: input 1 is tensor f32\[2\], but the input spec is i32\[2\]/);
  assert.throws(() => s.run([undefined as never, [0, 0]]), /compiled step: input 0 must be a Float32Array, Int32Array, number\[\] or a Tensor of f32\[8\], got undefined/);
  const gone = wt.ones([8]);
  gone.dispose();
  assert.throws(() => s.run([gone, [0, 0]]), /compiled step: input 0 is tensor f32\[8\], which was disposed/);
  s.dispose();
  assert.throws(() => wt.compile([{shape: [8]}], [wt.zeros([4])], (x) => x), /compile: input 0 is tensor f32\[4\], but the input spec is f32\[8\]/);
  assert.throws(() => wt.compile([{shape: [8]}], [3 as never], (x) => x), /compile: input 0 must be a Float32Array, Int32Array, number\[\] or a Tensor of f32\[8\], got number 3/);
  // A recurrence: the output fed back as the next input (copied before the replay overwrites it).
  const r = wt.compile([{shape: [4]}], [[1, 2, 3, 4]], (x) => wt.add(x, 1));
  r.run([r.output]);
  assert.equal(Array.from(await r.run([r.output]).data()), [4, 5, 6, 7]);
  r.output.dispose();
  r.dispose();
});

// Known gap: in the browser suite (after the other files ran) Chromium reported this allocation failure only through
// the follow-on 'Invalid Buffer' validation error, though the same check passes in a fresh page; Node only until
// that is understood.
const inNode = typeof (globalThis as {process?: {stdout?: unknown}}).process?.stdout !== 'undefined';
(inNode ? t : t.skip)('a 2^28-element tensor: refused up front or reported as out of memory naming the op and the size', async () => {
  // llvmpipe: past maxStorageBufferBindingSize (128 MiB), refused at the op. SwiftShader: within its limits but
  // its allocation fails; the error scope reports it at the next read. A device with the memory just runs it.
  let msg = '';
  try {
    const y = wt.tidy(() => wt.sum(wt.relu(wt.zeros([2 ** 28]))));
    assert.is(await y.item(), 0);
    y.dispose();
  } catch (e) { msg = (e as Error).message; }
  if (msg) {
    assert.match(msg, /zeros: a f32\[268435456\] tensor (needs 1073741824 bytes, more than this adapter allows|\(1073741824 bytes\) could not be allocated)/);
    assert.not.match(msg, /Invalid Buffer|BindGroup/, 'no follow-on validation errors');
  }
  // The device is still usable, and a failed buffer is never handed out again.
  assert.equal(Array.from(await wt.relu(wt.tensor([-1, 2])).data()), [0, 2]);
  const small = wt.ones([4]);
  assert.equal(Array.from(await wt.sum(small).data()), [4]);
});

t('a tensor from before shutdown() gives a clear error after init(); init with another backend is refused', async () => {
  const have = wt.adapter().backend;
  const old = wt.ones([2]);
  wt.shutdown();
  assert.throws(() => wt.relu(old), /no device yet|relu: input 'x' \(f32\[2\]\) belongs to a device that was shut down/);
  await wt.init({backend: have});
  assert.throws(() => wt.relu(old), /relu: input 'x' \(f32\[2\]\) belongs to a device that was shut down \(shutdown\(\) or a new init\(\)\)/);
  assert.throws(() => old.data(), /data\(\): tensor f32\[2\] belongs to a device that was shut down/);
  old.dispose(); // must not hand the dead buffer to the new device's pool
  const other = have === 'llvmpipe' ? 'swiftshader' : 'llvmpipe';
  let msg = '';
  try { await wt.init({backend: other}); } catch (e) { msg = (e as Error).message; }
  assert.match(msg, new RegExp(`init\\(\\{backend: '${other}'\\}\\): the engine already runs on the ${have} adapter; call shutdown\\(\\)`));
  await wt.init({backend: have}); // the same backend again is fine
  assert.equal(Array.from(await wt.relu(wt.tensor([-1, 2])).data()), [0, 2]);
});

t.run();
