// Device acquisition: the one place where Node (Dawn via the `webgpu` package) and the browser differ.
// Knows nothing of tensors.

export type BackendChoice = 'auto' | 'vulkan' | 'swiftshader' | 'llvmpipe' | 'opengles' | 'browser';

export interface DeviceOptions {
  /** Which adapter to use; default from env WGT_BACKEND, else 'auto' (hardware, then SwiftShader, then llvmpipe). */
  backend?: BackendChoice;
  /** Dawn toggles to enable (Node only), e.g. ['disable_robustness','skip_validation','disable_workgroup_init'].
   *  Default from env WGT_DAWN_TOGGLES (comma separated); WGT_FAST=1 selects the three above. */
  toggles?: string[];
}

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
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  report: AdapterReport;
  /** Set when the device is lost; every later submit throws this. */
  lostReason: string | null;
  /** First uncaptured GPU error (validation, out of memory); thrown at the next submit or read. */
  error: string | null;
}

export const FAST_TOGGLES = ['disable_robustness', 'skip_validation', 'disable_workgroup_init'];

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];
const FIX_COMMAND = 'bash scripts/setup.sh   (installs libvulkan1, chromium (SwiftShader), libegl1 libegl-mesa0 libgles2)';

type Env = Record<string, string | undefined>;
const env = (): Env => (typeof process !== 'undefined' && process.env ? process.env : {});

function describe(adapter: GPUAdapter, backend: BackendChoice, featureLevel: 'core' | 'compatibility', toggles: string[]): AdapterReport {
  const info = adapter.info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = [device, info?.description].filter(Boolean).join(', ');
  const text = `${vendor} ${architecture} ${description}`.toLowerCase();
  const isFallback = Boolean((info as unknown as {isFallbackAdapter?: boolean})?.isFallbackAdapter ?? (adapter as unknown as {isFallbackAdapter?: boolean}).isFallbackAdapter);
  const isCpu = isFallback || /swiftshader|llvmpipe|lavapipe|softpipe|software|cpu/.test(text);
  return {backend, vendor, architecture, description, isCpu, isFallback, featureLevel, toggles};
}

async function requestDevice(adapter: GPUAdapter, report: AdapterReport): Promise<GpuContext> {
  // Ask for what the adapter offers in the limits our kernels care about; defaults are lower than SwiftShader's.
  const want: (keyof GPUSupportedLimits)[] = [
    'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxStorageBufferBindingSize', 'maxBufferSize',
    'maxComputeWorkgroupsPerDimension',
  ];
  const requiredLimits: Record<string, number> = {};
  for (const k of want) {
    const v = adapter.limits[k];
    if (typeof v === 'number') requiredLimits[k as string] = v;
  }
  const device = await adapter.requestDevice({requiredLimits});
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
  if (!nav?.gpu) throw new Error('webgpu-transfer: navigator.gpu is missing: WebGPU needs a secure context (https or 127.0.0.1) and a browser with WebGPU enabled (Chromium: --enable-unsafe-webgpu)');
  const adapter = await nav.gpu.requestAdapter();
  if (!adapter) throw new Error('webgpu-transfer: navigator.gpu.requestAdapter() returned null (no WebGPU adapter in this browser)');
  return requestDevice(adapter, describe(adapter, 'browser', 'core', []));
}

async function nodeDevice(opts: DeviceOptions): Promise<GpuContext> {
  const e = env();
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  const backend = (opts.backend ?? (e.WGT_BACKEND as BackendChoice | undefined) ?? 'auto') as BackendChoice;
  const valid: BackendChoice[] = ['auto', 'vulkan', 'swiftshader', 'llvmpipe', 'opengles'];
  if (!valid.includes(backend)) throw new Error(`webgpu-transfer: unknown backend '${backend}' (WGT_BACKEND or option backend): use one of ${valid.join(', ')}`);
  const toggles = opts.toggles ?? (e.WGT_DAWN_TOGGLES ? e.WGT_DAWN_TOGGLES.split(',').filter(Boolean) : e.WGT_FAST === '1' ? FAST_TOGGLES : []);
  const dawnFlags = toggles.length ? [`enable-dawn-features=${toggles.join(',')}`] : [];
  const tried: string[] = [];
  const { existsSync } = await import('node:fs');

  const tryVulkan = async (label: BackendChoice): Promise<GpuContext | null> => {
    const gpu = webgpu.create(['backend=vulkan', ...dawnFlags]);
    const adapter = await gpu.requestAdapter({powerPreference: 'high-performance'});
    if (!adapter) { tried.push(`${label}: no Vulkan adapter (VK_ICD_FILENAMES=${e.VK_ICD_FILENAMES ?? 'unset'})`); return null; }
    const report = describe(adapter, label, 'core', toggles);
    (globalThis as Record<string, unknown>).__wgtGpu = gpu; // keep the instance alive as long as the device
    return requestDevice(adapter, report);
  };
  const trySwiftShader = async (): Promise<GpuContext | null> => {
    const icd = [e.WGT_SWIFTSHADER_ICD, ...SWIFTSHADER_ICDS].find((p) => p && existsSync(p));
    if (!icd) { tried.push(`swiftshader: no vk_swiftshader_icd.json in ${SWIFTSHADER_ICDS.join(', ')}`); return null; }
    if (!hasVulkanLoader(existsSync)) { tried.push('swiftshader: libvulkan.so.1 not found (Debian package libvulkan1)'); return null; }
    e.VK_ICD_FILENAMES = icd;
    return tryVulkan('swiftshader');
  };
  const tryGles = async (label: BackendChoice): Promise<GpuContext | null> => {
    e.EGL_PLATFORM ??= 'surfaceless';
    const gpu = webgpu.create(['backend=opengles', ...dawnFlags]);
    const adapter = await gpu.requestAdapter({featureLevel: 'compatibility'} as GPURequestAdapterOptions);
    if (!adapter) { tried.push(`${label}: no OpenGL ES adapter (needs libegl1 libegl-mesa0 libgles2, EGL_PLATFORM=surfaceless)`); return null; }
    (globalThis as Record<string, unknown>).__wgtGpu = gpu;
    return requestDevice(adapter, describe(adapter, label, 'compatibility', toggles));
  };

  let ctx: GpuContext | null = null;
  if (backend === 'vulkan') ctx = await tryVulkan('vulkan');
  else if (backend === 'swiftshader') ctx = await trySwiftShader();
  else if (backend === 'llvmpipe' || backend === 'opengles') ctx = await tryGles(backend);
  else {
    // auto: a hardware Vulkan driver if one is installed, else SwiftShader, else llvmpipe through GLES.
    if (e.VK_ICD_FILENAMES || e.VK_DRIVER_FILES || hasSystemIcd(existsSync)) {
      ctx = await tryVulkan('vulkan');
      if (ctx && ctx.report.isCpu && !e.VK_ICD_FILENAMES) ctx.report.backend = 'swiftshader';
    }
    ctx ??= await trySwiftShader();
    ctx ??= await tryGles('llvmpipe');
    // Debian 13's newer Mesa lavapipe may pass Dawn's checks (12's 22.3 does not): a last resort, detected.
    const lvp = lavapipeIcd(existsSync);
    if (!ctx && lvp && !e.VK_ICD_FILENAMES?.includes('lvp')) { e.VK_ICD_FILENAMES = lvp; ctx = await tryVulkan('vulkan'); }
  }
  if (!ctx) throw new Error(`webgpu-transfer: no WebGPU adapter found (backend '${backend}'). Tried:\n  - ${tried.join('\n  - ')}\nFix: ${FIX_COMMAND}`);
  return ctx;
}

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];

/** Vulkan driver manifests installed on this machine (full paths). */
function icdFiles(exists: (p: string) => boolean): string[] {
  return ICD_DIRS.filter(exists).flatMap((d) => listDir(d).filter((f) => f.endsWith('.json')).map((f) => `${d}/${f}`));
}
const isLavapipe = (path: string) => /\/lvp[^/]*$/.test(path);
function hasSystemIcd(exists: (p: string) => boolean): boolean { return icdFiles(exists).some((p) => !isLavapipe(p)); }
function lavapipeIcd(exists: (p: string) => boolean): string | null { return icdFiles(exists).find(isLavapipe) ?? null; }
function listDir(d: string): string[] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('node:fs') as typeof import('node:fs')).readdirSync(d);
  } catch { return []; }
}
function hasVulkanLoader(exists: (p: string) => boolean): boolean {
  return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1',
    '/usr/lib64/libvulkan.so.1', '/usr/lib/chromium/libvulkan.so.1'].some(exists);
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as {window?: unknown}).window === 'undefined';

/** Acquire a device: Dawn in Node, navigator.gpu in a browser. */
export async function getDevice(opts: DeviceOptions = {}): Promise<GpuContext> {
  return isNode ? nodeDevice(opts) : browserDevice();
}

export function formatReport(r: AdapterReport): string {
  return `${r.backend} adapter: vendor=${r.vendor || '?'} architecture=${r.architecture || '?'} (${r.description || 'no description'})` +
    `${r.isCpu ? ', software/CPU' : ', hardware'}${r.isFallback ? ', fallback' : ''}, ${r.featureLevel}` +
    (r.toggles.length ? `, toggles ${r.toggles.join(',')}` : '');
}
