// The demo end to end: build it with Vite, open each page in headless Chromium (SwiftShader), train a few
// steps, and check that the step counter advances, the losses are finite, the WebGPU canvas is not blank and
// the console shows no errors; screenshots go to test-artifacts/. Without WebGPU the page explains how to get it.
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { PNG } from 'pngjs';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launch } from '../../scripts/chromium.js';

const root = new URL('../..', import.meta.url).pathname;
const dist = join(root, 'demo/dist');
const artifacts = join(root, 'test-artifacts');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.css': 'text/css' };

let server: ReturnType<typeof createServer> | undefined;
let url = '';
let env: Awaited<ReturnType<typeof launch>> | undefined;

beforeAll(async () => {
  await build({ configFile: join(root, 'demo/vite.config.ts'), logLevel: 'error' });
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
    let file = join(dist, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) { res.statusCode = 404; res.end(); return; }
    res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  mkdirSync(artifacts, { recursive: true });
}, 180_000);

afterAll(async () => { await env?.close(); server?.close(); });

/** Spread of the canvas's pixels: 0 for a blank (uniform) canvas. */
function pixelSpread(png: Buffer): number {
  const img = PNG.sync.read(png);
  const seen = new Set<number>();
  for (let i = 0; i < img.data.length; i += 4 * 7) seen.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
  return seen.size;
}

const pages: [string, string, number][] = [
  ['gaussian', 'tab=gaussian&autostart', 40],
  ['mnist-mlp', 'tab=mnist-mlp&autostart&batch=8', 3],
  ['dcgan', 'tab=dcgan&autostart&batch=4&width=4&latent=16', 3],
  ['app', 'tab=app', 10],
];

describe.skipIf(!chromiumPath() && !process.env.CI)('demo in headless Chromium', () => {
  for (const [name, query, steps] of pages) {
    it(`${name}: trains, plots finite losses, draws a non-blank canvas, no console errors`, async () => {
      env ??= await launch();
      const page = await env.browser.newPage();
      await page.setViewport({ width: 1100, height: 760 });
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${url}?${query}`);
      await page.waitForFunction(`window.__demo && (window.__demo.error || window.__demo.step >= ${steps})`, { timeout: 200_000, polling: 250 });
      const s1 = await page.evaluate('({ ...window.__demo })') as { step: number; error: string; losses: { dLoss: number; gLoss: number; realScore: number; fakeScore: number }[] };
      expect(s1.error).toBe('');
      // The counter keeps moving.
      await page.waitForFunction(`window.__demo.step > ${s1.step}`, { timeout: 120_000, polling: 250 });
      if (name !== 'app') {
        await page.waitForFunction('window.__demo.losses.length > 0', { timeout: 120_000, polling: 250 });
        const losses = await page.evaluate('window.__demo.losses') as typeof s1.losses;
        for (const r of losses) {
          expect(Number.isFinite(r.dLoss) && Number.isFinite(r.gLoss)).toBe(true);
          expect(r.realScore).toBeGreaterThanOrEqual(0); expect(r.fakeScore).toBeLessThanOrEqual(1);
        }
      }
      const canvas = await page.$('#gpu');
      const shot = Buffer.from(await canvas!.screenshot({ type: 'png' }));
      writeFileSync(join(artifacts, `demo-${name}.png`), shot);
      writeFileSync(join(artifacts, `demo-${name}-page.png`), Buffer.from(await page.screenshot({ type: 'png' })));
      expect(pixelSpread(shot)).toBeGreaterThan(2); // a blank canvas has one colour
      expect(errors).toEqual([]);
      await page.close();
    }, 400_000);
  }

  it('dcgan: loads a PyTorch-exported generator and samples it; trains on a dropped folder of images', async () => {
    env ??= await launch();
    const page = await env.browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${url}?tab=dcgan&width=4&batch=4`);
    await page.waitForFunction('window.__demo && window.__demo.ready', { timeout: 120_000, polling: 250 });
    const input = await page.$('#torchg');
    await (input as unknown as { uploadFile: (p: string) => Promise<void> }).uploadFile(join(root, 'tests/fixtures/dcgan_generator.safetensors'));
    await page.waitForFunction('document.getElementById("stats").textContent.includes("PyTorch generator: latent 16, width 4, 1x32x32")', { timeout: 60_000, polling: 250 });
    await new Promise((r) => setTimeout(r, 500));
    const shot = Buffer.from(await (await page.$('#gpu'))!.screenshot({ type: 'png' }));
    writeFileSync(join(artifacts, 'demo-pytorch-generator.png'), shot);
    expect(pixelSpread(shot)).toBeGreaterThan(20);
    // A "folder" of four small PNGs: the DCGAN switches to 64x64 RGB and trains on them.
    const dir = join(artifacts, 'images');
    mkdirSync(dir, { recursive: true });
    for (const [i, rgb] of [[0, [220, 40, 40]], [1, [40, 60, 220]], [2, [40, 200, 60]], [3, [200, 200, 40]]] as const) {
      const img = new PNG({ width: 80, height: 70 });
      for (let k = 0; k < 80 * 70; k++) img.data.set([rgb[0], rgb[1], (k % 80) * 3, 255], k * 4);
      writeFileSync(join(dir, `face${i}.png`), PNG.sync.write(img));
    }
    const folder = await page.$('#folder');
    await (folder as unknown as { uploadFile: (...p: string[]) => Promise<void> }).uploadFile(dir);
    await page.waitForFunction('window.__demo.error || (document.getElementById("drop").textContent.includes("4 images loaded") && window.__demo.step >= 1)', { timeout: 200_000, polling: 250 })
      .catch(async (e) => { throw new Error(`${(e as Error).message}; page state ${await page.evaluate('JSON.stringify({ ...window.__demo, losses: [], drop: document.getElementById("drop").textContent })')}`); });
    expect(await page.evaluate('window.__demo.error')).toBe('');
    expect(errors).toEqual([]);
    await page.close();
  }, 400_000);

  it('without WebGPU the page says how to get it', async () => {
    const plain = await launch({ webgpu: false });
    try {
      const page = await plain.browser.newPage();
      await page.goto(url);
      await page.waitForFunction('getComputedStyle(document.getElementById("nogpu")).display === "block"', { timeout: 60_000 });
      const text = await page.$eval('#nogpu', (e) => e.textContent ?? '');
      expect(text).toMatch(/needs WebGPU/);
      expect(text).toMatch(/enable-unsafe-webgpu/);
      writeFileSync(join(artifacts, 'demo-no-webgpu.png'), Buffer.from(await page.screenshot({ type: 'png' })));
    } finally { await plain.close(); }
  }, 120_000);
});
