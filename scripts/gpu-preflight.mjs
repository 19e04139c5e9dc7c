// Before a GPU run spends its time: which adapter Dawn's Vulkan backend (or, with `llvmpipe`, its GLES one) offers,
// printed, and exit 3 where a GPU was asked for and a CPU adapter answered (SwiftShader, llvmpipe, lavapipe).
// Usage: node scripts/gpu-preflight.mjs vulkan|llvmpipe   (scripts/bench-gpu.sh runs it)
import {create, globals} from 'webgpu';

Object.assign(globalThis, globals);
const want = process.argv[2] ?? 'vulkan';
process.env.EGL_PLATFORM ??= 'surfaceless';
const gpu = create([want === 'vulkan' ? 'backend=vulkan' : 'backend=opengles']);
const adapter = await gpu.requestAdapter(want === 'vulkan' ? {powerPreference: 'high-performance'}
  : {featureLevel: 'compatibility'});
if (!adapter) {
  console.log(`no ${want} adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})`);
  process.exit(2);
}
const {vendor, architecture, device, description} = adapter.info;
const text = `${vendor} ${architecture} ${device} ${description}`;
const cpu = /swiftshader|llvmpipe|lavapipe|softpipe|software|cpu/i.test(text);
console.log(`adapter: ${text.trim()}; features: ${[...adapter.features].sort().join(', ')}`);
process.exit(cpu && want === 'vulkan' ? 3 : 0);
