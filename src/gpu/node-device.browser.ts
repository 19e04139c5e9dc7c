// Stands in for node-device.ts in the browser bundle (scripts/build.mjs), which must not import `webgpu`.
import type {DeviceOptions, GpuContext} from './device.js';

export async function nodeDevice(_opts: DeviceOptions): Promise<GpuContext> {
  throw new Error('webgpu-transfer: this is the browser build, which has no Dawn: in Node, import the package ' +
    "under Node's 'node' export condition (plain `import 'webgpu-transfer'` in Node does)");
}

// The browser keeps the tuners' choices in IndexedDB (a record per cache), so a reload skips the measuring; where
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

/** What a tune cache holds: the matmul tiles (autotune) or the measured kernel choices (kernels). */
export type TuneCacheName = 'autotune' | 'kernels';

export async function readTuneCache(name: TuneCacheName = 'autotune'): Promise<unknown> {
  const store = await tuneStore('readonly');
  if (!store) return null;
  return new Promise((ok) => {
    const r = store.get(name);
    r.onsuccess = () => ok(r.result ?? null);
    r.onerror = () => ok(null);
  });
}

export async function writeTuneCache(data: unknown, name: TuneCacheName = 'autotune'): Promise<void> {
  const store = await tuneStore('readwrite');
  if (!store) return;
  await new Promise<void>((ok) => {
    const r = store.put(data, name);
    r.onsuccess = () => ok();
    r.onerror = () => ok();
  });
}

/** The browser's caches live in IndexedDB, under this name. */
export async function tuneCachePath(name: TuneCacheName = 'autotune'): Promise<string> {
  return `IndexedDB webgpu-transfer-autotune/${name}`;
}
