// Entry for a child process in runtime.test.ts: exposes getDevice so a test can probe device errors
// under a different environment.
export {getDevice} from '../../src/gpu/device.js';
