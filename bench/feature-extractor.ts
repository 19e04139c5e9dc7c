// The fixed feature extractor at ImageNet size, end to end through the CLI: 1,000 photos of 256 px (CIFAR-10 test
// photos enlarged and saved as JPEG, 100 per class, in an image folder), a ResNet-18 (1000-class weights, seeded
// initialisation: the timing does not depend on the values), `finetune --strategy feature-extractor --image-size 224`.
// Prints the wall time of the whole command and of its phases (read and check the folder, features, head training).
//   npm run bench:photos [-- --images 1000 --epochs 5 --model resnet18]
import {existsSync, mkdirSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {spawnSync} from 'node:child_process';
import {parseArgs} from 'node:util';
import sharp from 'sharp';
import * as wt from '../src/node.js';

const {values} = parseArgs({options: {images: {type: 'string', default: '1000'}, epochs: {type: 'string', default: '5'},
  model: {type: 'string', default: 'resnet18'}, backend: {type: 'string', default: 'llvmpipe'}}, strict: true});
const images = Number(values.images), perClass = Math.ceil(images / 10);
const dir = join('runs', 'bench', `photos-256-${perClass}`);
const weights = join('runs', 'bench', `${values.model}-random.safetensors`);

if (!existsSync(dir)) {
  const test = wt.data.loadCifar10('test');
  const idx = wt.data.perClass(test, perClass, 0);
  const tmp = `${dir}.tmp-${process.pid}`;
  for (const [i, k] of idx.entries()) {
    const cls = wt.data.CIFAR10_CLASSES[test.labels[k]];
    mkdirSync(join(tmp, cls), {recursive: true});
    const px = new Uint8Array(32 * 32 * 3);
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.round(test.images[(k * 3 + c) * 1024 + p] * 255);
    await sharp(px, {raw: {width: 32, height: 32, channels: 3}}).resize(256, 256).jpeg({quality: 90})
      .toFile(join(tmp, cls, `${i}.jpg`));
  }
  rmSync(dir, {recursive: true, force: true});
  (await import('node:fs')).renameSync(tmp, dir);
}
if (!existsSync(weights)) {
  await wt.init({backend: values.backend as wt.BackendChoice});
  const m = wt.models.build({arch: values.model as wt.models.Architecture, classes: 1000});
  await wt.saveModel(weights, m, {arch: values.model!});
  wt.shutdown();
}

const out = join('runs', 'bench', 'photos-run');
const t0 = performance.now();
const r = spawnSync(process.execPath, ['dist/apps/cli/main.js', 'finetune', '--model', values.model!, '--weights', weights,
  '--data', dir, '--strategy', 'feature-extractor', '--image-size', '224', '--epochs', values.epochs!, '--batch', '32',
  '--out', out, '--overwrite', '--progress', 'lines', '--backend', values.backend!], {encoding: 'utf8'});
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(r.stdout.split('\n').filter((l) => !/^step|step \d+\//.test(l)).join('\n'));
if (r.status !== 0) throw new Error(`finetune failed: ${r.stderr}`);
console.log(`\n${values.model} feature extractor on ${images} photos of 256 px (crops of 224), ${values.epochs} epochs, ` +
  `${values.backend}: ${seconds.toFixed(1)} s for the whole command`);
