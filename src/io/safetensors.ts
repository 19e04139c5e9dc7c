// The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, __metadata__?: {string: string}}, then raw
// little-endian data. Decoding validates everything and names the problem. Depends on none of ours.

export type StDType = 'F32' | 'I32' | 'I64' | 'F64' | 'F16' | 'U8' | 'I8' | 'BOOL' | 'BF16' | 'I16' | 'U16' | 'U32' | 'U64';
export const DTYPE_BYTES: Record<StDType, number> = {F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2, U8: 1, I8: 1, BOOL: 1};

export interface StTensor {
  dtype: StDType;
  shape: number[];
  /** F32 and I32 (and I64 within +-2^53) are converted to these on decode; other dtypes keep raw bytes. */
  data: Float32Array | Int32Array | Float64Array | Uint8Array;
}

export interface StFile { tensors: Map<string, StTensor>; metadata: Record<string, string> }

const MAX_HEADER = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  constructor(source: string, msg: string) { super(`webgpu-transfer: safetensors ${source}: ${msg}`); }
}

/** Encodes tensors (F32 from Float32Array, I32 from Int32Array, I64 from an Int32Array widened). */
export function encodeSafetensors(tensors: Map<string, {dtype: 'F32' | 'I32' | 'I64'; shape: number[]; data: Float32Array | Int32Array}>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('encode', `'__metadata__' is reserved and cannot name a tensor`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new SafetensorsError('encode', `'${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    let bytes: Uint8Array;
    if (t.dtype === 'I64') {
      const wide = new BigInt64Array(n);
      for (let i = 0; i < n; i++) wide[i] = BigInt(Math.trunc(t.data[i]));
      bytes = new Uint8Array(wide.buffer);
    } else {
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
    }
    header[name] = {dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length]};
    offset += bytes.length;
    parts.push(bytes);
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad) { json += ' '.repeat(pad); hb = enc.encode(json); }
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let o = 8 + hb.length;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Decodes and validates a whole file's bytes. `source` (a file name) appears in every error. */
export function decodeSafetensors(bytes: Uint8Array, source = 'input'): StFile {
  if (bytes.length < 8) throw new SafetensorsError(source, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) throw new SafetensorsError(source, `header length ${n64} exceeds the ${MAX_HEADER}-byte limit`);
  const n = Number(n64);
  if (8 + n > bytes.length) throw new SafetensorsError(source, `header length ${n} runs past the end of the file (${bytes.length} bytes): truncated file?`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new SafetensorsError(source, `header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError(source, 'header must be a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry) || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new SafetensorsError(source, '__metadata__ must map strings to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as {dtype?: unknown; shape?: unknown; data_offsets?: unknown};
    if (!e || typeof e !== 'object') throw new SafetensorsError(source, `entry '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw new SafetensorsError(source, `tensor '${name}' has unknown dtype ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as StDType;
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new SafetensorsError(source, `tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const shape = e.shape as number[];
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new SafetensorsError(source, `tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    const [b, end] = offs as number[];
    if (b > end) throw new SafetensorsError(source, `tensor '${name}' has data_offsets [${b}, ${end}] that end before they begin`);
    if (end > dataLen) throw new SafetensorsError(source, `tensor '${name}' has data_offsets [${b}, ${end}] outside the ${dataLen}-byte data section: truncated file?`);
    const count = shape.reduce((a, d) => a * d, 1);
    if (count * DTYPE_BYTES[dtype] !== end - b) throw new SafetensorsError(source, `tensor '${name}': ${dtype}[${shape.join(', ')}] needs ${count * DTYPE_BYTES[dtype]} bytes but data_offsets span ${end - b}`);
    spans.push([b, end, name]);
    // A fresh copy: Node's Buffer.slice would be a view on a shared pool, and typed arrays need alignment.
    const raw = new Uint8Array(bytes.subarray(dataStart + b, dataStart + end));
    let data: StTensor['data'];
    if (dtype === 'F32') data = new Float32Array(raw.buffer);
    else if (dtype === 'I32') data = new Int32Array(raw.buffer);
    else if (dtype === 'F64') data = new Float64Array(raw.buffer);
    else if (dtype === 'I64') {
      const wide = new BigInt64Array(raw.buffer);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        if (wide[i] > 2147483647n || wide[i] < -2147483648n) throw new SafetensorsError(source, `tensor '${name}': I64 value ${wide[i]} does not fit int32`);
        out[i] = Number(wide[i]);
      }
      data = out;
    } else data = raw;
    tensors.set(name, {dtype, shape, data});
  }
  spans.sort((x, y) => x[0] - y[0]);
  let covered = 0;
  for (const [b, end, name] of spans) {
    if (b < covered) throw new SafetensorsError(source, `tensor '${name}' overlaps the previous tensor (offset ${b} < ${covered})`);
    if (b > covered) throw new SafetensorsError(source, `bytes ${covered}..${b} of the data section belong to no tensor`);
    covered = end;
  }
  if (covered !== dataLen) throw new SafetensorsError(source, `the data section has ${dataLen - covered} trailing bytes that belong to no tensor`);
  return {tensors, metadata};
}
