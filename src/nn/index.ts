// webgpu-transfer/nn: modules and layers alone (the same classes as the main entry's).
export {Module} from './module.js';
export * from './layers.js';
export {nonFiniteParameters, nonFiniteTensors, formatNonFinite, type NonFiniteReport} from './check.js';
