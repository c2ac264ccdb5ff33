// `npm run bench`: the benchmark table in headless Chromium through puppeteer (WebGPU on; SwiftShader on this
// machine, the user's GPU elsewhere). Writes JSON and markdown to bench/results/. --quick, --filter REGEX.
import { cpus, hostname } from 'node:os';
import { build } from 'esbuild';
import { launch, serve } from '../scripts/chromium.js';
import { report } from './report.js';
import type { Row } from './run.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const fi = args.indexOf('--filter');
const filter = fi >= 0 ? args[fi + 1] : undefined;

const bundle = await build({
  entryPoints: [new URL('./browser-entry.ts', import.meta.url).pathname], bundle: true, format: 'esm', write: false,
  platform: 'browser', target: 'es2022', mainFields: ['browser', 'module', 'main'], logLevel: 'error',
});
const server = await serve({
  '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>kiln bench</title><script type="module" src="/bench.js"></script>' },
  '/bench.js': { type: 'text/javascript', body: bundle.outputFiles[0].text },
  '/favicon.ico': { type: 'image/x-icon', body: '' },
});
// The whole table runs inside one page.evaluate call: allow it hours.
const env = await launch({ protocolTimeout: 4 * 3600_000 });
const t0 = Date.now();
try {
  const page = await env.browser.newPage();
  page.on('console', (m) => { if (m.type() === 'log') console.log(m.text()); else if (m.type() === 'error') console.error(`[page] ${m.text()}`); });
  page.setDefaultTimeout(0);
  await page.goto(server.url);
  await page.waitForFunction('typeof window.kilnBench === "function"');
  const res = await page.evaluate((o) => window.kilnBench(o), { quick, filter }) as {
    rows: Row[]; kilnAdapter: { description: string; vendor: string; architecture: string }; tfjs: string; userAgent: string; tune: string;
  };
  const rows = res.rows;
  for (const r of rows) r.torch = undefined;
  const date = new Date().toISOString();
  const chrome = /Chrome\/[\d.]+/.exec(res.userAgent)?.[0] ?? res.userAgent;
  const a = res.kilnAdapter;
  const adapterName = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unknown adapter';
  const meta = { runner: 'chromium (puppeteer)', date, quick, browser: chrome, adapter: a, tfjs: res.tfjs,
    machine: `${hostname()}: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`, wallSeconds: (Date.now() - t0) / 1000 };
  const header = `### Headless ${chrome} — ${adapterName} — ${date.slice(0, 10)}${quick ? ' (quick)' : ''}\n\n` +
    `Kiln vs TensorFlow.js ${res.tfjs} (WebGPU backend, NHWC where noted), both on the page's navigator.gpu in the same run. ${meta.machine}. ` +
    'Times per step, median after warm-up, with min–max. tfjs / Kiln > 1 means Kiln is faster. PyTorch rows are in the Node table. ' +
    `Kiln matmul workgroups from tune(): ${res.tune}.`;
  report('chromium', meta, rows, header);
} finally {
  await env.close();
  server.close();
}
process.exit(0);
