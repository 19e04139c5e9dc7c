// Layer transfer (the notes' third setup): copy some layers of the source model, freeze them, train the rest.
// Which layers: the first k (the features that transfer best when tasks differ), the last k (when inputs
// differ but the task is the same, as the notes' speech example), or by name. Frozen layers run no
// weight-gradient kernels and get no optimizer updates; their weights stay bit-identical. With `fineTune` the
// copied layers train too (Yosinski et al. 2014's "transfer + fine-tune" arm of the transferability curve).
import {FineTune, type FineTuneOptions} from './finetune.js';
import type {LayerSelection} from './layers.js';

/** Options of LayerTransfer: FineTune's, with the layers to copy and whether they train too. */
export interface LayerTransferOptions extends Omit<FineTuneOptions, 'copy' | 'freeze'> {
  /** The layers to copy: {first: k}, {last: k} or {names: [...]}. */
  layers: LayerSelection;
  /** Train the copied layers too instead of freezing them (default false). */
  fineTune?: boolean;
}

/**
 * Layer transfer: copies the chosen source layers ({first: k}, {last: k} or by name) and freezes them (no gradient
 * kernels, no updates), or fine-tunes them with `fineTune`.
 */
export class LayerTransfer extends FineTune {
  constructor(o: LayerTransferOptions) {
    if (!o.layers) throw new Error('webgpu-transfer: LayerTransfer: give layers ({first: k}, {last: k} or {names})');
    super({name: 'layer-transfer', ...o, copy: o.layers, freeze: !o.fineTune});
  }
}
