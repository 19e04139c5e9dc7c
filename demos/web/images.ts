// The "your images" view: teach a pretrained network your own classes, as Teachable Machine does, with any of
// the five photo strategies or DANN. Classes and samples come from files, dropped folders or the webcam; the
// session (samples, classes, settings, weights) persists in IndexedDB; nothing leaves the browser.
import {el} from './dom.js';
import {decodeSample, droppedFiles, framePixels, openCamera, pixelsOf, snapshot, type Decoded} from './image-decode.js';
import {emptySession, ImageStore, type Sample, type Session} from './image-store.js';
import {drawBars, imagesMarkup, thumbnail, type ImagesUi} from './images-ui.js';
import {fetchShipped, loadSource, predict, shippedSources, trainedBytes, trainedFrom, trainOnSamples, type PageStrategy,
  type ShippedSource, type Trained, type TrainSettings} from './images-train.js';
import {device, page} from './state.js';
import type {RawImage} from '../../src/data/transforms.js';
import {downloadBytes} from '../../src/io/browser.js';

/** The class id of unlabelled photos (the target domain DANN adapts to); real classes count from 1. */
const UNLABELLED = 0;

/** What the view publishes (wgtPage.views.images) for scripts and tests. */
const pub = {
  ready: false, state: 'idle' as 'idle' | 'training' | 'done' | 'stopped' | 'error', status: '', messages: [] as string[],
  // recording: the record button is held or its last frame is still being added.
  recording: false, classes: [] as {name: string; count: number}[], unlabelled: 0, persistent: false, warning: '', trained: false,
  valAccuracy: NaN, records: 0, evaluations: [] as number[], pcaPoints: 0, featuresPerSecond: NaN, domainAccuracy: NaN,
  trainImagesPerSecond: NaN, prediction: null as null | {file: string; top: string; logits: number[]; probs: number[]},
};

const plain = (e: unknown) => (e as Error).message.replace(/^webgpu-transfer: /, '');

function int(input: HTMLInputElement, what: string, min: number, max: number): number {
  const v = Number(input.value);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${what} must be an integer in ${min}..${max}, got '${input.value}'`);
  return v;
}
function real(input: HTMLInputElement, what: string, min: number, max: number): number {
  const v = Number(input.value);
  if (input.value.trim() === '' || !(v >= min && v <= max)) {
    throw new Error(`${what} must be a number in ${min}..${max}, got '${input.value}'`);
  }
  return v;
}

class ImagesView {
  private session: Session = emptySession();
  private store!: ImageStore;
  private shipped: ShippedSource[] = [];
  private trained: Trained | null = null;
  private stop = false;
  private camera: MediaStream | null = null;
  private readonly urls = new Map<number, string>();
  // Hold-to-record: one timer for the view, stopped by any pointer release (the cards re-render as frames arrive).
  private recording: ReturnType<typeof setInterval> | null = null;
  private framing = false;
  private liveBusy = false;

  constructor(private readonly ui: ImagesUi) {}

  // ---------------- messages ----------------
  private say(line: string): void { this.ui.status.textContent = line; pub.status = line; }
  private complain(line: string): void { pub.messages.push(line); this.ui.messages.append(el('li', {text: line})); }
  private showWarning(): void {
    pub.persistent = this.store.persistent;
    pub.warning = this.store.warning ?? '';
    this.ui.warning.textContent = pub.warning;
    this.ui.warning.classList.toggle('hidden', !this.store.warning);
  }
  private setBusy(busy: boolean): void {
    const u = this.ui;
    u.trainBtn.disabled = busy; u.stopBtn.disabled = !busy; u.clearBtn.disabled = busy; u.exportBtn.disabled = busy || !this.trained;
  }
  private saveSettings(): void {
    const u = this.ui;
    this.session.settings = {source: u.sourceSel.value, arch: u.archSel.value, strategy: u.strategySel.value, freeze: u.freeze.value,
      bn: u.bnSel.value, epochs: u.epochs.value, lr: u.lr.value, batch: u.batch.value, val: u.valShare.value};
    void this.store.put('settings', this.session.settings).then(() => this.showWarning());
  }

  // ---------------- classes and samples ----------------
  private samplesOf(classId: number): Sample[] { return this.session.samples.filter((s) => s.classId === classId); }
  private thumb(s: Sample): HTMLElement {
    if (!this.urls.has(s.id)) this.urls.set(s.id, URL.createObjectURL(s.blob));
    return thumbnail(this.urls.get(s.id)!, () => void this.removeSamples([s.id]));
  }
  private classCard(id: number, name: string, i: number): HTMLElement {
    const samples = this.samplesOf(id);
    const nameInput = el('input', {value: name, testid: `images-class-name-${i}`});
    nameInput.addEventListener('change', () => {
      const c = this.session.classes.find((x) => x.id === id)!;
      c.name = nameInput.value.trim() || c.name;
      void this.persistClasses();
    });
    const files = el('input', {type: 'file', accept: 'image/*', multiple: true, testid: `images-class-files-${i}`});
    files.addEventListener('change', () => { void this.addFiles(id, Array.from(files.files ?? [])); files.value = ''; });
    const rec = el('button', {testid: `images-class-record-${i}`, text: 'Hold to record'});
    rec.addEventListener('pointerdown', () => this.startRecording(id));
    rec.addEventListener('pointerleave', () => this.stopRecording());
    const remove = el('button', {testid: `images-class-remove-${i}`, text: 'Remove class'});
    remove.addEventListener('click', () => void this.removeClass(id));
    const card = el('div', {class: 'class-card', testid: `images-class-${i}`},
      el('div', {}, nameInput,
        el('span', {class: 'count', testid: `images-class-count-${i}`, text: ` ${samples.length} images `}), remove),
      el('div', {}, files, rec),
      el('div', {class: 'thumbs', testid: `images-class-thumbs-${i}`}, ...samples.map((s) => this.thumb(s))));
    card.addEventListener('dragover', (e) => { e.preventDefault(); card.classList.add('over'); });
    card.addEventListener('dragleave', () => card.classList.remove('over'));
    card.addEventListener('drop', (e) => {
      e.preventDefault(); card.classList.remove('over');
      if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((fs) => this.addFiles(id, fs));
    });
    return card;
  }
  private unlabelledCard(): HTMLElement {
    const unl = this.samplesOf(UNLABELLED);
    const files = el('input', {type: 'file', accept: 'image/*', multiple: true, testid: 'images-unlabelled-files'});
    files.addEventListener('change', () => { void this.addFiles(UNLABELLED, Array.from(files.files ?? [])); files.value = ''; });
    return el('div', {class: 'class-card unlabelled', testid: 'images-unlabelled'},
      el('div', {}, el('b', {}, 'Unlabelled photos'), ' of the domain the model will meet (for DANN): ',
        el('span', {testid: 'images-unlabelled-count', text: `${unl.length} images`})),
      files, el('div', {class: 'thumbs'}, ...unl.map((s) => this.thumb(s))));
  }
  private render(): void {
    const box = this.ui.classesBox;
    box.textContent = '';
    pub.classes = this.session.classes.map((c) => ({name: c.name, count: this.samplesOf(c.id).length}));
    pub.unlabelled = this.samplesOf(UNLABELLED).length;
    this.session.classes.forEach((c, i) => box.append(this.classCard(c.id, c.name, i)));
    box.append(this.unlabelledCard());
  }
  private async persistClasses(): Promise<void> {
    await this.store.put('classes', this.session.classes);
    await this.store.put('nextId', this.session.nextId);
    this.showWarning(); this.render();
  }
  private async addClass(): Promise<void> {
    this.session.classes.push({id: this.session.nextId++, name: `class ${this.session.classes.length + 1}`});
    await this.persistClasses();
  }
  private async removeClass(id: number): Promise<void> {
    this.session.classes = this.session.classes.filter((c) => c.id !== id);
    await this.removeSamples(this.samplesOf(id).map((s) => s.id));
    await this.persistClasses();
  }
  private async removeSamples(ids: number[]): Promise<void> {
    this.session.samples = this.session.samples.filter((s) => !ids.includes(s.id));
    for (const id of ids) { const u = this.urls.get(id); if (u) URL.revokeObjectURL(u); this.urls.delete(id); }
    await this.store.deleteSamples(ids); this.showWarning(); this.render();
  }
  private async addDecoded(classId: number, list: Decoded[]): Promise<void> {
    const added = list.map((d) => ({id: this.session.nextId++, classId, blob: d.blob, width: d.width, height: d.height}));
    this.session.samples.push(...added);
    await this.store.putSamples(added); await this.store.put('nextId', this.session.nextId);
    this.showWarning(); this.render();
  }
  private async addFiles(classId: number, files: File[]): Promise<void> {
    const ok: Decoded[] = [];
    for (const f of files) {
      try {
        const d = await decodeSample(f, f.name);
        if (d.note) this.complain(`${d.note} (downscaled)`);
        ok.push(d);
      } catch (e) { this.complain((e as Error).message); }
    }
    if (ok.length) await this.addDecoded(classId, ok);
    this.say(`${ok.length} of ${files.length} file(s) added`);
  }
  private startRecording(classId: number): void {
    if (!this.camera) { this.complain('start the camera first'); return; }
    this.stopRecording();
    pub.recording = true;
    void this.addFrame(classId);
    this.recording = setInterval(() => void this.addFrame(classId), 100);
  }
  stopRecording(): void {
    if (this.recording) clearInterval(this.recording);
    this.recording = null;
    pub.recording = this.framing;
  }
  private async addFrame(classId: number): Promise<void> {
    if (this.framing) return; // a slow encode skips a tick rather than queueing frames
    this.framing = true;
    try { await this.addDecoded(classId, [await snapshot(this.ui.video)]); } catch (e) { this.complain((e as Error).message); }
    finally { this.framing = false; pub.recording = this.recording !== null; }
  }

  // ---------------- source and training ----------------
  private async sourceBytes(): Promise<{bytes: Uint8Array; name: string; arch?: string}> {
    if (this.ui.sourceSel.value === 'file') {
      if (!this.session.sourceFile) throw new Error('pick a safetensors file for the source network');
      return {...this.session.sourceFile, arch: this.ui.archSel.value || undefined};
    }
    const s = this.shipped.find((x) => x.name === this.ui.sourceSel.value);
    if (!s) throw new Error('no pretrained network is chosen');
    return {bytes: await fetchShipped(s), name: `${s.name}.safetensors`};
  }
  private settings(): TrainSettings {
    const u = this.ui;
    return {strategy: u.strategySel.value as PageStrategy, epochs: int(u.epochs, 'epochs', 1, 1000),
      lr: real(u.lr, 'learning rate', 1e-6, 1), batch: int(u.batch, 'batch', 1, 256),
      valShare: real(u.valShare, 'validation share', 0.05, 0.5),
      freeze: u.freeze.value.trim() === '' ? undefined : int(u.freeze, 'frozen layers k', 0, 1000), seed: 0,
      bn: u.bnSel.value as TrainSettings['bn']};
  }
  /** The classes that have samples, checked for training. */
  private trainingClasses(strategy: PageStrategy) {
    const used = this.session.classes.map((c) => ({c, samples: this.samplesOf(c.id)})).filter((x) => x.samples.length > 0);
    if (used.length < 2) {
      throw new Error(`training needs at least two classes with images; there ${used.length === 1 ? 'is one' : 'are none'}`);
    }
    const few = used.find((x) => x.samples.length < 2);
    if (few) throw new Error(`class '${few.c.name}' has one image: each class needs two (one is held out for validation)`);
    if (strategy === 'dann' && this.samplesOf(UNLABELLED).length < 2) {
      throw new Error('DANN adapts to unlabelled photos of the target domain: add at least two under "Unlabelled photos"');
    }
    return used;
  }
  async train(): Promise<void> {
    try {
      const settings = this.settings();
      const used = this.trainingClasses(settings.strategy);
      if (!device.take('images')) throw new Error(`the ${device.owner} view is training: stop it first`);
      try { await this.run(settings, used); } finally { device.release('images'); this.setBusy(false); }
    } catch (e) {
      pub.state = 'error';
      this.say(`error: ${plain(e)}`);
    }
  }
  private async run(settings: TrainSettings, used: ReturnType<ImagesView['trainingClasses']>): Promise<void> {
    const {charts} = this.ui;
    this.setBusy(true); this.stop = false; pub.state = 'training'; pub.records = 0; pub.evaluations = [];
    charts.loss.clear(); charts.acc.clear();
    this.say('loading the source network...');
    const {bytes, name, arch} = await this.sourceBytes();
    const source = await loadSource(bytes, name, arch);
    this.say('decoding the images...');
    const photos: RawImage[] = [], labels: number[] = [], unl: RawImage[] = [];
    for (const [k, x] of used.entries()) {
      for (const s of x.samples) { photos.push(await pixelsOf(s.blob, `sample ${s.id}`)); labels.push(k); }
    }
    if (settings.strategy === 'dann') for (const s of this.samplesOf(UNLABELLED)) unl.push(await pixelsOf(s.blob, `sample ${s.id}`));
    this.trained?.model.dispose();
    this.trained = null;
    const rates: number[] = [];
    const t = await trainOnSamples(source, photos, Int32Array.from(labels), used.map((x) => x.c.name), unl, settings, {
      status: (l) => this.say(l), shouldStop: () => this.stop, featureRate: (r) => { pub.featuresPerSecond = r; },
      pca: (rows) => { pub.pcaPoints = rows.length; void charts.pca.replace(rows); },
      sink: {
        record: (r) => {
          // The first steps compile pipelines: the rate is the median of the later ones.
          if (++pub.records > 3) {
            rates.push(r.examplesPerSecond);
            pub.trainImagesPerSecond = [...rates].sort((a, b) => a - b)[rates.length >> 1];
          }
          if (r.terms.domain_acc !== undefined) {
            pub.domainAccuracy = r.terms.domain_acc;
            charts.acc.add([{step: r.step, value: r.terms.domain_acc, series: 'domain classifier (train)'}]);
          }
          charts.loss.add([{step: r.step, value: r.loss, series: settings.strategy}]);
        },
        evaluation: ({step, metrics}) => {
          if (metrics.test_accuracy === undefined) return;
          pub.evaluations.push(metrics.test_accuracy);
          charts.acc.add([{step, value: metrics.test_accuracy, series: 'validation'}]);
        },
      },
    });
    if (t.model !== source.model) source.model.dispose();
    this.trained = t;
    pub.trained = true; pub.valAccuracy = t.valAccuracy;
    await this.store.put('trained', {name: 'trained.safetensors', bytes: await trainedBytes(t)}); this.showWarning();
    pub.state = t.stopped ? 'stopped' : 'done';
    this.say(`${t.stopped ? 'stopped' : 'done'}: validation accuracy ${(100 * t.valAccuracy).toFixed(1)}% (${t.strategy}); ` +
      'the weights are kept in this browser');
  }
  async exportWeights(): Promise<void> {
    const t = this.trained;
    if (!t) return;
    downloadBytes(`${t.spec.arch}-${t.classNames.length}-classes.safetensors`, await trainedBytes(t));
  }

  // ---------------- preview, camera, source file ----------------
  private async show(photo: RawImage, file: string): Promise<void> {
    const t = this.trained;
    if (!t) { this.say('train first (or wait for the restored weights)'); return; }
    const {logits, probs} = await predict(t.model, t.size, photo);
    pub.prediction = {file, top: t.classNames[probs.indexOf(Math.max(...probs))], logits, probs};
    drawBars(this.ui.bars, t.classNames, probs);
  }
  async previewFile(f: File): Promise<void> {
    try { await this.show(await pixelsOf(f, f.name), f.name); } catch (e) { this.complain((e as Error).message); }
  }
  /** One live-preview frame, unless one is in flight, training holds the device, or nothing is there to show. */
  liveTick(): void {
    if (!this.ui.previewLive.checked || !this.camera || !this.trained || this.liveBusy || device.owner) return;
    this.liveBusy = true;
    void this.show(framePixels(this.ui.video), 'camera').finally(() => { this.liveBusy = false; });
  }
  async startCamera(): Promise<void> {
    try {
      this.camera ??= await openCamera();
      const v = this.ui.video;
      v.srcObject = this.camera; v.classList.remove('hidden'); await v.play();
      this.say('camera on: hold a class\'s record button to add frames');
    } catch (e) { this.complain((e as Error).message); this.say(`camera: ${(e as Error).message}`); }
  }
  async pickSourceFile(f: File): Promise<void> {
    try {
      const bytes = new Uint8Array(await f.arrayBuffer());
      const s = await loadSource(bytes, f.name, this.ui.archSel.value || undefined);
      this.ui.sourceInfo.textContent = `${f.name}: a ${s.info.spec.arch} with ${s.info.spec.classes} classes, ${s.info.imageSize} px`;
      s.model.dispose();
      this.session.sourceFile = {name: f.name, bytes};
      await this.store.put('sourceFile', this.session.sourceFile); this.showWarning();
      this.ui.sourceSel.value = 'file'; this.saveSettings();
    } catch (e) { this.complain(plain(e)); this.ui.sourceInfo.textContent = plain(e); }
  }
  async clear(): Promise<void> {
    await this.store.clear(); this.showWarning();
    for (const u of this.urls.values()) URL.revokeObjectURL(u);
    this.urls.clear(); this.trained?.model.dispose(); this.trained = null; pub.trained = false;
    this.session = emptySession(); pub.messages = []; this.ui.messages.textContent = ''; this.ui.bars.textContent = '';
    await this.addClass(); await this.addClass(); this.setBusy(false); this.say('cleared');
  }

  // ---------------- start ----------------
  private applySettings(st: Record<string, string>): void {
    const u = this.ui;
    if (st.source && Array.from(u.sourceSel.options).some((o) => o.value === st.source)) u.sourceSel.value = st.source;
    if (st.strategy) u.strategySel.value = st.strategy;
    if (st.arch) u.archSel.value = st.arch;
    if (st.freeze !== undefined) u.freeze.value = st.freeze;
    if (st.bn && Array.from(u.bnSel.options).some((o) => o.value === st.bn)) u.bnSel.value = st.bn;
    const numbers = [[u.epochs, 'epochs'], [u.lr, 'lr'], [u.batch, 'batch'], [u.valShare, 'val']] as const;
    for (const [input, k] of numbers) if (st[k]) input.value = st[k];
  }
  /** Opens the store, lists the shipped sources, and restores the kept session (weights included). */
  async restore(): Promise<void> {
    this.store = await ImageStore.open();
    this.shipped = await shippedSources().catch(() => []);
    for (const s of this.shipped) {
      this.ui.sourceSel.append(el('option', {value: s.name, text: `${s.name} (${s.arch}, ${s.image_size ?? '?'} px` +
        `${s.test_accuracy ? `, ${(100 * s.test_accuracy).toFixed(1)}% on its test set` : ''})`}));
    }
    this.ui.sourceSel.append(el('option', {value: 'file', text: 'a safetensors file of your own'}));
    try { this.session = await this.store.load(); } catch (e) { this.complain(`the stored session could not be read: ${plain(e)}`); }
    this.applySettings(this.session.settings);
    if (this.session.sourceFile) this.ui.sourceInfo.textContent = `${this.session.sourceFile.name} (kept from before)`;
    if (!this.session.classes.length) { await this.addClass(); await this.addClass(); }
    this.render(); this.showWarning(); this.setBusy(false);
    const {classes, samples} = this.session;
    if (this.session.trained) {
      try {
        this.trained = await trainedFrom(this.session.trained.bytes, this.session.trained.name);
        pub.trained = true; this.setBusy(false);
        this.say(`restored: ${classes.length} classes, ${samples.length} images and the trained weights`);
      } catch (e) { this.complain(`the kept weights could not be restored: ${plain(e)}`); }
    } else {
      this.say(samples.length ? `restored: ${classes.length} classes, ${samples.length} images`
        : 'add images to two or more classes, then train');
    }
    pub.ready = true;
  }

  wire(): void {
    const u = this.ui;
    u.addClassBtn.addEventListener('click', () => void this.addClass());
    u.trainBtn.addEventListener('click', () => void this.train());
    u.stopBtn.addEventListener('click', () => { this.stop = true; this.say('stopping after this step...'); });
    u.exportBtn.addEventListener('click', () => void this.exportWeights());
    u.clearBtn.addEventListener('click', () => void this.clear());
    u.cameraBtn.addEventListener('click', () => void this.startCamera());
    for (const ev of ['pointerup', 'pointercancel', 'blur']) window.addEventListener(ev, () => this.stopRecording());
    for (const input of [u.sourceSel, u.archSel, u.strategySel, u.freeze, u.bnSel, u.epochs, u.lr, u.batch, u.valShare]) {
      input.addEventListener('change', () => this.saveSettings());
    }
    u.sourceFile.addEventListener('change', () => {
      const f = u.sourceFile.files?.[0];
      if (f) void this.pickSourceFile(f).finally(() => { u.sourceFile.value = ''; });
    });
    u.previewFile.addEventListener('change', () => {
      const f = u.previewFile.files?.[0];
      if (f) void this.previewFile(f);
      u.previewFile.value = '';
    });
    u.preview.addEventListener('dragover', (e) => e.preventDefault());
    u.preview.addEventListener('drop', (e) => {
      e.preventDefault();
      const f = e.dataTransfer?.files[0];
      if (f) void this.previewFile(f);
    });
    setInterval(() => this.liveTick(), 250);
  }
}

/** Mounts the view into `root` (main.ts, the first time its tab opens). */
export function mountImages(root: HTMLElement): void {
  page.views.images = pub;
  const view = new ImagesView(imagesMarkup(root));
  view.wire();
  void view.restore();
}
