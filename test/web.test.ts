// @test node-only: starts the HTTP server and drives Chromium
// @test once: drives headless Chromium, whose adapter is its own
// The live training page in headless Chromium, end to end: train, watch the curves and accuracy update, Stop
// leaves the page responsive and Resume continues, a transfer demo reports forgetting, weights saved as a
// download load in Node, a checkpoint trained in Node loads in the page with the same test accuracy; and the
// page's server refuses anything outside its folder. A screenshot of the trained page goes to dist/test-output/.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {mkdirSync, mkdtempSync, readFileSync} from 'node:fs';
import {request} from 'node:http';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {spawnSync} from 'node:child_process';
import {findChromium, gotoTuned, keepTuning} from './lib/chromium.js';
import {startPageServer} from '../apps/cli/server.js';
import {decodeSafetensors} from '../src/io/safetensors.js';

const t = suite('web page (headless Chromium)');

/** A raw GET (no URL normalisation by a client library): status and body. */
function get(url: string, path: string, method = 'GET'): Promise<{status: number; body: string}> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({host: u.hostname, port: u.port, path, method}, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => ok({status: res.statusCode ?? 0, body}));
    });
    req.on('error', fail);
    req.end();
  });
}

t('the page server answers only inside its folder, on 127.0.0.1', async () => {
  const s = await startPageServer(resolve('dist/web'));
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.is((await get(s.url, '/')).status, 200);
    assert.match((await get(s.url, '/')).body, /webgpu-transfer: live training/);
    for (const bad of ['/../package.json', '/..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/..\\package.json', '/x/../../README.md', '/%00index.html']) {
      const r = await get(s.url, bad);
      assert.is(r.status, 403, `${bad} is refused`);
    }
    assert.is((await get(s.url, '/package.json')).status, 404, 'nothing outside the built page');
    assert.is((await get(s.url, '/data/secret.bin')).status, 404, 'only the known datasets');
    assert.is((await get(s.url, '/', 'POST')).status, 405);
    const data = await fetch(`${s.url}data/mnist.bin`);
    const bytes = new Uint8Array(await data.arrayBuffer());
    assert.is(bytes.length, 16 + 10000 + 10000 * 784, 'the 10,000 MNIST digits as WGT1');
  } finally { await s.close(); }
  try { await startPageServer('/nonexistent/folder'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /does not exist \(build the page first/); }
});

type PageState = {state: string; pcaUpdates: number; records: number; evaluations: {phase: string; accuracy: number}[]; final: Record<string, number> | null; adapter: string; error: string};

/** Waits until the page's state is one of `states` (the page publishes it as globalThis.wgtPage). */
const waitForState = (page: import('playwright-core').Page, states: string[], timeout: number) =>
  page.waitForFunction((want) => want.includes((globalThis as unknown as {wgtPage: PageState}).wgtPage.state), states, {timeout});

t('train, stop, resume, transfer, save and load in the page', async () => {
  const {chromium} = await import('playwright-core');
  const s = await startPageServer(resolve('dist/web'));
  const browser = await chromium.launch({executablePath: findChromium(), headless: true, args: ['--enable-unsafe-webgpu']});
  const dir = mkdtempSync(join(tmpdir(), 'wgt-web-'));
  try {
    const page = await browser.newPage({acceptDownloads: true, viewport: {width: 1280, height: 1000}});
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await gotoTuned(page, s.url);
    const state = () => page.evaluate(() => (globalThis as unknown as {wgtPage: PageState}).wgtPage);
    // The page publishes its adapter after wt.init(), which autotunes matmul first where its IndexedDB has no record
    // (the first page of a run: 25-50 s on a 2-core CPU adapter under load), so the wait allows for it.
    await page.waitForFunction(() => (globalThis as unknown as {wgtPage?: PageState}).wgtPage?.adapter, null, {timeout: 120_000});
    assert.ok(await keepTuning(page), 'the page keeps its matmul autotune in IndexedDB');
    assert.match(await page.textContent('#adapter') ?? '', /adapter: .*swiftshader/i);

    // Plain training: the curves and the accuracy update, and the result is a real one.
    await page.selectOption('#demo', 'plain');
    await page.fill('#steps', '60');
    await page.click('#train');
    await waitForState(page, ['done'], 120_000);
    let st = await state();
    assert.ok(st.records >= 6, `records: ${st.records}`);
    assert.ok(st.evaluations.length >= 2, 'test accuracy evaluated during training');
    assert.ok(st.final!.test_accuracy > 0.6, `MNIST after 60 steps: ${st.final!.test_accuracy}`);
    assert.ok((await page.$$('#lossChart svg path')).length > 0, 'the loss chart drew');
    assert.is((await page.$$('#samples canvas')).length, 16, 'sample predictions shown');
    mkdirSync('dist/test-output', {recursive: true});
    // (fullPage screenshots hang in headless Chromium with a live WebGPU device; the viewport holds the page.)
    await page.screenshot({path: 'dist/test-output/web-page.png'});

    // Save: a safetensors download that Node decodes with PyTorch names.
    const pageTrainedAcc = 100 * st.final!.test_accuracy;
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const saved = join(dir, 'page.safetensors');
    await download.saveAs(saved);
    const file = decodeSafetensors(readFileSync(saved), saved);
    assert.ok(file.tensors.has('0.weight') && file.tensors.has('11.bias'), [...file.tensors.keys()].join(' '));

    // Stop leaves the page responsive; Resume continues from the same step.
    await page.fill('#steps', '3000');
    await page.click('#train');
    await page.waitForFunction(() => (globalThis as unknown as {wgtPage: PageState}).wgtPage.records >= 2, null, {timeout: 60_000});
    await page.click('#stop');
    await waitForState(page, ['stopped'], 60_000);
    const before = (await state()).records;
    const t0 = Date.now();
    await page.selectOption('#dataset', 'mnist-rotated');
    assert.ok(Date.now() - t0 < 2000, 'the page answers while stopped');
    assert.is(await page.isEnabled('#resume'), true);
    await page.click('#resume');
    await page.waitForFunction((n) => (globalThis as unknown as {wgtPage: PageState}).wgtPage.records > n, before, {timeout: 60_000});
    await page.click('#stop');
    await waitForState(page, ['stopped'], 60_000);

    // A transfer demo: source pre-training, then conservative training, reporting the source task too.
    await page.selectOption('#demo', 'conservative');
    await page.fill('#sourceSteps', '30');
    await page.fill('#steps', '20');
    await page.fill('#labels', '5');
    await page.click('#train');
    await waitForState(page, ['done', 'error'], 180_000);
    st = await state();
    assert.is(st.state, 'done', st.error);
    assert.ok(st.final!.source_accuracy > 0.3, `source task after conservative training: ${st.final!.source_accuracy}`);
    assert.ok(st.evaluations.some((e) => e.phase === 'source 0-4') && st.evaluations.some((e) => e.phase === 'target 5-9'), 'both phases charted');

    // DANN: the domain classifier's accuracy is charted and the PCA scatter of source vs target features appears.
    await page.selectOption('#demo', 'dann');
    await page.selectOption('#dataset', 'mnist-m2');
    await page.fill('#steps', '20');
    await page.fill('#batch', '32');
    await page.click('#train');
    await waitForState(page, ['done', 'error'], 180_000);
    await page.waitForFunction(() => (globalThis as unknown as {wgtPage: {pcaUpdates: number}}).wgtPage.pcaUpdates >= 1, null, {timeout: 60_000});
    st = await state();
    assert.is(st.state, 'done', st.error);
    assert.is(await page.isVisible('#pcaChart'), true);
    assert.ok((await page.$$('#pcaChart svg path')).length >= 400, 'the PCA scatter drew 200 source and 200 target points');
    await page.screenshot({path: 'dist/test-output/web-page-dann.png'});

    // A checkpoint trained in Node loads in the page and scores the same on the same test split.
    const out = join(dir, 'node-run');
    const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/apps/cli/main.js', ...args], {encoding: 'utf8', env: {...process.env, WGT_BACKEND: 'llvmpipe'}});
    const trained = cli('train', '--dataset', 'mnist', '--steps', '40', '--out', out, '--progress', 'none');
    assert.is(trained.status, 0, trained.stderr);
    const evalNode = cli('eval', '--checkpoint', join(out, 'model.safetensors'));
    const nodeAcc = Number(/accuracy ([\d.]+)%/.exec(evalNode.stdout)?.[1]);
    assert.ok(nodeAcc > 0, evalNode.stdout + evalNode.stderr);
    await page.selectOption('#demo', 'plain');
    await page.selectOption('#dataset', 'mnist');
    await page.setInputFiles('#load', join(out, 'model.safetensors'));
    await waitForState(page, ['done'], 60_000);
    const pageAcc = 100 * (await state()).final!.test_accuracy;
    // Same weights, same 2,000 test images; two adapters may round one borderline image differently.
    assert.ok(Math.abs(pageAcc - nodeAcc) <= 0.05 + 1e-9, `Node ${nodeAcc}% vs page ${pageAcc}%`);
    console.log(`\n    # web: Node-trained checkpoint: ${nodeAcc.toFixed(2)}% in Node, ${pageAcc.toFixed(2)}% in the page`);

    // And the reverse: the page's download evaluated by the Node CLI.
    const back = cli('eval', '--checkpoint', saved, '--dataset', 'mnist', '--model', 'lenet5');
    assert.is(back.status, 0, back.stderr);
    const backAcc = Number(/accuracy ([\d.]+)%/.exec(back.stdout)?.[1]);
    assert.ok(Math.abs(backAcc - pageTrainedAcc) <= 0.05 + 1e-9, `page-trained weights: ${pageTrainedAcc}% in the page, ${backAcc}% in Node`);
    console.log(`    # web: page-trained checkpoint: ${pageTrainedAcc.toFixed(2)}% in the page, ${backAcc.toFixed(2)}% in Node`);
    assert.equal(errors, [], 'no page errors');
  } finally {
    await browser.close();
    await s.close();
  }
});

t('a browser without a WebGPU adapter gets a clear message, not a blank page', async () => {
  const {chromium} = await import('playwright-core');
  const s = await startPageServer(resolve('dist/web'));
  const browser = await chromium.launch({executablePath: findChromium(), headless: true, args: []});
  try {
    const page = await browser.newPage();
    await page.goto(s.url);
    await page.waitForFunction(() => (globalThis as unknown as {wgtPage?: PageState}).wgtPage?.state === 'error', null, {timeout: 30_000});
    assert.is(await page.isVisible('#nogpu'), true);
    assert.match(await page.textContent('#nogpu') ?? '', /WebGPU/);
    assert.is(await page.isDisabled('#train'), true);
  } finally {
    await browser.close();
    await s.close();
  }
});

t.run();
