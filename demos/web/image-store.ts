// The "your images" session in IndexedDB: classes, samples (small JPEGs), settings, the source weights a user
// picked and the trained weights, so a reload or a crashed tab restores it. Where IndexedDB is missing (some
// private windows) or full, the session lives in the tab only and the page says so.

/** A class: its id (stable across renames) and its name. */
export interface ClassEntry { id: number; name: string }
/** A sample: its class, the stored JPEG and its size. */
export interface Sample { id: number; classId: number; blob: Blob; width: number; height: number }
/** Weights kept in the store: the safetensors bytes and the name shown for them. */
export interface StoredWeights { name: string; bytes: Uint8Array }

/** Everything a session holds. */
export interface Session {
  classes: ClassEntry[];
  samples: Sample[];
  settings: Record<string, string>;
  nextId: number;
  sourceFile: StoredWeights | null;
  trained: StoredWeights | null;
}

export const emptySession = (): Session => ({classes: [], samples: [], settings: {}, nextId: 1, sourceFile: null, trained: null});

type Key = 'classes' | 'settings' | 'nextId' | 'sourceFile' | 'trained';

const req = <T>(r: IDBRequest<T>): Promise<T> => new Promise((ok, fail) => {
  r.onsuccess = () => ok(r.result);
  r.onerror = () => fail(r.error);
});

/**
 * The session's mirror in IndexedDB. Every write is awaited; a failed write (quota) turns the store off with a
 * warning rather than losing the tab's session: the view keeps the session in memory either way.
 */
export class ImageStore {
  /** Why nothing is kept across reloads (null while the store works). */
  warning: string | null = null;
  private constructor(private db: IDBDatabase | null) {}

  /** Opens the store; never throws: without IndexedDB the store keeps nothing and says why. */
  static async open(name = 'webgpu-transfer-images'): Promise<ImageStore> {
    if (typeof indexedDB === 'undefined' || !indexedDB) {
      const s = new ImageStore(null);
      s.warning = 'this browser gives the page no IndexedDB (a private window?): nothing will be kept after a reload';
      return s;
    }
    try {
      const open = indexedDB.open(name, 1);
      open.onupgradeneeded = () => {
        open.result.createObjectStore('samples', {keyPath: 'id'});
        open.result.createObjectStore('kv');
      };
      return new ImageStore(await req(open));
    } catch (e) {
      const s = new ImageStore(null);
      s.warning = `IndexedDB could not be opened (${(e as Error)?.message ?? e}): nothing will be kept after a reload`;
      return s;
    }
  }

  get persistent(): boolean { return this.db !== null; }

  /** The stored session (empty when nothing is stored). */
  async load(): Promise<Session> {
    const s = emptySession();
    if (!this.db) return s;
    const tx = this.db.transaction(['samples', 'kv'], 'readonly');
    const kv = tx.objectStore('kv');
    s.samples = await req(tx.objectStore('samples').getAll()) as Sample[];
    s.classes = (await req(kv.get('classes')) as ClassEntry[] | undefined) ?? [];
    s.settings = (await req(kv.get('settings')) as Record<string, string> | undefined) ?? {};
    s.nextId = (await req(kv.get('nextId')) as number | undefined) ?? 1;
    s.sourceFile = (await req(kv.get('sourceFile')) as StoredWeights | undefined) ?? null;
    s.trained = (await req(kv.get('trained')) as StoredWeights | undefined) ?? null;
    s.nextId = Math.max(s.nextId, 1 + Math.max(0, ...s.samples.map((x) => x.id), ...s.classes.map((c) => c.id)));
    return s;
  }

  private async write(stores: ('samples' | 'kv')[], fn: (tx: IDBTransaction) => void): Promise<void> {
    if (!this.db) return;
    try {
      const tx = this.db.transaction(stores, 'readwrite');
      fn(tx);
      await new Promise<void>((ok, fail) => { tx.oncomplete = () => ok(); tx.onerror = () => fail(tx.error); tx.onabort = () => fail(tx.error); });
    } catch (e) {
      const full = (e as DOMException)?.name === 'QuotaExceededError';
      this.warning = full ? 'the browser\'s storage for this page is full: new changes are kept in this tab only'
        : `saving to IndexedDB failed (${(e as Error)?.message ?? e}): changes are kept in this tab only`;
      this.db = null;
    }
  }

  putSamples(samples: Sample[]): Promise<void> {
    return this.write(['samples'], (tx) => { for (const s of samples) tx.objectStore('samples').put(s); });
  }
  deleteSamples(ids: number[]): Promise<void> {
    return this.write(['samples'], (tx) => { for (const id of ids) tx.objectStore('samples').delete(id); });
  }
  put(key: Key, value: unknown): Promise<void> {
    return this.write(['kv'], (tx) => { tx.objectStore('kv').put(value, key); });
  }
  /** Empties the store (the "clear" button). */
  clear(): Promise<void> {
    return this.write(['samples', 'kv'], (tx) => { tx.objectStore('samples').clear(); tx.objectStore('kv').clear(); });
  }
}
