// Device acquisition in Node: Dawn through the npm package `webgpu`, and the choice among the adapters this
// machine has. The browser bundle swaps this module for node-device.browser.ts (scripts/build.mjs).
import {existsSync, readdirSync} from 'node:fs';
import {
  describe, FAST_TOGGLES, requestDevice, type AdapterReport, type BackendChoice, type DeviceOptions, type GpuContext,
} from './device.js';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];
const FIX_COMMAND = 'bash scripts/setup.sh   (installs libvulkan1, chromium (SwiftShader), ' +
  'libegl1 libegl-mesa0 libgles2 libegl-dev)';
// Dawn's OpenGL ES backend prints these two lines to stderr (from native code, so they cannot be caught here)
// each time it opens an adapter. They are harmless: no kernel here uses dynamic buffer offsets.
const GLES_WARNINGS = "the two 'maxDynamic...artificially reduced' warnings from Dawn's GLES backend are harmless " +
  '(no dynamic offsets here)';

// The SwiftShader probe sets VK_ICD_FILENAMES (the Vulkan loader reads only the environment); remembered so a
// later `auto` in this process does not mistake it for a driver the user named.
let icdSetHere: string | undefined;

type Backend = Exclude<BackendChoice, 'browser'>;
const VALID: Backend[] = ['auto', 'vulkan', 'swiftshader', 'llvmpipe', 'opengles'];

export async function nodeDevice(opts: DeviceOptions): Promise<GpuContext> {
  const e = process.env;
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  const backend = (opts.backend ?? e.WGT_BACKEND ?? 'auto') as Backend;
  if (!VALID.includes(backend)) {
    throw new Error(`webgpu-transfer: unknown backend '${backend}' (WGT_BACKEND or option backend): ` +
      `use one of ${VALID.join(', ')}`);
  }
  const toggles = opts.toggles ??
    (e.WGT_DAWN_TOGGLES ? e.WGT_DAWN_TOGGLES.split(',').filter(Boolean) : e.WGT_FAST === '1' ? FAST_TOGGLES : []);
  // Dawn rounds timestamps down to 65.536 us by default (timestamp_quantization, a browser's privacy measure): a
  // profiler reading kernels of a few microseconds on a GPU would see 0 or 65.5, and SwiftShader's ms ones +-65 us.
  const dawnFlags = ['disable-dawn-features=timestamp_quantization',
    ...(toggles.length ? [`enable-dawn-features=${toggles.join(',')}`] : [])];
  const tried: string[] = [];

  // Each probe returns the adapter unopened, so `auto` can compare before it asks for a device.
  interface Found { adapter: GPUAdapter; report: AdapterReport; gpu: unknown }
  const vulkan = async (label: Backend, reason: string): Promise<Found | null> => {
    const gpu = webgpu.create(['backend=vulkan', ...dawnFlags]);
    const adapter = await gpu.requestAdapter({powerPreference: 'high-performance'});
    if (!adapter) {
      tried.push(`${label}: no Vulkan adapter (VK_ICD_FILENAMES=${e.VK_ICD_FILENAMES ?? 'unset'})`);
      return null;
    }
    return {adapter, gpu, report: describe(adapter, label, 'core', toggles, reason)};
  };
  const swiftShader = async (reason: string): Promise<Found | null> => {
    const icd = [e.WGT_SWIFTSHADER_ICD, ...SWIFTSHADER_ICDS].find((p) => p && existsSync(p));
    if (!icd) { tried.push(`swiftshader: no vk_swiftshader_icd.json in ${SWIFTSHADER_ICDS.join(', ')}`); return null; }
    if (!hasVulkanLoader()) { tried.push('swiftshader: libvulkan.so.1 not found (Debian package libvulkan1)'); return null; }
    e.VK_ICD_FILENAMES = icdSetHere = icd;
    return vulkan('swiftshader', reason);
  };
  const gles = async (label: Backend, reason: string): Promise<Found | null> => {
    e.EGL_PLATFORM ??= 'surfaceless';
    const gpu = webgpu.create(['backend=opengles', ...dawnFlags]);
    const adapter = await gpu.requestAdapter({featureLevel: 'compatibility'} as GPURequestAdapterOptions);
    if (!adapter) {
      // Dawn opens EGL as libEGL.so, which Debian's libegl-dev links; libegl1 alone has only libEGL.so.1.
      const egl = hasLib('libEGL.so') ? '' : '; libEGL.so not found (Debian package libegl-dev)';
      tried.push(`${label}: no OpenGL ES adapter (needs libegl1 libegl-mesa0 libgles2 libegl-dev, ` +
        `EGL_PLATFORM=surfaceless)${egl}`);
      return null;
    }
    return {adapter, gpu, report: describe(adapter, label, 'compatibility', toggles, `${reason}; ${GLES_WARNINGS}`)};
  };

  let found: Found | null = null;
  const asked = `'${backend}' requested`;
  if (backend === 'vulkan') found = await vulkan('vulkan', `${asked} (driver from VK_ICD_FILENAMES or the system)`);
  else if (backend === 'swiftshader') found = await swiftShader(asked);
  else if (backend === 'llvmpipe' || backend === 'opengles') found = await gles(backend, asked);
  else found = await auto();
  if (!found) {
    throw new Error(`webgpu-transfer: no WebGPU adapter found (backend '${backend}'). Tried:\n  - ` +
      `${tried.join('\n  - ')}\nFix: ${FIX_COMMAND}`);
  }
  (globalThis as Record<string, unknown>).__wgtGpu = found.gpu; // keep the Dawn instance alive as long as the device
  return requestDevice(found.adapter, found.report);

  // auto: a hardware GPU when there is one; otherwise the fastest CPU adapter. llvmpipe (GLES, compatibility
  // mode) trains several times faster than SwiftShader (docs/kernel-measurements.md#adapter-order), so it comes
  // first; SwiftShader (core WebGPU: timestamp queries, subgroups) stays one WGT_BACKEND=swiftshader away.
  async function auto(): Promise<Found | null> {
    if ((e.VK_ICD_FILENAMES && e.VK_ICD_FILENAMES !== icdSetHere) || e.VK_DRIVER_FILES) {
      // The user named a Vulkan driver: use it, whatever it is.
      const v = await vulkan('vulkan', `auto: VK_ICD_FILENAMES/VK_DRIVER_FILES names this driver`);
      if (v) return v;
    } else if (hasSystemIcd()) {
      const v = await vulkan('vulkan', 'auto: hardware Vulkan adapter');
      if (v && !v.report.isCpu) return v;
      if (v) tried.push(`vulkan: ${v.report.description || 'the system driver'} is a CPU driver`);
    }
    const why = tried.length ? ` (${tried.join('; ')})` : ' (no hardware Vulkan driver installed)';
    const g = await gles('llvmpipe', `auto: no GPU${why}, llvmpipe is the faster CPU adapter ` +
      '(WGT_BACKEND=swiftshader for core WebGPU)');
    if (g) return g;
    const s = await swiftShader(`auto: no GPU and no llvmpipe (${tried.join('; ')}); SwiftShader`);
    if (s) return s;
    // Debian 13's newer Mesa lavapipe may pass Dawn's checks (12's 22.3 does not): a last resort, detected.
    const lvp = lavapipeIcd();
    if (lvp) {
      e.VK_ICD_FILENAMES = icdSetHere = lvp;
      return vulkan('vulkan', 'auto: lavapipe, the only adapter left');
    }
    return null;
  }
}

const ICD_DIRS = [
  '/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d',
];

/** Vulkan driver manifests installed on this machine (full paths). */
function icdFiles(): string[] {
  return ICD_DIRS.filter(existsSync).flatMap((d) => listDir(d).filter((f) => f.endsWith('.json')).map((f) => `${d}/${f}`));
}
const isLavapipe = (path: string) => /\/lvp[^/]*$/.test(path);
function hasSystemIcd(): boolean { return icdFiles().some((p) => !isLavapipe(p)); }
function lavapipeIcd(): string | null { return icdFiles().find(isLavapipe) ?? null; }
function listDir(d: string): string[] {
  try { return readdirSync(d); } catch { return []; }
}
const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/lib64'];
/** Whether a shared library of this file name is in the system library folders. */
function hasLib(name: string): boolean { return LIB_DIRS.some((d) => existsSync(`${d}/${name}`)); }
function hasVulkanLoader(): boolean {
  return hasLib('libvulkan.so.1') || existsSync('/usr/lib/chromium/libvulkan.so.1');
}

/** What a tune cache holds: the matmul tiles (autotune) or the measured kernel choices (kernels). */
export type TuneCacheName = 'autotune' | 'kernels';

/** A tune cache file ($XDG_CACHE_HOME/webgpu-transfer/<name>.json); null where unreadable. */
export async function readTuneCache(name: TuneCacheName = 'autotune'): Promise<unknown> {
  const {readFileSync} = await import('node:fs');
  try { return JSON.parse(readFileSync(await tuneCachePath(name), 'utf8')); } catch { return null; }
}

/** Writes a tune cache whole: a new file renamed over the old, so a process that stops midway leaves the old one. */
export async function writeTuneCache(data: unknown, name: TuneCacheName = 'autotune'): Promise<void> {
  const {mkdirSync, renameSync, writeFileSync} = await import('node:fs');
  const {dirname} = await import('node:path');
  const f = await tuneCachePath(name);
  try {
    mkdirSync(dirname(f), {recursive: true});
    writeFileSync(`${f}.${process.pid}.tmp`, JSON.stringify(data, null, 1));
    renameSync(`${f}.${process.pid}.tmp`, f);
  } catch { /* a read-only home only costs the next process a re-tune */ }
}

/** Where a tune cache lives. */
export async function tuneCachePath(name: TuneCacheName = 'autotune'): Promise<string> {
  const {homedir} = await import('node:os');
  const {join} = await import('node:path');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'webgpu-transfer', `${name}.json`);
}
