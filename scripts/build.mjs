// Bundles every runnable entry (tests, demos, bench, CLI) for Node, and the engine for the browser.
// WGSL files are imported as text, so kernels live in shaders/*.wgsl and still ship inside one JS file.
import {build} from 'esbuild';
import {copyFileSync, readdirSync, existsSync} from 'node:fs';
import {join} from 'node:path';

const list = (dir) => existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)) : [];
// test/lib/device-probe.ts runs in a child process of the suite.
const nodeEntries = ['test/lib/device-probe.ts', ...list('test'), ...list('demos'), ...list('bench'), ...list('src/cli')];
const external = ['webgpu', 'playwright-core', '@tensorflow/*', 'mnist', 'fashion-mnist', 'esbuild', 'vega', 'vega-lite', '@resvg/resvg-js'];

await build({
  entryPoints: nodeEntries, outdir: 'dist', outbase: '.', bundle: true, platform: 'node', format: 'esm',
  target: 'node20', sourcemap: 'linked', loader: {'.wgsl': 'text'}, external, logLevel: 'warning',
  banner: {js: "import {createRequire as __wgtRequire} from 'node:module'; const require = __wgtRequire(import.meta.url);"},
});
// The browser bundle: the same engine; only device acquisition differs (navigator.gpu instead of Dawn).
await build({
  entryPoints: {'webgpu-transfer': 'src/index.ts'}, outdir: 'dist/browser', bundle: true, platform: 'browser',
  format: 'esm', target: 'es2022', sourcemap: 'linked', loader: {'.wgsl': 'text'},
  external: ['webgpu', 'node:*'], logLevel: 'warning',
});
// The browser kernel tests (test/browser.test.ts serves dist/browser and drives it in headless Chromium).
await build({
  entryPoints: {'kernel-tests': 'test/browser/entry.ts'}, outdir: 'dist/browser', bundle: true, platform: 'browser',
  format: 'esm', target: 'es2022', sourcemap: 'linked', loader: {'.wgsl': 'text'}, external: ['webgpu', 'node:*'], logLevel: 'warning',
});
copyFileSync('test/browser/index.html', 'dist/browser/kernel-tests.html');
