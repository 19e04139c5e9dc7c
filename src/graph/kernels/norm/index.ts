// Normalisation launchers: batch normalisation in training mode.
export {batchNormTrainK, batchNormTrainBwdK, type BatchNormGeom} from './batch-norm-train.js';
