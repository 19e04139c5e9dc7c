// Browser checkpoint I/O: save as a download, load from a file input. Depends on none of ours.
import {decodeSafetensors, encodeSafetensors, type StFile} from './safetensors.js';

/** In a page: encodes tensors (and header metadata) as safetensors and offers the file as a download. */
export function downloadSafetensors(filename: string, tensors: Parameters<typeof encodeSafetensors>[0], metadata: Record<string, string> = {}): void {
  downloadBytes(filename, encodeSafetensors(tensors, metadata));
}

/** Seconds the object URL behind a download stays valid: Chrome resolves it after the click returns, later when busy. */
const DOWNLOAD_URL_LIFETIME_S = 60;

/** In a page: offers bytes as a file download. */
export function downloadBytes(filename: string, bytes: Uint8Array, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], {type}));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  // Revoked at once, the URL can be gone before a loaded browser starts the download, which then never happens.
  setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_LIFETIME_S * 1000);
}

/** Reads a File (from <input type=file>) as a validated safetensors file. */
export async function readSafetensorsFile(file: File): Promise<StFile> {
  return decodeSafetensors(new Uint8Array(await file.arrayBuffer()), file.name);
}
