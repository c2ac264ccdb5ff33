// The names of the ops in the table, as a runtime list (tests check that each has a row).
import { opTable, type OpName } from './table.js';

export const OP_NAMES = Object.keys(opTable) as OpName[];
export type { OpName };
