// The "your images" view: teach a pretrained network your own classes, as Teachable Machine does, with any of
// the five photo strategies. Classes and samples come from files, dropped folders or the webcam; the session
// (samples, classes, settings, weights) persists in IndexedDB; nothing leaves the browser.
import {LiveChart, lineSpec} from './charts.js';
import {el, labelled} from './dom.js';
import {decodeSample, droppedFiles, framePixels, openCamera, pixelsOf, snapshot} from './image-decode.js';
import {emptySession, ImageStore, type Sample, type Session} from './image-store.js';
import {fetchShipped, loadSource, predict, shippedSources, trainedBytes, trainedFrom, trainOnSamples, type PageStrategy,
  type ShippedSource, type Trained} from './images-train.js';
import {device, page} from './state.js';
import {PHOTO_STRATEGIES} from '../../src/transfer/photos.js';
import {ARCHITECTURES} from '../../src/nn/models.js';
import type {RawImage} from '../../src/data/transforms.js';

/** The class id of unlabelled photos (the target domain DANN adapts to); real classes count from 1. */
const UNLABELLED = 0;

/** What the view publishes (wgtPage.views.images) for scripts and tests. */
const pub = {
  ready: false, state: 'idle' as 'idle' | 'training' | 'done' | 'stopped' | 'error', status: '', messages: [] as string[],
  classes: [] as {name: string; count: number}[], unlabelled: 0, persistent: false, warning: '' as string, trained: false, valAccuracy: NaN,
  records: 0, evaluations: [] as number[], pcaPoints: 0,
  featuresPerSecond: NaN, domainAccuracy: NaN, trainImagesPerSecond: NaN, prediction: null as null | {file: string; top: string; logits: number[]; probs: number[]},
};

const pcaSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: 'Features (PCA) by class', width: 320, height: 240,
  autosize: {type: 'none'}, padding: {left: 60, top: 34, right: 150, bottom: 48}, data: {name: 'rows'},
  mark: {type: 'point', filled: true, size: 30, opacity: 0.7},
  encoding: {x: {field: 'x', type: 'quantitative', title: 'PC 1', scale: {zero: false}},
    y: {field: 'y', type: 'quantitative', title: 'PC 2', scale: {zero: false}},
    color: {field: 'class', type: 'nominal', title: 'class'}, shape: {field: 'split', type: 'nominal', title: 'photos'}},
};

export function mountImages(root: HTMLElement): void {
  page.views.images = pub;
  let session: Session = emptySession();
  let store: ImageStore;
  let shipped: ShippedSource[] = [];
  let trained: Trained | null = null;
  let stop = false;
  let camera: MediaStream | null = null;

  // ---------------- markup ----------------
  const status = el('div', {class: 'status', testid: 'images-status'});
  const messages = el('ul', {class: 'messages', testid: 'images-messages'});
  const warning = el('div', {class: 'warning hidden', testid: 'images-warning'});
  const sourceSel = el('select', {testid: 'images-source'});
  const sourceFile = el('input', {type: 'file', accept: '.safetensors', testid: 'images-source-file'});
  const sourceInfo = el('div', {class: 'small', testid: 'images-source-info'});
  // A file's architecture: found from its header or keys ('auto'), or chosen where that fails.
  const archSel = el('select', {testid: 'images-source-arch'}, el('option', {value: '', text: 'auto'}),
    ...ARCHITECTURES.map((a) => el('option', {value: a, text: a})));
  const strategySel = el('select', {testid: 'images-strategy'},
    ...PHOTO_STRATEGIES.map((s) => el('option', {value: s, text: s})),
    el('option', {value: 'dann', text: 'dann (needs unlabelled photos)'}));
  const num = (id: string, value: string, attrs: Record<string, string> = {}) =>
    el('input', {type: 'number', value, testid: `images-${id}`, ...attrs});
  const freeze = num('freeze', '', {min: '0', placeholder: 'auto'}), epochs = num('epochs', '10', {min: '1'});
  const lr = num('lr', '0.001', {step: '0.0005', min: '0'}), batch = num('batch', '16', {min: '1'});
  const valShare = num('val', '0.2', {step: '0.05', min: '0.05', max: '0.5'});
  const btn = (id: string, text: string) => el('button', {testid: `images-${id}`, text});
  const trainBtn = btn('train', 'Train'), stopBtn = btn('stop', 'Stop'), exportBtn = btn('export', 'Export weights');
  const clearBtn = btn('clear', 'Clear everything'), addClassBtn = btn('add-class', 'Add a class');
  const cameraBtn = btn('camera', 'Start camera');
  const video = el('video', {autoplay: true, muted: true, playsinline: true, width: 240, height: 180, testid: 'images-video', class: 'hidden'});
  const classesBox = el('div', {class: 'classes', testid: 'images-classes'});
  const previewFile = el('input', {type: 'file', accept: 'image/*', testid: 'images-preview-file'});
  const previewLive = el('input', {type: 'checkbox', testid: 'images-preview-live'});
  const bars = el('div', {class: 'bars', testid: 'images-preview-bars'});
  const lossBox = el('div', {class: 'panel'}), accBox = el('div', {class: 'panel'}), pcaBox = el('div', {class: 'panel'});
  root.append(el('div', {class: 'images-grid'},
    el('section', {},
      el('p', {class: 'privacy', testid: 'images-privacy'}, 'Your images stay in this browser: they are decoded, stored ' +
        '(IndexedDB) and trained on here, and no request carries them off the page.'),
      warning,
      el('fieldset', {}, el('legend', {}, 'Source network'), labelled('pretrained', sourceSel),
        labelled('or a file', sourceFile), labelled('its architecture', archSel), sourceInfo),
      el('fieldset', {}, el('legend', {}, 'Training'), labelled('strategy', strategySel),
        labelled('frozen layers k', freeze), labelled('epochs', epochs), labelled('learning rate', lr), labelled('batch', batch),
        labelled('validation share', valShare)),
      trainBtn, stopBtn, exportBtn, clearBtn, status, messages),
    el('section', {},
      el('div', {class: 'panel'}, addClassBtn, cameraBtn, video, classesBox),
      el('div', {class: 'charts'}, lossBox, accBox, pcaBox),
      el('div', {class: 'panel'}, el('div', {}, 'Preview: drop an image here, pick one, or watch the camera'),
        previewFile, labelled('live camera', previewLive), bars))));
  const lossChart = new LiveChart(lossBox, lineSpec('Training loss', 'loss'));
  const accChart = new LiveChart(accBox, lineSpec('Validation accuracy', 'accuracy', '.0%'));
  const pcaChart = new LiveChart(pcaBox, pcaSpec);

  const say = (line: string) => { status.textContent = line; pub.status = line; };
  const complain = (line: string) => {
    pub.messages.push(line);
    messages.append(el('li', {text: line}));
  };
  const showWarning = () => {
    pub.persistent = store.persistent;
    pub.warning = store.warning ?? '';
    warning.textContent = store.warning ?? '';
    warning.classList.toggle('hidden', !store.warning);
  };
  const setBusy = (busy: boolean) => {
    trainBtn.disabled = busy; stopBtn.disabled = !busy; clearBtn.disabled = busy; exportBtn.disabled = busy || !trained;
  };
  const saveSettings = () => {
    session.settings = {source: sourceSel.value, arch: archSel.value, strategy: strategySel.value, freeze: freeze.value, epochs: epochs.value,
      lr: lr.value, batch: batch.value, val: valShare.value};
    void store.put('settings', session.settings).then(showWarning);
  };

  // ---------------- classes and samples ----------------
  // Hold-to-record: one timer for the view, stopped by any pointer release (the cards re-render as frames arrive).
  let recording: ReturnType<typeof setInterval> | null = null;
  const stopRecording = () => { if (recording) clearInterval(recording); recording = null; };
  for (const ev of ['pointerup', 'pointercancel', 'blur']) window.addEventListener(ev, stopRecording);
  const urls = new Map<number, string>();
  const thumb = (s: Sample) => {
    if (!urls.has(s.id)) urls.set(s.id, URL.createObjectURL(s.blob));
    const remove = el('button', {class: 'x', title: 'remove this sample', testid: 'images-sample-remove', text: '×'});
    remove.addEventListener('click', () => void removeSamples([s.id]));
    return el('span', {class: 'thumb'}, el('img', {src: urls.get(s.id)!, width: 48, height: 48, alt: ''}), remove);
  };
  function render(): void {
    classesBox.textContent = '';
    pub.classes = session.classes.map((c) => ({name: c.name, count: session.samples.filter((s) => s.classId === c.id).length}));
    session.classes.forEach((c, i) => {
      const samples = session.samples.filter((s) => s.classId === c.id);
      const name = el('input', {value: c.name, testid: `images-class-name-${i}`});
      name.addEventListener('change', () => { c.name = name.value.trim() || c.name; void persistClasses(); });
      const files = el('input', {type: 'file', accept: 'image/*', multiple: true, testid: `images-class-files-${i}`});
      files.addEventListener('change', () => { void addFiles(c.id, Array.from(files.files ?? [])); files.value = ''; });
      const rec = el('button', {testid: `images-class-record-${i}`, text: 'Hold to record'});
      rec.addEventListener('pointerdown', () => {
        if (!camera) { complain('start the camera first'); return; }
        stopRecording();
        void addFrame(c.id);
        recording = setInterval(() => void addFrame(c.id), 100);
      });
      rec.addEventListener('pointerleave', stopRecording);
      const remove = el('button', {testid: `images-class-remove-${i}`, text: 'Remove class'});
      remove.addEventListener('click', () => void removeClass(c.id));
      const card = el('div', {class: 'class-card', testid: `images-class-${i}`},
        el('div', {}, name, el('span', {class: 'count', testid: `images-class-count-${i}`, text: ` ${samples.length} images `}), remove),
        el('div', {}, files, rec),
        el('div', {class: 'thumbs', testid: `images-class-thumbs-${i}`}, ...samples.map(thumb)));
      card.addEventListener('dragover', (e) => { e.preventDefault(); card.classList.add('over'); });
      card.addEventListener('dragleave', () => card.classList.remove('over'));
      card.addEventListener('drop', (e) => {
        e.preventDefault(); card.classList.remove('over');
        if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((fs) => addFiles(c.id, fs));
      });
      classesBox.append(card);
    });
    // Unlabelled photos of the domain the model will meet (DANN's target domain).
    const unl = session.samples.filter((x) => x.classId === UNLABELLED);
    pub.unlabelled = unl.length;
    const files = el('input', {type: 'file', accept: 'image/*', multiple: true, testid: 'images-unlabelled-files'});
    files.addEventListener('change', () => { void addFiles(UNLABELLED, Array.from(files.files ?? [])); files.value = ''; });
    classesBox.append(el('div', {class: 'class-card unlabelled', testid: 'images-unlabelled'},
      el('div', {}, el('b', {}, 'Unlabelled photos'), ' of the domain the model will meet (for DANN): ',
        el('span', {testid: 'images-unlabelled-count', text: `${unl.length} images`})),
      files, el('div', {class: 'thumbs'}, ...unl.map(thumb))));
  }
  const persistClasses = async () => {
    await store.put('classes', session.classes); await store.put('nextId', session.nextId); showWarning(); render();
  };
  async function addClass(name?: string): Promise<void> {
    session.classes.push({id: session.nextId++, name: name ?? `class ${session.classes.length + 1}`});
    await persistClasses();
  }
  async function removeClass(id: number): Promise<void> {
    const gone = session.samples.filter((s) => s.classId === id).map((s) => s.id);
    session.classes = session.classes.filter((c) => c.id !== id);
    await removeSamples(gone);
    await persistClasses();
  }
  async function removeSamples(ids: number[]): Promise<void> {
    session.samples = session.samples.filter((s) => !ids.includes(s.id));
    for (const id of ids) { const u = urls.get(id); if (u) URL.revokeObjectURL(u); urls.delete(id); }
    await store.deleteSamples(ids); showWarning(); render();
  }
  async function addDecoded(classId: number, list: {blob: Blob; width: number; height: number}[]): Promise<void> {
    const added = list.map((d) => ({id: session.nextId++, classId, blob: d.blob, width: d.width, height: d.height}));
    session.samples.push(...added);
    await store.putSamples(added); await store.put('nextId', session.nextId); showWarning(); render();
  }
  async function addFiles(classId: number, files: File[]): Promise<void> {
    const ok: {blob: Blob; width: number; height: number}[] = [];
    for (const f of files) {
      try {
        const d = await decodeSample(f, f.name);
        if (d.note) complain(`${d.note} (downscaled)`);
        ok.push(d);
      } catch (e) { complain((e as Error).message); }
    }
    if (ok.length) await addDecoded(classId, ok);
    say(`${ok.length} of ${files.length} file(s) added`);
  }
  let framing = false;
  async function addFrame(classId: number): Promise<void> {
    if (framing) return; // a slow encode skips a tick rather than queueing frames
    framing = true;
    try { await addDecoded(classId, [await snapshot(video)]); } catch (e) { complain((e as Error).message); } finally { framing = false; }
  }

  // ---------------- source, training, export ----------------
  async function sourceBytes(): Promise<{bytes: Uint8Array; name: string; arch?: string}> {
    if (sourceSel.value === 'file') {
      if (!session.sourceFile) throw new Error('pick a safetensors file for the source network');
      return {...session.sourceFile, arch: archSel.value || undefined};
    }
    const s = shipped.find((x) => x.name === sourceSel.value);
    if (!s) throw new Error('no pretrained network is chosen');
    return {bytes: await fetchShipped(s), name: `${s.name}.safetensors`};
  }
  const int = (input: HTMLInputElement, what: string, min: number, max: number) => {
    const v = Number(input.value);
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${what} must be an integer in ${min}..${max}, got '${input.value}'`);
    return v;
  };
  const real = (input: HTMLInputElement, what: string, min: number, max: number) => {
    const v = Number(input.value);
    if (input.value.trim() === '' || !(v >= min && v <= max)) throw new Error(`${what} must be a number in ${min}..${max}, got '${input.value}'`);
    return v;
  };
  async function train(): Promise<void> {
    const named = session.classes.map((c) => ({c, samples: session.samples.filter((s) => s.classId === c.id)}));
    const unlabelled = session.samples.filter((s) => s.classId === UNLABELLED);
    const used = named.filter((x) => x.samples.length > 0);
    try {
      if (used.length < 2) throw new Error(`training needs at least two classes with images; there ${used.length === 1 ? 'is one' : 'are none'}`);
      const few = used.find((x) => x.samples.length < 2);
      if (few) throw new Error(`class '${few.c.name}' has one image: each class needs two (one is held out for validation)`);
      const settings = {strategy: strategySel.value as PageStrategy, epochs: int(epochs, 'epochs', 1, 1000),
        lr: real(lr, 'learning rate', 1e-6, 1), batch: int(batch, 'batch', 1, 256), valShare: real(valShare, 'validation share', 0.05, 0.5),
        freeze: freeze.value.trim() === '' ? undefined : int(freeze, 'frozen layers k', 0, 1000), seed: 0};
      if (settings.strategy === 'dann' && unlabelled.length < 2) {
        throw new Error('DANN adapts to unlabelled photos of the target domain: add at least two under "Unlabelled photos"');
      }
      if (!device.take('images')) throw new Error(`the ${device.owner} view is training: stop it first`);
      setBusy(true); stop = false; pub.state = 'training'; pub.records = 0; pub.evaluations = [];
      lossChart.clear(); accChart.clear();
      try {
        say('loading the source network...');
        const {bytes, name, arch} = await sourceBytes();
        const source = await loadSource(bytes, name, arch);
        say('decoding the images...');
        const photos: RawImage[] = [], labels: number[] = [];
        for (const [k, x] of used.entries()) for (const s of x.samples) { photos.push(await pixelsOf(s.blob, `sample ${s.id}`)); labels.push(k); }
        const unl: RawImage[] = [];
        if (settings.strategy === 'dann') for (const s of unlabelled) unl.push(await pixelsOf(s.blob, `sample ${s.id}`));
        trained?.model.dispose();
        trained = null;
        const rates: number[] = [];
        const t = await trainOnSamples(source, photos, Int32Array.from(labels), used.map((x) => x.c.name), unl, settings, {
          status: say, shouldStop: () => stop, featureRate: (r) => { pub.featuresPerSecond = r; },
          pca: (rows) => { pub.pcaPoints = rows.length; void pcaChart.replace(rows); },
          sink: {
            record: (r) => {
              // The first steps compile pipelines: the rate is the median of the later ones.
              if (++pub.records > 3) {
                rates.push(r.examplesPerSecond);
                pub.trainImagesPerSecond = [...rates].sort((a, b) => a - b)[rates.length >> 1];
              }
              if (r.terms.domain_acc !== undefined) {
                pub.domainAccuracy = r.terms.domain_acc;
                accChart.add([{step: r.step, value: r.terms.domain_acc, series: 'domain classifier (train)'}]);
              }
              lossChart.add([{step: r.step, value: r.loss, series: settings.strategy}]); },
            evaluation: ({step, metrics}) => {
              if (metrics.test_accuracy === undefined) return;
              pub.evaluations.push(metrics.test_accuracy);
              accChart.add([{step, value: metrics.test_accuracy, series: 'validation'}]);
            },
          },
        });
        if (t.model !== source.model) source.model.dispose();
        trained = t;
        pub.trained = true; pub.valAccuracy = t.valAccuracy;
        await store.put('trained', {name: 'trained.safetensors', bytes: await trainedBytes(t)}); showWarning();
        pub.state = t.stopped ? 'stopped' : 'done';
        say(`${t.stopped ? 'stopped' : 'done'}: validation accuracy ${(100 * t.valAccuracy).toFixed(1)}% ` +
          `(${t.strategy}); the weights are kept in this browser`);
      } finally { device.release('images'); setBusy(false); }
    } catch (e) {
      pub.state = 'error';
      say(`error: ${(e as Error).message.replace(/^webgpu-transfer: /, '')}`);
    }
  }
  async function exportWeights(): Promise<void> {
    if (!trained) return;
    const bytes = await trainedBytes(trained);
    const a = el('a', {href: URL.createObjectURL(new Blob([bytes as BlobPart])), download: `${trained.spec.arch}-${trained.classNames.length}-classes.safetensors`});
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 0);
  }

  // ---------------- preview ----------------
  async function show(photo: RawImage, file: string): Promise<void> {
    if (!trained) { say('train first (or wait for the restored weights)'); return; }
    const {logits, probs} = await predict(trained.model, trained.size, photo);
    const order = probs.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
    pub.prediction = {file, top: trained.classNames[order[0][1]], logits, probs};
    bars.textContent = '';
    for (const [p, i] of order) {
      bars.append(el('div', {class: 'bar-row'}, el('span', {class: 'bar-name', text: trained.classNames[i]}),
        el('span', {class: 'bar', style: `width:${Math.round(200 * p)}px`}), el('span', {text: ` ${(100 * p).toFixed(1)}%`})));
    }
  }
  const previewPhoto = async (f: File) => { try { await show(await pixelsOf(f, f.name), f.name); } catch (e) { complain((e as Error).message); } };
  previewFile.addEventListener('change', () => { const f = previewFile.files?.[0]; if (f) void previewPhoto(f); previewFile.value = ''; });
  bars.parentElement!.addEventListener('dragover', (e) => e.preventDefault());
  bars.parentElement!.addEventListener('drop', (e) => { e.preventDefault(); const f = e.dataTransfer?.files[0]; if (f) void previewPhoto(f); });
  let liveBusy = false;
  setInterval(() => {
    if (!previewLive.checked || !camera || !trained || liveBusy || device.owner) return;
    liveBusy = true;
    void show(framePixels(video), 'camera').finally(() => { liveBusy = false; });
  }, 250);

  // ---------------- wiring and restore ----------------
  addClassBtn.addEventListener('click', () => void addClass());
  trainBtn.addEventListener('click', () => void train());
  stopBtn.addEventListener('click', () => { stop = true; say('stopping after this step...'); });
  exportBtn.addEventListener('click', () => void exportWeights());
  clearBtn.addEventListener('click', async () => {
    await store.clear(); showWarning();
    for (const u of urls.values()) URL.revokeObjectURL(u);
    urls.clear(); trained?.model.dispose(); trained = null; pub.trained = false;
    session = emptySession(); pub.messages = []; messages.textContent = ''; bars.textContent = '';
    await addClass(); await addClass(); setBusy(false); say('cleared');
  });
  cameraBtn.addEventListener('click', async () => {
    try {
      camera ??= await openCamera();
      video.srcObject = camera; video.classList.remove('hidden'); await video.play();
      say('camera on: hold a class\'s record button to add frames');
    } catch (e) { complain((e as Error).message); say(`camera: ${(e as Error).message}`); }
  });
  sourceSel.addEventListener('change', saveSettings);
  archSel.addEventListener('change', saveSettings);
  for (const input of [strategySel, freeze, epochs, lr, batch, valShare]) input.addEventListener('change', saveSettings);
  sourceFile.addEventListener('change', async () => {
    const f = sourceFile.files?.[0];
    if (!f) return;
    try {
      const bytes = new Uint8Array(await f.arrayBuffer());
      const s = await loadSource(bytes, f.name, archSel.value || undefined);
      sourceInfo.textContent = `${f.name}: a ${s.info.spec.arch} with ${s.info.spec.classes} classes, ${s.info.imageSize} px`;
      s.model.dispose();
      session.sourceFile = {name: f.name, bytes};
      await store.put('sourceFile', session.sourceFile); showWarning();
      sourceSel.value = 'file'; saveSettings();
    } catch (e) {
      const m = (e as Error).message.replace(/^webgpu-transfer: /, '');
      complain(m); sourceInfo.textContent = m;
    }
    sourceFile.value = '';
  });

  void (async () => {
    store = await ImageStore.open();
    shipped = await shippedSources().catch(() => []);
    for (const s of shipped) {
      sourceSel.append(el('option', {value: s.name, text: `${s.name} (${s.arch}, ${s.image_size ?? '?'} px` +
        `${s.test_accuracy ? `, ${(100 * s.test_accuracy).toFixed(1)}% on its test set` : ''})`}));
    }
    sourceSel.append(el('option', {value: 'file', text: 'a safetensors file of your own'}));
    try { session = await store.load(); } catch (e) { complain(`the stored session could not be read: ${(e as Error).message}`); }
    const st = session.settings;
    if (st.source && Array.from(sourceSel.options).some((o) => o.value === st.source)) sourceSel.value = st.source;
    if (st.strategy) strategySel.value = st.strategy;
    if (st.arch) archSel.value = st.arch;
    if (st.freeze !== undefined) freeze.value = st.freeze;
    for (const [input, k] of [[epochs, 'epochs'], [lr, 'lr'], [batch, 'batch'], [valShare, 'val']] as const) if (st[k]) input.value = st[k];
    if (session.sourceFile) sourceInfo.textContent = `${session.sourceFile.name} (kept from before)`;
    if (!session.classes.length) { await addClass(); await addClass(); }
    render(); showWarning(); setBusy(false);
    if (session.trained) {
      try {
        trained = await trainedFrom(session.trained.bytes, session.trained.name);
        pub.trained = true; setBusy(false);
        say(`restored: ${session.classes.length} classes, ${session.samples.length} images and the trained weights`);
      } catch (e) { complain(`the kept weights could not be restored: ${(e as Error).message}`); }
    } else say(session.samples.length ? `restored: ${session.classes.length} classes, ${session.samples.length} images` :
      'add images to two or more classes, then train');
    pub.ready = true;
  })();
}
