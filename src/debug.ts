/**
 * Finding out what the engine did: the per-kernel profiler, anomaly mode (the first op to produce NaN/Inf),
 * non-finite checks of parameters, and the adapter report as text.
 * @module
 */
export {
  profile, profileReport, startProfiling, formatProfile, type ProfileOptions, type ProfileResult, type ProfileRow,
  type ProfileMethod,
} from './graph/profile.js';
export {setAnomalyMode, isAnomalyMode, checkAnomalies} from './graph/anomaly.js';
export {nonFiniteParameters, nonFiniteTensors, formatNonFinite, type NonFiniteReport} from './nn/check.js';
export {formatReport} from './gpu/device.js';
