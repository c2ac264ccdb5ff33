// Steps/s of a demo tab in headless Chromium: builds the demo (demo/dist), serves it on 127.0.0.1, opens each
// query given (e.g. "tab=gaussian&autostart"), and counts the page's steps over 12 s after a 4 s warm-up.
// Usage: npx tsx scripts/demo_speed.ts "tab=gaussian&autostart"   (NOBUILD=1 reuses demo/dist)
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { build } from 'vite';
import { fileURLToPath } from 'node:url';
import { launch } from './chromium.js';
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const dist = join(root, 'demo/dist');
const queries = process.argv.slice(2);
if (!process.env.NOBUILD) await build({ configFile: join(root, 'demo/vite.config.ts'), logLevel: 'error' });
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
const server = createServer((req, res) => {
  let file = join(dist, normalize(decodeURIComponent((req.url ?? '/').split('?')[0])));
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  if (!existsSync(file)) { res.statusCode = 404; res.end(); return; }
  res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream'); res.end(readFileSync(file));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const env = await launch();
for (const q of queries) {
  const page = await env.browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/?${q}`);
  await page.waitForFunction('window.__demo && window.__demo.step > 0', { timeout: 60000 });
  await new Promise((r) => setTimeout(r, 4000));
  const a = await page.evaluate('({ step: window.__demo.step, t: performance.now() })') as { step: number; t: number };
  await new Promise((r) => setTimeout(r, 12000));
  const b = await page.evaluate('({ step: window.__demo.step, t: performance.now(), chunk: window.__demo.chunk, frameMs: window.__demo.frameMs, frames: window.__demo.frames })') as { step: number; t: number; chunk: number; frameMs: number; frames: number };
  console.log(`${q}: ${((b.step - a.step) / ((b.t - a.t) / 1000)).toFixed(0)} steps/s (chunk ${b.chunk}, frame ${b.frameMs.toFixed(1)} ms, frames ${b.frames})`);
  await page.close();
}
await env.close(); server.close();
