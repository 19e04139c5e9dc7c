// Models the CLI can build by name, sized to a dataset's images.
import * as wt from '../index.js';
import type {ImageSet} from '../data/mnist.js';

export const MODELS = ['lenet5', 'mlp'] as const;

export function buildModel(name: string, set: ImageSet): wt.Module {
  if (name === 'lenet5') {
    if (set.height !== 28 || set.width !== 28) throw new Error(`webgpu-transfer: lenet5 expects 28x28 images, got ${set.height}x${set.width}`);
    return wt.leNet5(set.channels, set.classes);
  }
  if (name === 'mlp') {
    const inp = set.channels * set.height * set.width;
    return new wt.Sequential(new wt.Flatten(), new wt.Linear(inp, 256), new wt.ReLU(), new wt.Linear(256, 128), new wt.ReLU(), new wt.Linear(128, set.classes));
  }
  throw new Error(`webgpu-transfer: unknown model '${name}': use one of ${MODELS.join(', ')}`);
}
