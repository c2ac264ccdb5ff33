// The op suite inside headless Chromium: a representative subset of the op table (one row of every op, all
// rows of the movement ops, composites, layers and NaN rules) runs on the browser's WebGPU and must match the PyTorch fixtures, with no console errors.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainCases, compositeCases, nanCases, opCases } from '../ops/cases.js';
import { chromiumPath, launch, serve } from '../../scripts/chromium.js';

const haveChromium = chromiumPath() !== null;
const fixtures = readFileSync(new URL('../fixtures/ops.json', import.meta.url), 'utf8');
// one row per op; every row of the movement ops, batch norm (its per-channel reductions), the composites, the layer chains and the NaN rules
const everyRow = new Set(['flip', 'pad', 'batchNorm']);
const subset = [
  ...Object.entries(opCases).flatMap(([op, cs]) => (everyRow.has(op) ? cs : cs.slice(0, 1)).map((c) => c.name)),
  ...Object.values(nanCases).flatMap((cs) => cs!.map((c) => c.name)),
  ...Object.values(compositeCases).flatMap((cs) => cs.map((c) => c.name)),
  ...chainCases.map((c) => c.name),
];

let env: Awaited<ReturnType<typeof launch>> | undefined;
let server: Awaited<ReturnType<typeof serve>> | undefined;
const consoleErrors: string[] = [];

describe.skipIf(!haveChromium && !process.env.CI)('Chromium (WebGPU through puppeteer)', () => {
  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [new URL('./entry.ts', import.meta.url).pathname], bundle: true, format: 'esm', write: false,
      platform: 'browser', target: 'es2022', logLevel: 'silent',
    });
    server = await serve({
      '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>kiln tests</title><script type="module" src="/suite.js"></script>' },
      '/suite.js': { type: 'text/javascript', body: bundle.outputFiles[0].text },
      '/ops.json': { type: 'application/json', body: fixtures },
      '/favicon.ico': { type: 'image/x-icon', body: '' },
    });
    env = await launch();
  });
  afterAll(async () => { await env?.close(); server?.close(); });

  it('runs the op subset and a few Adam steps on the browser GPU', async () => {
    const page = await env!.browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(`${server!.url}/`);
    await page.waitForFunction('globalThis.kilnSuite !== undefined', { timeout: 60_000 });
    const out = await page.evaluate(async (names: string[]) => {
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
    expect(consoleErrors).toEqual([]);
  }, 600_000);
});
