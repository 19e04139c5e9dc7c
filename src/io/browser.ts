// Browser checkpoint I/O: save as a download, load from a file input. Depends on none of ours.
import {decodeSafetensors, encodeSafetensors, type StFile} from './safetensors.js';

/** In a page: encodes tensors (and header metadata) as safetensors and offers the file as a download. */
export function downloadSafetensors(filename: string, tensors: Parameters<typeof encodeSafetensors>[0], metadata: Record<string, string> = {}): void {
  downloadBytes(filename, encodeSafetensors(tensors, metadata));
}

/** Seconds the object URL behind a download stays valid: the browser fetches it after the click returns. */
const DOWNLOAD_URL_LIFETIME_S = 60;

/** In a page: offers bytes as a file download. */
export function downloadBytes(filename: string, bytes: Uint8Array, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], {type}));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  // Revoking on the next tick would race that fetch; a minute is ample, and frees the blob after.
  setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_LIFETIME_S * 1000);
}

/** Reads a File (from <input type=file>) as a validated safetensors file. */
export async function readSafetensorsFile(file: File): Promise<StFile> {
  return decodeSafetensors(new Uint8Array(await file.arrayBuffer()), file.name);
}
