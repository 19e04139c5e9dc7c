// @test node-only: runs the page server as a child process and sends it raw HTTP over node:net
// @test once: the page server in a child process
// `serve` (npm run serve, webgpu-transfer serve): its flags fail as every command's do (one line, exit 2), and no
// request stops the page server: a malformed target gets 400, a failed dataset load 500, a fuzz of request paths
// only ever gets an answer from a fixed set of statuses, and the page is still served afterwards. The server runs
// in a child process, so a request that kills it fails the test instead of the test run.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {connect} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {spawn, type ChildProcess} from 'node:child_process';
import {requestPath} from '../apps/cli/server.js';

const t = suite('serve: flags, and a page server no request can stop');
const SERVE = ['dist/apps/cli/serve.js'], MAIN_SERVE = ['dist/apps/cli/main.js', 'serve'];

interface Ran { status: number | null; stdout: string; stderr: string }
const run = (args: string[]) => new Promise<Ran>((done) => {
  const p = spawn(process.execPath, args);
  let stdout = '', stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  p.on('close', (status) => done({status, stdout, stderr}));
});

interface Served { port: number; child: ChildProcess; log: () => string }
/** Starts a page server on a free port (`--port 0`) and waits for the address it prints. */
function startServer(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Served> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [...args, '--port', '0'], {env});
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      fail(new Error(`no address printed by ${args.join(' ')}: ${out}`));
    }, 30_000);
    const read = (d: Buffer) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) { clearTimeout(timer); ok({port: Number(m[1]), child, log: () => out}); }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`${args.join(' ')} exited with ${code}: ${out}`)); });
  });
}
const stop = (s: Served) => new Promise<void>((done) => {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return done();
  s.child.once('exit', () => done());
  s.child.kill();
});

/** The payload of a chunked body (each chunk: its size in hex, CRLF, the bytes, CRLF; a 0 size ends it). */
function unchunk(body: string): string {
  let out = '';
  for (let at = 0; ;) {
    const eol = body.indexOf('\r\n', at), size = parseInt(body.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
/** One request with the target exactly as given (no client-side URL normalisation): its status and body. */
function raw(port: number, target: string, method = 'GET'): Promise<{status: number; body: string}> {
  return new Promise((ok, fail) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let error = '';
    socket.setTimeout(10_000, () => { error = 'timed out'; socket.destroy(); });
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (e) => { error = e.message; });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (!m) return fail(new Error(`no answer to ${method} ${JSON.stringify(target)}${error ? ` (${error})` : ''}`));
      const head = text.slice(0, text.indexOf('\r\n\r\n')), body = text.slice(head.length + 4);
      ok({status: Number(m[1]), body: /^transfer-encoding: chunked/im.test(head) ? unchunk(body) : body});
    });
    socket.write(Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 'utf8'));
  });
}
/** A request to a started server; when it gets no answer, the error carries the server's output (a crash's trace). */
const ask = (s: Served, target: string, method = 'GET') =>
  raw(s.port, target, method).catch((e: Error) => { throw new Error(`${e.message}; the server's output: ${s.log()}`); });
/** The server answers the page and its process is still running. */
async function stillServing(s: Served): Promise<void> {
  assert.is(s.child.exitCode, null, `the server exited: ${s.log()}`);
  const page = await ask(s, '/');
  assert.is(page.status, 200, 'GET / after the requests');
  assert.match(page.body, /webgpu-transfer: live training/);
}

t('serve --help prints the usage; each bad flag is one line on stderr, exit 2, no stack trace', async () => {
  for (const entry of [SERVE, MAIN_SERVE]) {
    const help = await run([...entry, '--help']);
    assert.is(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: webgpu-transfer serve \[flags\]\n[\s\S]*--port N/);
    const BAD: [string[], RegExp][] = [
      [['--port', '-1'], /flag --port expects an integer >= 0 and <= 65535, got '-1'/],
      [['--port', '70000'], /flag --port expects an integer >= 0 and <= 65535, got '70000'/],
      [['--port', 'abc'], /flag --port expects an integer >= 0 and <= 65535, got 'abc'/],
      [['stray'], /serve: Unexpected argument 'stray'/],
      [['--prot', '80'], /serve: unknown flag --prot; serve takes --port/],
      [['--port', '1', '--port', '2'], /serve: flag --port given twice/],
      [['--port'], /serve: Option '--port <value>' argument missing/],
    ];
    const runs = await Promise.all(BAD.map(([args]) => run([...entry, ...args])));
    runs.forEach((r, i) => {
      const what = `${entry.join(' ')} ${BAD[i][0].join(' ')}`;
      assert.is(r.status, 2, `${what}: exit status (${r.stderr})`);
      assert.is(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line: ${r.stderr}`);
      assert.match(r.stderr, /^webgpu-transfer: /, what);
      assert.match(r.stderr, BAD[i][1], what);
      assert.not.match(r.stderr, /^\s+at |ERR_/m, `${what}: no stack trace`);
    });
  }
});

t('targets that parse badly as URLs get an answer, and the server keeps serving', async () => {
  const s = await startServer(SERVE);
  try {
    const CASES: [string, number, string?][] = [
      ['//', 200], ['/%2F%2F', 200], ['//:99999/', 404], ['//127.0.0.1:1/x', 404], ['/%zz', 400], ['x', 400],
      ['/data/constructor.bin', 404, 'not a dataset: a name inherited by every object'],
      ['/../package.json', 403], ['/a/%2e%2e/%2e%2e/package.json', 403], ['/..\\package.json', 403], ['/%00index.html', 403],
      ['/' + 'a'.repeat(10_000), 414],
    ];
    for (const [target, status, why] of CASES) {
      const r = await ask(s, target);
      assert.is(r.status, status, `${JSON.stringify(target.slice(0, 40))}${why ? ` (${why})` : ''}: ${r.body}`);
      if (status !== 200) assert.match(r.body, /^[^\n]+\n$/, `${JSON.stringify(target.slice(0, 40))}: a one-line reason`);
    }
    assert.is((await ask(s, '/', 'POST')).status, 405);
    assert.is((await ask(s, '//index.html', 'HEAD')).status, 200);
    await stillServing(s);
  } finally { await stop(s); }
});

t('a dataset that fails to load gets 500 with its reason, and the server keeps serving', async () => {
  // The dataset cache folder cannot be made under a plain file: the load fails (ENOTDIR), as a failed fetch would.
  const file = join(mkdtempSync(join(tmpdir(), 'wgt-serve-')), 'not-a-folder');
  writeFileSync(file, '');
  for (const entry of [SERVE, MAIN_SERVE]) {
    const s = await startServer(entry, {...process.env, XDG_CACHE_HOME: file});
    try {
      for (let i = 0; i < 2; i++) {
        const r = await ask(s, '/data/mnist.bin');
        assert.is(r.status, 500, r.body);
        assert.match(r.body, /^could not load the dataset mnist: ENOTDIR[^\n]*\n$/);
      }
      await stillServing(s);
      assert.match(s.log(), /serve: \/data\/mnist\.bin: ENOTDIR/, 'the failure is logged by the server');
    } finally { await stop(s); }
  }
});

// Request targets built from the pieces path handling trips on, percent-encoded (once or twice) random strings,
// and raw bytes a request line may not hold (Node answers those itself: 400). None names a real dataset, so no
// request loads one.
const PIECES = ['/', '//', '.', '..', '%2e', '%2E%2e', '%2f', '%2F%2F', '%252e%252e', '%252f', '\\', '%5c', '..\\', '%00',
  '%', '%zz', '%e9', '%C3%A9', '%F0%9F%98%80', ':99999', '@', '?', '#', '?q=/..', ';', 'index.html', 'app.js', 'data',
  'x.bin', 'constructor.bin', 'mnist'];
const RAW = ['\0', ' ', '\t', '\r\n', 'é', '日本', '😀'];
const text = fc.string({unit: 'binary', maxLength: 6}).map((x) => x.replace(/[\uD800-\uDFFF]/g, ''));
const unit = fc.oneof(
  {weight: 12, arbitrary: fc.constantFrom(...PIECES)},
  {weight: 1, arbitrary: fc.constantFrom(...RAW)},
  {weight: 1, arbitrary: text},
  {weight: 2, arbitrary: text.map(encodeURIComponent)},
  {weight: 1, arbitrary: text.map((x) => encodeURIComponent(encodeURIComponent(x)))},
);
const joined = fc.array(unit, {maxLength: 8}).map((a) => a.join(''));
const target = fc.oneof(
  {weight: 8, arbitrary: joined.map((x) => `/${x}`)},
  {weight: 2, arbitrary: joined},
  {weight: 1, arbitrary: joined.map((x) => `/${x}`.padEnd(10_000, 'a'))},
);
const ANSWERS = new Set([200, 400, 403, 404, 405, 414, 431]);

t('fuzz: every request path gets an answer from a fixed set, and the page is served after them all', async () => {
  const s = await startServer(SERVE);
  try {
    await fc.assert(fc.asyncProperty(target, fc.constantFrom('GET', 'HEAD', 'POST'), async (path, method) => {
      const r = await ask(s, path, method);
      assert.ok(ANSWERS.has(r.status), `${method} ${JSON.stringify(path.slice(0, 80))}: status ${r.status}`);
    }), {seed: 20240611, numRuns: 200});
    await stillServing(s);
  } finally { await stop(s); }
});

t('requestPath: an accepted path is one clean absolute path, never an authority or a way up', () => {
  fc.assert(fc.property(target, (path) => {
    const r = requestPath(path);
    if (!('path' in r)) return;
    assert.match(r.path, /^\/(?!\/)/, `${JSON.stringify(path)} -> ${r.path}`);
    assert.not.ok(r.path.includes('//') || r.path.includes('\0'), `${JSON.stringify(path)} -> ${r.path}`);
    const up = r.path.split(/[/\\]/).includes('..'), here = r.path.split('/').includes('.');
    assert.not.ok(up || here, `${JSON.stringify(path)} -> ${r.path}`);
  }), {seed: 20240611, numRuns: 2000});
  assert.equal(requestPath('//'), {path: '/'});
  assert.equal(requestPath('/a//b/./c/?x=1'), {path: '/a/b/c/'});
  assert.equal(requestPath('/%2F%2Fdata%2Fmnist.bin'), {path: '/data/mnist.bin'});
});

t.run();
