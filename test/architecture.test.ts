// @test node-only: reads the source tree (node:fs)
// @test once: reads files only
// The architecture holds: imports run one way between the library's layers (README, "Architecture"), the library
// never imports an application, and the browser entry reaches no Node module. A new import that breaks a rule
// fails here, naming the file and the import.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {dirname, join, normalize} from 'node:path';

const t = suite('architecture: import direction');

/** What each layer of src/ may import besides itself (and src/rng.ts, a leaf every layer may use). */
const LAYERS: Record<string, string[]> = {
  gpu: [],
  graph: ['gpu', 'shaders'],
  nn: ['graph'],
  optim: ['gpu', 'graph'],
  data: [],
  io: [],
  analysis: ['data', 'graph', 'nn'],
  train: ['data', 'graph', 'io', 'nn', 'optim'],
  capsnet: ['graph', 'nn', 'optim', 'train'],
  transfer: ['analysis', 'data', 'graph', 'nn', 'optim', 'train'],
};
/** The top-level folders: what each may import besides itself. */
const TOP: Record<string, string[]> = {
  src: ['shaders'],
  apps: ['src', 'shaders'],
  demos: ['src'],
  bench: ['src', 'demos'],
};

const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : /\.(ts|mts)$/.test(f) && !f.endsWith('.d.ts') ? [p] : [];
});
/** The relative imports of a file (static, dynamic, re-exports), resolved to repository paths. */
function importsOf(file: string): {spec: string; target: string}[] {
  const text = readFileSync(file, 'utf8');
  const out: {spec: string; target: string}[] = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1];
    out.push({spec, target: spec.startsWith('.') ? normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts') : spec});
  }
  return out;
}
const layerOf = (path: string) => (path.startsWith('src/') && path.split('/').length > 2 ? path.split('/')[1] : null);

/** The imports of `file` (a path under src/) that its layer may not make. */
function layerViolations(file: string, imports: {spec: string; target: string}[]): string[] {
  const from = layerOf(file);
  const bad: string[] = [];
  for (const {spec, target} of imports) {
    if (!spec.startsWith('.') || target === 'src/rng.ts') continue;
    const to = target.startsWith('src/') ? layerOf(target) : target.split('/')[0];
    if (from === null || to === null || to === from) continue;  // src/index.ts, src/node.ts: the entries
    if (!(LAYERS[from] ?? []).includes(to)) bad.push(`${file}: '${spec}' (${from} may import ${LAYERS[from]?.join(', ') || 'none of ours'})`);
  }
  return bad;
}

t('each layer of src/ imports only the layers below it', () => {
  const bad = files('src').flatMap((f) => layerViolations(f, importsOf(f)));
  assert.equal(bad, [], `imports against the layering:\n${bad.join('\n')}`);
});

t('the check catches a layer reaching up, and passes one reaching down', () => {
  const imp = (file: string, spec: string) => ({spec, target: normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts')});
  assert.equal(layerViolations('src/graph/ops.ts', [imp('src/graph/ops.ts', '../train/loop.js')]).length, 1);
  assert.equal(layerViolations('src/data/split.ts', [imp('src/data/split.ts', '../graph/tensor.js')]).length, 1);
  assert.equal(layerViolations('src/train/loop.ts', [imp('src/train/loop.ts', '../graph/tensor.js'), imp('src/train/loop.ts', '../rng.js')]), []);
});

t('the library never imports an application; applications and demos import down only', () => {
  const bad: string[] = [];
  for (const [top, allowed] of Object.entries(TOP)) {
    for (const file of files(top)) {
      for (const {spec, target} of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const to = target.split('/')[0];
        if (to !== top && !allowed.includes(to)) bad.push(`${file}: '${spec}' (${top}/ may import ${allowed.join(', ')})`);
      }
    }
  }
  assert.equal(bad, [], bad.join('\n'));
});

t('the browser entry (src/index.ts) reaches no Node module', () => {
  // The browser build swaps gpu/node-device.ts for its browser twin (scripts/build.mjs); the rest must be platform-free.
  const swap = (p: string) => (p === 'src/gpu/node-device.ts' ? 'src/gpu/node-device.browser.ts' : p);
  const seen = new Set<string>(), bad: string[] = [], todo = ['src/index.ts'];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const {spec, target} of importsOf(file)) {
      if (spec.startsWith('.') && target.endsWith('.ts')) todo.push(swap(target));
      else if (/^node:|^(pngjs|sharp|webgpu)$/.test(spec)) bad.push(`${file}: '${spec}'`);
    }
  }
  assert.ok(seen.size > 40, `walked ${seen.size} files`);
  assert.equal(bad, [], `the browser entry reaches Node modules:\n${bad.join('\n')}`);
});

t.run();
