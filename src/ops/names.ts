// The names of the ops in the table and of the composite ops, as runtime lists (tests check that each has a row).
import * as F from './functional.js';
import { opTable, type OpName } from './table.js';

export const OP_NAMES = Object.keys(opTable) as OpName[];
export type { OpName };

/**
 * Every composite op: one function over the table's primitives, its gradient for free. tests/ops/cases.ts
 * keys its composite rows by these names (a missing row is a type error), and tests/ops/ops.test.ts fails
 * on any function of F that is neither a table op's front, a composite listed here, nor a non-op helper.
 */
export const COMPOSITES = {
  where: F.where, cat: F.cat, stack: F.stack, transpose: F.transpose, flattenDims: F.flattenDims,
  unflatten: F.unflatten, mean: F.mean, binaryCrossEntropyWithLogits: F.binaryCrossEntropyWithLogits,
  mseLoss: F.mseLoss, l1Loss: F.l1Loss,
  squeeze: F.squeeze, unsqueeze: F.unsqueeze, instanceNorm: F.instanceNorm, interpolate: F.interpolate, dropout: F.dropout,
  nllLoss: F.nllLoss, maxPool2d: F.maxPool2d,
} as const;
export type CompositeName = keyof typeof COMPOSITES;
export const COMPOSITE_NAMES = Object.keys(COMPOSITES) as CompositeName[];
