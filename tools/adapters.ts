// Prints which WebGPU adapters this machine offers (run by scripts/setup.sh as a health check).
import {getDevice, formatReport, type BackendChoice} from '../src/gpu/device.js';

for (const backend of ['auto', 'swiftshader', 'llvmpipe'] as BackendChoice[]) {
  try {
    const ctx = await getDevice({backend});
    console.log(`${backend.padEnd(12)} ok: ${formatReport(ctx.report)}`);
    ctx.device.destroy();
  } catch (e) {
    console.log(`${backend.padEnd(12)} unavailable: ${(e as Error).message.split('\n')[0]}`);
  }
}
process.exit(0);
