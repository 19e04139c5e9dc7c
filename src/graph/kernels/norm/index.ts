// Normalisation launchers: batch normalisation in training mode.
export {batchNormRunningK, batchNormTrainK, batchNormTrainBwdK, type BatchNormActivation,
  type BatchNormGeom} from './batch-norm-train.js';
