// The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, __metadata__?: {string: string}}, then raw
// little-endian data. Decoding validates everything and names the problem. Depends on none of ours.

/** The element types a safetensors file may declare. */
export type StDType = 'F32' | 'I32' | 'I64' | 'F64' | 'F16' | 'U8' | 'I8' | 'BOOL' | 'BF16' | 'I16' | 'U16' | 'U32' | 'U64';
export const DTYPE_BYTES: Record<StDType, number> = {F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2, U8: 1, I8: 1, BOOL: 1};

/** One tensor of a safetensors file: dtype, shape and the values on the host. */
export interface StTensor {
  dtype: StDType;
  shape: number[];
  /** F32 and I32 (and I64 within +-2^53) are converted to these on decode; other dtypes keep raw bytes. */
  data: Float32Array | Int32Array | Float64Array | Uint8Array;
}

/** A decoded safetensors file: tensors by name and the header metadata. */
export interface StFile { tensors: Map<string, StTensor>; metadata: Record<string, string> }

const MAX_HEADER = 100 * 1024 * 1024;
/** What a cut file most likely is: said after every truncation. */
const CUT = '(an interrupted copy or download?)';

/** Every message is one sentence about `source` (a file name): `<source> is truncated: ...`, `<source> is corrupt: ...`. */
export class SafetensorsError extends Error {
  constructor(readonly source: string, problem: string) { super(`webgpu-transfer: ${source} ${problem}`); }
}

/**
 * The header's byte count from the file's first 8 bytes (undefined when the file has fewer), checked against the
 * file's size. Shared by the full decoder and the header-only reader.
 */
export function headerLength(source: string, fileBytes: number, lengthField: bigint | undefined): number {
  if (lengthField === undefined) {
    throw new SafetensorsError(source, `is truncated: it has ${fileBytes} bytes, fewer than the 8 that give the header length ${CUT}`);
  }
  if (lengthField > BigInt(MAX_HEADER)) {
    throw new SafetensorsError(source, `is not a safetensors file, or is corrupt: its first 8 bytes give a header length of ` +
      `${lengthField} bytes, above the ${MAX_HEADER}-byte limit`);
  }
  const n = Number(lengthField);
  if (8 + n > fileBytes) {
    throw new SafetensorsError(source, `is truncated: its header needs bytes 8..${8 + n} but the file has ${fileBytes} ${CUT}`);
  }
  return n;
}

/** The header's JSON object, from its bytes. */
export function parseHeader(source: string, json: Uint8Array): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(json));
  } catch (e) {
    throw new SafetensorsError(source, `is corrupt: its header (bytes 8..${8 + json.length}) is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) {
    throw new SafetensorsError(source, `is corrupt: its header must be a JSON object, got ${Array.isArray(header) ? 'an array' : JSON.stringify(header)}`);
  }
  return header as Record<string, unknown>;
}

/** The header's `__metadata__` ({} when absent). */
export function headerMetadata(source: string, header: Record<string, unknown>): Record<string, string> {
  const m = header.__metadata__;
  if (m === undefined) return {};
  if (!m || typeof m !== 'object' || Array.isArray(m) || Object.values(m).some((v) => typeof v !== 'string')) {
    throw new SafetensorsError(source, 'is corrupt: its __metadata__ must map strings to strings');
  }
  return m as Record<string, string>;
}

/** Encodes tensors (F32 from Float32Array, I32 from Int32Array, I64 from an Int32Array widened). */
export function encodeSafetensors(tensors: Map<string, {dtype: 'F32' | 'I32' | 'I64'; shape: number[]; data: Float32Array | Int32Array}>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('encodeSafetensors:', `'__metadata__' is reserved and cannot name a tensor`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new SafetensorsError('encodeSafetensors:', `tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
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

/** Decodes and validates a whole file's bytes. `source` (a file name) begins every error's sentence. */
export function decodeSafetensors(bytes: Uint8Array, source = 'the safetensors data'): StFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = headerLength(source, bytes.length, bytes.length >= 8 ? dv.getBigUint64(0, true) : undefined);
  const header = parseHeader(source, bytes.subarray(8, 8 + n));
  const metadata = headerMetadata(source, header);
  const dataStart = 8 + n;
  const corrupt = (problem: string) => new SafetensorsError(source, `is corrupt: ${problem}`);
  // Every entry's dtype, shape and offsets first; then where the file is cut, gaps and overlaps; then the data.
  const entries: {name: string; dtype: StDType; shape: number[]; b: number; end: number}[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as {dtype?: unknown; shape?: unknown; data_offsets?: unknown};
    if (!e || typeof e !== 'object') throw corrupt(`its header entry '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw corrupt(`tensor '${name}' has unknown dtype ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as StDType;
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw corrupt(`tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const shape = e.shape as number[];
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw corrupt(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [b, end] = offs as number[];
    if (b > end) throw corrupt(`tensor '${name}' has data_offsets [${b}, ${end}] that end before they begin`);
    const need = shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype];
    if (need !== end - b) throw corrupt(`tensor '${name}' is ${dtype}[${shape.join(', ')}], ${need} bytes, but its data_offsets span ${end - b}`);
    entries.push({name, dtype, shape, b, end});
  }
  const spans = [...entries].sort((x, y) => x.b - y.b || x.end - y.end);
  // The first tensor (in file order) that runs past the end is where the file was cut.
  const cut = spans.find((e) => dataStart + e.end > bytes.length);
  if (cut) {
    throw new SafetensorsError(source, `is truncated: tensor '${cut.name}' needs bytes ${dataStart + cut.b}..${dataStart + cut.end} ` +
      `but the file has ${bytes.length} ${CUT}`);
  }
  let covered = 0, previous = '';
  for (const {b, end, name} of spans) {
    if (b < covered) {
      throw corrupt(`tensor '${name}' (bytes ${dataStart + b}..${dataStart + end}) overlaps tensor '${previous}' (up to byte ${dataStart + covered})`);
    }
    if (b > covered) throw corrupt(`bytes ${dataStart + covered}..${dataStart + b} belong to no tensor`);
    covered = end;
    previous = name;
  }
  if (dataStart + covered !== bytes.length) {
    throw corrupt(`its last ${bytes.length - dataStart - covered} bytes (from byte ${dataStart + covered}) belong to no tensor`);
  }
  const tensors = new Map<string, StTensor>();
  for (const {name, dtype, shape, b, end} of entries) {
    // A fresh copy: Node's Buffer.slice would be a view on a shared pool, and typed arrays need alignment.
    const raw = new Uint8Array(bytes.subarray(dataStart + b, dataStart + end));
    let data: StTensor['data'];
    if (dtype === 'F32') data = new Float32Array(raw.buffer);
    else if (dtype === 'I32') data = new Int32Array(raw.buffer);
    else if (dtype === 'F64') data = new Float64Array(raw.buffer);
    else if (dtype === 'I64') {
      const wide = new BigInt64Array(raw.buffer);
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        if (wide[i] > 2147483647n || wide[i] < -2147483648n) {
          throw new SafetensorsError(source, `holds I64 value ${wide[i]} in tensor '${name}', which does not fit int32`);
        }
        out[i] = Number(wide[i]);
      }
      data = out;
    } else data = raw;
    tensors.set(name, {dtype, shape, data});
  }
  return {tensors, metadata};
}
