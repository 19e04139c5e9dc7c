// Browser checkpoint I/O: save as a download, load from a file input. Depends on none of ours.
import {decodeSafetensors, encodeSafetensors, type StFile} from './safetensors.js';

/** In a page: encodes tensors (and header metadata) as safetensors and offers the file as a download. */
export function downloadSafetensors(filename: string, tensors: Parameters<typeof encodeSafetensors>[0], metadata: Record<string, string> = {}): void {
  const blob = new Blob([encodeSafetensors(tensors, metadata) as BlobPart], {type: 'application/octet-stream'});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 0);
}

/** Reads a File (from <input type=file>) as a validated safetensors file. */
export async function readSafetensorsFile(file: File): Promise<StFile> {
  return decodeSafetensors(new Uint8Array(await file.arrayBuffer()), file.name);
}
