// @test node-only: runs TypeDoc (node:child_process)
// @test once: builds the API docs
// The API reference and the size of the public API: TypeDoc builds the docs from the package's entry with the
// project's config (every exported symbol documented, no link or export left dangling; warnings are errors),
// and the top level of both entries stays small, the rest living in namespaces (src/index.ts says which).
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import * as browserEntry from '../src/index.js';
import * as nodeEntry from '../src/node.js';

const t = suite('docs: the API reference builds cleanly; the top level stays small');

/**
 * The most top-level names each entry may have. Raising them is a decision about the public API: a new name that
 * a model author does not call belongs in a namespace (data, io, debug, internals).
 */
const MAX_TOP_LEVEL = {node: 111, browser: 105};

t('TypeDoc: exit 0, no warnings and no errors with the project config', () => {
  const out = mkdtempSync(join(tmpdir(), 'wgt-docs-'));
  try {
    const r = spawnSync(process.execPath, ['node_modules/typedoc/bin/typedoc', '--options', 'typedoc.json', '--out', out],
      {encoding: 'utf8', timeout: 180_000, env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0'}});
    const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    assert.ok(!r.error, `typedoc did not run: ${r.error?.message}`);
    assert.is(r.status, 0, text);
    assert.not.match(text, /warning|error/i, text);
    for (const page of ['index.html', 'classes/Tensor.html', 'modules/internals.html', 'modules/transfer.html']) {
      assert.ok(existsSync(join(out, page)), `the docs have ${page}`);
    }
  } finally {
    rmSync(out, {recursive: true, force: true});
  }
});

t('the config is strict, and the docs stay out of the npm package', () => {
  const config = JSON.parse(readFileSync('typedoc.json', 'utf8')) as Record<string, unknown>;
  assert.is(config.treatWarningsAsErrors, true);
  assert.equal(config.validation, {notExported: true, invalidLink: true, notDocumented: true});
  assert.equal([...config.requiredToBeDocumented as string[]].sort(),
    ['Class', 'Enum', 'Function', 'Interface', 'Namespace', 'TypeAlias', 'Variable']);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {files: string[]; scripts: Record<string, string>};
  assert.ok(pkg.scripts.docs, 'npm run docs');
  assert.equal(pkg.files.filter((f) => f === 'dist' || f.startsWith('dist/docs')), [], 'files holds no dist/docs');
});

t(`top level: at most ${MAX_TOP_LEVEL.node} names in Node, ${MAX_TOP_LEVEL.browser} in the browser entry`, () => {
  const node = Object.keys(nodeEntry), browser = Object.keys(browserEntry);
  console.log(`\n    # top level: ${node.length} names in Node, ${browser.length} in the browser entry`);
  assert.ok(node.length <= MAX_TOP_LEVEL.node, `${node.length} top-level names in Node: ${node.join(' ')}`);
  assert.ok(browser.length <= MAX_TOP_LEVEL.browser, `${browser.length} top-level names: ${browser.join(' ')}`);
  for (const ns of ['transfer', 'capsnet', 'data', 'io', 'debug', 'internals']) {
    assert.type((nodeEntry as Record<string, unknown>)[ns], 'object', `namespace ${ns}`);
  }
  // Internals stay in their namespaces; Node's namespaces extend the browser's with the same objects.
  for (const name of ['mm', 'sumTo', 'kernelPrefs', 'rt', 'runtimeValue', 'getDevice', 'profile', 'shuffled', 'encodeSafetensors']) {
    assert.not.ok(name in nodeEntry, `${name} is not top-level`);
  }
  for (const ns of ['data', 'io'] as const) {
    for (const [k, v] of Object.entries(browserEntry[ns])) {
      assert.is((nodeEntry[ns] as Record<string, unknown>)[k], v, `${ns}.${k} is the same object in Node`);
    }
  }
  assert.type(nodeEntry.data.loadMnist, 'function', 'Node adds the raw loaders');
  assert.type(nodeEntry.io.saveSafetensors, 'function', 'Node adds safetensors files');
});

t.run();
