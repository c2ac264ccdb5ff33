// In headless Chromium: the op rows of the kernels that share WGSL through #import and that the op suite's
// one-row-per-op subset skips (every matmul row, so the vec4 kernel in each layout; every linear row, so the
// store() epilogue with bias and activations on both matmul kernels; every conv2d row), and compiled steps equal
// to the eager steps bit for bit (fused chains, stores into unaligned slices, in-place gradient accumulation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opCases } from '../ops/cases.js';
import { chromiumPath } from '../../scripts/chromium.js';
import { openSuite, type SuitePage } from './suite_page.js';

const haveChromium = chromiumPath() !== null;
const names = [...opCases.matmul, ...opCases.linear, ...opCases.conv2d].map((c) => c.name);

let suite: SuitePage | undefined;

describe.skipIf(!haveChromium && !process.env.CI)('Chromium: shared-WGSL kernels and compiled steps', () => {
  beforeAll(async () => { suite = await openSuite('./kernels_entry.ts', 'kilnKernels'); });
  afterAll(async () => { await suite?.close(); });

  it('matmul, linear and conv2d rows match PyTorch; compiled steps give the eager bits', async () => {
    const out = await suite!.page.evaluate(async (names: string[]) => {
      const fx = await (await fetch('/ops.json')).json();
      const s = (globalThis as any).kilnKernels;
      const rows = await s.rows(fx.cases, names);
      const steps = [];
      for (const n of s.steps) steps.push(await s.compiled(n));
      return { rows, steps, gpuErrors: s.gpuErrors() };
    }, names);
    expect(out.rows.filter((r: { ok: boolean }) => !r.ok)).toEqual([]);
    expect(out.rows.length).toBe(names.length);
    expect(out.steps.filter((r: { ok: boolean }) => !r.ok)).toEqual([]);
    expect(out.steps.map((r: { replays: number }) => r.replays)).toEqual(out.steps.map(() => 3));
    expect(out.gpuErrors).toEqual([]);
    expect(suite!.consoleErrors).toEqual([]);
  }, 600_000);
});
