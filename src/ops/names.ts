// The names of the ops in the table, as a runtime list (tests check each has a row).
import type { OpName } from './table.js';

const names: { [K in OpName]: true } = {
  neg: true, exp: true, log: true, sqrt: true, abs: true, relu: true, tanh: true, sigmoid: true, leakyRelu: true,
  powScalar: true, clamp: true, affine: true, rdivScalar: true, logClamped: true, sign: true, compareScalar: true,
  add: true, sub: true, mul: true, div: true, maximum: true, minimum: true, pow: true, compare: true, where: true,
  reshape: true, expand: true, permute: true, sum: true, max: true, min: true, argmax: true, argmin: true,
  softmax: true, logSoftmax: true, matmul: true, conv2d: true, convTranspose2d: true, batchNorm: true,
  oneHot: true, cast: true,
};

export const OP_NAMES = Object.keys(names) as OpName[];
export type { OpName };
