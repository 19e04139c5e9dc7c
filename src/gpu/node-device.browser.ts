// Stands in for node-device.ts in the browser bundle (scripts/build.mjs), which must not import `webgpu`.
import type {DeviceOptions, GpuContext} from './device.js';

export async function nodeDevice(_opts: DeviceOptions): Promise<GpuContext> {
  throw new Error('webgpu-transfer: this is the browser build, which has no Dawn: in Node, import the package ' +
    "under Node's 'node' export condition (plain `import 'webgpu-transfer'` in Node does)");
}

// The browser keeps the autotuner's choices in IndexedDB (one record), so a reload skips the measuring; where
// IndexedDB is missing or fails, in memory only (the next page load measures again).
function tuneStore(mode: IDBTransactionMode): Promise<IDBObjectStore | null> {
  if (typeof indexedDB === 'undefined' || !indexedDB) return Promise.resolve(null);
  return new Promise((ok) => {
    try {
      const open = indexedDB.open('webgpu-transfer-autotune', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('kv');
      open.onsuccess = () => ok(open.result.transaction('kv', mode).objectStore('kv'));
      open.onerror = () => ok(null);
    } catch { ok(null); }
  });
}

export async function readTuneCache(): Promise<unknown> {
  const store = await tuneStore('readonly');
  if (!store) return null;
  return new Promise((ok) => {
    const r = store.get('autotune');
    r.onsuccess = () => ok(r.result ?? null);
    r.onerror = () => ok(null);
  });
}

export async function writeTuneCache(data: unknown): Promise<void> {
  const store = await tuneStore('readwrite');
  if (!store) return;
  await new Promise<void>((ok) => {
    const r = store.put(data, 'autotune');
    r.onsuccess = () => ok();
    r.onerror = () => ok();
  });
}
