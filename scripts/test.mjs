// npm test: the Node suite once per CPU adapter (Mesa llvmpipe in GLES compatibility mode, then SwiftShader), then
// one combined line `N passed, N failed`. The first pass also runs what does not depend on the adapter: the
// headless-Chromium part and the files marked `// @test once`; it takes the faster adapter, llvmpipe.
// WGT_TEST_ADAPTERS=swiftshader limits the adapters (comma separated).
// --quick (npm run test:quick, for the edit-test loop): llvmpipe only, without the browser part and the files
// marked `// @test once` (the CLI, data files, experiments, packaging): the engine, kernels and setups.
import {spawnSync} from 'node:child_process';

const quick = process.argv.includes('--quick');
const adapters = quick ? ['llvmpipe'] : (process.env.WGT_TEST_ADAPTERS ?? 'llvmpipe,swiftshader').split(',').filter(Boolean);
let passed = 0, failed = 0;
adapters.forEach((backend, i) => {
  console.log(`\n=== kernel suite on ${backend} ===`);
  const env = {...process.env, WGT_BACKEND: backend, ...(i > 0 || quick ? {WGT_SKIP_BROWSER: '1', WGT_SKIP_ONCE: '1'} : {})};
  const r = spawnSync(process.execPath, ['dist/test/run.js'], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28});
  process.stdout.write(r.stdout ?? '');
  const m = /(\d+) passed, (\d+) failed/.exec((r.stdout ?? '').trim().split('\n').pop() ?? '');
  if (!m) { console.log(`${backend}: the suite ended without a summary (exit ${r.status})`); failed++; return; }
  passed += Number(m[1]);
  failed += Number(m[2]) + (r.status !== 0 && Number(m[2]) === 0 ? 1 : 0);
});
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
