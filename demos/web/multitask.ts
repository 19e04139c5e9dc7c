// The multitask view: MNIST digits and Fashion-MNIST clothes through one shared LeNet-5 trunk (conv1 .. fc2 with
// their ReLU and pooling), one Linear(84, 10) head per task, as the Node experiment (apps/experiments/multitask.ts)
// trains them: each step draws its own batch from each dataset, Adam with cosine decay, learned task weights at
// Adam 0.025. Live: each task's loss, each task's test accuracy, and the weight the strategy puts on each loss.
// The weights are read from the strategy's own loss terms (w_<task>: 1 / (2 e^{s_i}) under uncertainty, w_i under
// GradNorm), so the chart shows what the step used; under fixed weights they are the constants given.
import {fetchDataset} from '../../src/data/fetch.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {subset} from '../../src/data/split.js';
import {leNet5, Linear, manualSeed} from '../../src/nn/layers.js';
import {TrainingLoop} from '../../src/train/loop.js';
import type {Sink} from '../../src/train/strategy.js';
import {MultiTask, sharedTrunk, type TaskSpec, type Weighting} from '../../src/transfer/multitask.js';
import {LiveChart, lineSpec} from './charts.js';
import {el, labelled, readNumber} from './dom.js';
import {device, failed, page, type RunState} from './state.js';

const TASKS = ['digits', 'fashion'] as const;
type Task = typeof TASKS[number];
type PerTask = Record<Task, number> & {step: number};
/** Test images per task in the live evaluations: enough to tell tasks apart, few enough to evaluate every few steps. */
const TEST_IMAGES = 1000;

/** What the view publishes as wgtPage.views.multitask (scripts and the page test read it). */
const view = {
  state: 'idle' as RunState, error: '', weighting: 'fixed' as Weighting, digitsScale: 1, steps: 0,
  records: 0,
  /** Per logged step: each task's loss (its scale applied), and the weight the step put on it. */
  losses: [] as PerTask[], weights: [] as PerTask[],
  /** Per evaluation: each task's accuracy and mean loss on its first TEST_IMAGES test images. */
  evaluations: [] as PerTask[], testLosses: [] as PerTask[],
};
page.views.multitask = view;

/** The page's controls, made at mount. */
let ui: {weighting: HTMLSelectElement; scale: HTMLSelectElement; steps: HTMLInputElement; lr: HTMLInputElement;
  batch: HTMLInputElement; train: HTMLButtonElement; stop: HTMLButtonElement; status: HTMLElement; stats: HTMLElement};
let charts: {loss: LiveChart; accuracy: LiveChart; weights: LiveChart};
let stopRequested = false;

const status = (msg: string) => { ui.status.textContent = msg; };
const setTraining = (on: boolean) => { ui.train.disabled = on; ui.stop.disabled = !on; };

function panel(testid: string): HTMLElement { return el('div', {class: 'panel', testid}); }

/** Builds the view's controls and charts into its container. */
export function mountMultitask(root: HTMLElement): void {
  root.classList.add('view');
  const num = (testid: string, value: string, attrs: Record<string, string> = {}) =>
    el('input', {type: 'number', value, testid, ...attrs});
  ui = {
    weighting: el('select', {testid: 'mt-weighting'},
      el('option', {value: 'fixed', text: 'equal (1 / 1)'}),
      el('option', {value: 'uncertainty', text: 'uncertainty'}),
      el('option', {value: 'gradnorm', text: 'GradNorm'})),
    // The experiment's imbalance: the digit loss x100, as if measured in other units; equal weights then let the
    // digits steer the trunk, and learned weights scale them back.
    scale: el('select', {testid: 'mt-scale'},
      el('option', {value: '1', text: 'x1'}), el('option', {value: '100', text: 'x100'})),
    steps: num('mt-steps', '300', {min: '1'}),
    lr: num('mt-lr', '0.001', {min: '0', step: '0.0005'}),
    batch: num('mt-batch', '64', {min: '1', max: '512'}),
    train: el('button', {testid: 'mt-train', text: 'Train'}),
    stop: el('button', {testid: 'mt-stop', text: 'Stop', disabled: true}),
    status: el('div', {class: 'status', testid: 'mt-status'}),
    stats: el('div', {class: 'stats', testid: 'mt-stats'}),
  };
  const lossPanel = panel('mt-loss'), accPanel = panel('mt-accuracy'), weightPanel = panel('mt-weights');
  root.append(
    el('section', {},
      el('fieldset', {}, el('legend', {text: 'Multitask: digits + clothes, one trunk'}),
        labelled('weighting', ui.weighting), labelled('digit loss scale', ui.scale), labelled('steps', ui.steps),
        labelled('learning rate', ui.lr), labelled('batch per task', ui.batch)),
      ui.train, ui.stop, ui.status, ui.stats),
    el('section', {},
      el('div', {class: 'charts'}, lossPanel, accPanel, weightPanel),
      el('p', {class: 'panel', text: 'One LeNet-5 trunk (conv1 .. fc2) shared by two heads. Each step draws a ' +
        'batch of MNIST digits and a batch of Fashion-MNIST clothes; both losses update the trunk. Test accuracy ' +
        `is measured on the first ${TEST_IMAGES.toLocaleString('en')} test images of each task. Weights: what ` +
        'multiplies each task\'s loss (uncertainty: 1 / (2 e^s), its s learned; GradNorm: w_i, summing to 2; ' +
        'equal: 1).'})),
  );
  // Narrower than the page's default line charts, so that two share a row.
  const line = (title: string, y: string, format?: string) => ({...lineSpec(title, y, format, [...TASKS]), width: 300});
  charts = {
    loss: new LiveChart(lossPanel, line('Training loss per task', 'loss')),
    accuracy: new LiveChart(accPanel, line('Test accuracy per task', 'accuracy', '.0%')),
    weights: new LiveChart(weightPanel, line('Weight on each task\'s loss', 'weight')),
  };
  ui.train.addEventListener('click', () => void train());
  ui.stop.addEventListener('click', () => { stopRequested = true; status('stopping after this step...'); });
  status('ready: pick a weighting and press Train');
}

/** Reads the controls; throws with a message naming the bad one. */
function settings() {
  return {
    weighting: ui.weighting.value as Weighting, digitsScale: Number(ui.scale.value),
    steps: readNumber(ui.steps, 'steps', 1, 100000), lr: readNumber(ui.lr, 'learning rate', 1e-6, 1, false),
    batch: readNumber(ui.batch, 'batch', 1, 512),
  };
}

function chartSink(s: ReturnType<typeof settings>): Sink {
  return {
    record: (r) => {
      view.records++;
      const loss = {step: r.step, digits: r.terms.digits, fashion: r.terms.fashion};
      // Under fixed weights the strategy reports no weight terms: its weights are the constants it was given (1).
      const weight = {step: r.step, digits: r.terms.w_digits ?? 1, fashion: r.terms.w_fashion ?? 1};
      view.losses.push(loss);
      view.weights.push(weight);
      charts.loss.add(TASKS.map((t) => ({step: r.step, value: loss[t], series: t})));
      charts.weights.add(TASKS.map((t) => ({step: r.step, value: weight[t], series: t})));
      ui.stats.textContent = `step ${r.step} of ${s.steps}\nloss ${r.loss.toFixed(4)}` +
        TASKS.map((t) => `\n  ${t}: loss ${loss[t].toFixed(4)}, weight ${weight[t].toPrecision(3)}`).join('') +
        `\n${r.examplesPerSecond.toFixed(0)} images/s`;
    },
    evaluation: ({step, metrics}) => {
      const e = {step, digits: metrics.digits_accuracy, fashion: metrics.fashion_accuracy};
      view.evaluations.push(e);
      view.testLosses.push({step, digits: metrics.digits_loss, fashion: metrics.fashion_loss});
      charts.accuracy.add(TASKS.map((t) => ({step, value: e[t], series: t})));
    },
  };
}

/** Both datasets with the Node side's splits, and their test subsets for the live evaluations. */
async function data(): Promise<Record<Task, {train: ImageSet; test: ImageSet}>> {
  const [d, f] = await Promise.all([fetchDataset('mnist', {seed: 0}), fetchDataset('fashion-mnist', {seed: 0})]);
  const first = (set: ImageSet) => subset(set, Array.from({length: Math.min(TEST_IMAGES, set.n)}, (_, i) => i));
  return {digits: {train: d.train, test: first(d.test)}, fashion: {train: f.train, test: first(f.test)}};
}

async function train(): Promise<void> {
  let s: ReturnType<typeof settings>;
  try { s = settings(); } catch (e) { status(`error: ${(e as Error).message}`); return; }
  // One training at a time on the page's device: another view's run must end (or be stopped) first.
  if (!device.take('multitask')) { status(`the ${device.owner} view is training: stop it there first`); return; }
  stopRequested = false;
  setTraining(true);
  Object.assign(view, {state: 'loading', error: '', weighting: s.weighting, digitsScale: s.digitsScale, steps: s.steps,
    records: 0, losses: [], weights: [], evaluations: [], testLosses: []});
  charts.loss.clear(); charts.accuracy.clear(); charts.weights.clear();
  status('loading MNIST and Fashion-MNIST...');
  let strategy: MultiTask | null = null, loop: TrainingLoop | null = null;
  try {
    const sets = await data();
    manualSeed(0); // the same initial weights and data order for every weighting, so runs compare
    const {trunk} = sharedTrunk(leNet5(1, 10), {first: 4});
    const tasks: TaskSpec[] = TASKS.map((t) => ({name: t, head: new Linear(84, 10), ...sets[t],
      lossScale: t === 'digits' && s.digitsScale !== 1 ? s.digitsScale : undefined}));
    strategy = new MultiTask({trunk, tasks, weighting: s.weighting, batch: s.batch, lr: s.lr, schedule: 'cosine',
      seed: 0});
    // A record every step on short runs, every 10 on long ones (each record reads the loss back, a GPU sync).
    const logEvery = Math.max(1, Math.min(10, Math.floor(s.steps / 30)));
    loop = new TrainingLoop(strategy, {steps: s.steps, logEvery, evalEvery: Math.max(5, Math.round(s.steps / 8)),
      yieldEvery: 2, shouldStop: () => stopRequested, sinks: [chartSink(s)], name: 'multitask'});
    view.state = 'training';
    status(`training with ${ui.weighting.selectedOptions[0].text} weighting...`);
    const r = await loop.fit();
    const last = view.evaluations[view.evaluations.length - 1];
    const acc = last ? TASKS.map((t) => `${t} ${(100 * last[t]).toFixed(1)}%`).join(', ') : 'not evaluated';
    view.state = r.stopped ? 'stopped' : 'done';
    status(`${r.stopped ? `stopped at step ${r.step}` : `done: ${r.step} steps`}; test accuracy ${acc}`);
  } catch (e) {
    failed(view, status, e);
  } finally {
    loop?.dispose();
    strategy?.dispose();
    strategy?.model.dispose();
    device.release('multitask');
    setTraining(false);
  }
}
