// @test node-only: the on-disk dataset cache (node:fs)
// @test once: the on-disk dataset cache
// The dataset cache: where it lives, and that the chunked number scanner reads the package JSON exactly as
// JSON.parse does (pixels stored as round(v * 255), as the cache always held them).
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {homedir, tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {datasetCacheDir, loadMnist} from '../src/data/mnist.js';

const t = suite('data: dataset cache');

t('the cache is per user: XDG_CACHE_HOME/webgpu-transfer, else ~/.cache/webgpu-transfer', () => {
  const saved = process.env.XDG_CACHE_HOME;
  try {
    process.env.XDG_CACHE_HOME = join(tmpdir(), 'wgt-xdg');
    assert.is(datasetCacheDir(), join(tmpdir(), 'wgt-xdg', 'webgpu-transfer'));
    delete process.env.XDG_CACHE_HOME;
    if (process.platform !== 'win32') assert.is(datasetCacheDir(), join(homedir(), '.cache', 'webgpu-transfer'));
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = saved;
  }
});

t('MNIST class 3 as loaded equals JSON.parse of the package file', () => {
  const set = loadMnist();
  const dir = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  const want = (JSON.parse(readFileSync(join(dir, 'src/digits/3.json'), 'utf8')) as {data: number[]}).data;
  const first = set.labels.indexOf(3);
  const count = set.labels.filter((l) => l === 3).length;
  assert.is(count * 784, want.length);
  for (let i = 0; i < want.length; i++) {
    const got = set.images[first * 784 + i];
    if (got !== Math.fround(Math.round(Math.fround(want[i]) * 255) / 255) || Math.abs(got - want[i]) > 0.5 / 255 + 1e-7) {
      assert.unreachable(`pixel ${i} of class 3: loaded ${got}, the JSON holds ${want[i]}`);
    }
  }
});

t.run();
