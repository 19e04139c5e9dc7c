// Op front-ends, PyTorch names in camelCase. Each validates its inputs (errors name the op and shapes),
// launches kernels (kernels/) and records a node (record.ts) whose gradient rule lives in gradients.ts.
// One file per op family under ops/, all re-exported here, the one import point:
//   creation.ts     tensor, full, zeros, ones, rng, randn, rand
//   elementwise.ts  unary maps and activations, add/sub/mul/div/pow, maximum/minimum, comparisons, where
//   shape.ts        reshape, flatten, permute, transpose, expand, slice, padInto, concat, gather, oneHot,
//                   assign, detach
//   reduce.ts       sum, mean, max, min, argmax, and normAxes/reduceAxes/sumTo for the gradient rules
//   softmax.ts      softmax, logSoftmax, crossEntropy(Rows), mseLoss
//   matmul.ts       matmul, mm, linear, linearRelu
//   conv-pool.ts    conv2d, conv2dReluPool2x2, batchNormTrain, batchNormRunningUpdate, maxPool2d, reluMaxPool2d,
//                   avgPool2d, adaptiveAvgPool2d
//   custom.ts       dropout, customGrad, gradReverse
// (common.ts holds the argument checks they share.)
export * from './ops/creation.js';
export * from './ops/elementwise.js';
export * from './ops/shape.js';
export * from './ops/reduce.js';
export * from './ops/softmax.js';
export * from './ops/matmul.js';
export * from './ops/conv-pool.js';
export * from './ops/custom.js';
