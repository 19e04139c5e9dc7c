// Op codes of shaders/elementwise.wgsl (override constant OP), one table per entry point. The shader names them
// (case UNARY_neg, ...): its declaration (src/graph/shaders.ts) generates those WGSL constants from these tables.
export const UNARY = {
  copy: 0, neg: 1, exp: 2, log: 3, sqrt: 4, relu: 5, leakyRelu: 6, sigmoid: 7, tanh: 8, abs: 9,
  clamp: 10, affine: 11, powScalar: 12, square: 13, reciprocal: 14, sign: 15, stepAbove: 16, inside: 17, fill: 18,
} as const;
export const BINARY = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, gt: 7, lt: 8, ge: 9, eq: 10,
  reluGrad: 20, leakyReluGrad: 21, sigmoidGrad: 22, tanhGrad: 23, clampGrad: 24, absGrad: 25, axpby: 26,
  hardtanhGrad: 27,
} as const;
export type UnaryOp = keyof typeof UNARY;
export type BinaryOp = keyof typeof BINARY;
