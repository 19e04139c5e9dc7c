// The CNN baseline of the CapsNet experiments: two convolutions with max pooling and two fully connected layers,
// its hidden width chosen so the parameter count matches a CapsNet classifier's (decoder excluded).
import {Conv2d, Flatten, fuse, Linear, MaxPool2d, ReLU, Sequential} from '../nn/layers.js';

/** cnnMatched's network and the hidden width that matched the parameter count. */
export interface MatchedCnn { model: Sequential; hidden: number }

/** A 5x5 conv (c1) - pool - 5x5 conv (c2) - pool - FC(hidden) - FC(classes) network of about `params` parameters. */
export function cnnMatched(params: number, opts: {channels?: number; imageSize?: number; classes?: number; c1?: number; c2?: number} = {}): MatchedCnn {
  const ch = opts.channels ?? 1, side = opts.imageSize ?? 28, classes = opts.classes ?? 10;
  const c1 = opts.c1 ?? 32, c2 = opts.c2 ?? 64;
  const s = Math.floor((Math.floor((side - 4) / 2) - 4) / 2);
  if (s < 1) throw new Error(`webgpu-transfer: cnnMatched: ${side}x${side} images are too small for two 5x5 conv + pool stages`);
  const flat = c2 * s * s;
  const fixed = (ch * 25 + 1) * c1 + (c1 * 25 + 1) * c2 + classes;
  // params = fixed + hidden * (flat + 1) + hidden * classes
  const hidden = Math.max(1, Math.round((params - fixed) / (flat + 1 + classes)));
  const model = fuse(new Sequential(
    new Conv2d(ch, c1, 5), new ReLU(), new MaxPool2d(2),
    new Conv2d(c1, c2, 5), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(flat, hidden), new ReLU(), new Linear(hidden, classes),
  ));
  return {model, hidden};
}
