// @test node-only: runs the CLI as child processes on image files
// @test once: the CLI as child processes (which pick their own adapter)
// predict and finetune on a tiny image folder: each strategy end to end (weights out with torchvision's names,
// classes.json, per-epoch validation), predict's text and JSON lines, and every refusal the commands promise (another
// architecture's weights, an empty or single class folder, a file that is not an image, an image smaller than the
// crop), each exiting 2 with a message naming the file or key and leaving no run folder behind.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {spawnSync} from 'node:child_process';
import sharp from 'sharp';
import * as wt from '../src/index.js';
import {loadModel, saveModel} from '../src/train/checkpoint.js';
import {loadSafetensors} from '../src/io/files.js';

const t = suite('cli: predict and finetune on image folders');
const dir = mkdtempSync(join(tmpdir(), 'wgt-photos-'));
const CLI = 'dist/apps/cli/main.js';
interface Ran { status: number | null; stdout: string; stderr: string }
const cli = (...args: string[]): Ran => spawnSync(process.execPath, [CLI, ...args],
  {encoding: 'utf8', timeout: 180_000, env: {...process.env, WGT_BACKEND: process.env.WGT_BACKEND ?? 'llvmpipe'}});
const ok = (r: Ran, what: string) => assert.is(r.status, 0, `${what} failed: ${r.stderr}`);

const CLASSES = ['blue', 'green', 'red'];
/** A 40x36 photo of class c: mostly that colour, with seeded noise. */
async function photo(path: string, c: number, i: number, channels: 1 | 3 | 4 = 3, w = 40, h = 36): Promise<void> {
  const data = Buffer.alloc(w * h * channels);
  let s = (c * 97 + i * 13 + 1) >>> 0;
  for (let p = 0; p < w * h; p++) {
    for (let k = 0; k < channels; k++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      const base = channels >= 3 && k < 3 ? (k === 2 - c ? 200 : 40) : 128;
      data[p * channels + k] = k === 3 ? 255 : Math.max(0, Math.min(255, base + ((s >>> 24) % 50) - 25));
    }
  }
  await sharp(data, {raw: {width: w, height: h, channels}}).png().toFile(path);
}

async function folder(name: string, perClass: number, classes = CLASSES): Promise<string> {
  const root = join(dir, name);
  for (const [c, cls] of classes.entries()) {
    mkdirSync(join(root, cls), {recursive: true});
    for (let i = 0; i < perClass; i++) await photo(join(root, cls, `${i}.png`), c, i);
  }
  return root;
}

const weights = join(dir, 'source.safetensors');
let data = '';

t.before(async () => {
  const m = wt.models.cifarResNet({width: 4, classes: 10, seed: 1});
  await saveModel(weights, m);
  m.dispose();
  data = await folder('photos', 6);
  // One grey and one RGBA photo: converted to RGB, said once.
  await photo(join(data, 'red', 'grey.png'), 2, 50, 1);
  await photo(join(data, 'red', 'rgba.png'), 2, 51, 4);
});

t('finetune feature-extractor: weights with torchvision\'s names, classes.json, per-epoch validation', async () => {
  const out = join(dir, 'run-fe');
  const r = cli('finetune', '--model', 'cifar_resnet', '--weights', weights, '--data', data, '--strategy',
    'feature-extractor', '--epochs', '2', '--batch', '4', '--out', out, '--progress', 'lines');
  ok(r, 'finetune feature-extractor');
  assert.match(r.stdout, /3 classes \(blue, green, red\)/);
  assert.match(r.stderr + r.stdout, /\d grey or RGBA images? converted to RGB/);
  assert.match(r.stdout, /test accuracy/);
  assert.equal(JSON.parse(readFileSync(join(out, 'classes.json'), 'utf8')), CLASSES);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.is(summary.per_epoch.length, 2);
  assert.ok(summary.val_accuracy >= 0 && summary.val_accuracy <= 1);
  // The model file: the source's body (frozen: unchanged) under torchvision's names, a new 3-way head.
  const file = loadSafetensors(join(out, 'model.safetensors'));
  assert.equal(file.tensors.get('fc.weight')!.shape, [3, 32]);
  assert.is(file.tensors.get('bn1.num_batches_tracked')!.dtype, 'I64');
  const src = loadSafetensors(weights).tensors;
  assert.equal(Array.from(file.tensors.get('layer2.0.conv1.weight')!.data), Array.from(src.get('layer2.0.conv1.weight')!.data));
  const m = wt.models.cifarResNet({width: 4, classes: 3});
  await loadModel(join(out, 'model.safetensors'), m);
  m.dispose();
});

t('finetune fine-tune then predict: top classes by name, and --json lines', () => {
  const out = join(dir, 'run-ft');
  ok(cli('finetune', '--model', 'cifar_resnet', '--weights', weights, '--data', data, '--strategy', 'fine-tune',
    '--epochs', '1', '--batch', '4', '--out', out, '--progress', 'none'), 'finetune fine-tune');
  // Resume: --epochs sets the new total; another setting contradicting the checkpoint is refused.
  const ck = join(out, 'checkpoint.safetensors');
  const steps1 = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).steps;
  ok(cli('finetune', '--resume', ck, '--epochs', '2', '--progress', 'none'), 'finetune --resume');
  assert.is(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).steps, 2 * steps1);
  const contra = cli('finetune', '--resume', ck, '--epochs', '3', '--lr', '0.5');
  assert.is(contra.status, 2);
  assert.match(contra.stderr, /flag --lr 0\.5 contradicts the checkpoint's lr 0\.001/);
  const img = join(data, 'red', '0.png');
  const text = cli('predict', '--checkpoint', join(out, 'model.safetensors'), '--top', '2', img);
  ok(text, 'predict');
  assert.match(text.stdout, new RegExp(`${img}: (blue|green|red) \\d+\\.\\d%, (blue|green|red) \\d+\\.\\d%`));
  const json = cli('predict', '--checkpoint', join(out, 'model.safetensors'), '--json', img, join(data, 'blue', '1.png'));
  ok(json, 'predict --json');
  const lines = json.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  assert.is(lines.length, 2);
  assert.is(lines[0].file, img);
  assert.is(lines[0].logits.length, 3);
  assert.is(lines[0].top.length, 3);
  const probs = lines[0].top.map((p: [string, number]) => p[1]);
  assert.ok(Math.abs(probs.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5, 'probabilities sum to 1');
  assert.ok(CLASSES.includes(lines[0].top[0][0]));
});

t('finetune l2sp, kl and layer-transfer run end to end', () => {
  for (const s of ['l2sp', 'kl', 'layer-transfer']) {
    const out = join(dir, `run-${s}`);
    const r = cli('finetune', '--model', 'cifar_resnet', '--weights', weights, '--data', data, '--strategy', s,
      '--epochs', '1', '--batch', '4', '--out', out, '--progress', 'none');
    ok(r, `finetune ${s}`);
    assert.ok(existsSync(join(out, 'model.safetensors')), `${s}: model.safetensors`);
    if (s === 'layer-transfer') assert.match(r.stdout, /layer transfer: frozen \d+ of \d+ body layers/);
  }
});

t('finetune refuses bad inputs with exit 2, naming the file or key, and leaves no run folder', async () => {
  const empty = await folder('empty-class', 3);
  mkdirSync(join(empty, 'zebra'));
  const single = await folder('single', 3, ['only']);
  const corrupt = await folder('corrupt', 3);
  writeFileSync(join(corrupt, 'green', 'broken.png'), 'not a png at all');
  const r50 = join(dir, 'resnet50.safetensors');
  const m = wt.models.resnet50({width: 4, classes: 10, stem: 'cifar'});
  await saveModel(r50, m);
  m.dispose();
  const rows: [string, string[], RegExp][] = [
    ['an empty class folder', ['--data', empty], /class folder.*zebra/],
    ['a single class', ['--data', single], /1 class folder/],
    ['a file that is not an image', ['--data', corrupt], /broken\.png/],
    ['an image smaller than the crop', ['--data', data, '--image-size', '64'], /40x36 pixels, smaller than the 64x64 crop/],
    ['weights of another architecture', ['--data', data, '--weights', r50],
      /does not fit a cifar_resnet: unexpected keys.*'layer1\.0\.conv1\.weight' has shape \[4, ?4, ?1, ?1\] in the source but \[4, ?4, ?3, ?3\]/],
    ['no such weights file', ['--data', data, '--weights', join(dir, 'nope.safetensors')], /no such weights file/],
  ];
  for (const [what, args, msg] of rows) {
    const out = join(dir, `bad-${what.replace(/\W+/g, '-')}`);
    const base = ['finetune', '--model', 'cifar_resnet', '--weights', weights, '--strategy', 'fine-tune', '--out', out];
    const i = args.indexOf('--weights');
    if (i >= 0) base.splice(base.indexOf('--weights'), 2);
    const r = cli(...base, ...args);
    assert.is(r.status, 2, `${what}: exit ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, msg, `${what}: ${r.stderr}`);
    assert.not.ok(existsSync(join(out, 'model.safetensors')) || existsSync(join(out, 'run.lock')), `${what}: left a run`);
  }
  const fine = cli('predict', '--model', 'resnet18', '--weights', weights, join(data, 'red', '0.png'));
  assert.is(fine.status, 2);
  assert.match(fine.stderr, /does not fit a resnet18/);
});

t.run();
