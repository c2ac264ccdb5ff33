// In headless Chromium: the op rows of the kernels that share WGSL through #import and that the op suite's
// one-row-per-op subset skips (every matmul row, so the vec4 kernel in each layout; every linear row, so the
// store() epilogue with bias and activations on both matmul kernels; every conv2d row), and compiled steps equal
// to the eager steps bit for bit (fused chains, stores into unaligned slices, in-place gradient accumulation).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opCases } from '../ops/cases.js';
import { chromiumPath, launch, serve } from '../../scripts/chromium.js';

const haveChromium = chromiumPath() !== null;
const fixtures = readFileSync(new URL('../fixtures/ops.json', import.meta.url), 'utf8');
const names = [...opCases.matmul, ...opCases.linear, ...opCases.conv2d].map((c) => c.name);

let env: Awaited<ReturnType<typeof launch>> | undefined;
let server: Awaited<ReturnType<typeof serve>> | undefined;
const consoleErrors: string[] = [];

describe.skipIf(!haveChromium && !process.env.CI)('Chromium: shared-WGSL kernels and compiled steps', () => {
  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [new URL('./kernels_entry.ts', import.meta.url).pathname], bundle: true, format: 'esm', write: false,
      platform: 'browser', target: 'es2022', logLevel: 'silent',
    });
    server = await serve({
      '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>kiln kernels</title><script type="module" src="/suite.js"></script>' },
      '/suite.js': { type: 'text/javascript', body: bundle.outputFiles[0].text },
      '/ops.json': { type: 'application/json', body: fixtures },
      '/favicon.ico': { type: 'image/x-icon', body: '' },
    });
    env = await launch();
  });
  afterAll(async () => { await env?.close(); server?.close(); });

  it('matmul, linear and conv2d rows match PyTorch; compiled steps give the eager bits', async () => {
    const page = await env!.browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(`${server!.url}/`);
    await page.waitForFunction('globalThis.kilnKernels !== undefined', { timeout: 60_000 });
    const out = await page.evaluate(async (names: string[]) => {
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
    expect(consoleErrors).toEqual([]);
  }, 600_000);
});
