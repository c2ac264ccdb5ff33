// Argument checks shared by the public entry points: each throws an Error that names the op, the argument
// and what it expected, before any tensor is allocated or any kernel recorded.
import { Tensor, type DType } from '../autograd/tensor.js';
import { fmt } from './shape.js';
import { checkOptionKeys } from '../signature.js';

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** A short rendering of a bad value for messages (never throws). */
export function show(v: unknown): string {
  if (v instanceof Tensor) return v.toString();
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.slice(0, 8).map(show).join(', ')}${v.length > 8 ? ', ...' : ''}]`;
  if (typeof v === 'function') return 'a function';
  const name = (v as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** A live Tensor, or an error naming the op and argument. */
export function tensorArg(op: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${show(v)}`);
  if (v.isDisposed) throw new Error(`${op}: ${name}: tensor #${v.id} (shape ${fmt(v.shape)}) was used after dispose()`);
  return v;
}

export function dtypeArg(op: string, v: unknown, dflt: DType = 'float32'): DType {
  if (v === undefined) return dflt;
  if (v !== 'float32' && v !== 'int32') throw new Error(`${op}: dtype must be 'float32' or 'int32', got ${show(v)}`);
  return v;
}

export function numberArg(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number') throw new Error(`${op}: ${name} must be a number, got ${show(v)}`);
  return v;
}

export function finiteArg(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${op}: ${name} must be a finite number, got ${show(v)}`);
  return v;
}

export function intArg(op: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new Error(`${op}: ${name} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got ${show(v)}`);
  }
  return v;
}

/** A value that fits an int32 element (integer in [-2^31, 2^31 - 1]). */
export function int32Value(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
    throw new Error(`${op}: ${name} ${show(v)} is not an int32 (an integer in [${INT32_MIN}, ${INT32_MAX}])`);
  }
  return v;
}

export function boolArg(op: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new Error(`${op}: ${name} must be true or false, got ${show(v)}`);
  return v;
}

/**
 * An options object (or undefined, read as {}) whose keys are all among `known`: an unknown key (a PyTorch
 * keyword Kiln does not have, a snake_case spelling, a typo) is an error listing the known ones, never ignored.
 */
export function optsArg<T extends object>(op: string, v: T | undefined | null, known: readonly (keyof T & string)[]): T {
  if (v === undefined || v === null) return {} as T;
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Tensor) {
    throw new Error(`${op}: options must be an object (${known.join(', ')}), got ${show(v)}`);
  }
  checkOptionKeys(op, v, known);
  return v;
}

/** One of the listed string choices. */
export function choiceArg<T extends string>(op: string, name: string, v: unknown, choices: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!choices.includes(v as T)) throw new Error(`${op}: ${name} must be ${choices.map((c) => `'${c}'`).join(', ')}, got ${show(v)}`);
  return v as T;
}

/** An array of tensors (non-empty unless allowed), each checked. */
export function tensorListArg(op: string, v: unknown, allowEmpty = false): Tensor[] {
  if (!Array.isArray(v)) throw new Error(`${op}: expected an array of tensors, got ${show(v)}`);
  if (!allowEmpty && v.length === 0) throw new Error(`${op}: expected a non-empty array of tensors`);
  v.forEach((t, i) => tensorArg(op, `tensors[${i}]`, t));
  return v as Tensor[];
}
