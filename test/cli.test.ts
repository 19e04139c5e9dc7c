// @test node-only: runs the CLI as a child process
// @test once: the CLI as child processes (which pick their own adapter)
// The command line and run folders: every bad input in one table (each must fail with exit 2 and a message
// naming the flag or file, before a device starts), then tiny real runs for what needs one (the recorded split,
// resume checks, locks, overwrite, non-finite weights) and in-process crash simulation for checkpoint pairs.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {spawn, spawnSync} from 'node:child_process';
import * as wt from '../src/index.js';
import {loadSafetensors, saveSafetensors} from '../src/io/files.js';
import {FileCheckpointStore, JsonlSink} from '../src/train/sinks/node.js';
import {
  checkpointHooks, loadCheckpoint, loadModel, pendingTrainStatePath, readCheckpointInfo, saveCheckpoint, trainStatePath,
} from '../src/train/checkpoint.js';

const t = suite('cli');
const dir = mkdtempSync(join(tmpdir(), 'wgt-cli-'));
const CLI = 'dist/apps/cli/main.js';
const TINY = ['--steps', '3', '--batch', '16', '--per-class', '5', '--progress', 'lines'];

interface Ran { status: number | null; stdout: string; stderr: string }
const cli = (...args: string[]): Ran => spawnSync(process.execPath, [CLI, ...args], {encoding: 'utf8', timeout: 120_000});
/** Runs without waiting, so the cheap failures of the table run a few at a time. */
const cliAsync = (args: string[]) => new Promise<Ran>((done) => {
  const p = spawn(process.execPath, [CLI, ...args]);
  let stdout = '', stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  p.on('close', (status) => done({status, stdout, stderr}));
});
const ok = (r: Ran, what: string) => assert.is(r.status, 0, `${what} failed: ${r.stderr}`);

// A finished tiny run (split seed 5) that the table's resume and eval rows contradict.
const run1 = join(dir, 'run1');
const ck1 = join(run1, 'model.safetensors');
const afile = join(dir, 'afile');
const junk = join(dir, 'junk.safetensors');
const modelOnly = join(dir, 'model-only.safetensors');
const busy = join(dir, 'busy');

// [what, args, stderr]: each row a distinct bad input; all must exit 2 before a device starts.
const BAD: [string, string[], RegExp][] = [
  ['unknown command', ['trian'], /unknown command 'trian'/],
  ['a train flag given to eval', ['eval', '--epochs', '99'],
    /eval: unknown flag --epochs \(a flag of train, finetune, not of eval\)/],
  ['--lr given to eval', ['eval', '--checkpoint', 'x', '--lr', 'zzz'], /eval: unknown flag --lr/],
  ['--lr given to show', ['show', '--lr', '1'], /show: unknown flag --lr/],
  ['a flag given to adapters', ['adapters', '--dataset', 'mnist'],
    /adapters: unknown flag --dataset.*adapters takes no flags/],
  ['a misspelt flag', ['train', '--epochz', '3'], /train: unknown flag --epochz;.*--epochs/],
  ['a short flag', ['train', '-x'], /Unknown option '-x'/],
  ['a positional argument', ['train', 'mnist'], /Unexpected argument 'mnist'/],
  ['a repeated flag', ['train', '--lr', '1', '--lr', '2'], /flag --lr given twice/],
  ['a missing value', ['train', '--lr'], /Option '--lr <value>' argument missing/],
  ['a value for a switch', ['train', '--overwrite=yes'], /Option '--overwrite' does not take an argument/],
  ['an empty --lr', ['train', '--lr', ''], /flag --lr expects a decimal number > 0, got ''/],
  ['a hex --lr', ['train', '--lr', '0x10'], /flag --lr expects a decimal number > 0, got '0x10'/],
  ['an infinite --lr', ['train', '--lr', '1e400'], /flag --lr expects a decimal number > 0, got '1e400'/],
  ['a negative --lr', ['train', '--lr', '-0.1'], /flag --lr expects a decimal number > 0, got '-0.1'/],
  ['--epochs -1', ['train', '--epochs', '-1'], /flag --epochs expects an integer >= 1, got '-1'/],
  ['--epochs=-1', ['train', '--epochs=-1'], /flag --epochs expects an integer >= 1, got '-1'/],
  ['a fractional --epochs', ['train', '--epochs', '1.5'], /flag --epochs expects an integer >= 1, got '1.5'/],
  ['a word for --batch', ['train', '--batch', 'ten'], /flag --batch expects an integer >= 1, got 'ten'/],
  ['--batch 0', ['train', '--batch', '0'], /flag --batch expects an integer >= 1, got '0'/],
  ['--steps with --epochs', ['train', '--steps', '3', '--epochs', '2'], /give --epochs or --steps, not both/],
  ['an unknown optimizer', ['train', '--optimizer', 'rmsprop'],
    /flag --optimizer expects one of adam, adamw, sgd, got 'rmsprop'/],
  ['an unknown schedule', ['train', '--schedule', 'linear'], /flag --schedule expects one of none, cosine, step, dann/],
  ['--momentum with adam', ['train', '--momentum', '0.5'], /flag --momentum applies to --optimizer sgd, not adam/],
  ['--momentum 1.5', ['train', '--optimizer', 'sgd', '--momentum', '1.5'],
    /flag --momentum expects a decimal number >= 0 and < 1/],
  ['a negative --weight-decay', ['train', '--weight-decay', '-1'],
    /flag --weight-decay expects a decimal number >= 0, got '-1'/],
  ['--shift past half the image', ['train', '--shift', '30'],
    /flag --shift expects an integer >= 0 and <= 14, got '30'/],
  ['a negative --seed', ['train', '--seed', '-3'], /flag --seed expects an integer >= 0, got '-3'/],
  ['--per-class 0', ['train', '--per-class', '0'], /flag --per-class expects an integer >= 1, got '0'/],
  ['--checkpoint-every 0', ['train', '--checkpoint-every', '0'], /flag --checkpoint-every expects an integer >= 1/],
  ['an unknown --progress', ['train', '--progress', 'fancy'], /flag --progress expects one of auto, bar, lines, none/],
  ['an unknown --backend', ['train', '--backend', 'metal'], /flag --backend expects one of auto, .*got 'metal'/],
  ['an unknown dataset', ['train', '--dataset', 'cifar10'], /flag --dataset expects one of mnist, fashion-mnist/],
  ['an unknown model', ['train', '--model', 'resnet'], /flag --model expects one of lenet5, mlp, capsnet-small, capsnet, cnn-matched, got 'resnet'/],
  ['an empty --out', ['train', '--out', ''], /flag --out expects a value, got ''/],
  ['--out in /proc', ['train', ...TINY, '--out', '/proc/wgt-x'], /cannot create folder \/proc\/wgt-x/],
  ['--out under a file', ['train', ...TINY, '--out', join(afile, 'sub')],
    /cannot create folder .*afile is a file, not a folder/],
  ['--batch above the training images', ['train', '--steps', '3', '--batch', '64', '--per-class', '5', '--out', join(dir, 'b')],
    /flag --batch 64 is larger than the 50 training images of mnist with --per-class 5/],
  ['a run folder in use', ['train', ...TINY, '--out', busy], /folder .*busy is in use by process \d+/],
  ['a folder holding a finished run', ['train', ...TINY, '--out', run1],
    /run1 holds an earlier run \(model\.safetensors, .*--resume .*--overwrite/],
  ['--overwrite with a failing check', ['train', '--steps', '3', '--batch', '64', '--per-class', '5', '--out', run1, '--overwrite'],
    /flag --batch 64 is larger than the 50 training images/],
  ['--resume of a missing file', ['train', '--resume', join(dir, 'none.safetensors')],
    /cannot read checkpoint .*none\.safetensors/],
  ['--resume of a model-only file', ['train', '--resume', modelOnly],
    /model-only\.safetensors is a model file without a training position/],
  ['--resume with another optimizer', ['train', '--resume', ck1, '--optimizer', 'sgd'],
    /flag --optimizer sgd contradicts the checkpoint's optimizer adam \(.*run1.model\.safetensors\)/],
  ['--resume with another batch', ['train', '--resume', ck1, '--batch', '32'],
    /flag --batch 32 contradicts the checkpoint's batch 16/],
  ['--resume with another dataset', ['train', '--resume', ck1, '--dataset', 'fashion-mnist'],
    /flag --dataset fashion-mnist contradicts the checkpoint's dataset mnist/],
  ['--resume with another seed', ['train', '--resume', ck1, '--seed', '1'],
    /flag --seed 1 contradicts the checkpoint's seed 5/],
  ['--resume with another lr', ['train', '--resume', ck1, '--lr', '0.01'],
    /flag --lr 0.01 contradicts the checkpoint's lr 0.001/],
  ['--resume with another schedule', ['train', '--resume', ck1, '--schedule', 'cosine'],
    /flag --schedule cosine contradicts the checkpoint's schedule none/],
  ['--resume with fewer steps', ['train', '--resume', ck1, '--steps', '2'],
    /run1.model\.safetensors is already at step 3; --steps 2 leaves nothing to train/],
  ['--resume of a finished run', ['train', '--resume', ck1],
    /already at step 3; its planned 3 steps leaves nothing to train/],
  ['eval without --checkpoint', ['eval'], /eval needs --checkpoint PATH/],
  ['eval of the trainer-state file', ['eval', '--checkpoint', join(run1, 'model.train.safetensors')],
    /model\.train\.safetensors is the trainer state of a checkpoint, not its model: use .*run1.model\.safetensors/],
  ['eval of a missing file', ['eval', '--checkpoint', join(dir, 'none.safetensors')],
    /cannot read checkpoint .*none\.safetensors/],
  ['eval of a non-safetensors file', ['eval', '--checkpoint', junk],
    /junk\.safetensors is not a safetensors file, or is corrupt: its first 8 bytes give a header length of \d+ bytes/],
  ['eval with another split seed', ['eval', '--checkpoint', ck1, '--seed', '0'],
    /flag --seed 0 contradicts the checkpoint's split seed 5/],
  ['eval with another model', ['eval', '--checkpoint', ck1, '--model', 'mlp'],
    /flag --model mlp contradicts the checkpoint's model lenet5/],
  ['eval on images of another shape', ['eval', '--checkpoint', ck1, '--dataset', 'mnist-m'],
    /trained on 1x28x28 images \(mnist\); mnist-m has 3x28x28/],
  ['show with an unknown split', ['show', '--split', 'valid'], /flag --split expects one of train, test, got 'valid'/],
  ['show --count 0', ['show', '--count', '0'], /flag --count expects an integer >= 1 and <= 1024, got '0'/],
  ['show into /proc', ['show', '--out', '/proc/wgt-x/a.png'], /cannot create folder \/proc\/wgt-x/],
  ['show into a .jpg', ['show', '--out', join(dir, 'grid.jpg')],
    /flag --out .*grid\.jpg: the extension '\.jpg' is not supported; show writes PNG images only: give a name ending in \.png$/m],
  ['show into a file without extension', ['show', '--out', join(dir, 'grid')],
    /flag --out .*grid: the file has no extension; show writes PNG images only/],
];

t('a tiny training run records what it trained on in the checkpoint', () => {
  const r = cli('train', ...TINY, '--seed', '5', '--out', run1);
  ok(r, 'train');
  const info = readCheckpointInfo(ck1);
  assert.is(info.step, 3);
  assert.equal(
    [info.run.dataset, info.run.seed, info.run.model, info.run.image_shape, info.run.classes, info.run.per_class, info.run.optimizer,
      info.run.lr, info.run.batch, info.run.schedule, info.run.steps],
    ['mnist', '5', 'lenet5', '1x28x28', '10', '5', 'adam', '0.001', '16', 'none', '3']);
  assert.not.ok(existsSync(join(run1, 'run.lock')), 'the lock is gone after the run');
  assert.not.ok(existsSync(pendingTrainStatePath(ck1)), 'no pending train state after a complete save');
});

t(`${BAD.length} bad inputs each fail with exit 2 and a message naming the flag or file, before any device work`, async () => {
  writeFileSync(afile, 'a file');
  writeFileSync(junk, 'not safetensors');
  saveSafetensors(modelOnly, new Map(), {format: 'pt'});
  mkdirSync(busy);
  // A live holder: this test process.
  writeFileSync(join(busy, 'run.lock'), JSON.stringify({pid: process.pid, started: 'now'}));
  const names = new Set(BAD.map(([what]) => what));
  assert.is(names.size, BAD.length, 'each row is a distinct case');
  const check = ([what, args, re]: typeof BAD[number], r: Ran) => {
    assert.is(r.status, 2, `${what} (${args.join(' ')}): exit ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, re, `${what}: ${r.stderr}`);
    assert.not.match(r.stdout, /adapter:/, `${what}: started a device`);
  };
  // Rows that lock a shared folder run one at a time (two at once would see each other's lock); the rest 4 at once.
  const shared = (args: string[]) => args.some((a) => a.includes('run1') || a.includes('busy'));
  for (const row of BAD.filter(([, args]) => shared(args))) check(row, await cliAsync(row[1]));
  const rest = BAD.filter(([, args]) => !shared(args));
  for (let i = 0; i < rest.length; i += 4) {
    const rows = rest.slice(i, i + 4);
    const results = await Promise.all(rows.map(([, args]) => cliAsync(args)));
    rows.forEach((row, k) => check(row, results[k]));
  }
  assert.ok(existsSync(join(busy, 'run.lock')), 'a live lock is left alone');
  assert.ok(existsSync(ck1) && existsSync(join(run1, 'metrics.jsonl')), '--overwrite deletes nothing when a check fails');
  assert.not.ok(existsSync(join(dir, 'b', 'run.lock')), 'a refused run leaves no lock');
});

t('--version, and help for each command', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {version: string};
  assert.is(cli('--version').stdout.trim(), pkg.version);
  assert.match(cli('--help').stdout, /commands:\n\s+train/);
  assert.match(cli('train', '--help').stdout, /--overwrite[\s\S]*--resume PATH/);
  const ev = cli('eval', '--help');
  assert.is(ev.status, 0);
  assert.match(ev.stdout, /--checkpoint PATH[\s\S]*split seed[\s\S]*mnist-rotated/);
  assert.match(cli('show', '--help').stdout, /--split NAME[\s\S]*--count N/);
  const png = join(dir, 'grid.png');
  ok(cli('show', '--dataset', 'mnist-inverted', '--count', '8', '--out', png), 'show');
  assert.equal(Array.from(readFileSync(png).subarray(1, 4)), [80, 78, 71]);
});

t('tune measures the kernel variants of a model\'s step: JSON lines, nothing cached with --dry-run', () => {
  const xdg = join(dir, 'xdg');
  // Its own cache folder, Mesa's shader cache included, so every variant compiles: Debian 13's Mesa takes 2-3x 12's.
  const r = spawnSync(process.execPath, [CLI, 'tune', '--model', 'lenet5', '--batch', '4', '--dry-run', '--json'],
    {encoding: 'utf8', timeout: 360_000, env: {...process.env, XDG_CACHE_HOME: xdg}});
  ok(r, 'tune');
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as
    {family: string; key: string; table: string; choice: string; ms: Record<string, number>; cached: boolean});
  const families = new Set(lines.map((l) => l.family));
  for (const f of ['conv.forward', 'conv.input', 'conv.weight', 'pool.forward', 'matmul']) {
    assert.ok(families.has(f), `${f} measured: ${[...families]}`);
  }
  for (const l of lines) {
    assert.ok(Object.keys(l.ms).length >= 2 && l.choice in l.ms && l.table in l.ms, JSON.stringify(l));
    assert.ok(l.ms[l.choice] <= Math.min(...Object.values(l.ms)) / 0.97 + 1e-9, `the choice is the fastest: ${JSON.stringify(l)}`);
  }
  assert.not.ok(existsSync(join(xdg, 'webgpu-transfer', 'kernels.json')), '--dry-run writes no cache');
  assert.match(cli('train', '--help').stdout, /--tune +measure the kernels/);
  const bad = cli('tune', '--model', 'resnet99');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--model.*resnet18/);
});

t('eval uses the recorded split: the same test accuracy as at the end of training', () => {
  const metrics = readFileSync(join(run1, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = metrics.filter((m) => m.test_accuracy !== undefined).pop();
  const r = cli('eval', '--checkpoint', ck1);
  ok(r, 'eval');
  assert.match(r.stdout, new RegExp(`mnist test \\(split seed 5\\): .*accuracy ${(100 * last.test_accuracy).toFixed(2)}% on 2000 images`));
});

t('resume takes over a dead process\'s lock, cleans its temp files, keeps the settings and marks the run', () => {
  // A process that has exited: its pid is free (reuse within this test is unlikely and would only refuse).
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout;
  writeFileSync(join(run1, 'run.lock'), JSON.stringify({pid: Number(dead), started: 'earlier'}));
  const tmp = join(run1, `model.safetensors.tmp-${dead}-1234`);
  writeFileSync(tmp, 'half a file');
  const r = cli('train', '--resume', ck1, '--steps', '5', '--progress', 'lines');
  ok(r, 'resume');
  assert.match(r.stdout, /resuming from step 3/);
  assert.not.ok(existsSync(tmp), 'the dead writer\'s temp file is removed');
  assert.not.ok(existsSync(join(run1, 'run.lock')), 'the lock is released');
  const info = readCheckpointInfo(ck1);
  assert.is(info.step, 5);
  assert.equal([info.run.seed, info.run.batch, info.run.per_class, info.run.steps], ['5', '16', '5', '5']);
  const starts = readFileSync(join(run1, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((m) => m.event === 'start');
  assert.is(starts.length, 2);
  assert.is.not(starts[0].run, starts[1].run);
  assert.equal([starts[1].steps, starts[1].from_step, starts[1].dataset], [5, 3, 'mnist']);
});

t('--overwrite replaces a run; Ctrl-C stops after the current step, a second signal waits for the save; the pair resumes', async () => {
  // An earlier run's files (by hand: only their presence matters).
  const out = join(dir, 'run2');
  const ckpt = join(out, 'model.safetensors');
  mkdirSync(out);
  writeFileSync(join(out, 'metrics.jsonl'), JSON.stringify({run: 'old', event: 'start'}) + '\n');
  writeFileSync(join(out, 'model.train.safetensors'), 'old');
  // 10,000 images in batches of 128: no evaluation (each epoch, 78 steps) comes before the progress line of step 50.
  const p = spawn(process.execPath, [CLI, 'train', '--steps', '100000', '--batch', '128', '--per-class', '1000', '--seed', '2',
    '--progress', 'lines', '--out', out, '--overwrite']);
  let stdout = '', stderr = '', signalledAt = 0, stepMs = 0;
  p.stderr.on('data', (d) => { stderr += d; });
  const status = await new Promise<number | null>((done) => {
    p.stdout.on('data', (d) => {
      stdout += d;
      const m = /step 50\/100000 .* (\d+) img\/s/.exec(stdout);
      if (m && !signalledAt) {
        signalledAt = performance.now();
        // An over-estimate of one step's time: the rate counts the first step's compilation too.
        stepMs = (1000 * 128) / Number(m[1]);
        // The second signal at once, while the step still runs: a SIGTERM, which cannot merge with a pending SIGINT
        // (two SIGINTs can, and one sent after the first was seen can come after the save on a loaded machine). The
        // process may take the two in either order: the first it takes stops the run, the other waits for the save.
        p.kill('SIGINT');
        p.kill('SIGTERM');
      }
    });
    p.on('close', (code) => done(code));
  });
  const exitMs = performance.now() - signalledAt;
  const first = /(SIGINT|SIGTERM): stopping after step (\d+) to save a checkpoint\n/.exec(stderr);
  assert.ok(first, stderr);
  const [stopper, at] = [first![1], Number(first![2])];
  const waiter = stopper === 'SIGINT' ? 'SIGTERM' : 'SIGINT';
  assert.is(status, stopper === 'SIGINT' ? 130 : 143, `exit ${status}: ${stderr}`);
  const waits = `${waiter} again: waiting for the checkpoint to be saved (a third ${waiter} quits without saving it)\n`;
  assert.ok(stderr.includes(waits), stderr);
  const m = new RegExp(`stopped by ${stopper} at step (\\d+); checkpoint saved: continue with --resume .*run2.model\\.safetensors`)
    .exec(stderr);
  assert.ok(m, stderr);
  const stopped = Number(m![1]);
  // Sent after step 50, handled long before the next read-back at step 100, which it used to wait for. The parent
  // sees the step-50 line and signals with a delay of its own: on a loaded machine 7 steps of ~10 ms went by.
  assert.ok(at >= 51 && at <= 60, `the signal was handled at step ${at}`);
  assert.is(stopped, at, 'stopped after the step the signal came in');
  // The bound: three steps' time and 2 s for the save and the exit (a loaded machine).
  assert.ok(exitMs < 3 * stepMs + 2000, `exited ${exitMs.toFixed(0)} ms after the signal (one step ~${stepMs.toFixed(0)} ms)`);
  assert.not.ok(existsSync(join(out, 'run.lock')), 'lock removed on SIGINT');
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(metrics.filter((r) => r.event === 'start').length, 1, 'the old metrics went with the old run');
  assert.ok(metrics.every((r) => r.run !== 'old'));
  // A whole pair of one save (same id, no pending file) that loads and holds the position.
  assert.equal(readdirSync(out).sort(), ['metrics.jsonl', 'model.safetensors', 'model.train.safetensors']);
  const info = readCheckpointInfo(ckpt);
  assert.equal([info.step, info.run.seed], [stopped, '2']);
  assert.is(loadSafetensors(trainStatePath(ckpt)).metadata.checkpoint_id, info.id);
  const model = wt.leNet5(1, 10);
  assert.is((await loadCheckpoint(ckpt, model, new wt.Adam(model.parameters()))).step, stopped);
  model.dispose();
  const r = cli('train', '--resume', ckpt, '--steps', String(stopped + 2), '--progress', 'lines');
  ok(r, 'resume');
  assert.match(r.stdout, new RegExp(`resuming from step ${stopped};[\\s\\S]*done: ${stopped + 2} steps`));
  assert.is(readCheckpointInfo(ckpt).step, stopped + 2);
});

t('eval on another domain of the split gets a note; eval and loading warn about non-finite weights', async () => {
  const src = loadSafetensors(ck1);
  const [name, first] = [...src.tensors].find(([, v]) => v.data instanceof Float32Array)!;
  (first.data as Float32Array)[0] = NaN;
  (first.data as Float32Array)[1] = Infinity;
  const bad = join(dir, 'nan', 'model.safetensors');
  saveSafetensors(bad, src.tensors as Parameters<typeof saveSafetensors>[1], src.metadata);
  // One device run for both: another domain of the recorded split, and a model with NaN and Inf weights.
  const r = cli('eval', '--checkpoint', bad, '--dataset', 'mnist-rotated');
  ok(r, 'eval');
  assert.match(r.stderr, /evaluating on mnist-rotated, a domain of the mnist split .*seed 5.*held out/);
  assert.match(r.stdout, /mnist-rotated test \(split seed 5\)/);
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(r.stderr, new RegExp(`warning: .*nan.model\\.safetensors holds non-finite values: ${esc} \\(1 NaN, 1 Inf of \\d+\\)`));
  // In process: the library's loader warns the same way.
  const m = new wt.Sequential(new wt.Linear(2, 2));
  const p = join(dir, 'lin.safetensors');
  saveSafetensors(p, new Map([['0.weight', {dtype: 'F32', shape: [2, 2], data: new Float32Array([1, NaN, 2, 3])}],
    ['0.bias', {dtype: 'F32', shape: [2], data: new Float32Array(2)}]]));
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (s: string) => { warned.push(s); };
  try { await loadModel(p, m); } finally { console.warn = warn; }
  assert.equal(warned.length, 1);
  assert.match(warned[0], /lin\.safetensors holds non-finite values: 0\.weight \(1 NaN of 4\)$/);
});

t('the library\'s file sinks check their folder when made, before any training', () => {
  assert.throws(() => new FileCheckpointStore({path: join(afile, 'sub', 'model.safetensors')}), /afile is a file, not a folder/);
  assert.throws(() => new JsonlSink('/proc/wgt-x/metrics.jsonl'), /cannot create folder \/proc\/wgt-x/);
});

t('a crash between the two checkpoint files never leaves an unresumable pair', async () => {
  wt.manualSeed(3);
  const model = new wt.Sequential(new wt.Linear(3, 2));
  const opt = new wt.Adam(model.parameters(), {lr: 0.1});
  const p = join(dir, 'crash', 'model.safetensors');
  const fresh = () => { const m = new wt.Sequential(new wt.Linear(3, 2)); return {m, o: new wt.Adam(m.parameters(), {lr: 0.1})}; };
  const stepOnce = () => { wt.sum(model.forward(wt.ones([1, 3]))).backward(); opt.step(); opt.zeroGrad(); };
  stepOnce();
  await saveCheckpoint(p, model, opt, {step: 1});
  const w1 = Array.from(await model.parameters()[0].data());
  const savingCrashes = async (step: number) => {
    try { await saveCheckpoint(p, model, opt, {step}); } catch (e) { assert.match((e as Error).message, /simulated crash/); return; }
    assert.unreachable('the save should have crashed');
  };
  const crashAfter = (stage: 'pending' | 'model') => {
    checkpointHooks.afterWrite = (s) => { if (s === stage) throw new Error(`simulated crash after the ${s} file`); };
  };
  try {
    // Dies before the model file lands: the previous pair (step 1) is still whole.
    stepOnce();
    crashAfter('pending');
    await savingCrashes(2);
    let f = fresh();
    assert.is((await loadCheckpoint(p, f.m, f.o)).step, 1);
    assert.equal(Array.from(await f.m.parameters()[0].data()), w1);
    // Dies after the model file, before the train state is renamed: the new pair (step 3) is whole.
    stepOnce();
    const w3 = Array.from(await model.parameters()[0].data());
    crashAfter('model');
    await savingCrashes(3);
    assert.ok(existsSync(pendingTrainStatePath(p)));
    f = fresh();
    assert.is((await loadCheckpoint(p, f.m, f.o)).step, 3);
    assert.equal(Array.from(await f.m.parameters()[0].data()), w3);
    // The next save first completes the interrupted one, so a crash in it still leaves step 3 resumable.
    crashAfter('pending');
    await savingCrashes(4);
    f = fresh();
    assert.is((await loadCheckpoint(p, f.m, f.o)).step, 3);
    checkpointHooks.afterWrite = undefined;
    await saveCheckpoint(p, model, opt, {step: 5});
    f = fresh();
    assert.is((await loadCheckpoint(p, f.m, f.o)).step, 5);
    assert.equal(readdirSync(join(dir, 'crash')).sort(), ['model.safetensors', 'model.train.safetensors']);
    assert.ok(existsSync(trainStatePath(p)));
  } finally {
    checkpointHooks.afterWrite = undefined;
  }
});

t.run();
