// Bundles every runnable entry (tests, demos, bench, CLI) for Node, the engine for the browser, and the npm
// package's library (dist/lib); `--types` also writes the package's declarations (dist/types, tsc; npm pack).
// WGSL files are imported as text, so kernels live in shaders/*.wgsl and still ship inside the JS.
import {build} from 'esbuild';
import {copyFileSync, readdirSync, readFileSync, existsSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {execFileSync} from 'node:child_process';

const list = (dir) => existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)) : [];

// The test suites are found, not listed: every test/*.test.ts, for the Node runner (test/run.ts) and the browser
// suite (test/browser/suite.ts) alike, through the module 'virtual:test-files'. Markers in a file's comments:
//   // @test node-only: <why>   kept out of the browser suite (files, processes, Node-only modules)
//   // @test order <N>: <why>   run after the files of lower order (default 0; ties by name)
//   // @test once: <why>        adapter-independent (Chromium, files, processes, flags): npm test runs it on its
//                               first adapter only (WGT_SKIP_ONCE=1 leaves it out)
// A file without the node-only marker that imports node:* fails the build (it would fail in the browser).
function findTestFiles() {
  return readdirSync('test').filter((f) => f.endsWith('.test.ts')).map((f) => {
    const text = readFileSync(join('test', f), 'utf8');
    const nodeOnly = /^\/\/ @test node-only:/m.test(text);
    const order = Number(/^\/\/ @test order (-?\d+):/m.exec(text)?.[1] ?? 0);
    const once = /^\/\/ @test once:/m.test(text);
    if (!nodeOnly && /from 'node:/.test(text)) throw new Error(`test/${f} imports node:* but is not marked '// @test node-only: <why>'`);
    // Importing another test file would queue its suites a second time: shared helpers live in test/lib/.
    if (/from '\.\/[\w-]+\.test\.js'/.test(text)) throw new Error(`test/${f} imports another test file; move what it shares to test/lib/`);
    return {name: f.replace(/\.test\.ts$/, ''), file: f, nodeOnly, order, once};
  }).sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
const testFiles = findTestFiles();
// In the browser bundle the module lists only the files not marked node-only (esbuild bundles every listed one).
const testFilesPlugin = (browser) => ({
  name: 'test-files',
  setup(b) {
    b.onResolve({filter: /^virtual:test-files$/}, () => ({path: 'test-files', namespace: 'virtual'}));
    b.onLoad({filter: /.*/, namespace: 'virtual'}, () => ({
      resolveDir: join(process.cwd(), 'test'), loader: 'js',
      // Dynamic imports: esbuild bundles them, and the runner can load a subset (WGT_TEST_FILES).
      contents: `export const testFiles = [\n${testFiles.filter((t) => !browser || !t.nodeOnly).map((t) =>
        `  {name: ${JSON.stringify(t.name)}, nodeOnly: ${t.nodeOnly}, order: ${t.order}, once: ${t.once}, load: () => import(${JSON.stringify('./' + t.file)})},`).join('\n')}\n];\n`,
    }));
  },
});
// test/lib/device-probe.ts runs in a child process of the suite.
const nodeEntries = ['test/lib/device-probe.ts', ...list('test'), ...list('demos'), ...list('bench'), ...list('apps/cli')];
const external = ['webgpu', 'sharp', 'playwright-core', '@tensorflow/*', 'mnist', 'fashion-mnist', 'esbuild', 'vega',
  'vega-lite', '@resvg/resvg-js'];
const common = {bundle: true, format: 'esm', sourcemap: 'linked', loader: {'.wgsl': 'text'}, logLevel: 'warning'};
// In browser bundles the Node device module (Dawn, node:fs) is replaced by a stub, so they never import `webgpu`.
const browserDevice = {
  name: 'browser-device',
  setup(b) {
    b.onResolve({filter: /\/node-device\.js$/}, (a) => ({path: join(a.resolveDir, 'node-device.browser.ts')}));
  },
};

await build({
  ...common, entryPoints: nodeEntries, outdir: 'dist', outbase: '.', platform: 'node', target: 'node20', external, plugins: [testFilesPlugin(false)],
  banner: {js: "import {createRequire as __wgtRequire} from 'node:module'; const require = __wgtRequire(import.meta.url);"},
});
// npm test (scripts/test.mjs) splits the files into parts that run side by side, from this list.
writeFileSync('dist/test/files.json',
  JSON.stringify(testFiles.map(({name, once, nodeOnly}) => ({name, once, nodeOnly})), null, 1));
// The browser bundle the tests serve: the same engine; only device acquisition differs.
await build({
  ...common, entryPoints: {'webgpu-transfer': 'src/index.ts'}, outdir: 'dist/browser', platform: 'browser',
  target: 'es2022', plugins: [browserDevice],
});
// The browser kernel tests (test/browser.test.ts serves dist/browser and drives it in headless Chromium).
await build({
  ...common, entryPoints: {'kernel-tests': 'test/browser/entry.ts', 'kernel-suite': 'test/browser/suite.ts'}, outdir: 'dist/browser', platform: 'browser',
  target: 'es2022', external: ['node:*'], plugins: [browserDevice, testFilesPlugin(true)],
});
copyFileSync('test/browser/index.html', 'dist/browser/kernel-tests.html');
copyFileSync('test/browser/suite.html', 'dist/browser/kernel-suite.html');

// The npm package's library: one build per platform, each with code splitting, so the main entry and the
// subpaths (nn, transfer, train, capsnet) share one engine (one device, one Module class) when imported together.
rmSync('dist/lib', {recursive: true, force: true});
const lib = {...common, splitting: true, chunkNames: 'chunks/[name]-[hash]', minifySyntax: true};
await build({
  ...lib, outdir: 'dist/lib/node', platform: 'node', target: 'node20', packages: 'external',
  entryPoints: {index: 'src/node.ts', nn: 'src/nn/index.ts', transfer: 'src/transfer/index.ts', train: 'src/train/node.ts',
    capsnet: 'src/capsnet/index.ts', cli: 'apps/cli/main.ts'},
});
// The browser build may import nothing: a Node module reaching it is a build error here, not a user's.
await build({
  ...lib, outdir: 'dist/lib/browser', platform: 'browser', target: 'es2022', plugins: [browserDevice],
  entryPoints: {index: 'src/index.ts', nn: 'src/nn/index.ts', transfer: 'src/transfer/index.ts', train: 'src/train/index.ts',
    capsnet: 'src/capsnet/index.ts'},
});
copyFileSync('src/require.cjs', 'dist/lib/node/require.cjs');

if (process.argv.includes('--types')) {
  rmSync('dist/types', {recursive: true, force: true});
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {stdio: 'inherit'});
}
await import('./build-web.mjs');
