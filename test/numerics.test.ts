// NaN and Inf: the answers PyTorch gives, on every adapter (WGSL lets implementations assume there
// are none, so the kernels make them explicit; see shaders/numerics.wgsl). Then anomaly mode and the
// non-finite weight check.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {NAN_CASES as CASES, sameValues} from './lib/nan-cases.js';

const N = NaN, I = Infinity;

const t = suite('numerics: NaN and Inf');
for (const [name, f, inputs, want] of CASES) {
  t(name, async () => {
    const xs = inputs.map((v) => wt.tensor(v));
    const got = await f(...xs).data();
    const bad = sameValues(got, want);
    assert.ok(!bad, `${name}(${inputs.map((v) => `[${v}]`).join(', ')}): ${bad} (all: ${Array.from(got)})`);
  });
}

t('argmax: the first NaN is the maximum (as torch)', async () => {
  assert.equal(Array.from(await wt.argmax(wt.tensor([1, N, 3, N])).data()), [1]);
  assert.equal(Array.from(await wt.argmax(wt.tensor([[1, 9, 3], [N, 0, 0], [-I, -I, 2]])).data()), [1, 0, 2]);
  assert.equal(Array.from(await wt.argmax(wt.tensor([-I, -I])).data()), [0]);
});

// ---- anomaly mode ----
async function anomaly(fn: () => Promise<unknown>): Promise<string> {
  wt.debug.setAnomalyMode(true);
  try { await fn(); return ''; } catch (e) { return (e as Error).message; } finally { wt.debug.setAnomalyMode(false); }
}

t('anomaly mode names the first op with a non-finite output, at the next read', async () => {
  const msg = await anomaly(async () => {
    const x = wt.tensor([1, 0, 2]);
    const y = wt.relu(wt.log(wt.mul(x, 2))); // mul is finite; log gives -Inf; relu passes it on
    await wt.sum(y).data();
  });
  assert.match(msg, /anomaly mode: 'log' gave f32\[3\] from inputs f32\[3\] containing -Inf: the first op/);
});

t('anomaly mode: NaN from host data is named as such; the state is clear after a report', async () => {
  const msg = await anomaly(async () => { await wt.exp(wt.tensor([1, N])).data(); });
  assert.match(msg, /anomaly mode: 'tensor' made f32\[2\] from host values containing NaN/);
  const ok = await anomaly(async () => {
    assert.equal(Array.from(await wt.exp(wt.tensor([0])).data()), [1]);
  });
  assert.is(ok, '');
});

t('anomaly mode checks gradients: backward of sqrt at 0 is +Inf', async () => {
  const msg = await anomaly(async () => {
    const x = wt.tensor([0, 4], [2], {requiresGrad: true});
    wt.sum(wt.sqrt(x)).backward();
    await x.grad!.data();
  });
  assert.match(msg, /anomaly mode: 'backward of sqrt' gave f32\[2\] from inputs f32\[2\] containing \+Inf/);
});

t('anomaly mode checks each replay of a compiled step', async () => {
  let step: wt.CompiledStep<wt.Tensor> | null = null;
  const msg = await anomaly(async () => {
    step = wt.compile([{shape: [2]}], [[1, 2]], (x) => wt.mul(wt.log(x), 2));
    await step.output.data(); // finite
    await step.run([[1, 3]]).data(); // finite
    await step.run([[1, -1]]).data(); // log(-1) = NaN
  });
  step!.dispose();
  assert.match(msg, /anomaly mode: 'log' gave f32\[2\] from inputs f32\[2\] containing NaN: .* \(in a compiled step\)/);
});

t('off by default: non-finite values read back without an error', async () => {
  assert.is(wt.debug.isAnomalyMode(), process.env.WGT_ANOMALY === '1');
  if (!wt.debug.isAnomalyMode()) assert.ok(Number.isNaN(await wt.log(wt.tensor([-1])).item()));
});

t('nonFiniteParameters lists NaN/Inf weights by state-dict name', async () => {
  const m = new wt.Sequential(new wt.Linear(3, 2), new wt.ReLU(), new wt.Linear(2, 1));
  assert.equal(await wt.debug.nonFiniteParameters(m), []);
  const w = m.get('2').stateDict().get('weight')!;
  wt.internals.assign(w, wt.tensor([N, I], [1, 2]));
  const r = await wt.debug.nonFiniteParameters(m);
  assert.equal(r, [{name: '2.weight', shape: [1, 2], nan: 1, posInf: 1, negInf: 0, first: 0}]);
  assert.match(wt.debug.formatNonFinite(r), /^2\.weight \[1, 2\]: 1 NaN, 1 \+Inf \(first at flat index 0\)$/);
  m.dispose();
});

t.run();
