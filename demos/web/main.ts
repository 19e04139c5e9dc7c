// The live training page: a tab per view over one WebGPU device.
//  - built-in demos (builtin.ts): the transfer setups on the bundled datasets;
//  - your images (images.ts): a pretrained network taught your own classes, kept in IndexedDB;
//  - multitask (multitask.ts): digits and clothes through one shared trunk, with the learned task weights;
//  - capsnet (capsnet.ts): a CapsNet trained live, then its poses, couplings and lengths explored beside a CNN;
// Each view is its own module with a mount function; this file starts the device and switches views.
// Everything below the page (loop, strategies, datasets, kernels) is the same code the Node side runs.
import * as wt from '../../src/index.js';
import {disableBuiltin, startBuiltin} from './builtin.js';
import {mountImages} from './images.js';
import {mountCapsnet} from './capsnet.js';
import {$} from './dom.js';
import {mountMultitask} from './multitask.js';
import {page} from './state.js';

/** The views besides the built-in demos: mounted into #view-<name> the first time their tab is opened. */
const views: Record<string, {mount: (root: HTMLElement) => void; mounted?: boolean}> = {};
views.images = {mount: mountImages};
views.multitask = {mount: mountMultitask};
views.capsnet = {mount: mountCapsnet};

function show(name: string): void {
  page.view = name;
  for (const tab of Array.from(document.querySelectorAll<HTMLButtonElement>('#tabs button'))) {
    const on = tab.dataset.view === name;
    tab.classList.toggle('active', on);
    $(`view-${tab.dataset.view}`).classList.toggle('hidden', !on);
  }
  const v = views[name];
  if (v && !v.mounted) { v.mounted = true; v.mount($(`view-${name}`)); }
}

function refuse(message: string, adapterLine: string): void {
  const box = $('nogpu');
  box.style.display = 'block';
  box.textContent = message;
  $('adapter').textContent = adapterLine;
  page.state = 'error'; page.error = message;
  disableBuiltin();
}

async function main(): Promise<void> {
  if (!('gpu' in navigator)) {
    refuse('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge (on Linux, start it ' +
      'with --enable-unsafe-webgpu), over http://127.0.0.1 or https.', 'no WebGPU');
    page.error = 'no WebGPU';
    return;
  }
  try {
    await wt.init();
  } catch (e) {
    refuse(`WebGPU is there, but no adapter could be used: ${(e as Error).message}`, 'no WebGPU adapter');
    page.error = (e as Error).message;
    return;
  }
  page.adapter = wt.debug.formatReport(wt.adapter());
  $('adapter').textContent = `adapter: ${page.adapter}`;
  for (const tab of Array.from(document.querySelectorAll<HTMLButtonElement>('#tabs button'))) {
    tab.disabled = false;
    tab.addEventListener('click', () => show(tab.dataset.view!));
  }
  startBuiltin();
  const wanted = new URLSearchParams(location.search).get('view');
  if (wanted && $(`view-${wanted}`)) show(wanted);
}
void main();
