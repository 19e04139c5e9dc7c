// @test node-only: experiments write run folders, and the CLI runs as child processes
// @test once: run folders and child processes (which pick their own adapter)
// Experiments: every stored artefact is named by its run's full settings, so a report rebuilt after runs of other
// settings into the same folder is byte-identical; runs.jsonl is rewritten atomically and --fresh replaces only the
// runs it redoes (a chaos test kills runs at random points); nothing is written beside --out; and each experiment
// takes only its own flags, strictly (one table of bad inputs, each refused with exit 2 before any device work).
import {existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {spawn} from 'node:child_process';
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {loadMnist, type ImageSet} from '../src/data/mnist.js';
import {subset, toRgb} from '../src/data/split.js';
import {inverted} from '../src/data/domains.js';
import {RunLog} from '../apps/experiments/output.js';
import {dannExperiment, type DannExperimentData, type DannExperimentOptions} from '../apps/experiments/dann.js';
import {capsnetExperiment, type CapsNetExperimentOptions} from '../apps/experiments/capsnet.js';
import {mulberry32} from '../src/rng.js';

const t = suite('experiments');
const CLI = 'dist/apps/cli/main.js';

interface Ran { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
/** Runs the CLI; `kill` (signal, ms) interrupts it after that delay. */
const cli = (args: string[], kill?: [NodeJS.Signals, number]) => new Promise<Ran>((done) => {
  const p = spawn(process.execPath, [CLI, ...args]);
  let stdout = '', stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  const timer = kill && setTimeout(() => p.kill(kill[0]), kill[1]);
  p.on('close', (status, signal) => { if (timer) clearTimeout(timer); done({status, signal, stdout, stderr}); });
});
const range = (a: number, b: number) => Array.from({length: b - a}, (_, i) => a + i);
/** Each file under `dir` (relative path) with its bytes. */
function files(dir: string, prefix = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(dir, prefix), {withFileTypes: true})) {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) for (const [k, v] of files(dir, rel)) out.set(k, v);
    else out.set(rel, readFileSync(join(dir, rel)));
  }
  return out;
}
/** The report: README.md, results.json and the charts' specs. */
const report = (dir: string) =>
  new Map([...files(dir)].filter(([k]) => /^(README\.md|results\.json|[^/]*\.vl\.json)$/.test(k)));
const quiet = () => {};

t('RunLog --fresh replaces only the runs it redoes, each when it finishes; the file always parses', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'wgt-runlog-')), 'runs.jsonl');
  const lines = () => readFileSync(path, 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as {key: string; result: number});
  const a = new RunLog<number>(path);
  for (const steps of [1, 2]) await a.get({steps}, async () => steps * 10);
  const fresh = new RunLog<number>(path, true);
  assert.is(fresh.size, 2, 'a fresh log still holds the stored runs');
  assert.equal(lines().map((l) => l.result), [10, 20], 'opening with fresh changes nothing on disk');
  let calls = 0;
  const redo = await fresh.get({steps: 2}, async () => { calls++; return 21; });
  assert.equal([redo.cached, lines().map((l) => l.result)], [false, [10, 21]], 'replaced in place, the other run kept');
  assert.is((await fresh.get({steps: 2}, async () => { calls++; return 22; })).result, 21, 'redone once per process');
  await fresh.get({steps: 3}, async () => 30);
  assert.equal([calls, lines().map((l) => [JSON.parse(l.key).steps, l.result])], [1, [[1, 10], [2, 21], [3, 30]]]);
  // A run that throws (an interruption) stores nothing and loses nothing.
  await fresh.get({steps: 4}, async () => { throw new Error('interrupted'); }).catch(() => {});
  assert.is(lines().length, 3);
  assert.equal(readdirSync(join(path, '..')), ['runs.jsonl'], 'no temp file left');
});

// Tiny data: the experiments' code paths in seconds.
let digits: ImageSet | undefined;
const mnist = (a: number, b: number) => subset(digits ??= loadMnist(), range(a, b));

/** Runs settings A, then B, then A again into one folder; the third report must be byte-identical to the first. */
async function abaReport(run: (settings: 'A' | 'B', out: string) => Promise<void>, name: string) {
  const parent = mkdtempSync(join(tmpdir(), `wgt-${name}-`));
  const out = join(parent, name);
  await run('A', out);
  const first = report(out);
  await run('B', out);
  const second = report(out);
  await run('A', out);
  const third = report(out);
  assert.ok(first.has('README.md') && first.has('results.json'));
  assert.equal([...third.keys()].sort(), [...first.keys()].sort());
  for (const [k, v] of first) assert.ok(v.equals(third.get(k)!), `${name}: ${k} differs after runs of other settings`);
  assert.equal(readdirSync(parent), [name], 'nothing is written beside --out');
  return {out, first, second};
}

t('dann: models and PCA numbers are named by the run\'s settings; rerunning A after B rebuilds A\'s report exactly', async () => {
  const data = (): DannExperimentData => ({
    source: {train: toRgb(mnist(0, 40)), test: toRgb(mnist(40, 60))},
    target: {train: toRgb(inverted(mnist(0, 40))), val: toRgb(inverted(mnist(60, 70))),
      test: toRgb(inverted(mnist(40, 60)))},
  });
  const settings = (s: 'A' | 'B', out: string): DannExperimentOptions => ({shifts: ['inverted'], seeds: [0],
    steps: s === 'A' ? 2 : 3, batch: 4, width: 0.25, pcaPoints: 6, lambdaMax: [1], out, log: quiet, data});
  const {out, first, second} = await abaReport((s, out) => dannExperiment(settings(s, out)), 'dann');
  assert.is.not(second.get('README.md')!.toString(), first.get('README.md')!.toString());
  assert.not.match(first.get('README.md')!.toString(), /\d ms\b/, 'no timings in the report');
  const models = readdirSync(join(out, 'models'));
  assert.is(models.length, 6, `3 arms x 2 settings: ${models.join(', ')}`);
  const named = /^inverted-(source-only|dann|target-only)-s0-[0-9a-f]{12}\.safetensors$/;
  assert.ok(models.every((m) => named.test(m)), models.join(', '));
  assert.is(readdirSync(join(out, 'pca')).length, 4, 'source only and DANN pictures of each setting');
});

t('capsnet: models and pictures are named by the run\'s settings; rerunning A after B rebuilds A\'s report exactly', async () => {
  const data = () => ({train: mnist(0, 24), test: mnist(24, 44)});
  const settings = (s: 'A' | 'B', out: string): CapsNetExperimentOptions => ({datasets: ['mnist'], seeds: [0],
    steps: s === 'A' ? 1 : 2, batch: 4, shift: 2, out, log: quiet, data});
  const {out, first, second} = await abaReport((s, out) => capsnetExperiment(settings(s, out)), 'caps');
  const readme = (r: Map<string, Buffer>) => r.get('README.md')!.toString();
  assert.match(readme(first), /--steps 1 --batch 4 --shift 2 /, 'the footer names A\'s settings');
  assert.match(readme(second), /--steps 2 --batch 4 --shift 2 /, 'the footer names B\'s settings');
  const pictures = (md: string) =>
    [...new Set([...md.matchAll(/\((pictures\/mnist-s0-[0-9a-f]{12})\/reconstructions\.png\)/g)].map((m) => m[1]))];
  assert.is(pictures(readme(first)).length, 1);
  assert.is.not(pictures(readme(first))[0], pictures(readme(second))[0], 'each setting links its own pictures');
  assert.equal(readdirSync(join(out, 'pictures')).length, 2);
  assert.is(readdirSync(join(out, 'models')).length, 4, '2 models x 2 settings');
});

// [experiment and flags, what the message must say]: each refused with exit 2 before a device starts.
const BAD: [string[], RegExp][] = [
  [['nope'], /experiment: unknown experiment 'nope' \(use transfer-methods, transferability, dann, multitask, photos, pretrain, capsnet/],
  [['dann', '--steps', '3,500'], /experiment dann: flag --steps expects one integer >= 1, got '3,500'/],
  [['multitask', '--batch', '8,16'], /experiment multitask: flag --batch expects one integer >= 1, got '8,16'/],
  [['transferability', '--labels', '5,10'], /flag --labels expects one integer >= 1, got '5,10'/],
  [['transferability', '--lr', '0.001,0.01'], /flag --lr expects one decimal number > 0, got '0.001,0.01'/],
  [['dann', '--width', '0.5,1'], /flag --width expects one decimal number > 0, got '0.5,1'/],
  [['capsnet', '--shift', '1,2'], /flag --shift expects one integer >= 0 and <= 14, got '1,2'/],
  [['transferability', '--situation', 'digits,mnist-m'], /flag --situation expects one of digits, fashion-digits, mnist-m, got 'digits,mnist-m'/],
  [['dann', '--steps', '3', '--steps', '4'], /experiment dann: flag --steps given twice/],
  [['capsnet', '--validation', '--validation'], /experiment capsnet: flag --validation given twice/],
  [['dann', '--lambda-max', '1,1'], /experiment dann: flag --lambda-max names 1 twice: '1,1'/],
  [['dann', '--seeds', '0,1,0'], /flag --seeds names 0 twice: '0,1,0'/],
  [['transfer-methods', '--situations', 'digits,mnist-m,digits'], /flag --situations names digits twice/],
  [['capsnet', '--caps-lr', '0.002,2e-3'], /flag --caps-lr names 2e-3 twice: '0.002,2e-3'/],
  [['dann', '--source-steps', '5'],
    /experiment dann: unknown flag --source-steps \(a flag of transfer-methods, transferability, not of dann\)/],
  [['multitask', '--source-steps', '5'], /experiment multitask: unknown flag --source-steps .*not of multitask/],
  [['capsnet', '--source-steps', '5'], /experiment capsnet: unknown flag --source-steps .*not of capsnet/],
  [['dann', '--labels', '5'],
    /experiment dann: unknown flag --labels \(a flag of transfer-methods, transferability, photos, not of dann\)/],
  [['multitask', '--width', '1'], /experiment multitask: unknown flag --width \(a flag of dann, pretrain, not of multitask\)/],
  [['dann', '--stpes', '3'], /experiment dann: unknown flag --stpes; dann takes --shifts --seeds --steps/],
  [['capsnet', '--datasets', 'mnist,cifar'],
    /flag --datasets expects one of mnist, fashion-mnist, got 'cifar' \(in the list 'mnist,cifar'\)/],
  [['capsnet', '--models', 'capsnet'], /flag --models expects one of capsnet-small, cnn-matched, got 'capsnet'/],
  [['capsnet', '--models', 'cnn-matched', '--caps-lr', '0.002'],
    /experiment capsnet: flag --caps-lr is for capsnet-small, which --models leaves out/],
  [['capsnet', '--shift', '1.5'], /flag --shift expects an integer >= 0 and <= 14, got '1.5'/],
  [['capsnet', '--caps-lr', '0'], /flag --caps-lr expects a decimal number > 0, got '0'/],
  [['capsnet', '--cnn-lr', '0.001,-1'], /flag --cnn-lr expects a decimal number > 0, got '-1' \(in the list '0.001,-1'\)/],
  [['capsnet', '--validation', 'yes'], /experiment capsnet: Unexpected argument 'yes'/],
  [['transfer-methods', '--labels', '0,5'], /flag --labels expects an integer >= 1, got '0' \(in the list '0,5'\)/],
  [['transfer-methods', '--labels', '2,,5'], /flag --labels expects an integer >= 1, got '' \(in the list '2,,5'\)/],
  [['transfer-methods', '--situations', 'digits,svhn'], /flag --situations expects one of digits, fashion-digits, mnist-m, got 'svhn'/],
  [['transfer-methods', '--methods', 'dann'], /flag --methods expects one of scratch, fine-tune, l2sp, kl, layer-transfer, got 'dann'/],
  [['transferability', '--steps', '-3'], /flag --steps expects an integer >= 1, got '-3'/],
  [['dann', '--lambda-max', '1,0'], /flag --lambda-max expects a decimal number > 0, got '0'/],
  [['dann', '--backend', 'metal'], /flag --backend expects one of auto, swiftshader, llvmpipe, vulkan, opengles, got 'metal'/],
  [['multitask', '--runs', 'shared-equal,shared-equal'], /flag --runs names shared-equal twice/],
];

t(`experiment: ${BAD.length} bad command lines each fail with exit 2, naming the flag, before any device work`, async () => {
  // A folder another live experiment holds (this test process): refused too, before the device starts.
  const busy = mkdtempSync(join(tmpdir(), 'wgt-exp-busy-'));
  writeFileSync(join(busy, 'run.lock'), JSON.stringify({pid: process.pid, started: 'now'}));
  const rows: typeof BAD = [...BAD,
    [['multitask', '--steps', '2', '--out', busy], /folder .*wgt-exp-busy-\w+ is in use by process \d+/]];
  for (let i = 0; i < rows.length; i += 4) {
    const batch = rows.slice(i, i + 4);
    const ran = await Promise.all(batch.map(([args]) => cli(['experiment', ...args])));
    batch.forEach(([args, re], k) => {
      const r = ran[k], what = args.join(' ');
      assert.is(r.status, 2, `${what}: exit ${r.status}, stderr ${r.stderr}`);
      assert.match(r.stderr, re, what);
      assert.is(r.stderr.trim().split('\n').length, 1, `${what}: one line: ${r.stderr}`);
      assert.not.match(r.stdout, /adapter:/, `${what}: started a device`);
    });
  }
  assert.ok(existsSync(join(busy, 'run.lock')), 'a live lock is left alone');
});

t('experiment --help lists every experiment; experiment <name> --help only that one\'s flags', async () => {
  const all = await cli(['experiment', '--help']);
  assert.is(all.status, 0);
  for (const name of ['transfer-methods', 'transferability', 'dann', 'multitask', 'capsnet']) {
    assert.match(all.stdout, new RegExp(`^${name}: `, 'm'));
  }
  assert.match(all.stdout, /DIR\/sources/);
  const dann = await cli(['experiment', 'dann', '--help']);
  assert.is(dann.status, 0);
  assert.match(dann.stdout, /usage: webgpu-transfer experiment dann[\s\S]*--lambda-max X,\.\.\.[\s\S]*\(default 1\)/);
  assert.not.match(dann.stdout, /--source-steps|--labels/);
});

// Settings A and B of a small transfer-methods run (9 runs each); their keys differ in `steps`.
const chaosArgs = (steps: number, out: string) => ['experiment', 'transfer-methods', '--situations', 'digits',
  '--labels', '2', '--seeds', '0,1', '--methods', 'scratch,l2sp', '--steps', String(steps), '--source-steps', '5',
  '--out', out, '--backend', 'llvmpipe'];

t('chaos: runs killed at random points (SIGINT, SIGKILL) never lose a stored run; runs.jsonl always parses', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'wgt-chaos-'));
  const out = join(parent, 'out');
  const path = join(out, 'runs.jsonl');
  const stored = (): Map<string, string> => {
    if (!existsSync(path)) return new Map();
    const text = readFileSync(path, 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), 'whole lines only');
    return new Map(text.split('\n').filter(Boolean).map((line) => {
      let r: {key: string; result: unknown};
      try { r = JSON.parse(line); } catch { throw new Error(`runs.jsonl holds a line that does not parse: ${line}`); }
      assert.type(r.key, 'string');
      return [r.key, JSON.stringify(r.result)];
    }));
  };
  const A = 8, B = 9;
  const stepsOf = (key: string) => (JSON.parse(key) as {steps: number}).steps;
  /** One child: settings `steps`, --fresh or not, killed after `kill` if given; then the invariants. */
  const step = async (steps: number, fresh: boolean, kill?: [NodeJS.Signals, number]) => {
    const before = stored();
    const r = await cli([...chaosArgs(steps, out), ...(fresh ? ['--fresh'] : [])], kill);
    const after = stored();
    const what = `steps ${steps}${fresh ? ' --fresh' : ''}${kill ? ` ${kill[0]} after ${kill[1]} ms` : ''}`;
    if (!kill) assert.is(r.status, 0, `${what}: ${r.stderr}`);
    else if (r.status === 130) assert.match(r.stderr, /stopped by SIGINT: \d+ finished runs are stored in .*runs\.jsonl/);
    for (const [key, result] of before) {
      assert.ok(after.has(key), `${what}: lost the stored run ${key}`);
      // Only a --fresh run redoes a stored run, and only one of its own settings.
      if (after.get(key) !== result) assert.ok(fresh && stepsOf(key) === steps, `${what}: changed the stored run ${key}`);
    }
    return {r, after};
  };
  const rand = mulberry32(7);
  // One run of A, uncut, sets the span the kills fall in (past the start-up, within the runs); then B, A --fresh and
  // B --fresh, each cut at a random point.
  const t0 = Date.now();
  const keysA = [...(await step(A, false)).after.keys()];
  const span = Date.now() - t0;
  assert.is(keysA.length, 9);
  for (const [steps, fresh, signal] of [[B, false, 'SIGINT'], [A, true, 'SIGKILL'], [B, true, 'SIGINT']] as const) {
    await step(steps, fresh, [signal, Math.round((0.3 + 0.7 * rand()) * span)]);
  }
  const {after} = await step(B, true);
  assert.is(after.size, 18, 'A\'s runs survive B --fresh');
  for (const k of keysA) assert.ok(after.has(k));
  const left = readdirSync(out).filter((f) => /\.tmp-|run\.lock/.test(f));
  assert.equal(left, [], 'no temp file or lock left after a finished run');
  assert.equal(readdirSync(parent), ['out'], 'nothing is written beside --out');
  assert.ok(readdirSync(join(out, 'sources')).length >= 1, 'the source model is cached under --out');
});

t.run();
