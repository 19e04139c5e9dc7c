// Images in the page: files and webcam frames decoded by the browser, kept small, read back as pixels. Nothing
// leaves the page: decoding is createImageBitmap and a canvas, storage is IndexedDB (image-store.ts).
import type {RawImage} from '../../src/data/transforms.js';

/** Stored samples keep at most this shorter side: what the transforms read for inputs up to 224 px (Resize(256)). */
export const KEEP_SIDE = 256;

/** A decoded, downscaled sample: a JPEG of it and its size. */
export interface Decoded { blob: Blob; width: number; height: number; note?: string }

const bitmapOptions: ImageBitmapOptions = {colorSpaceConversion: 'none', premultiplyAlpha: 'none'};

/** A file or blob as an ImageBitmap; errors name the file and say what is wrong with it. */
export async function bitmapOf(file: Blob, name: string): Promise<ImageBitmap> {
  if (file.size === 0) throw new Error(`${name} is empty (0 bytes)`);
  try {
    return await createImageBitmap(file, bitmapOptions);
  } catch {
    const type = file.type || 'an unknown type';
    throw new Error(file.type.startsWith('image/') ? `${name} could not be decoded (${type}: a damaged or unsupported image?)`
      : `${name} is not an image (${type}): add PNG, JPEG or WebP files`);
  }
}

/** The size a sample is kept at: the shorter side at most KEEP_SIDE, the aspect kept. */
function keptSize(w: number, h: number): [number, number] {
  const s = Math.min(1, KEEP_SIDE / Math.min(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

/** Draws a bitmap or video frame at (w, h) on a fresh canvas. */
function canvasOf(src: CanvasImageSource, w: number, h: number): OffscreenCanvas {
  const c = new OffscreenCanvas(w, h);
  const ctx = c.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, 0, 0, w, h);
  return c;
}

/** A file as a stored sample: decoded, its shorter side brought to KEEP_SIDE or less (a 50-megapixel photo too). */
export async function decodeSample(file: Blob, name: string): Promise<Decoded> {
  const bmp = await bitmapOf(file, name);
  try {
    const [w, h] = keptSize(bmp.width, bmp.height);
    const blob = await canvasOf(bmp, w, h).convertToBlob({type: 'image/jpeg', quality: 0.92});
    const note = w < bmp.width ? `${name}: ${bmp.width}x${bmp.height} pixels, kept at ${w}x${h}` : undefined;
    return {blob, width: w, height: h, note};
  } finally { bmp.close(); }
}

/** A video's current frame as a stored sample. */
export async function snapshot(video: HTMLVideoElement): Promise<Decoded> {
  if (!video.videoWidth) throw new Error('the camera has no picture yet');
  const [w, h] = keptSize(video.videoWidth, video.videoHeight);
  const blob = await canvasOf(video, w, h).convertToBlob({type: 'image/jpeg', quality: 0.92});
  return {blob, width: w, height: h};
}

/** RGB pixels (HWC uint8) of a canvas image source. */
function pixelsOfCanvas(c: OffscreenCanvas): RawImage {
  const rgba = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
  const data = new Uint8Array(c.width * c.height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) { data[q] = rgba[p]; data[q + 1] = rgba[p + 1]; data[q + 2] = rgba[p + 2]; }
  return {data, width: c.width, height: c.height, channels: 3};
}

/** A stored sample (or any image file) as RGB pixels, at its own size. Alpha is dropped, as Node's decoder does. */
export async function pixelsOf(file: Blob, name: string): Promise<RawImage> {
  const bmp = await bitmapOf(file, name);
  try { return pixelsOfCanvas(canvasOf(bmp, bmp.width, bmp.height)); } finally { bmp.close(); }
}

/** A video's current frame as RGB pixels, its shorter side at most KEEP_SIDE. */
export function framePixels(video: HTMLVideoElement): RawImage {
  const [w, h] = keptSize(video.videoWidth, video.videoHeight);
  return pixelsOfCanvas(canvasOf(video, w, h));
}

/** The camera's stream; errors say why there is none (no API, no camera, permission refused). */
export async function openCamera(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('this page cannot use a camera here (no navigator.mediaDevices: open it over http://127.0.0.1 or https)');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({video: {width: {ideal: 320}, height: {ideal: 240}}, audio: false});
  } catch (e) {
    const n = (e as DOMException).name;
    if (n === 'NotAllowedError' || n === 'SecurityError') throw new Error('camera permission was refused: allow it in the address bar, or add files instead');
    if (n === 'NotFoundError' || n === 'OverconstrainedError') throw new Error('no webcam was found: add files instead');
    if (n === 'NotReadableError') throw new Error('the webcam is in use by another program');
    throw new Error(`the webcam could not be opened: ${(e as Error).message}`);
  }
}

/** Files of a drop: plain files, and the files inside dropped folders (recursively). */
export async function droppedFiles(dt: DataTransfer): Promise<File[]> {
  const entries = Array.from(dt.items ?? []).map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return Array.from(dt.files);
  const out: File[] = [];
  const walk = async (e: FileSystemEntry): Promise<void> => {
    if (e.isFile) out.push(await new Promise<File>((ok, fail) => (e as FileSystemFileEntry).file(ok, fail)));
    else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const c of batch) await walk(c);
      }
    }
  };
  for (const e of entries) await walk(e);
  return out;
}
