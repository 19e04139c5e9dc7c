// The compact binary form of an image set (the dataset cache, and what the web page fetches): a 16-byte header
// ('WGT1', n, pixels per image, classes as little-endian uint32), n uint8 labels, n * pixels uint8 pixels.
// Platform-free: Node reads it from the cache folder, a page from fetch(). Images are 28x28, one channel.
import type {ImageSet} from './image-set.js';

export const BINARY_MAGIC = 'WGT1';

export function decodeImageSet(bytes: Uint8Array, source = 'image set'): ImageSet {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (bytes.length < 16 || magic !== BINARY_MAGIC) throw new Error(`webgpu-transfer: ${source}: not a WGT1 image set (magic '${magic}')`);
  const n = view.getUint32(4, true), px = view.getUint32(8, true), classes = view.getUint32(12, true);
  if (px !== 784 || bytes.length !== 16 + n + n * px) {
    throw new Error(`webgpu-transfer: ${source}: ${bytes.length} bytes do not hold ${n} images of ${px} pixels`);
  }
  const labels = Int32Array.from(bytes.subarray(16, 16 + n));
  for (let i = 0; i < n; i++) if (labels[i] >= classes) throw new Error(`webgpu-transfer: ${source}: label ${labels[i]} of image ${i} >= ${classes} classes`);
  const pixels = bytes.subarray(16 + n);
  const images = new Float32Array(n * px);
  for (let i = 0; i < images.length; i++) images[i] = pixels[i] / 255;
  return {images, labels, n, channels: 1, height: 28, width: 28, classes};
}

/** The inverse of decodeImageSet, for one-channel 28x28 sets with values in 0..1 (rounded to 1/255). */
export function encodeImageSet(set: ImageSet): Uint8Array {
  if (set.channels !== 1 || set.height !== 28 || set.width !== 28) throw new Error(`webgpu-transfer: encodeImageSet: needs 1x28x28 images, got ${set.channels}x${set.height}x${set.width}`);
  const px = 784, out = new Uint8Array(16 + set.n + set.n * px);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = BINARY_MAGIC.charCodeAt(i);
  view.setUint32(4, set.n, true); view.setUint32(8, px, true); view.setUint32(12, set.classes, true);
  out.set(set.labels, 16);
  for (let i = 0; i < set.n * px; i++) out[16 + set.n + i] = Math.round(Math.min(1, Math.max(0, set.images[i])) * 255);
  return out;
}
