// npm test: the Node suite once per CPU adapter (SwiftShader, then Mesa llvmpipe in GLES compatibility mode;
// the headless-Chromium part runs once), then one combined line `N passed, N failed`.
// WGT_TEST_ADAPTERS=swiftshader limits the adapters (comma separated).
import {spawnSync} from 'node:child_process';

const adapters = (process.env.WGT_TEST_ADAPTERS ?? 'swiftshader,llvmpipe').split(',').filter(Boolean);
let passed = 0, failed = 0;
adapters.forEach((backend, i) => {
  console.log(`\n=== kernel suite on ${backend} ===`);
  const env = {...process.env, WGT_BACKEND: backend, ...(i > 0 ? {WGT_SKIP_BROWSER: '1'} : {})};
  const r = spawnSync(process.execPath, ['dist/test/run.js'], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28});
  process.stdout.write(r.stdout ?? '');
  const m = /(\d+) passed, (\d+) failed/.exec((r.stdout ?? '').trim().split('\n').pop() ?? '');
  if (!m) { console.log(`${backend}: the suite ended without a summary (exit ${r.status})`); failed++; return; }
  passed += Number(m[1]);
  failed += Number(m[2]) + (r.status !== 0 && Number(m[2]) === 0 ? 1 : 0);
});
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
