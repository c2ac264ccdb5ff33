// A test entry bundled with esbuild and served with the op fixtures to a page in headless Chromium (Debian's,
// with the flags in scripts/chromium.ts). The page's console errors and uncaught errors are collected.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import type { Page } from 'puppeteer';
import { launch, serve } from '../../scripts/chromium.js';

export interface SuitePage { page: Page; consoleErrors: string[]; close(): Promise<void> }

/** Opens `entry` (a module next to this file) in a page and waits until it has set `globalThis[global]`. */
export async function openSuite(entry: string, global: string): Promise<SuitePage> {
  const bundle = await build({
    entryPoints: [new URL(entry, import.meta.url).pathname], bundle: true, format: 'esm', write: false,
    platform: 'browser', target: 'es2022', logLevel: 'silent',
  });
  const server = await serve({
    '/': { type: 'text/html', body: `<!doctype html><meta charset="utf-8"><title>kiln ${global}</title><script type="module" src="/suite.js"></script>` },
    '/suite.js': { type: 'text/javascript', body: bundle.outputFiles[0].text },
    '/ops.json': { type: 'application/json', body: readFileSync(new URL('../fixtures/ops.json', import.meta.url), 'utf8') },
    '/favicon.ico': { type: 'image/x-icon', body: '' },
  });
  const env = await launch();
  const close = async () => { await env.close(); server.close(); };
  try {
    const page = await env.browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(`globalThis.${global} !== undefined`, { timeout: 60_000 });
    return { page, consoleErrors, close };
  } catch (e) {
    await close();
    throw e;
  }
}
