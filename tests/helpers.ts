// Shared test helpers: one Kiln device per test file, and tolerance checks that report the worst element.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import * as kiln from '../src/index.js';

export async function setup(): Promise<typeof kiln> {
  await kiln.init();
  return kiln;
}

/** Throws with the worst offending element when |a - b| > atol + rtol |b| anywhere. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-4, rtol = 1e-3): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue; // also equal infinities
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    throw new Error(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
      `(atol ${atol}, rtol ${rtol}); ${countBad(actual, expected, atol, rtol)} of ${expected.length} elements differ`);
  }
}

function countBad(a: ArrayLike<number>, e: ArrayLike<number>, atol: number, rtol: number): number {
  let n = 0;
  for (let i = 0; i < e.length; i++) if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i])) && a[i] !== e[i]) n++;
  return n;
}

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** Asserts the device reported no validation errors (call in afterEach). */
export function expectNoGpuErrors(): void {
  expect(kiln.gpuErrors()).toEqual([]);
}
