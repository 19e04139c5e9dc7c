// Normalisation launchers: batch normalisation in training mode.
export {batchNormRunningK, batchNormTrainK, batchNormTrainBwdK, type BatchNormGeom} from './batch-norm-train.js';
