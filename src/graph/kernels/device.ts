// What the selection tables ask of the adapter, and the placeholder buffer launchers bind for unread bindings.
import {stagingTextureRows, type BufferBinding} from '../../gpu/runtime.js';
import {keep, rt} from '../engine.js';
import {llvmpipeMesa} from '../kernel-def.js';
import {empty, type Tensor} from '../tensor.js';

/** A CPU adapter (llvmpipe, SwiftShader): few cores, loads dearer than multiply-adds. */
export const onCpu = (): boolean => rt().ctx.report.isCpu;

/** A CPU adapter in compatibility mode (llvmpipe here): where the larger conv tiles were measured and pay. */
export const onCompatCpu = (): boolean => onCpu() && rt().ctx.report.featureLevel === 'compatibility';

/**
 * Whether a private array indexed at run time compiles to loads: not through Dawn's GL backend (compatibility mode),
 * where Mesa turns each such access into a branch per element (a 256-vec4 array: 30 s to compile became 416 s).
 */
export const indexedArraysCheap = (): boolean => rt().ctx.report.featureLevel !== 'compatibility';

/** SwiftShader, whose shader compile time grows steeply with a tile's live values. */
export const onSwiftShader = (): boolean => rt().ctx.report.architecture === 'swiftshader';

// Launchers keep a thread's loop iterations within LOOP_STEPS_MAX where loopsLimited() (kernel-def.ts).
export {LOOP_STEPS_MAX, loopsLimited, loopSteps} from '../kernel-def.js';

/**
 * Whether the tables read a source of `floats` through the staging texture (Runtime.copyToTexture) rather than from
 * storage: on llvmpipe before Mesa 26, whose storage loads could go lane by lane (about 10x a texture load,
 * docs/kernel-measurements.md#load-paths), where the texture can hold it. Mesa 26.1 loads storage at a third of a
 * texture's cost (docs/kernel-measurements.md#texture-reads). Measured choices weigh both either way.
 */
export const readsThroughTexture = (floats: number): boolean => texturesPreferred() && textureTwinFits(floats);
/**
 * Whether a kernel's texture twin can read a source of `floats` at all (its `fits`, whatever the tables prefer):
 * llvmpipe's compatibility mode, where the staging texture can hold it.
 */
export const textureTwinFits = (floats: number): boolean => onCompatCpu() && stagingTextureFits(floats);
/** The tables' texture rule on llvmpipe: before Mesa 26 (or where no release is named). */
export const texturesPreferred = (): boolean => { const mesa = llvmpipeMesa(); return mesa === null || mesa < 26; };

/** Whether `floats` fit the staging texture (its rows at most maxTextureDimension2D). */
export const stagingTextureFits = (floats: number): boolean =>
  stagingTextureRows(floats) <= rt().device.limits.maxTextureDimension2D;

/**
 * A kernel's source as bound: its buffer, or (`texture`) a copy of it in the staging texture, which the kernel's
 * texture twin (readThroughTexture) reads. Each copy replaces its slot's contents for the dispatches after it.
 */
export const sourceBinding = (t: Tensor, texture: boolean, slot = 0): BufferBinding =>
  (texture ? {view: rt().copyToTexture(t.buffer, t.size, slot)} : t.buffer);

/** Whether the device has the `subgroups` feature (requested wherever the adapter offers it: gpu/device.ts). */
export const hasSubgroups = (): boolean => rt().device.features.has('subgroups');

/** Threads a split reduction aims for: a few workgroups per core on CPU adapters, thousands on GPUs. */
export const splitThreads = (): number => (onCpu() ? 256 : 16384);

// Bound where a variant's shader declares a buffer it does not read (WGSL's layout still counts it).
let dummy: {rtRef: unknown; t: Tensor} | null = null;
export function dummyBuffer(): GPUBuffer {
  if (!dummy || dummy.rtRef !== rt()) dummy = {rtRef: rt(), t: rt().once(() => keep(empty([4])))};
  return dummy.t.buffer;
}
