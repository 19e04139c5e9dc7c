// Models the CLI can build by name, sized to a dataset's images.
import * as wt from '../../src/index.js';
import type {ImageSet} from '../../src/data/image-set.js';

export const MODELS = ['lenet5', 'mlp', 'capsnet-small', 'capsnet', 'cnn-matched'] as const;

/** Training and evaluation losses of a model the CLI built: capsule networks train on margin + reconstruction. */
export function lossesFor(model: wt.Module): {loss?: wt.SupervisedLoss; evalLoss?: wt.RowLoss} {
  return model instanceof wt.capsnet.CapsNet ? {loss: wt.capsnet.capsuleLoss(), evalLoss: wt.capsnet.marginEvalLoss()} : {};
}

export function buildModel(name: string, set: ImageSet): wt.Module {
  if (name === 'lenet5') {
    if (set.height !== 28 || set.width !== 28) throw new Error(`webgpu-transfer: lenet5 expects 28x28 images, got ${set.height}x${set.width}`);
    return wt.leNet5(set.channels, set.classes);
  }
  if (name === 'capsnet-small' || name === 'capsnet' || name === 'cnn-matched') {
    if (set.height !== set.width) throw new Error(`webgpu-transfer: ${name} expects square images, got ${set.height}x${set.width}`);
    const config = {...(name === 'capsnet' ? wt.capsnet.CAPSNET_PAPER : wt.capsnet.CAPSNET_SMALL), channels: set.channels, imageSize: set.height, classes: set.classes};
    if (name !== 'cnn-matched') return new wt.capsnet.CapsNet(config);
    // The CNN baseline with as many parameters as the small CapsNet's classifier (decoder excluded).
    const params = wt.capsnet.capsNetClassifierParameters(config);
    return wt.capsnet.cnnMatched(params, {channels: set.channels, imageSize: set.height, classes: set.classes}).model;
  }
  if (name === 'mlp') {
    const inp = set.channels * set.height * set.width;
    return wt.models.fuse(new wt.Sequential(new wt.Flatten(), new wt.Linear(inp, 256), new wt.ReLU(), new wt.Linear(256, 128),
      new wt.ReLU(), new wt.Linear(128, set.classes)));
  }
  throw new Error(`webgpu-transfer: unknown model '${name}': use one of ${MODELS.join(', ')}`);
}
