// Measured kernel choices in the page: kept in IndexedDB, read back when the runtime starts again. (Node keeps them
// in a file: test/tune.test.ts.) Runs in the browser suite; in Node it has nothing to check here.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';

const t = suite('kernels: measured choices in IndexedDB');
const I = wt.internals;
const inBrowser = typeof (globalThis as {indexedDB?: unknown}).indexedDB !== 'undefined' &&
  !(typeof process !== 'undefined' && process.versions?.node);

const step = () => wt.tidy(() => { wt.conv2d(wt.ones([2, 3, 9, 8]), wt.ones([6, 3, 3, 3]), null, {padding: 1}); });
const KEY = '2x3x9x8>6x3x3/s1,1/p1,1';

(inBrowser ? t : t.skip)('a measured choice is stored in IndexedDB and read back', async () => {
  const timings = await I.tuneKernels(step, {force: true, timer: async (c) =>
    (c.family === 'conv.forward' && c.variant === 'conv_fwd' ? 1 : 5)});
  assert.is(timings.find((x) => x.key === KEY)!.choice, 'conv_fwd');
  assert.match(await I.measuredCachePath(), /IndexedDB/);
  await I.clearMeasuredChoices({persist: false});
  assert.ok(await I.loadMeasuredChoices() >= 1, 'read back from IndexedDB');
  const again = await I.tuneKernels(step, {timer: async () => { throw new Error('measured again'); }});
  assert.is(again.find((x) => x.key === KEY)!.cached, true);
  await I.clearMeasuredChoices();
  assert.is(await I.loadMeasuredChoices(), 0, 'cleared');
});

t.run();
