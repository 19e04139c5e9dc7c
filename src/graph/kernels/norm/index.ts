// Normalisation launchers: batch normalisation in training mode.
export {BATCH_NORM_ACT_CODES, batchNormRunningK, batchNormTrainK, batchNormTrainBwdK, type BatchNormActivation,
  type BatchNormGeom} from './batch-norm-train.js';
