// The live training page (demos/web): one browser bundle (engine, loop, strategies, Vega charts) and its HTML,
// in dist/web, which `npm run serve` serves on 127.0.0.1. Run by scripts/build.mjs.
import {build} from 'esbuild';
import {copyFileSync, mkdirSync} from 'node:fs';
import {join} from 'node:path';

// As in build.mjs: the Node device module (Dawn) is replaced by its browser stub; nothing else may be Node's.
const browserDevice = {
  name: 'browser-device',
  setup(b) { b.onResolve({filter: /\/node-device\.js$/}, (a) => ({path: join(a.resolveDir, 'node-device.browser.ts')})); },
};
mkdirSync('dist/web', {recursive: true});
await build({
  entryPoints: {app: 'demos/web/main.ts'}, outdir: 'dist/web', bundle: true, platform: 'browser', format: 'esm',
  target: 'es2022', sourcemap: 'linked', loader: {'.wgsl': 'text'}, logLevel: 'warning', minify: true, plugins: [browserDevice],
});
copyFileSync('demos/web/index.html', 'dist/web/index.html');
