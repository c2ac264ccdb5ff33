// The op suite inside headless Chromium: a representative subset of the op table (one row of every op, all
// rows of the movement ops, composites, layers and NaN rules) runs on the browser's WebGPU and must match the PyTorch fixtures, with no console errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainCases, compositeCases, nanCases, opCases } from '../ops/cases.js';
import { chromiumPath } from '../../scripts/chromium.js';
import { openSuite, type SuitePage } from './suite_page.js';

const haveChromium = chromiumPath() !== null;
// one row per op; every row of the movement ops, batch norm (its per-channel reductions), the composites, the layer chains and the NaN rules
const everyRow = new Set(['flip', 'pad', 'batchNorm']);
const subset = [
  ...Object.entries(opCases).flatMap(([op, cs]) => (everyRow.has(op) ? cs : cs.slice(0, 1)).map((c) => c.name)),
  ...Object.values(nanCases).flatMap((cs) => cs!.map((c) => c.name)),
  ...Object.values(compositeCases).flatMap((cs) => cs.map((c) => c.name)),
  ...chainCases.map((c) => c.name),
];

let suite: SuitePage | undefined;

describe.skipIf(!haveChromium && !process.env.CI)('Chromium (WebGPU through puppeteer)', () => {
  beforeAll(async () => { suite = await openSuite('./entry.ts', 'kilnSuite'); });
  afterAll(async () => { await suite?.close(); });

  it('runs the op subset and a few Adam steps on the browser GPU', async () => {
    const out = await suite!.page.evaluate(async (names: string[]) => {
      const fx = await (await fetch('/ops.json')).json();
      const s = (globalThis as any).kilnSuite;
      const r = await s.run(fx.cases, names);
      return { ...r, adam: await s.adamSmoke() };
    }, subset);
    expect(out.adapter.source).toBe('browser');
    const failed = out.results.filter((r: { ok: boolean }) => !r.ok);
    expect(failed).toEqual([]);
    expect(out.results.length).toBe(subset.length);
    expect(out.adam).toBe('ok');
    expect(out.gpuErrors).toEqual([]);
    expect(suite!.consoleErrors).toEqual([]);
  }, 600_000);
});
