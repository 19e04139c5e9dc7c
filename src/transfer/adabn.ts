// AdaBN (Li et al. 2016): a network moved to a new domain re-estimates its batch-norm statistics on that domain's
// images (no labels needed) and keeps everything else. Where the domains differ in low-level statistics (colour
// negatives, another camera), the source's running means and variances misplace every activation; the target's put
// them back where the layers after them were trained to see them.
import * as ops from '../graph/ops.js';
import {noGrad, tidy} from '../graph/engine.js';
import {BatchNorm} from '../nn/layers.js';
import type {Module} from '../nn/module.js';
import type {ImageSet} from '../data/image-set.js';

/** Options of adaptBatchNorm. */
export interface AdaptBatchNormOptions {
  /** Images per forward pass (default 64); the last, shorter batch counts by its size. */
  batch?: number;
}

/**
 * Replaces every batch-norm layer's running mean and variance by their average over `images` (the target domain,
 * unlabelled): forward passes in training mode without gradients, each batch weighted by its size, as PyTorch's
 * momentum=None. Weights, biases and everything else stay; each layer's frozen flag and momentum are restored, and
 * the model returns to the mode it was in. Returns the number of batch-norm layers adapted.
 */
export async function adaptBatchNorm(model: Module, images: ImageSet, o: AdaptBatchNormOptions = {}): Promise<number> {
  const batch = o.batch ?? 64;
  if (!Number.isInteger(batch) || batch < 2) {
    throw new Error(`webgpu-transfer: adaptBatchNorm: batch must be an integer >= 2, got ${batch}`);
  }
  if (images.n < 2) throw new Error(`webgpu-transfer: adaptBatchNorm: needs at least 2 images, got ${images.n}`);
  const norms = [...model.namedModules()].map(([, m]) => m).filter((m): m is BatchNorm => m instanceof BatchNorm);
  if (norms.length === 0) return 0;
  const saved = norms.map((m) => ({frozen: m.frozenStats, momentum: m.opts.momentum}));
  const wasTraining = model.training;
  const px = images.channels * images.height * images.width;
  model.train();
  try {
    for (const m of norms) m.frozenStats = false;
    let seen = 0;
    for (let s = 0; s < images.n; s += batch) {
      // A batch of one has no variance: fold a last single image into the batch before it.
      const m = images.n - s - batch === 1 ? batch + 1 : Math.min(batch, images.n - s);
      // The running average after this batch: the old one weighted by the images seen, this one by its size.
      for (const bn of norms) bn.opts.momentum = m / (seen + m);
      const x = ops.tensor(images.images.subarray(s * px, (s + m) * px), [m, images.channels, images.height, images.width]);
      noGrad(() => tidy(() => { model.forward(x); }));
      x.dispose();
      seen += m;
      if (m > batch) break;
    }
    await norms[0].runningMean.data();
  } finally {
    norms.forEach((m, i) => { m.frozenStats = saved[i].frozen; m.opts.momentum = saved[i].momentum; });
    model.train(wasTraining);
  }
  return norms.length;
}
