// Headless Debian Chromium through playwright-core, with a static server on 127.0.0.1 (a secure context,
// so navigator.gpu exists). The single flag --enable-unsafe-webgpu gives a SwiftShader adapter.
import {createServer, type Server} from 'node:http';
import {existsSync, readFileSync} from 'node:fs';
import {extname, join, normalize} from 'node:path';

export const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

export function findChromium(): string {
  const p = [process.env.WGT_CHROMIUM, ...CHROMIUM_PATHS].find((c) => c && existsSync(c));
  if (!p) throw new Error(`webgpu-transfer: no Chromium found (looked at ${CHROMIUM_PATHS.join(', ')}); install it with: bash scripts/setup.sh (Debian package chromium), or set WGT_CHROMIUM`);
  return p;
}

const TYPES: Record<string, string> = {'.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json', '.json': 'application/json', '.css': 'text/css', '.png': 'image/png'};

/** Serves `root` on 127.0.0.1 at a free port. */
export async function serve(root: string): Promise<{server: Server; url: string}> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^([.][.][/\\])+/, '');
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file)) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, {'content-type': TYPES[extname(file)] ?? 'application/octet-stream'}).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {server, url: `http://127.0.0.1:${port}/`};
}

// The matmul autotune's record (src/gpu/node-device.browser.ts keeps it in IndexedDB: database
// 'webgpu-transfer-autotune', store 'kv', key 'autotune') as the first page of this process measured it on Chromium's
// adapter. Later pages start with it, as on a returning visit: every Chromium launch has a fresh profile, which would
// measure again (25-50 s on SwiftShader: docs/testing.md). The first page of a run still measures, as do the kernel
// suite and the package test.
let tuning: unknown = null;
type Page = import('playwright-core').Page;

/**
 * In `page`, reads the autotune record from its origin's IndexedDB, or (given `record`) stores it there; resolves to
 * the record, or null where there is none.
 */
const tuningRecord = (page: Page, record: unknown = null) => page.evaluate((rec) => new Promise((ok, fail) => {
  const open = indexedDB.open('webgpu-transfer-autotune', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('kv');
  open.onerror = () => (rec === null ? ok(null) : fail(new Error('IndexedDB would not open')));
  open.onsuccess = () => {
    // Settled when the transaction completes: a stored record is then committed before the page navigates away.
    const tx = open.result.transaction('kv', rec === null ? 'readonly' : 'readwrite');
    const req = rec === null ? tx.objectStore('kv').get('autotune') : tx.objectStore('kv').put(rec, 'autotune');
    tx.oncomplete = () => { open.result.close(); ok(rec ?? req.result ?? null); };
    tx.onerror = () => (rec === null ? ok(null) : fail(new Error('IndexedDB would not store the autotune record')));
  };
}), record);

/** Keeps the autotune record of `page`, whose engine is up; false where it has none (the store moved?). */
export async function keepTuning(page: Page): Promise<boolean> {
  tuning ??= await tuningRecord(page);
  return tuning !== null;
}

/** Opens `url` in `page`, its origin's IndexedDB first given the kept autotune record where there is one. */
export async function gotoTuned(page: Page, url: string): Promise<void> {
  if (tuning !== null) {
    // Any page of the origin shares its IndexedDB: a 404 runs no script of ours.
    await page.goto(new URL('/no-such-page-seeds-the-autotune-record', url).href);
    await tuningRecord(page, tuning);
  }
  await page.goto(url);
}

/**
 * Serves `root`, opens `path` in headless Chromium (with WebGPU unless `webgpu: false`; `args`: more flags), runs fn,
 * and always closes the browser and the server. Page errors are collected in `errors`.
 */
export async function withPage<T>(root: string, path: string, fn: (page: import('playwright-core').Page, errors: string[]) => Promise<T>,
  o: {webgpu?: boolean; acceptDownloads?: boolean; viewport?: {width: number; height: number}; args?: string[]} = {},
): Promise<T> {
  const {chromium} = await import('playwright-core');
  const {server, url} = await serve(root);
  const args = [...(o.webgpu === false ? [] : ['--enable-unsafe-webgpu']), ...(o.args ?? [])];
  const browser = await chromium.launch({executablePath: findChromium(), headless: true, args});
  try {
    const page = await browser.newPage({acceptDownloads: o.acceptDownloads, viewport: o.viewport});
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await gotoTuned(page, url + path);
    const out = await fn(page, errors);
    if (o.webgpu !== false) await keepTuning(page);
    return out;
  } finally {
    await browser.close();
    server.close();
  }
}
