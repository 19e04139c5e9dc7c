// @test node-only: drives headless Chromium
// @test once: drives headless Chromium, whose adapter is its own
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {resolve} from 'node:path';
import {withPage} from './lib/chromium.js';

const t = suite('browser (headless Chromium)');

t('the engine bundle runs kernels in Chromium against the same float64 references', () => withPage(resolve('dist/browser'), 'kernel-tests.html', async (page, errors) => {
  await page.waitForFunction(() => typeof (globalThis as Record<string, unknown>).runKernelTests === 'function', null, {timeout: 30_000});
  const out = await page.evaluate(() => ((globalThis as Record<string, unknown>).runKernelTests as () => Promise<unknown>)()) as {adapter: string; results: {name: string; ok: boolean; error?: string}[]};
  console.log(`\n    # browser: ${out.adapter}`);
  assert.equal(errors, [], 'no page errors');
  const failed = out.results.filter((r) => !r.ok);
  assert.ok(out.results.length >= 9 + 30, 'all browser cases ran (kernels and the NaN/Inf table)');
  assert.equal(failed, [], failed.map((f) => `${f.name}: ${f.error}`).join('\n'));
}));

t('checkpoints in the browser: a download that Node can decode, loaded back through a file input', () => withPage(resolve('dist/browser'), 'kernel-tests.html', async (page) => {
  const {decodeSafetensors} = await import('../src/io/safetensors.js');
  const {readFileSync} = await import('node:fs');
  await page.waitForFunction(() => typeof (globalThis as Record<string, unknown>).saveCheckpointDownload === 'function', null, {timeout: 30_000});
  // The engine starts first, untimed: the download's time limit then covers only saving and the click, not the
  // matmul autotune of a fresh profile (30 s on SwiftShader, past 60 s while another part loads both cores).
  await page.evaluate(() => ((globalThis as Record<string, unknown>).initEngine as () => Promise<string>)());
  const [download, saved] = await Promise.all([
    page.waitForEvent('download', {timeout: 60_000}),
    page.evaluate(() => ((globalThis as Record<string, unknown>).saveCheckpointDownload as () => Promise<number>)()),
  ]);
  assert.is(download.suggestedFilename(), 'lenet.safetensors');
  const path = await download.path();
  const file = decodeSafetensors(readFileSync(path), path);
  assert.equal([...file.tensors.keys()], ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias', '11.weight', '11.bias']);
  assert.equal(file.metadata, {format: 'pt'});
  await page.setInputFiles('#checkpoint', path);
  const loaded = await page.evaluate(() => ((globalThis as Record<string, unknown>).loadCheckpointFromInput as () => Promise<{checksum: number; keys: string[]}>)());
  assert.ok(Math.abs(loaded.checksum - saved) < 1e-3, `checksum after load ${loaded.checksum} vs saved ${saved}`);
}, {acceptDownloads: true}));

t.run();
