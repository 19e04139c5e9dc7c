// The in-memory image dataset every loader produces and every recipe, transform and model input reads.

/** n images with their labels: `images` is [n, channels * height * width], values 0..1. */
export interface ImageSet {
  /** [n, channels * height * width], values 0..1. */
  images: Float32Array;
  labels: Int32Array;
  n: number; channels: number; height: number; width: number; classes: number;
}

/** An ImageSet whose classes have names: `classNames[label]`. */
export interface NamedImageSet extends ImageSet {
  /** One name per class, in label order. */
  classNames: string[];
}
