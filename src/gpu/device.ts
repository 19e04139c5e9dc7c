// Device acquisition: the one place where Node (Dawn via the `webgpu` package) and the browser differ.
// Knows nothing of tensors. The Node half (Dawn, adapter choice) is in node-device.ts; the browser bundle
// replaces that module with node-device.browser.ts, so it never imports the `webgpu` package.
import {nodeDevice} from './node-device.js';
export {readTuneCache, tuneCachePath, writeTuneCache, type TuneCacheName} from './node-device.js';

/**
 * Which WebGPU adapter to use: 'auto' picks a hardware GPU, else llvmpipe, else SwiftShader; 'browser' is
 * navigator.gpu.
 */
export type BackendChoice = 'auto' | 'vulkan' | 'swiftshader' | 'llvmpipe' | 'opengles' | 'browser';

/** Options of init(): the adapter (backend) and Dawn toggles. */
export interface DeviceOptions {
  /** Which adapter to use; default from env WGT_BACKEND, else 'auto': a hardware GPU, else the fastest CPU
   *  adapter (llvmpipe, then SwiftShader). */
  backend?: BackendChoice;
  /** Dawn toggles to enable (Node only), e.g. ['disable_robustness','skip_validation','disable_workgroup_init'].
   *  Default from env WGT_DAWN_TOGGLES (comma separated); WGT_FAST=1 selects the three above. */
  toggles?: string[];
}

/** The adapter the engine runs on, as adapter() reports it. */
export interface AdapterReport {
  backend: BackendChoice;
  vendor: string;
  architecture: string;
  description: string;
  /** True for software adapters (SwiftShader, llvmpipe): kernels pick CPU-friendly variants. */
  isCpu: boolean;
  isFallback: boolean;
  featureLevel: 'core' | 'compatibility';
  toggles: string[];
  /** Why this adapter was chosen (for `auto`: what was found and what was passed over). */
  reason: string;
}

/** An acquired WebGPU device with its adapter, the report, and its lost / error state. */
export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  report: AdapterReport;
  /** Set when the device is lost; every later submit throws this. */
  lostReason: string | null;
  /** First uncaptured GPU error (validation, out of memory); thrown at the next submit or read. */
  error: string | null;
}

/** The Dawn toggles WGT_FAST=1 enables: faster, but without bounds checks and validation. */
export const FAST_TOGGLES = ['disable_robustness', 'skip_validation', 'disable_workgroup_init'];

export function describe(
  adapter: GPUAdapter, backend: BackendChoice, featureLevel: 'core' | 'compatibility', toggles: string[], reason: string,
): AdapterReport {
  const info = adapter.info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = [device, info?.description].filter(Boolean).join(', ');
  const text = `${vendor} ${architecture} ${description}`.toLowerCase();
  type MaybeFallback = {isFallbackAdapter?: boolean};
  const isFallback = Boolean((info as unknown as MaybeFallback)?.isFallbackAdapter ??
    (adapter as unknown as MaybeFallback).isFallbackAdapter);
  const isCpu = isFallback || /swiftshader|llvmpipe|lavapipe|softpipe|software|cpu/.test(text);
  return {backend, vendor, architecture, description, isCpu, isFallback, featureLevel, toggles, reason};
}

export async function requestDevice(adapter: GPUAdapter, report: AdapterReport): Promise<GpuContext> {
  // Ask for what the adapter offers in the limits our kernels care about; defaults are lower than SwiftShader's.
  const want: (keyof GPUSupportedLimits)[] = [
    'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxStorageBufferBindingSize', 'maxBufferSize',
    'maxComputeWorkgroupsPerDimension', 'maxUniformBufferBindingSize',
  ];
  const requiredLimits: Record<string, number> = {};
  for (const k of want) {
    const v = adapter.limits[k];
    if (typeof v === 'number') requiredLimits[k as string] = v;
  }
  // Timestamp queries let the profiler (wt.profile, WGT_PROFILE=1) time each kernel inside one submit.
  // Subgroups let a reduction add within a subgroup in registers (kernels/reduce/select.ts).
  const requiredFeatures = (['timestamp-query', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({requiredLimits, requiredFeatures});
  const ctx: GpuContext = {device, adapter, report, lostReason: null, error: null};
  device.lost.then((info) => {
    if (info.reason === 'destroyed') return;
    ctx.lostReason = `GPU device lost (${info.reason}): ${info.message}`;
    console.error(`webgpu-transfer: ${ctx.lostReason}`);
  });
  device.addEventListener?.('uncapturederror', (ev: Event) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    ctx.error ??= `GPU error: ${err.message}`;
    // The engine throws it at the next submit or read (after an out-of-memory error, that one instead):
    // without this, Dawn also prints every error raw to stderr.
    ev.preventDefault();
  });
  return ctx;
}

async function browserDevice(): Promise<GpuContext> {
  const nav = (globalThis as {navigator?: Navigator}).navigator;
  if (!nav?.gpu) {
    throw new Error('webgpu-transfer: navigator.gpu is missing: WebGPU needs a secure context (https or 127.0.0.1) ' +
      'and a browser with WebGPU enabled (Chromium: --enable-unsafe-webgpu)');
  }
  const adapter = await nav.gpu.requestAdapter();
  if (!adapter) {
    throw new Error('webgpu-transfer: navigator.gpu.requestAdapter() returned null (no WebGPU adapter in this browser)');
  }
  return requestDevice(adapter, describe(adapter, 'browser', 'core', [], 'navigator.gpu in this browser'));
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node &&
  typeof (globalThis as {window?: unknown}).window === 'undefined';

/** Acquire a device: Dawn in Node, navigator.gpu in a browser. */
export async function getDevice(opts: DeviceOptions = {}): Promise<GpuContext> {
  return isNode ? nodeDevice(opts) : browserDevice();
}

/** The identity of an adapter for the tune caches: backend, vendor, architecture, description, level, toggles. */
export const adapterKey = (r: AdapterReport): string =>
  `${r.backend}|${r.vendor}|${r.architecture}|${r.description}|${r.featureLevel}|${r.toggles.join(',')}`;

/** One line describing the adapter (backend, vendor, software or hardware, toggles, why chosen). */
export function formatReport(r: AdapterReport): string {
  return `${r.backend} adapter: vendor=${r.vendor || '?'} architecture=${r.architecture || '?'} ` +
    `(${r.description || 'no description'})${r.isCpu ? ', software/CPU' : ', hardware'}${r.isFallback ? ', fallback' : ''}` +
    `, ${r.featureLevel}${r.toggles.length ? `, toggles ${r.toggles.join(',')}` : ''}${r.reason ? `; ${r.reason}` : ''}`;
}
