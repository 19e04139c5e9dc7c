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

/**
 * Serves `root`, opens `path` in headless Chromium (with WebGPU unless `webgpu: false`; `args`: more flags), runs fn,
 * and always closes the browser and the server. Page errors are collected in `errors`.
 */
export async function withPage<T>(root: string, path: string, fn: (page: import('playwright-core').Page, errors: string[]) => Promise<T>,
  o: {webgpu?: boolean; acceptDownloads?: boolean; viewport?: {width: number; height: number}; args?: string[]} = {}): Promise<T> {
  const {chromium} = await import('playwright-core');
  const {server, url} = await serve(root);
  const browser = await chromium.launch({executablePath: findChromium(), headless: true, args: [...(o.webgpu === false ? [] : ['--enable-unsafe-webgpu']), ...(o.args ?? [])]});
  try {
    const page = await browser.newPage({acceptDownloads: o.acceptDownloads, viewport: o.viewport});
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url + path);
    return await fn(page, errors);
  } finally {
    await browser.close();
    server.close();
  }
}
