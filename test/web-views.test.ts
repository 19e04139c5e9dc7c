// @test node-only: starts the HTTP server and drives Chromium
// @test once: drives headless Chromium, whose adapter is its own
// The live page's multitask and CapsNet views in headless Chromium: the multitask view trains digits and clothes
// through one trunk under uncertainty weighting and charts both tasks' losses, test accuracies and learned weights;
// the CapsNet view trains the CapsNet and its matched CNN, draws the capsule lengths and couplings, redraws the
// reconstruction when a pose slider moves, and compares a mirrored digit's pose with the original's. Screenshots of
// both views go to dist/test-output/.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {mkdirSync} from 'node:fs';
import {resolve} from 'node:path';
import {findChromium, gotoTuned} from './lib/chromium.js';
import {startPageServer} from '../apps/cli/server.js';

const t = suite('web page views: multitask and CapsNet (headless Chromium)');

type PerTask = {step: number; digits: number; fashion: number};
type Multitask = {state: string; error: string; records: number; losses: PerTask[]; weights: PerTask[];
  evaluations: PerTask[]; testLosses: PerTask[]};
type Probe = {lengths: number[]; winner: number; pose: number[]; logits: number[] | null};
type Capsnet = {state: string; error: string; records: number; stepsTrained: {capsnet: number; cnn: number};
  evaluations: {model: string; step: number; accuracy: number}[]; index: number; original: Probe | null;
  transformed: Probe | null; poseCosine: number; lengthChange: number; analyses: number; reconDraws: number;
  pending: number};
type Views = {multitask: Multitask; capsnet: Capsnet};

t('the multitask and CapsNet views train, chart and explore', async () => {
  const {chromium} = await import('playwright-core');
  const s = await startPageServer(resolve('dist/web'));
  const args = ['--enable-unsafe-webgpu'];
  const browser = await chromium.launch({executablePath: findChromium(), headless: true, args});
  const t0 = Date.now();
  const lap = (what: string) => console.log(`    # web-views: ${what} at ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  try {
    const page = await browser.newPage({viewport: {width: 1600, height: 1200}});
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    /** The two views' published state (wgtPage.views). */
    const views = () => page.evaluate(() => (globalThis as unknown as {wgtPage: {views: Views}}).wgtPage.views);
    /** Waits until `expr` holds in the page, written over `mt` and `caps`: the two views' published state. */
    const until = (expr: string, timeout = 60_000) => page.waitForFunction(
      `(() => { const mt = wgtPage.views.multitask, caps = wgtPage.views.capsnet; return ${expr}; })()`, null,
      {timeout});
    const tid = (id: string) => `[data-testid="${id}"]`;
    /** A hash and the total red channel of a canvas' pixels. */
    const pixels = (id: string) => page.$eval(tid(id), (cv) => {
      const c = cv as HTMLCanvasElement, d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let hash = 2166136261, ink = 0;
      const colours = new Set<number>();
      for (let i = 0; i < d.length; i++) hash = Math.imul(hash ^ d[i], 16777619);
      for (let i = 0; i < d.length; i += 4) { ink += d[i]; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
      return {hash: hash >>> 0, ink, colours: colours.size, width: c.width, height: c.height};
    });

    await gotoTuned(page, `${s.url}?view=multitask`);
    // wt.init() autotunes matmul first where its IndexedDB has no record: up to a minute on a loaded CPU adapter.
    await page.waitForFunction(() => (globalThis as unknown as {wgtPage?: {adapter: string}}).wgtPage?.adapter, null,
      {timeout: 150_000});
    // Console errors count too (a view's caught failure, SVG the browser refuses), from here on: the views below
    // mount after the device is up, while the built-in view's empty charts, drawn at load, write coordinates of an
    // empty legend that the browser reports. The favicon the page has not is no error either.
    page.on('console', (m) => {
      const at = m.location().url;
      if (m.type() === 'error' && !at.endsWith('/favicon.ico')) errors.push(`${m.text()} (${at})`);
    });
    lap('device up');
    assert.is(await page.isVisible(tid('mt-train')), true, '?view=multitask opens the multitask view');
    assert.is(await page.isVisible('#view-builtin'), false);

    // ---- multitask: 30 steps under uncertainty weighting (LeNet-5 leaves chance slowly; lr 0.003 gets out in 30) ----
    await page.selectOption(tid('mt-weighting'), 'uncertainty');
    await page.fill(tid('mt-steps'), '30');
    await page.fill(tid('mt-batch'), '32');
    await page.fill(tid('mt-lr'), '0.003');
    await page.click(tid('mt-train'));
    await until(`['done', 'error', 'stopped'].includes(mt.state)`, 240_000);
    const m = (await views()).multitask;
    lap(`multitask trained (${m.records} records, ${m.evaluations.length} evaluations)`);
    assert.is(m.state, 'done', m.error);
    assert.ok(m.records >= 10, `records: ${m.records}`);
    assert.ok(m.evaluations.length >= 2, `evaluations: ${m.evaluations.length}`);
    const finite = (r: PerTask) => Number.isFinite(r.digits) && Number.isFinite(r.fashion);
    const tables = [m.losses, m.weights, m.evaluations, m.testLosses];
    assert.ok(tables.every((rows) => rows.every(finite)), 'both tasks, every row');
    const lastEval = m.evaluations[m.evaluations.length - 1];
    // Both tasks learn through the shared trunk: each one's test loss falls, and both leave chance (10%). (Node, on
    // llvmpipe, reaches 27.7% and 17.8% with these settings.)
    const [l0, l1] = [m.testLosses[0], m.testLosses[m.testLosses.length - 1]];
    assert.ok(l1.digits < l0.digits - 0.05 && l1.fashion < l0.fashion - 0.05,
      `test losses ${JSON.stringify(m.testLosses)}`);
    assert.ok(lastEval.digits > 0.15 && lastEval.fashion > 0.13, `test accuracy: ${JSON.stringify(lastEval)}`);
    // Uncertainty weights start at 1 / (2 e^0) = 0.5 and are learned: they move.
    const w = m.weights.map((r) => r.digits);
    assert.ok(Math.max(...w) - Math.min(...w) > 1e-3, `digit weights did not move: ${w.join(', ')}`);
    assert.ok(m.weights.every((r) => r.digits > 0 && r.fashion > 0), 'weights are positive');
    console.log(`    # web-views: multitask after 30 steps: digits ${(100 * lastEval.digits).toFixed(1)}%, fashion ` +
      `${(100 * lastEval.fashion).toFixed(1)}%, weights ${JSON.stringify(m.weights[m.weights.length - 1])}`);
    for (const chart of ['mt-loss', 'mt-accuracy', 'mt-weights']) {
      // One line per task, and both tasks in the legend.
      assert.is((await page.$$(`${tid(chart)} svg .mark-line path`)).length, 2, `${chart}: one line per task`);
      const legend = await page.$$eval(`${tid(chart)} svg .role-legend-label text`,
        (xs) => xs.map((x) => x.textContent));
      assert.equal(legend, ['digits', 'fashion'], `${chart} legend`);
    }
    mkdirSync('dist/test-output', {recursive: true});
    // Viewport screenshots: fullPage ones hang in headless Chromium with a live WebGPU device.
    await page.screenshot({path: 'dist/test-output/web-multitask.png'});

    // ---- one training at a time: the CapsNet view refuses while the multitask view trains ----
    await page.fill(tid('mt-steps'), '5000');
    await page.click(tid('mt-train'));
    await until(`mt.state === 'training' && mt.records >= 1`, 60_000);
    await page.click(tid('tab-capsnet'));
    assert.is(await page.isDisabled(tid('capsnet-slider-0')), true, 'exploration waits for a trained model');
    await page.click(tid('caps-train'));
    assert.match(await page.textContent(tid('caps-status')) ?? '', /multitask view is training: stop it there first/);
    assert.is((await views()).capsnet.state, 'idle');
    await page.click(tid('tab-multitask'));
    await page.click(tid('mt-stop'));
    await until(`mt.state === 'stopped'`);
    assert.ok((await views()).multitask.records < 5000, 'Stop ended the run');

    // ---- CapsNet: train a few steps (then the matched CNN as many), then explore ----
    await page.click(tid('tab-capsnet'));
    await page.fill(tid('caps-steps'), '10');
    await page.fill(tid('caps-batch'), '16');
    await page.click(tid('caps-train'));
    await until(`caps.state === 'error' || (['done', 'stopped'].includes(caps.state) && caps.reconDraws >= 1 && ` +
      'caps.pending === 0)', 400_000);
    let c = (await views()).capsnet;
    lap(`CapsNet and CNN trained (${c.stepsTrained.capsnet} + ${c.stepsTrained.cnn} steps)`);
    assert.is(c.state, 'done', c.error);
    assert.equal(c.stepsTrained, {capsnet: 10, cnn: 10});
    for (const model of ['CapsNet', 'CNN (matched size)']) {
      const ok = (e: Capsnet['evaluations'][number]) => e.model === model && e.accuracy >= 0 && e.accuracy <= 1;
      assert.ok(c.evaluations.some(ok), `${model} evaluated`);
    }
    for (const chart of ['caps-loss', 'caps-accuracy']) {
      assert.is((await page.$$(`${tid(chart)} svg .mark-line path`)).length, 2, `${chart}: one line per model`);
    }
    const o = c.original!;
    assert.is(o.lengths.length, 10);
    assert.ok(o.lengths.every((l) => l >= 0 && l < 1), `capsule lengths are squashed: ${o.lengths.join(', ')}`);
    assert.is(o.pose.length, 16);
    assert.is(o.logits!.length, 10);
    // The lengths: 10 classes x 2 versions (original, transformed) as bars; the same for the CNN's logits.
    assert.is((await page.$$(`${tid('capsnet-lengths')} svg .mark-rect path`)).length, 20, 'lengths drew as bars');
    assert.is((await page.$$(`${tid('capsnet-logits')} svg .mark-rect path`)).length, 20, 'logits drew as bars');
    // The couplings heat map: 10 rows of coloured cells (not the blank 16 x 16 canvas it starts as).
    const heat = await pixels('capsnet-couplings');
    assert.ok(heat.width > 100 && heat.height > 100 && heat.colours > 10, `couplings: ${JSON.stringify(heat)}`);

    // A pose slider redraws the reconstruction: its pixels change. A burst of input events (a drag) folds into a
    // redraw or two, never a queue of them.
    const before = await pixels('capsnet-recon');
    assert.ok(before.ink > 0, 'the reconstruction drew');
    const draws = c.reconDraws;
    await page.$eval(tid('capsnet-slider-0'), (e) => {
      const r = e as HTMLInputElement;
      for (const v of ['0.05', '0.1', '0.15', '0.2', '0.25']) { r.value = v; r.dispatchEvent(new Event('input')); }
    });
    await page.fill(tid('capsnet-slider-3'), '-0.25');
    await until(`caps.reconDraws > ${draws} && caps.pending === 0`);
    c = (await views()).capsnet;
    assert.not.equal((await pixels('capsnet-recon')).hash, before.hash, 'pose dimensions 0 and 3 changed the digit');
    assert.ok(c.reconDraws - draws <= 3, `six input events made ${c.reconDraws - draws} redraws`);
    await page.click(tid('capsnet-reset'));
    await until(`caps.reconDraws > ${c.reconDraws} && caps.pending === 0`);
    assert.is((await pixels('capsnet-recon')).hash, before.hash, 'reset draws the unmoved reconstruction again');

    // Mirror the digit: the winning capsule's pose changes; its length and the CNN's logits are recorded beside it.
    await page.check(tid('capsnet-mirror'));
    await until(`caps.analyses > ${c.analyses} && caps.pending === 0`);
    c = (await views()).capsnet;
    const a = c.original!, b = c.transformed!, k = a.winner;
    assert.is(b.winner, k, 'the pose compared is that of the original\'s winning capsule');
    const moved = Math.max(...a.pose.map((x, i) => Math.abs(x - b.pose[i])));
    assert.ok(moved > 1e-3 && c.poseCosine < 0.9999, `mirroring moved the pose by ${moved} (cosine ${c.poseCosine})`);
    assert.ok(b.logits!.some((z, i) => z !== a.logits![i]), 'the CNN saw the mirrored digit too');
    console.log(`    # web-views: mirrored digit, capsule ${k}: length ${a.lengths[k].toFixed(3)} -> ` +
      `${b.lengths[k].toFixed(3)} (${(100 * c.lengthChange).toFixed(1)}%), pose cosine ${c.poseCosine.toFixed(3)}; ` +
      `CNN logit ${a.logits![k].toFixed(2)} -> ${b.logits![k].toFixed(2)}`);
    assert.match(await page.textContent(tid('capsnet-compare')) ?? '', /pose cosine/);

    // The next test digit is analysed in turn.
    await page.click(tid('capsnet-next'));
    await until(`caps.analyses > ${c.analyses} && caps.pending === 0`);
    assert.is((await views()).capsnet.index, c.index + 1);
    await page.screenshot({path: 'dist/test-output/web-capsnet.png'});
    lap('CapsNet explored');
    assert.equal(errors, [], 'no page errors');
  } finally {
    await browser.close();
    await s.close();
  }
});

t.run();
