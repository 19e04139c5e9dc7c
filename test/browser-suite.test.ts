// @test node-only: drives headless Chromium
// @test once: drives headless Chromium, whose adapter is its own
// The whole kernel correctness suite in headless Chromium: the same test files as Node (see
// test/browser/suite.ts), on Chromium's WebGPU adapter. Its counts print next to Node's.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {resolve} from 'node:path';
import {withPage} from './lib/chromium.js';

const t = suite('kernel suite in Chromium');

// WGT_BROWSER_ADAPTER=swiftshader pins Chromium to SwiftShader (npm test: this suite stands in for SwiftShader's engine
// suite in Node, so it must run there, whatever GPU the machine has).
const pinned = process.env.WGT_BROWSER_ADAPTER;
if (pinned && pinned !== 'swiftshader') {
  throw new Error(`WGT_BROWSER_ADAPTER=${pinned}: only 'swiftshader' can be pinned`);
}

t('every shared test file passes in the browser', () => withPage(resolve('dist/browser'), 'kernel-suite.html', async (page, errors) => {
  await page.waitForFunction(() => typeof (globalThis as Record<string, unknown>).runSuite === 'function', null, {timeout: 30_000});
  // WGT_BROWSER_FILES=profiler,conv-pool runs just those shared files (to chase one failure).
  const only = (process.env.WGT_BROWSER_FILES ?? '').split(',').filter(Boolean);
  const r = await page.evaluate((o) => ((globalThis as Record<string, unknown>).runSuite as (o: string[]) => Promise<unknown>)(o), only) as
    {adapter: string; total: number; passed: number; skipped: number; output: string};
  console.log(`\n    # browser suite (${r.adapter}): ${r.passed} passed, ${r.total - r.passed} failed, ${r.skipped} skipped`);
  if (pinned) {
    assert.ok(/architecture=swiftshader/.test(r.adapter), `WGT_BROWSER_ADAPTER=swiftshader, yet Chromium ran on: ${r.adapter}`);
  }
  assert.equal(errors, [], 'no page errors');
  if (!only.length) assert.ok(r.total >= 300, `the shared files ran in the browser: ${r.total} tests`);
  else assert.ok(r.total > 0, `WGT_BROWSER_FILES=${only.join(',')} names no shared test file`);
  // uvu's Total counts the tests that ran (skipped ones are not in it). On a failure, show uvu's report of it:
  // each FAIL line and the lines after it (the assertion's message and diff).
  const lines = r.output.split('\n');
  const report = lines.flatMap((l, i) => (/^\s*FAIL /.test(l) ? lines.slice(i, i + 12) : [])).slice(0, 80).join('\n');
  assert.is(r.passed, r.total, `browser suite failures:\n${report}`);
}, {args: pinned ? ['--use-webgpu-adapter=swiftshader'] : []}));

t.run();
