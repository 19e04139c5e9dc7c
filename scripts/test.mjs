// npm test: the engine suite once per CPU adapter (Mesa llvmpipe in GLES compatibility mode, then SwiftShader), and
// once, on llvmpipe, the files marked `// @test once` that do not depend on the adapter (headless Chromium, the CLI,
// data files, packaging); then one combined line `N passed, N failed`.
// The shared test files (all but `// @test node-only`) run on SwiftShader in Chromium's kernel suite, so SwiftShader's
// engine suite in Node runs only the node-only ones; --full (npm run test:full) runs every file there as well.
// The parts are child processes, WGT_TEST_JOBS at a time (default 2, at most the core count). Most parts keep about
// one core busy: Chromium's renderer, or Mesa compiling shaders on a first run. Each part prints whole when it ends.
// WGT_TEST_ADAPTERS=swiftshader limits the adapters (comma separated); the adapter-independent parts take the first.
// --quick (npm run test:quick, for the edit-test loop): the engine suite on llvmpipe only.
import {spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {availableParallelism} from 'node:os';

const quick = process.argv.includes('--quick');
const full = process.argv.includes('--full');
const adapters = quick ? ['llvmpipe'] : (process.env.WGT_TEST_ADAPTERS ?? 'llvmpipe,swiftshader').split(',').filter(Boolean);
if (!adapters.length) throw new Error('WGT_TEST_ADAPTERS: no adapter named');
const jobs = Number(process.env.WGT_TEST_JOBS ?? Math.min(2, availableParallelism()));
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`WGT_TEST_JOBS=${process.env.WGT_TEST_JOBS}: want a whole number >= 1`);

// The adapter-independent files in four parts (their times on 2 cores: docs/testing.md); a file not named here joins
// the last part.
const files = JSON.parse(readFileSync('dist/test/files.json', 'utf8'));
const onceFiles = files.filter((f) => f.once).map((f) => f.name);
const onceParts = [
  {title: 'the kernel suite in headless Chromium', files: ['browser-suite']},
  {title: 'the page in headless Chromium', files: ['browser', 'web', 'web-images', 'web-views']},
  {title: 'the CLI and packaging', files: ['cli', 'package']},
];
const named = onceParts.flatMap((p) => p.files);
for (const n of named) if (!onceFiles.includes(n)) throw new Error(`scripts/test.mjs: '${n}' is not a test file marked '// @test once'`);
onceParts.push({title: 'files, data and experiments', files: onceFiles.filter((n) => !named.includes(n))});
// The engine files Chromium's kernel suite does not run: SwiftShader's engine suite in Node runs just these, unless
// --full. That suite pins Chromium's adapter to SwiftShader (WGT_BROWSER_ADAPTER), so the shared files still run on it.
const nodeOnlyEngine = files.filter((f) => f.nodeOnly && !f.once).map((f) => f.name);

const onAdapter = (p) => ({title: `${p.title} (on ${adapters[0]})`, env: {WGT_BACKEND: adapters[0], WGT_TEST_FILES: p.files.join(',')}});
const inChromium = !full && adapters.slice(1).includes('swiftshader');
const engine = (backend) => (inChromium && backend === 'swiftshader'
  ? {title: `kernel suite on ${backend}: the node-only files (the others run on it in Chromium)`,
    env: {WGT_BACKEND: backend, WGT_SKIP_ONCE: '1', WGT_TEST_FILES: nodeOnlyEngine.join(',')}}
  : {title: `kernel suite on ${backend}`, env: {WGT_BACKEND: backend, WGT_SKIP_ONCE: '1'}});
const chromiumSuite = onAdapter(onceParts[0]);
if (inChromium) chromiumSuite.env.WGT_BROWSER_ADAPTER = 'swiftshader';
// Started in this order, each on the next free slot: the Chromium kernel suite (the longest part) and the first
// adapter's engine suite (long on a first run: it fills Mesa's shader cache for the later parts on that adapter), the
// page, the other adapters' engine suites, then the CLI and the files, which fill the two slots' ends evenly.
const parts = quick ? [engine('llvmpipe')]
  : [chromiumSuite, engine(adapters[0]), onAdapter(onceParts[1]), ...adapters.slice(1).map(engine),
    ...onceParts.slice(2).map(onAdapter)];

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 60000).toFixed(1)} min`;
function runPart(part) {
  console.log(`[${elapsed()}] started: ${part.title}`);
  return new Promise((done) => {
    const child = spawn(process.execPath, ['dist/test/run.js'], {env: {...process.env, ...part.env}, stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code, signal) => {
      console.log(`\n=== ${part.title}: ended at ${elapsed()} ===`);
      process.stdout.write(out);
      const m = /(\d+) passed, (\d+) failed/.exec(out.trim().split('\n').pop() ?? '');
      if (!m) console.log(`${part.title}: ended without a summary (exit ${code ?? signal})`);
      done(m ? {passed: Number(m[1]), failed: Number(m[2]) + (code !== 0 && Number(m[2]) === 0 ? 1 : 0)} : {passed: 0, failed: 1});
    });
  });
}

const results = [];
let next = 0;
const slot = async () => { while (next < parts.length) results.push(await runPart(parts[next++])); };
await Promise.all(Array.from({length: Math.min(jobs, parts.length)}, slot));
const passed = results.reduce((s, r) => s + r.passed, 0), failed = results.reduce((s, r) => s + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
