// Training batches of photos with random augmentation: decoded pixels held in memory (uint8, as files give them),
// each example transformed when its batch is drawn (random resized crop, flip, normalisation: a fresh view every
// epoch). The transform's randomness is drawn from the batch's seeded stream, so a resumed run sees the same crops.
import {DataLoader, type LoaderOptions} from './loader.js';
import type {RawImage, Transform, Image} from './transforms.js';

/** Options of PhotoLoader: batch, seed and shuffle as DataLoader, and the output size. */
export interface PhotoLoaderOptions extends Omit<LoaderOptions, 'shift'> {
  /** Side of the square images the transform gives (the model's input size). */
  size: number;
  /** The transform of one example, made from a seed (e.g. seed => trainTransform(size, seed)). */
  transform: (seed: number) => Transform<RawImage | Image>;
}

/**
 * Batches of decoded photos, each example transformed as its batch is drawn: a DataLoader (seeded order, exact
 * resume) whose images are made on the fly. Every image must come out [3, size, size].
 *
 * @example
 * ```ts
 * const images = await Promise.all(folder.samples.map((_, i) => folder.load(i)));   // Node: wt.data.imageFolder
 * const loader = new wt.data.PhotoLoader(images, labels, classes,
 *   {batch: 16, size: 224, seed: 1, transform: (seed) => wt.data.trainTransform(224, seed)});
 * ```
 */
export class PhotoLoader extends DataLoader {
  constructor(readonly photos: readonly RawImage[], labels: Int32Array, classes: number, readonly p: PhotoLoaderOptions) {
    super({images: new Float32Array(0), labels, n: photos.length, channels: 3, height: p.size, width: p.size, classes},
      {batch: p.batch, seed: p.seed, shuffle: p.shuffle});
    if (labels.length !== photos.length) {
      throw new Error(`webgpu-transfer: PhotoLoader: ${photos.length} photos but ${labels.length} labels`);
    }
  }

  protected override fill(k: number, x: Float32Array, at: number, r: () => number): void {
    const out = this.p.transform(Math.floor(r() * 2 ** 32))(this.photos[k]);
    const px = 3 * this.p.size * this.p.size;
    if (out.channels !== 3 || out.height !== this.p.size || out.width !== this.p.size) {
      throw new Error(`webgpu-transfer: PhotoLoader: photo ${k} came out ${out.channels}x${out.height}x${out.width}, ` +
        `want 3x${this.p.size}x${this.p.size}: end the transform with a crop to the size`);
    }
    x.set(out.data.subarray(0, px), at);
  }
}
