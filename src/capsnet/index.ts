/**
 * Capsule networks (Sabour, Frosst & Hinton 2017) on the engine's capsule ops: the CapsNet model and its layers,
 * routing by agreement, the margin and reconstruction losses, and the parameter-matched CNN baseline. Also the
 * package's subpath `webgpu-transfer/capsnet`.
 * @module
 */
export {squash, capsulePredict, capsuleWeightedSum, capsuleAgreement, capsuleRouting, type RoutingSettings} from '../graph/capsule.js';
export {dynamicRouting, capsuleLengths, type RoutingOptions, type Routed} from './routing.js';
export {marginLoss, marginLossRows, reconstructionLoss, type MarginOptions} from './loss.js';
export {CapsNet, PrimaryCaps, DigitCaps, CAPSNET_PAPER, CAPSNET_SMALL, parameterCount, capsNetClassifierParameters, checkConfig, type CapsNetConfig, type CapsuleOutputs} from './model.js';
export {capsuleLoss, marginEvalLoss, type CapsuleLossOptions} from './train.js';
export {cnnMatched, type MatchedCnn} from './baseline.js';
