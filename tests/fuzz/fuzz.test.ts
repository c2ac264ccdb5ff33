// Seeded fuzz of misuse across the public API: every bad call must end in a clear error (one naming the op
// or argument), with no tensor left behind, no GPU validation error and no hang. scripts/fuzz.ts runs the
// same kinds at scale and prints the figures.
import { beforeAll, describe, expect, it } from 'vitest';
import { setup } from '../helpers.js';
import { fuzz, kinds, tally } from './harness.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });

describe('fuzz: random bad calls', () => {
  it('every kind of misuse, then a seeded random sample, ends in a clear error', async () => {
    const n = kinds(k).length + 240;
    const results = await fuzz(k, 20261129, n);
    const bad = results.filter((r) => r.outcome !== 'clear');
    expect(results.length).toBe(n);
    expect(bad.map((r) => `${r.kind} → ${r.outcome}: ${r.detail}`)).toEqual([]);
    expect(tally(results).clear).toBe(n);
  }, 120_000);
});
