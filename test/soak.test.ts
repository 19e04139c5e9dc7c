// @test node-only: measures the Node heap (node:v8)
// Soak test: 2,000 replays of a compiled training step of a tiny MLP (with dropout, so a dynamic
// uniform and a replay hook run too). After a warm-up, live and allocated GPU bytes, the number of buffers
// created, the capture's bookkeeping and the JS heap must stay flat: a leak of one buffer or a few hundred
// bytes per step would show as a multiple of 2,000.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as wt from '../src/index.js';

const t = suite('soak');
const STEPS = Number(process.env.WGT_SOAK_STEPS ?? 2000);

/** A real gc() even when Node was started without --expose-gc (else heap figures are noise). */
function gcFunction(): (() => void) | null {
  const g = (globalThis as {gc?: () => void}).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch { return null; }
}

t(`${STEPS} replays of a compiled step: GPU memory, buffers and JS heap flat after warm-up`, async () => {
  wt.manualSeed(7);
  const model = new wt.Sequential(new wt.Linear(6, 16), new wt.ReLU(), new wt.Dropout(0.1), new wt.Linear(16, 3));
  const opt = new wt.Adam(model.parameters(), {lr: 1e-3});
  const rnd = wt.internals.rng(11);
  const batch = () => ({x: Array.from({length: 8 * 6}, () => rnd() * 2 - 1), y: Array.from({length: 8}, () => Math.floor(rnd() * 3))});
  const b0 = batch();
  const step = wt.compile([{shape: [8, 6]}, {shape: [8], dtype: 'i32'}], [b0.x, b0.y], (x, y) => {
    opt.zeroGrad();
    const loss = wt.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  });
  const gc = gcFunction();
  const r = wt.internals.rt();
  const snapshot = () => {
    gc?.();
    const m = wt.memory();
    return {live: m.liveBytes, allocated: m.allocatedBytes, created: m.buffersCreated, owned: r.owner.size, heap: process.memoryUsage().heapUsed};
  };
  const data = Array.from({length: 16}, batch);
  const warm = 100;
  let before = snapshot();
  let first = NaN, last = NaN;
  for (let i = 0; i < STEPS; i++) {
    const b = data[i % data.length];
    const loss = step.run([b.x, b.y]);
    // Read back now and then, as a trainer does (and so the queue never grows without bound).
    if (i % 100 === 99 || i === warm - 1) {
      const v = await loss.item();
      assert.ok(Number.isFinite(v), `step ${i}: loss ${v}`);
      if (Number.isNaN(first)) first = v;
      last = v;
    }
    if (i === warm - 1) before = snapshot();
  }
  await r.sync();
  const after = snapshot();
  assert.is(after.live, before.live, 'live GPU bytes');
  assert.is(after.allocated, before.allocated, 'GPU bytes allocated by the pool');
  assert.is(after.created, before.created, 'GPU buffers created');
  assert.is(after.owned, before.owned, 'buffers owned by the capture');
  // With gc the heap of 1,900 steps stays within 2 MB (about 1 KB per step would fail); without, a loose bound.
  const bound = gc ? 2 << 20 : 32 << 20;
  console.log(`\n    # soak: JS heap ${after.heap >= before.heap ? "+" : ""}${((after.heap - before.heap) / 1024).toFixed(0)} KiB over ${STEPS - warm} steps (gc ${gc ? "on" : "off"})`);
  assert.ok(after.heap - before.heap < bound, `JS heap grew ${((after.heap - before.heap) / 1024).toFixed(0)} KiB over ${STEPS - warm} steps`);
  assert.ok(last < first, `the model learns while soaking (loss ${first} -> ${last})`);
  step.dispose();
  opt.dispose();
  model.dispose();
});

t.run();
