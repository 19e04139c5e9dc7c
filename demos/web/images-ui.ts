// The "your images" view's markup: every control with its data-testid, laid out in two columns, and its charts.
import {LiveChart, lineSpec} from './charts.js';
import {el, labelled} from './dom.js';
import {ARCHITECTURES} from '../../src/nn/models.js';
import {PHOTO_STRATEGIES} from '../../src/transfer/photos.js';

/** Features on their first two principal components, coloured by class, shaped by split. */
const pcaSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: 'Features (PCA) by class', width: 320, height: 240,
  autosize: {type: 'none'}, padding: {left: 60, top: 34, right: 150, bottom: 48}, data: {name: 'rows'},
  mark: {type: 'point', filled: true, size: 30, opacity: 0.7},
  encoding: {x: {field: 'x', type: 'quantitative', title: 'PC 1', scale: {zero: false}},
    y: {field: 'y', type: 'quantitative', title: 'PC 2', scale: {zero: false}},
    color: {field: 'class', type: 'nominal', title: 'class'}, shape: {field: 'split', type: 'nominal', title: 'photos'}},
};

const num = (id: string, value: string, attrs: Record<string, string> = {}) =>
  el('input', {type: 'number', value, testid: `images-${id}`, ...attrs});
const btn = (id: string, text: string) => el('button', {testid: `images-${id}`, text});

/** Builds the view's controls into `root`; returns them by role. */
export function imagesMarkup(root: HTMLElement) {
  const ui = {
    status: el('div', {class: 'status', testid: 'images-status'}),
    messages: el('ul', {class: 'messages', testid: 'images-messages'}),
    warning: el('div', {class: 'warning hidden', testid: 'images-warning'}),
    sourceSel: el('select', {testid: 'images-source'}),
    sourceFile: el('input', {type: 'file', accept: '.safetensors', testid: 'images-source-file'}),
    sourceInfo: el('div', {class: 'small', testid: 'images-source-info'}),
    // A file's architecture: found from its header or keys ('auto'), or chosen where that fails.
    archSel: el('select', {testid: 'images-source-arch'}, el('option', {value: '', text: 'auto'}),
      ...ARCHITECTURES.map((a) => el('option', {value: a, text: a}))),
    strategySel: el('select', {testid: 'images-strategy'}, ...PHOTO_STRATEGIES.map((s) => el('option', {value: s, text: s})),
      el('option', {value: 'dann', text: 'dann (needs unlabelled photos)'})),
    freeze: num('freeze', '', {min: '0', placeholder: 'auto'}),
    // Batch norm: the source's statistics (frozen), re-estimated on your photos first (AdaBN), or batch statistics.
    bnSel: el('select', {testid: 'images-bn'}, el('option', {value: 'frozen', text: 'frozen (the source\'s statistics)'}),
      el('option', {value: 'adapt', text: 'adapt to my photos (AdaBN)'}), el('option', {value: 'train', text: 'train'})),
    epochs: num('epochs', '10', {min: '1'}),
    lr: num('lr', '0.001', {step: '0.0005', min: '0'}),
    batch: num('batch', '16', {min: '1'}),
    valShare: num('val', '0.2', {step: '0.05', min: '0.05', max: '0.5'}),
    trainBtn: btn('train', 'Train'), stopBtn: btn('stop', 'Stop'), exportBtn: btn('export', 'Export weights'),
    clearBtn: btn('clear', 'Clear everything'), addClassBtn: btn('add-class', 'Add a class'), cameraBtn: btn('camera', 'Start camera'),
    video: el('video', {autoplay: true, muted: true, playsinline: true, width: 240, height: 180, testid: 'images-video',
      class: 'hidden'}),
    classesBox: el('div', {class: 'classes', testid: 'images-classes'}),
    previewFile: el('input', {type: 'file', accept: 'image/*', testid: 'images-preview-file'}),
    previewLive: el('input', {type: 'checkbox', testid: 'images-preview-live'}),
    bars: el('div', {class: 'bars', testid: 'images-preview-bars'}),
    preview: el('div', {class: 'panel'}),
  };
  const lossBox = el('div', {class: 'panel'}), accBox = el('div', {class: 'panel'}), pcaBox = el('div', {class: 'panel'});
  ui.preview.append(el('div', {}, 'Preview: drop an image here, pick one, or watch the camera'), ui.previewFile,
    labelled('live camera', ui.previewLive), ui.bars);
  root.append(el('div', {class: 'images-grid'},
    el('section', {},
      el('p', {class: 'privacy', testid: 'images-privacy'}, 'Your images stay in this browser: they are decoded, stored ' +
        '(IndexedDB) and trained on here, and no request carries them off the page.'),
      ui.warning,
      el('fieldset', {}, el('legend', {}, 'Source network'), labelled('pretrained', ui.sourceSel),
        labelled('or a file', ui.sourceFile), labelled('its architecture', ui.archSel), ui.sourceInfo),
      el('fieldset', {}, el('legend', {}, 'Training'), labelled('strategy', ui.strategySel),
        labelled('frozen layers k', ui.freeze), labelled('batch norm', ui.bnSel), labelled('epochs', ui.epochs), labelled('learning rate', ui.lr),
        labelled('batch', ui.batch), labelled('validation share', ui.valShare)),
      ui.trainBtn, ui.stopBtn, ui.exportBtn, ui.clearBtn, ui.status, ui.messages),
    el('section', {},
      el('div', {class: 'panel'}, ui.addClassBtn, ui.cameraBtn, ui.video, ui.classesBox),
      el('div', {class: 'charts'}, lossBox, accBox, pcaBox),
      ui.preview)));
  const charts = {
    loss: new LiveChart(lossBox, lineSpec('Training loss', 'loss')),
    acc: new LiveChart(accBox, lineSpec('Validation accuracy', 'accuracy', '.0%')),
    pca: new LiveChart(pcaBox, pcaSpec),
  };
  return {...ui, charts};
}

/** The view's controls, as imagesMarkup returns them. */
export type ImagesUi = ReturnType<typeof imagesMarkup>;

/** A thumbnail with its remove button. */
export function thumbnail(url: string, onRemove: () => void): HTMLElement {
  const remove = el('button', {class: 'x', title: 'remove this sample', testid: 'images-sample-remove', text: '×'});
  remove.addEventListener('click', onRemove);
  return el('span', {class: 'thumb'}, el('img', {src: url, width: 48, height: 48, alt: ''}), remove);
}

/** The probability bars of a prediction, most probable first. */
export function drawBars(box: HTMLElement, names: string[], probs: number[]): void {
  box.textContent = '';
  const order = probs.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
  for (const [p, i] of order) {
    box.append(el('div', {class: 'bar-row'}, el('span', {class: 'bar-name', text: names[i]}),
      el('span', {class: 'bar', style: `width:${Math.round(200 * p)}px`}), el('span', {text: ` ${(100 * p).toFixed(1)}%`})));
  }
}
