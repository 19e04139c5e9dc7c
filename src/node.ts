/// <reference types="node" preserve="true" />
// webgpu-transfer in Node (the package's `node` export condition): the engine with Dawn device acquisition,
// plus the Node-only training tools (Trainer, checkpoint files, datasets, sinks, PNG grids).
export * from './index.js';
export * from './train/node.js';
