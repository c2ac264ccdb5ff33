// Shared test helpers: one Kiln device per test file, and tolerance checks that report the worst element.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { assertClose } from './ops/check.js';
import * as kiln from '../src/index.js';

export async function setup(): Promise<typeof kiln> {
  await kiln.init();
  return kiln;
}

/** Fails with the worst offending element when |a - b| > atol + rtol |b| anywhere. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-4, rtol = 1e-3): void {
  assertClose(actual, expected, what, atol, rtol);
}

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** Asserts the device reported no validation errors (call in afterEach). */
export function expectNoGpuErrors(): void {
  expect(kiln.gpuErrors()).toEqual([]);
}
