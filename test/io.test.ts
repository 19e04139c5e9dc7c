// @test node-only: reads and writes checkpoint files (node:fs)
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import * as wt from '../src/index.js';
import {decodeSafetensors, encodeSafetensors} from '../src/io/safetensors.js';
import {writeFileAtomic} from '../src/io/files.js';
import {loadModel, saveModel} from '../src/train/checkpoint.js';

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
  ['shorter than 8 bytes', () => new Uint8Array(5), /shorter than the 8-byte header length/],
  ['header length past the end', () => { const b = good(); new DataView(b.buffer).setBigUint64(0, 10_000n, true); return b; }, /runs past the end of the file/],
  ['absurd header length', () => { const b = good(); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; }, /exceeds the \d+-byte limit/],
  ['truncated data', () => good().subarray(0, good().length - 3), /outside the 5-byte data section: truncated file\?/],
  ['header not JSON', () => { const b = good(); b[9] = 0x7b; b[10] = 0x7b; return b; }, /not valid UTF-8 JSON/],
  ['header an array', () => handMade([1, 2] as unknown as object, []), /must be a JSON object/],
  ['unknown dtype', () => handMade({w: {dtype: 'F99', shape: [1], data_offsets: [0, 4]}}, [0, 0, 0, 0]), /unknown dtype "F99"/],
  ['negative dimension', () => handMade({w: {dtype: 'F32', shape: [-1], data_offsets: [0, 4]}}, [0, 0, 0, 0]), /invalid shape/],
  ['offsets reversed', () => handMade({w: {dtype: 'F32', shape: [0], data_offsets: [4, 0]}}, [0, 0, 0, 0]), /end before they begin/],
  ['offsets out of range', () => handMade({w: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}}, [0, 0, 0, 0]), /outside the 4-byte data section/],
  ['size disagrees with shape', () => handMade({w: {dtype: 'F32', shape: [3], data_offsets: [0, 8]}}, [0, 0, 0, 0, 0, 0, 0, 0]), /needs 12 bytes but data_offsets span 8/],
  ['overlapping tensors', () => handMade({a: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}, b: {dtype: 'F32', shape: [1], data_offsets: [4, 8]}}, new Array(8).fill(0)), /overlaps the previous tensor/],
  ['a hole in the data', () => handMade({a: {dtype: 'F32', shape: [1], data_offsets: [4, 8]}}, new Array(8).fill(0)), /bytes 0..4 of the data section belong to no tensor/],
  ['trailing bytes', () => handMade({a: {dtype: 'F32', shape: [1], data_offsets: [0, 4]}}, new Array(8).fill(0)), /4 trailing bytes/],
  ['metadata not strings', () => handMade({__metadata__: {a: 1}}, []), /__metadata__ must map strings to strings/],
  ['I64 beyond int32', () => handMade({n: {dtype: 'I64', shape: [1], data_offsets: [0, 8]}}, [...new Uint8Array(new BigInt64Array([1n << 40n]).buffer)]), /does not fit int32/],
];
for (const [name, make, re] of corrupt) {
  t(`rejects ${name}, naming the file`, () => {
    assert.throws(() => decodeSafetensors(make(), 'bad.safetensors'), (e: Error) => re.test(e.message) && e.message.includes('bad.safetensors'));
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

t('loading a missing or corrupt checkpoint names the file', async () => {
  const m = new wt.Sequential(new wt.Linear(2, 2));
  try { await loadModel(join(dir, 'nope.safetensors'), m); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /cannot read checkpoint .*nope\.safetensors/); }
  const bad = join(dir, 'bad.safetensors');
  writeFileSync(bad, new Uint8Array(20));
  try { await loadModel(bad, m); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /bad\.safetensors/); }
  assert.ok(existsSync(bad));
});

t.run();
