// `webgpu-transfer tune`: measures, ahead of time, every kernel variant that fits each shape a model's training
// step (or forward pass) launches on this adapter, and caches the fastest for later runs (kernels/tune.ts).
import * as wt from '../../src/index.js';
import * as models from '../../src/nn/models.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {buildModel, lossesFor, MODELS} from './models.js';
import {BACKENDS, bool, choice, flag, int, type CommandSpec, type FlagValues} from './flags.js';

const TUNE_MODELS = [...models.ARCHITECTURES, ...MODELS] as const;
const MODES = ['train', 'eval'] as const;

export const TUNE: CommandSpec = {
  about: 'measure the kernel variants for a model\'s shapes on this adapter and cache the fastest',
  usage: 'tune --model NAME [flags]',
  flags: {
    model: flag('NAME', choice(TUNE_MODELS), `${TUNE_MODELS.join(' | ')} (required)`),
    'image-size': flag('N', int(8, 1024), 'side of the square input (default: 224 for ImageNet models, 32 for ' +
      'cifar_resnet, 28 for the project models)'),
    channels: flag('N', int(1, 4), 'input channels of the project models (default 1; torchvision models take 3)'),
    classes: flag('N', int(2, 1000), 'classes of the head (default 10)'),
    batch: flag('N', int(1, 1024), 'images per step (default 32)'),
    mode: flag('NAME', choice(MODES), 'train: forward and backward (default) | eval: forward, batch-norm frozen'),
    force: bool('measure again the shapes the cache already holds'),
    'dry-run': bool('measure, print, but write nothing to the cache'),
    json: bool('one JSON line per shape: {"family", "key", "table", "choice", "ms", "cached"}'),
    backend: flag('NAME', choice(BACKENDS), 'adapter (default from WGT_BACKEND, else auto)'),
  },
  more: `Each shape is measured once per adapter: later runs (train, finetune, predict, experiments and the library)
read the choices at start-up. Shapes it did not see keep the selection tables' choice. The table's choice
stays unless another variant is at least 3% faster. WGT_MEASURED=0 ignores the cache.`,
};

/** The model and its input for a tune run. */
function modelFor(v: FlagValues): {model: wt.Module; x: number[]; classes: number} {
  const name = v.model as string, classes = (v.classes as number) ?? 10, batch = (v.batch as number) ?? 32;
  if ((models.ARCHITECTURES as readonly string[]).includes(name)) {
    const arch = name as models.Architecture;
    const size = (v['image-size'] as number) ?? (arch === 'cifar_resnet' ? 32 : 224);
    return {model: models.build({arch, classes, inputSize: size}), x: [batch, 3, size, size], classes};
  }
  const size = (v['image-size'] as number) ?? 28, channels = (v.channels as number) ?? 1;
  const shape: ImageSet = {images: new Float32Array(0), labels: new Int32Array(0), n: 0, channels, height: size,
    width: size, classes};
  return {model: buildModel(name, shape), x: [batch, channels, size, size], classes};
}

export async function cmdTune(v: FlagValues, startDevice: (backend?: string) => Promise<void>): Promise<void> {
  if (!v.model) throw new Error('webgpu-transfer: tune needs --model NAME (see tune --help)');
  await startDevice(v.backend as string | undefined);
  const {model, x: shape, classes} = modelFor(v);
  const train = (v.mode ?? 'train') === 'train';
  const x = wt.rand(shape, {seed: 1});
  const y = wt.tensor(Array.from({length: shape[0]}, (_, i) => i % classes), [shape[0]], {dtype: 'i32'});
  const loss = lossesFor(model).loss;
  if (!train) model.eval();
  const step = () => wt.tidy(() => {
    if (!train) { wt.noGrad(() => model.forward(x)); return; }
    const out = loss ? loss(model, x, y) : wt.crossEntropy(model.forward(x) as wt.Tensor, y);
    (out instanceof wt.Tensor ? out : out.loss).backward();
    for (const p of model.parameters()) { p.grad?.dispose(); p.grad = null; }
  });
  const json = !!v.json;
  const t0 = performance.now();
  const timings = await wt.internals.tuneKernels(step, {force: !!v.force, persist: !v['dry-run'], log: (t) => {
    if (json) { console.log(JSON.stringify(t)); return; }
    const times = Object.entries(t.ms).sort((a, b) => a[1] - b[1])
      .map(([k, ms]) => `${k} ${ms.toFixed(ms < 10 ? 2 : 1)}`).join(', ');
    const moved = t.choice !== t.table ? ` (table: ${t.table})` : '';
    console.log(`${t.family.padEnd(20)} ${t.key.padEnd(34)} -> ${t.choice}${moved}${t.cached ? ', cached' : ''}: ${times} ms`);
  }});
  x.dispose(); y.dispose();
  if (json) return;
  const measured = timings.filter((t) => !t.cached), moved = timings.filter((t) => t.choice !== t.table);
  const where = v['dry-run'] ? 'not written (--dry-run)' : await wt.internals.measuredCachePath();
  console.log(`${timings.length} shapes with a choice to make (${measured.length} measured, ` +
    `${timings.length - measured.length} cached), ${moved.length} moved off the table's choice, in ` +
    `${((performance.now() - t0) / 1000).toFixed(1)} s; cache: ${where}`);
}
