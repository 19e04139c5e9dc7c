// Layers as transfer sees them: the modules that own parameters, in forward order (for LeNet-5: conv1, conv2,
// fc1, fc2, fc3), selected by position (the first k, the last k) or by name, copied from a source model and
// frozen. Errors name the layer, so a model that does not fit is refused before any training.
import type {Tensor} from '../graph/tensor.js';
import {Module} from '../nn/module.js';
import {isHeadedModel, type HeadedModel} from '../nn/models.js';
import {Sequential} from '../nn/layers.js';
import {fmt} from '../graph/tensor.js';

/** A module that owns parameters, with its dotted name and its parameters: the unit transfer copies and freezes. */
export interface Layer { name: string; module: Module; params: Tensor[] }

/** Modules that own parameters directly, in registration (forward) order. */
export function parameterLayers(model: Module): Layer[] {
  const out: Layer[] = [];
  for (const [name, m] of model.namedModules()) {
    const own = [...m.namedParameters()].filter(([n]) => !n.includes('.')).map(([, p]) => p);
    if (own.length) out.push({name, module: m, params: own});
  }
  return out;
}

/** Which layers: 'all', the first k or last k parameter layers in forward order, or by name. */
export type LayerSelection = 'all' | {first: number} | {last: number} | {names: string[]};

const describe = (sel: LayerSelection) => (typeof sel === 'string' ? sel : JSON.stringify(sel));

/** The layers a selection names; throws naming the problem (k out of range, unknown name). */
export function selectLayers(model: Module, sel: LayerSelection): Layer[] {
  const layers = parameterLayers(model);
  const names = layers.map((l) => l.name).join(', ');
  if (sel === 'all') return layers;
  if ('first' in sel || 'last' in sel) {
    const k = 'first' in sel ? sel.first : sel.last;
    if (!Number.isInteger(k) || k < 0 || k > layers.length) {
      throw new Error(`webgpu-transfer: layer selection ${describe(sel)}: k must be an integer in 0..${layers.length} (the model's layers with parameters: ${names})`);
    }
    return 'first' in sel ? layers.slice(0, k) : layers.slice(layers.length - k);
  }
  return sel.names.map((n) => {
    const l = layers.find((x) => x.name === n);
    if (!l) throw new Error(`webgpu-transfer: layer selection: no layer with parameters named '${n}' (layers: ${names})`);
    return l;
  });
}

/** Whether every parameter and buffer of two layers has the same shape. */
export function sameShapes(a: Module, b: Module): boolean {
  const sa = a.stateDict(), sb = b.stateDict();
  if (sa.size !== sb.size) return false;
  for (const [k, t] of sa) {
    const u = sb.get(k);
    if (!u || u.shape.length !== t.shape.length || u.shape.some((d, i) => d !== t.shape[i])) return false;
  }
  return true;
}

/**
 * Copies the selected layers' parameters and buffers from `source` into the same-named layers of `target`.
 * Returns the copied target layers. Throws naming the layer on a missing layer or a shape mismatch.
 */
export function copyLayers(source: Module, target: Module, sel: LayerSelection): Layer[] {
  const chosen = selectLayers(source, sel);
  const targetLayers = new Map(parameterLayers(target).map((l) => [l.name, l]));
  return chosen.map((l) => {
    const t = targetLayers.get(l.name);
    if (!t) throw new Error(`webgpu-transfer: copy layers: the target model has no layer '${l.name}' to copy into`);
    if (!sameShapes(l.module, t.module)) {
      const shapes = (m: Module) => [...m.stateDict()].map(([k, v]) => `${k}${fmt(v.shape)}`).join(' ');
      throw new Error(`webgpu-transfer: copy layers: layer '${l.name}' differs in shape: source ${shapes(l.module)}, target ${shapes(t.module)}`);
    }
    t.module.copyFrom(l.module);
    return t;
  });
}

/** The names of the layers whose shapes agree between two models (what fine-tuning copies by default). */
export function matchingLayers(source: Module, target: Module): string[] {
  const src = new Map(parameterLayers(source).map((l) => [l.name, l]));
  return parameterLayers(target).filter((l) => src.has(l.name) && sameShapes(src.get(l.name)!.module, l.module)).map((l) => l.name);
}

/** Runs a headed model's body: its features, without the head (the trunk transfer sees). */
class FeaturesOf extends Module {
  constructor(readonly model: HeadedModel) { super(); }
  forward(x: Tensor): Tensor { return this.model.features(x); }
}

/**
 * A model split before its head: a Sequential before its last layer with parameters, or a HeadedModel (ResNet,
 * MobileNetV2) into its features and its head. The trunk gives features, the head reads them.
 */
export function splitHead(model: Module): {trunk: Module[]; head: Module[]} {
  if (isHeadedModel(model)) return {trunk: [new FeaturesOf(model)], head: [model.head]};
  if (!(model instanceof Sequential)) throw new Error(`webgpu-transfer: transfer: the model must be a Sequential (layers in order) or a model with a head (models.ResNet, models.MobileNetV2) to find its head, got ${model.constructor.name}`);
  const last = parameterLayers(model).pop();
  const at = last ? model.layers.indexOf(last.module) : -1;
  if (at < 0) throw new Error('webgpu-transfer: transfer: the model has no top-level layer with parameters to use as its head');
  return {trunk: model.layers.slice(0, at), head: model.layers.slice(at)};
}

/** Runs modules one after another on x (a trunk or a head given as a list). */
export const runLayers = (layers: Module[], x: Tensor): Tensor => layers.reduce((h, l) => l.forward(h), x);
