// Stands in for node-device.ts in the browser bundle (scripts/build.mjs), which must not import `webgpu`.
import type {DeviceOptions, GpuContext} from './device.js';

export async function nodeDevice(_opts: DeviceOptions): Promise<GpuContext> {
  throw new Error('webgpu-transfer: this is the browser build, which has no Dawn: in Node, import the package ' +
    "under Node's 'node' export condition (plain `import 'webgpu-transfer'` in Node does)");
}

// The browser keeps the autotuner's choice in memory only.
export async function readTuneCache(): Promise<unknown> { return null; }
export async function writeTuneCache(_data: unknown): Promise<void> {}
