// A folder of photos as a labelled dataset, laid out and ordered as torchvision.datasets.ImageFolder has it: one
// sub-folder per class, class indices in sorted folder-name order, samples in os.walk's sorted order within each
// class. Images are decoded with sharp (libvips) to RGB uint8 as torchvision's PIL loader gives them: no EXIF
// rotation, no colour management, grey replicated, alpha dropped. Decoding is lazy (load(i)), so a large folder
// is never all in memory. Also the way back: an ImageSet written as one folder of PNGs per class. Node only.
import {existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, statSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import type {ImageSet} from './image-set.js';
import type {RawImage, Transform} from './transforms.js';

/** The file extensions read as images (case-insensitive); torchvision reads these among others. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];
const IMAGE_FILE = /\.(png|jpe?g|webp)$/i;
const PARALLEL = 8;

/** Options of imageFolder. */
export interface ImageFolderOptions {
  /** The fewest class folders accepted (default 1, enough to predict; training wants 2). */
  minClasses?: number;
  /** A file that cannot be decoded: 'error' (default) throws naming it; 'skip' leaves it out and counts it. */
  onBadFile?: 'error' | 'skip';
  /**
   * How each image is checked when the folder is read: 'header' (default) reads its header (format, size,
   * channels), which catches files that are not images; 'decode' decodes it fully, which also catches truncated
   * data. A file that passes the header check and still fails to decode throws from load(), naming it.
   */
  check?: 'header' | 'decode';
  /** Report conversions, ignored and skipped files to this function instead of console.warn (one line). */
  report?: (line: string) => void;
}

/** What reading a folder found besides its images. */
export interface ImageFolderNotes {
  /** Images stored other than as RGB (grey, grey + alpha, RGBA, CMYK), which load() converts to RGB. */
  converted: number;
  /** Files without an image extension or beside the class folders, left out as torchvision leaves them out. */
  ignored: number;
  /** Files that failed to decode, left out (onBadFile 'skip'). */
  skipped: string[];
  /** The one line reported, or '' when there was nothing to say. */
  line: string;
}

/** One image of the folder: its path and class index. */
export interface ImageFolderSample { path: string; label: number }

/** A folder of photos as a dataset (imageFolder). */
export interface ImageFolder {
  /** The folder as given. */
  root: string;
  /** The class names (folder names) in index order. */
  classes: string[];
  /** Every image with its class index, in torchvision's order. */
  samples: ImageFolderSample[];
  /** What reading the folder found besides its images (reported once when it was read). */
  notes: ImageFolderNotes;
  /** Decodes sample i: RGB uint8, row-major HWC. */
  load(i: number): Promise<RawImage & {channels: 3}>;
  /**
   * Samples (all, or those at `indices`) decoded and transformed into one labelled ImageSet; the transform must give
   * every image the same size (end it with a crop). Decodes a few at a time and transforms in index order, so a
   * seeded random transform (trainTransform) gives the same result on every run.
   */
  toImageSet(transform: Transform<RawImage>, indices?: ArrayLike<number>): Promise<ImageSet>;
}

type Sharp = typeof import('sharp').default;
let sharpLoaded: Promise<Sharp> | undefined;
/** sharp, imported on first use: its native library (libvips) loads only when images are read or written. */
function sharpLib(): Promise<Sharp> {
  sharpLoaded ??= import('sharp').then((m) => m.default, (e: unknown) => {
    sharpLoaded = undefined;
    throw new Error(`webgpu-transfer: reading and writing image files needs the npm package sharp, which did not ` +
      `load (${errText(e)}); npm install sharp`);
  });
  return sharpLoaded;
}

const errText = (e: unknown) => ((e as Error).message ?? String(e)).split('\n')[0];

/** Python's string order (by code point; JavaScript's < compares UTF-16 units, which differs past U+FFFF). */
function byCodePoint(a: string, b: string): number {
  const key = (u: number) => (u >= 0xd800 && u <= 0xdfff ? u + 0x2000 : u >= 0xe000 ? u - 0x800 : u);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return key(x) - key(y);
  }
  return a.length - b.length;
}

const isDir = (path: string) => { try { return statSync(path).isDirectory(); } catch { return false; } };

/** Decodes an image file (PNG, JPEG, WebP, ...) to RGB uint8 HWC as torchvision's loader does (PIL convert('RGB')). */
export async function readImage(path: string): Promise<RawImage & {channels: 3}> {
  const sharp = await sharpLib();
  try {
    // ignoreIcc: pixel values as stored (PIL applies no profile); failOn 'error': truncated data fails, as in PIL.
    const {data, info} = await sharp(path, {ignoreIcc: true, failOn: 'error'}).removeAlpha().toColourspace('srgb')
      .raw({depth: 'uchar'}).toBuffer({resolveWithObject: true});
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return {data: bytes, height: info.height, width: info.width, channels: 3};
  } catch (e) {
    throw new Error(`webgpu-transfer: cannot decode image ${path}: ${errText(e)}`);
  }
}

/**
 * The files under a class folder in torchvision's order: os.walk(followlinks=True) sorted by folder path, then
 * file names sorted within each folder. A folder reached twice through links is walked once.
 */
function walk(dir: string, seen: Set<string>): string[] {
  const folders: string[] = [], files = new Map<string, string[]>();
  const visit = (d: string) => {
    let real: string;
    try { real = realpathSync(d); } catch { return; }
    if (seen.has(real)) return;
    seen.add(real);
    folders.push(d);
    const names: string[] = [];
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && isDir(p))) visit(p); else names.push(e.name);
    }
    files.set(d, names.sort(byCodePoint));
  };
  visit(dir);
  return folders.sort(byCodePoint).flatMap((d) => files.get(d)!.map((n) => join(d, n)));
}

/** Runs `f` over 0..n-1, a few at a time, results in order. */
export async function pool<T>(n: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async () => { while (next < n) { const i = next++; out[i] = await f(i); } };
  await Promise.all(Array.from({length: Math.min(PARALLEL, n)}, worker));
  return out;
}

/**
 * Reads a folder of photos laid out as torchvision's ImageFolder: `root/<class>/**\/*.{png,jpg,jpeg,webp}`. Classes
 * and samples come in torchvision's order, so indices agree with torchvision.datasets.ImageFolder on the same folder.
 * Every image's header is checked now (`check`), pixels are decoded on load(). Throws, naming the path, when the
 * root is missing or not a folder, holds no class folder or fewer than `minClasses`, a class folder holds no image,
 * or (onBadFile 'error') an image does not decode. Conversions to RGB, ignored files and skipped files are reported
 * in one line (opts.report, else console.warn) and in `notes`.
 */
export async function imageFolder(root: string, opts: ImageFolderOptions = {}): Promise<ImageFolder> {
  const minClasses = opts.minClasses ?? 1, onBadFile = opts.onBadFile ?? 'error';
  if (!existsSync(root)) throw new Error(`webgpu-transfer: imageFolder: ${root} does not exist`);
  if (!isDir(root)) throw new Error(`webgpu-transfer: imageFolder: ${root} is not a folder`);
  const entries = readdirSync(root, {withFileTypes: true});
  const classes = entries.filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDir(join(root, e.name))))
    .map((e) => e.name).sort(byCodePoint);
  const layout = 'want one sub-folder per class holding its images';
  if (classes.length === 0) throw new Error(`webgpu-transfer: imageFolder: ${root} has no class folders (${layout})`);
  if (classes.length < minClasses) {
    const n = classes.length;
    throw new Error(`webgpu-transfer: imageFolder: ${root} has ${n} class folder${n === 1 ? '' : 's'} ` +
      `(${classes.join(', ')}), need at least ${minClasses} (${layout})`);
  }
  let ignored = entries.length - classes.length;  // loose files beside the class folders
  const found: ImageFolderSample[] = [];
  classes.forEach((name, label) => {
    for (const path of walk(join(root, name), new Set())) {
      if (IMAGE_FILE.test(path)) found.push({path, label}); else ignored++;
    }
  });
  // Every image's header (and, if asked, pixels) now, so a bad file fails or is skipped before training starts.
  const sharp = await sharpLib();
  let converted = 0;
  const status = await pool(found.length, async (i): Promise<string | null> => {
    const {path} = found[i];
    try {
      const m = await sharp(path, {failOn: 'error'}).metadata();
      if (m.channels !== 3 || m.hasAlpha || !['srgb', 'rgb', 'rgb16'].includes(m.space ?? '')) converted++;
      if (opts.check === 'decode') await readImage(path);
      return null;
    } catch (e) {
      return errText(e).replace(/^webgpu-transfer: cannot decode image [^:]*: /, '');
    }
  });
  const bad = found.flatMap((s, i) => (status[i] === null ? [] : [{path: s.path, why: status[i]!}]));
  if (bad.length && onBadFile === 'error') {
    throw new Error(`webgpu-transfer: imageFolder: cannot decode ${bad[0].path} (${bad[0].why})` +
      `${bad.length > 1 ? ` and ${bad.length - 1} more` : ''}; pass onBadFile 'skip' to leave such files out`);
  }
  const samples = found.filter((_, i) => status[i] === null);
  const counts = new Array<number>(classes.length).fill(0);
  for (const s of samples) counts[s.label]++;
  const empty = classes.filter((_, c) => counts[c] === 0);
  if (empty.length) {
    throw new Error(`webgpu-transfer: imageFolder: class folder${empty.length > 1 ? 's' : ''} ` +
      `${empty.map((c) => `'${c}' (${join(root, c)})`).join(', ')} hold${empty.length > 1 ? '' : 's'} no readable ` +
      `${IMAGE_EXTENSIONS.join(' ')} image`);
  }
  const parts: string[] = [];
  const s = (k: number) => (k > 1 ? 's' : '');
  if (converted) {
    parts.push(`${converted} grey or RGBA image${s(converted)} converted to RGB (grey replicated, alpha dropped)`);
  }
  if (ignored) parts.push(`${ignored} file${s(ignored)} ignored (no image extension, or outside the class folders)`);
  if (bad.length) {
    parts.push(`${bad.length} file${s(bad.length)} that did not decode skipped (first: ${bad[0].path}: ${bad[0].why})`);
  }
  const line = parts.length ? `webgpu-transfer: imageFolder ${root}: ${parts.join('; ')}` : '';
  if (line) (opts.report ?? console.warn)(line);
  const load = (i: number) => {
    if (!(Number.isInteger(i) && i >= 0 && i < samples.length)) {
      return Promise.reject(new Error(`webgpu-transfer: imageFolder ${root}: no sample ${i} (have ${samples.length})`));
    }
    return readImage(samples[i].path);
  };
  return {
    root, classes, samples, load,
    notes: {converted, ignored, skipped: bad.map((b) => b.path), line},
    toImageSet: async (transform, indices) => {
      const idx = indices ? Array.from(indices) : samples.map((_, i) => i);
      let data = new Float32Array(0), shape = [3, 0, 0];
      // A few decoded at a time, transformed in index order, so a seeded random transform gives the same crops.
      for (let b = 0; b < idx.length; b += PARALLEL) {
        const raws = await Promise.all(idx.slice(b, b + PARALLEL).map((i) => load(i)));
        raws.forEach((raw, j) => {
          const k = b + j, out = transform(raw), now = [out.channels, out.height, out.width];
          if (k === 0) { shape = now; data = new Float32Array(idx.length * out.data.length); }
          else if (now.join('x') !== shape.join('x')) {
            throw new Error(`webgpu-transfer: imageFolder ${root}: ${samples[idx[k]].path} came out ${now.join('x')}, ` +
              `others ${shape.join('x')}; end the transform with a fixed-size step (centerCrop, randomResizedCrop)`);
          }
          data.set(out.data, k * out.data.length);
        });
      }
      return {images: data, labels: Int32Array.from(idx, (i) => samples[i].label), n: idx.length,
        channels: shape[0], height: shape[1], width: shape[2], classes: classes.length};
    },
  };
}

/** A class name usable as a folder name on every platform. */
function checkFolderName(name: string): void {
  if (!name || name === '.' || name === '..' || /[/\\<>:"|?*\u0000-\u001f]/.test(name) || /[. ]$/.test(name)) {
    throw new Error(`webgpu-transfer: exportImageFolder: class name ${JSON.stringify(name)} cannot be a folder name`);
  }
}

/**
 * Writes an ImageSet (values 0..1, 1 or 3 channels) as PNGs, one folder per class named by `classNames[label]`,
 * files numbered by index in the set (zero-padded, so file order is set order). Written into `root.tmp-<pid>` and
 * renamed to `root` when complete, so `root` is never half-written; an existing non-empty `root` is refused.
 * Classes without images get no folder. imageFolder reads it back with classes in sorted name order, so the indices
 * agree with the set's labels when `classNames` is sorted. Returns the number of files written.
 */
export async function exportImageFolder(set: ImageSet, root: string, classNames: readonly string[]): Promise<number> {
  const {n, channels: C, height: H, width: W} = set;
  const what = 'webgpu-transfer: exportImageFolder:';
  if (C !== 1 && C !== 3) throw new Error(`${what} ${C} channels, want 1 (grey) or 3 (RGB)`);
  if (classNames.length < set.classes) {
    throw new Error(`${what} ${classNames.length} class names for ${set.classes} classes`);
  }
  classNames.forEach(checkFolderName);
  if (new Set(classNames.map((c) => c.toLowerCase())).size !== classNames.length) {
    throw new Error(`${what} class names ${JSON.stringify(classNames)} repeat (ignoring case)`);
  }
  const full = resolve(root);
  if (existsSync(full)) {
    if (!isDir(full) || readdirSync(full).length) {
      throw new Error(`${what} ${root} exists and is not an empty folder; choose a new one`);
    }
  }
  const sharp = await sharpLib();
  mkdirSync(dirname(full), {recursive: true});
  const tmp = `${full}.tmp-${process.pid}`;
  rmSync(tmp, {recursive: true, force: true});
  mkdirSync(tmp);
  try {
    const digits = String(Math.max(n - 1, 0)).length, px = H * W;
    for (const c of new Set(set.labels)) mkdirSync(join(tmp, classNames[c]));
    await pool(n, async (i) => {
      const bytes = Buffer.alloc(px * C);
      for (let p = 0; p < px; p++) {
        for (let c = 0; c < C; c++) {
          const v = set.images[(i * C + c) * px + p];
          bytes[p * C + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
      }
      const file = join(tmp, classNames[set.labels[i]], `${String(i).padStart(digits, '0')}.png`);
      const image = sharp(bytes, {raw: {width: W, height: H, channels: C}});
      await (C === 1 ? image.toColourspace('b-w') : image).png().toFile(file);
    });
    if (existsSync(full)) rmdirSync(full);  // empty (checked above): rename cannot replace a folder everywhere
    renameSync(tmp, full);
  } catch (e) {
    rmSync(tmp, {recursive: true, force: true});
    throw e;
  }
  return n;
}
