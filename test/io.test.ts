// @test node-only: reads and writes checkpoint files (node:fs)
// @test once: checkpoint files
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import * as wt from '../src/index.js';
import {decodeSafetensors, encodeSafetensors} from '../src/io/safetensors.js';
import {readSafetensorsMetadata, saveSafetensors, writeFileAtomic} from '../src/io/files.js';
import {loadCheckpoint, loadModel, saveCheckpoint, saveModel, trainStatePath} from '../src/train/checkpoint.js';

const t = suite('io: safetensors');
const dir = mkdtempSync(join(tmpdir(), 'wgt-io-'));

/** A file built by hand from the format description: header length, JSON, little-endian data. */
function handMade(header: object, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

t('decodes a hand-built file (F32 little-endian, I64, metadata)', () => {
  const f32 = new Uint8Array(new Float32Array([1.5, -2]).buffer);
  const i64 = new Uint8Array(new BigInt64Array([7n]).buffer);
  const bytes = handMade({__metadata__: {format: 'pt'}, a: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}, n: {dtype: 'I64', shape: [], data_offsets: [8, 16]}}, [...f32, ...i64]);
  const f = decodeSafetensors(bytes, 'hand.safetensors');
  assert.equal(Array.from(f.tensors.get('a')!.data), [1.5, -2]);
  assert.equal(Array.from(f.tensors.get('n')!.data), [7]);
  assert.equal(f.metadata, {format: 'pt'});
});

t('round trip keeps names, order, shapes and values; data starts 8-byte aligned', () => {
  const m = new Map([
    ['features.0.weight', {dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6])}],
    ['features.1.num_batches_tracked', {dtype: 'I64' as const, shape: [], data: Int32Array.from([12])}],
    ['classifier.bias', {dtype: 'F32' as const, shape: [0], data: new Float32Array(0)}],
  ]);
  const bytes = encodeSafetensors(m, {step: '5'});
  const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is((8 + hlen) % 8, 0);
  const f = decodeSafetensors(bytes);
  assert.equal([...f.tensors.keys()], [...m.keys()]);
  assert.equal(f.tensors.get('features.0.weight')!.shape, [2, 3]);
  assert.equal(Array.from(f.tensors.get('features.0.weight')!.data), [1, 2, 3, 4, 5, 6]);
  assert.is(f.tensors.get('features.1.num_batches_tracked')!.dtype, 'I64');
  assert.equal(f.metadata, {step: '5'});
});

const good = () => handMade({w: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}}, [0, 0, 128, 63, 0, 0, 0, 64]);
const corrupt: [string, () => Uint8Array, RegExp][] = [
  ['shorter than 8 bytes', () => new Uint8Array(5), /is truncated: it has 5 bytes, fewer than the 8 that give the header length/],
  ['header length past the end', () => { const b = good(); new DataView(b.buffer).setBigUint64(0, 10_000n, true); return b; }, /is truncated: its header needs bytes 8\.\.10008 but the file has \d+ \(an interrupted copy/],
  ['absurd header length', () => { const b = good(); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; }, /is not a safetensors file, or is corrupt: .* above the \d+-byte limit/],
  ['truncated data', () => good().subarray(0, good().length - 3), /is truncated: tensor 'w' needs bytes (\d+)\.\.\d+ but the file has \d+/],
  ['header not JSON', () => { const b = good(); b[9] = 0x7b; b[10] = 0x7b; return b; }, /not valid UTF-8 JSON/],
  ['header an array', () => handMade([1, 2] as unknown as object, []), /must be a JSON object/],
  ['unknown dtype', () => handMade({w: {dtype: 'F99', shape: [1], data_offsets: [0, 4]}}, [0, 0, 0, 0]), /unknown dtype "F99"/],
  ['negative dimension', () => handMade({w: {dtype: 'F32', shape: [-1], data_offsets: [0, 4]}}, [0, 0, 0, 0]), /invalid shape/],
  ['offsets reversed', () => handMade({w: {dtype: 'F32', shape: [0], data_offsets: [4, 0]}}, [0, 0, 0, 0]), /end before they begin/],
  ['offsets out of range', () => handMade({w: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}}, [0, 0, 0, 0]), /is truncated: tensor 'w' needs bytes \d+\.\.\d+ but the file has \d+/],
  ['size disagrees with shape', () => handMade({w: {dtype: 'F32', shape: [3], data_offsets: [0, 8]}}, [0, 0, 0, 0, 0, 0, 0, 0]), /is corrupt: tensor 'w' is F32\[3\], 12 bytes, but its data_offsets span 8/],
  ['overlapping tensors', () => handMade({a: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}, b: {dtype: 'F32', shape: [1], data_offsets: [4, 8]}}, new Array(8).fill(0)), /is corrupt: tensor 'b' \(bytes \d+\.\.\d+\) overlaps tensor 'a'/],
  ['a hole in the data', () => handMade({a: {dtype: 'F32', shape: [1], data_offsets: [4, 8]}}, new Array(8).fill(0)), /is corrupt: bytes (\d+)\.\.\d+ belong to no tensor/],
  ['trailing bytes', () => handMade({a: {dtype: 'F32', shape: [1], data_offsets: [0, 4]}}, new Array(8).fill(0)), /is corrupt: its last 4 bytes \(from byte \d+\) belong to no tensor/],
  ['metadata not strings', () => handMade({__metadata__: {a: 1}}, []), /__metadata__ must map strings to strings/],
  ['I64 beyond int32', () => handMade({n: {dtype: 'I64', shape: [1], data_offsets: [0, 8]}}, [...new Uint8Array(new BigInt64Array([1n << 40n]).buffer)]), /does not fit int32/],
];
for (const [name, make, re] of corrupt) {
  t(`rejects ${name}, naming the file`, () => {
    // One sentence about the file: its name first, then what is wrong.
    assert.throws(() => decodeSafetensors(make(), 'bad.safetensors'),
      (e: Error) => re.test(e.message) && e.message.startsWith('webgpu-transfer: bad.safetensors '));
  });
}

t('atomic writes leave no temp file and replace the old file whole', () => {
  const p = join(dir, 'a.bin');
  writeFileAtomic(p, new Uint8Array([1, 2, 3]));
  writeFileAtomic(p, new Uint8Array([4, 5]));
  assert.equal(Array.from(readFileSync(p)), [4, 5]);
  assert.equal(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

t('a model state dict round-trips through a file (BatchNorm buffers included, counters as I64)', async () => {
  wt.manualSeed(11);
  const make = () => new wt.Sequential(new wt.Conv2d(1, 3, 3), new wt.BatchNorm2d(3), new wt.Flatten(), new wt.Linear(3 * 26 * 26, 4));
  const a = make();
  a.forward(wt.rand([2, 1, 28, 28], {seed: 2})); // moves running statistics
  const p = join(dir, 'model.safetensors');
  await saveModel(p, a);
  const f = decodeSafetensors(readFileSync(p));
  assert.is(f.tensors.get('1.num_batches_tracked')!.dtype, 'I64');
  assert.equal(Array.from(f.tensors.get('1.num_batches_tracked')!.data), [1]);
  const b = make();
  await loadModel(p, b);
  for (const [k, v] of a.stateDict()) assert.equal(Array.from(await b.stateDict().get(k)!.data()), Array.from(await v.data()), k);
});

const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const CUT = esc('(an interrupted copy or download?)');

t('a file cut in its header length, header or data: one sentence naming the file, what is cut and the sizes', async () => {
  wt.manualSeed(13);
  const model = new wt.Sequential(new wt.Linear(4, 8), new wt.ReLU(), new wt.Linear(8, 2));
  const ck = join(dir, 'whole', 'model.safetensors');
  await saveCheckpoint(ck, model, new wt.Adam(model.parameters()), {step: 1});
  const whole = readFileSync(ck);
  const n = Number(whole.readBigUInt64LE(0));
  const [b, end] = (JSON.parse(whole.subarray(8, 8 + n).toString()) as Record<string, {data_offsets: number[]}>)['2.weight'].data_offsets;
  const half = 8 + Math.floor(n / 2), inTensor = 8 + n + b + 4;
  const cuts: [string, number, string][] = [
    ['the header length', 5, 'it has 5 bytes, fewer than the 8 that give the header length'],
    ['the header', half, `its header needs bytes 8..${8 + n} but the file has ${half}`],
    ['a tensor', inTensor, `tensor '2.weight' needs bytes ${8 + n + b}..${8 + n + end} but the file has ${inTensor}`],
  ];
  for (const [where, size, what] of cuts) {
    const f = join(dir, `cut-${size}.safetensors`);
    writeFileSync(f, whole.subarray(0, size));
    const re = new RegExp(`^webgpu-transfer: ${esc(f)} is truncated: ${esc(what)} ${CUT}$`);
    try { await loadModel(f, model); assert.unreachable(where); } catch (e) { assert.match((e as Error).message, re, where); }
    // The header-only reader (checkpoint info, resume checks) says the same for a cut it can see.
    if (size <= 8 + n) assert.throws(() => readSafetensorsMetadata(f), (e: Error) => re.test(e.message), where);
  }
  // A cut trainer state beside a whole model file: the resume refusal says which file is cut and where.
  const pair = join(dir, 'cut-pair', 'model.safetensors');
  const opt = new wt.Adam(model.parameters());
  wt.sum(model.forward(wt.ones([1, 4]))).backward();
  opt.step(); // the optimizer's moments: tensors in the trainer state
  await saveCheckpoint(pair, model, opt, {step: 1});
  const state = readFileSync(trainStatePath(pair));
  const hn = Number(state.readBigUInt64LE(0)), inHeader = 8 + Math.floor(hn / 2);
  writeFileSync(trainStatePath(pair), state.subarray(0, inHeader));
  const m2 = new wt.Sequential(new wt.Linear(4, 8), new wt.ReLU(), new wt.Linear(8, 2));
  const resume = () => loadCheckpoint(pair, m2, new wt.Adam(m2.parameters()));
  try { await resume(); assert.unreachable(); } catch (e) {
    assert.match((e as Error).message, new RegExp(`^webgpu-transfer: checkpoint ${esc(pair)} cannot be resumed: ` +
      `${esc(trainStatePath(pair))} is truncated: its header needs bytes 8..${8 + hn} but the file has ${inHeader} ${CUT}$`));
  }
  writeFileSync(trainStatePath(pair), state.subarray(0, state.length - 10));
  try { await resume(); assert.unreachable(); } catch (e) {
    assert.match((e as Error).message, new RegExp(`^webgpu-transfer: ${esc(trainStatePath(pair))} is truncated: ` +
      `tensor 'optimizer\\.[^']+' needs bytes \\d+\\.\\.\\d+ but the file has ${state.length - 10} ${CUT}$`));
  }
});

t('a file that does not fit leaves the model untouched: names, shapes and dtypes are checked before any write', async () => {
  wt.manualSeed(14);
  const make = (out: number) => new wt.Sequential(new wt.Linear(2, 3), new wt.ReLU(), new wt.Linear(3, out));
  const model = make(2);
  const first = Array.from(await model.parameters()[0].data());
  // The same names with a wider last layer: every entry before it fits.
  const wider = join(dir, 'wider.safetensors');
  await saveModel(wider, make(4));
  try { await loadModel(wider, model); assert.unreachable(); } catch (e) {
    assert.match((e as Error).message, new RegExp(`^webgpu-transfer: ${esc(wider)} does not fit the model, which is left ` +
      `unchanged: '2\\.weight' has shape \\[4, 3\\] in the source but \\[2, 3\\] in the model$`));
  }
  assert.equal(Array.from(await model.parameters()[0].data()), first, 'the first layer is unchanged');
  // Integer values for the last bias: a dtype mismatch, refused the same way.
  const ints = join(dir, 'int-bias.safetensors');
  const entries: Parameters<typeof saveSafetensors>[1] = new Map();
  for (const [k, t] of make(2).stateDict()) entries.set(k, {dtype: 'F32', shape: t.shape, data: new Float32Array(t.size).fill(7)});
  entries.set('2.bias', {dtype: 'I32', shape: [2], data: new Int32Array([1, 2])});
  saveSafetensors(ints, entries);
  try { await loadModel(ints, model); assert.unreachable(); } catch (e) {
    assert.match((e as Error).message, /int-bias\.safetensors does not fit the model, which is left unchanged: '2\.bias' has dtype i32 in the source but f32 in the model$/);
  }
  assert.equal(Array.from(await model.parameters()[0].data()), first, 'the first layer is unchanged');
});

t('loading a missing or corrupt checkpoint names the file', async () => {
  const m = new wt.Sequential(new wt.Linear(2, 2));
  try { await loadModel(join(dir, 'nope.safetensors'), m); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /cannot read checkpoint .*nope\.safetensors/); }
  const bad = join(dir, 'bad.safetensors');
  writeFileSync(bad, new Uint8Array(20));
  try { await loadModel(bad, m); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /bad\.safetensors/); }
  assert.ok(existsSync(bad));
});

t.run();
