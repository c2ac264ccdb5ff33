// Packaging: `npm pack` the library, install the tarball into a fresh project, run a forward and backward pass
// there in Node on Dawn (and the README's "Use Kiln in your app" example as written), check the browser entry
// pulls in no Node built-ins, then bundle a page that imports 'kiln' with Vite and run it in headless Chromium.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launch, serve } from '../../scripts/chromium.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kiln-pack-'));
const app = join(dir, 'app');
const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

/** The README's app example: the first ```js block after the heading "Use Kiln in your app". */
function readmeExample(): string {
  const md = readFileSync(join(root, 'README.md'), 'utf8');
  const sec = md.slice(md.indexOf('## Use Kiln in your app'));
  const m = /```js\n([\s\S]*?)```/.exec(sec);
  if (!m) throw new Error('README has no ```js block under "Use Kiln in your app"');
  return m[1];
}

beforeAll(() => {
  run('npm', ['pack', '--pack-destination', dir], root);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kiln-consumer', private: true, type: 'module' }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tgz)], app);
}, 600_000);

describe('the packed library', () => {
  it('installs and runs a forward and backward pass in a fresh Node project', () => {
    writeFileSync(join(app, 'check.mjs'), `
      import { init, tensor, nn, F, adapter } from 'kiln/node';
      import * as browserEntry from 'kiln';
      import { GANLoss } from 'kiln/gan';
      await init();
      const lin = new nn.Linear(3, 2);
      const x = tensor([[1, 2, 3], [4, 5, 6]]);
      const loss = F.mseLoss(lin.forward(x), tensor([[0, 0], [0, 0]]));
      loss.backward();
      const out = { grad: Array.from(await lin.weight.grad.toArray()), w: Array.from(await lin.weight.toArray()), b: Array.from(await lin.bias.toArray()),
        loss: await loss.item(), source: adapter().source, same: browserEntry.init === init, gan: typeof GANLoss };
      console.log(JSON.stringify(out));
      process.exit(0);
    `);
    const r = JSON.parse(run('node', ['check.mjs'], app).trim().split('\n').pop()!);
    expect(r.source).toBe('dawn-node');
    expect(r.same).toBe(true);
    expect(r.gan).toBe('function');
    // d(mean((xW^T + b)^2))/dW = 2/N * (y^T x) with N = 4 outputs; check against the host computation.
    const [w, b, xs] = [r.w as number[], r.b as number[], [[1, 2, 3], [4, 5, 6]]];
    const y = xs.map((row) => [0, 1].map((o) => row.reduce((s, v, i) => s + v * w[o * 3 + i], b[o])));
    const want = [0, 1].flatMap((o) => [0, 1, 2].map((i) => y.reduce((s, yr, n) => s + (2 / 4) * yr[o] * xs[n][i], 0)));
    r.grad.forEach((g: number, i: number) => expect(g).toBeCloseTo(want[i], 4));
    expect(r.loss).toBeCloseTo(y.flat().reduce((s, v) => s + v * v, 0) / 4, 4);
    // The bin works from the installed package.
    expect(run(join(app, 'node_modules/.bin/kiln'), ['--help'], app)).toMatch(/kiln train <recipe> \[options\][\s\S]*cyclegan/);
  }, 120_000);

  it("runs the README's app example as written", () => {
    writeFileSync(join(app, 'example.mjs'), readmeExample());
    const out = run('node', ['example.mjs'], app);
    expect(out).toMatch(/first point: \[ -?\d/);
  }, 120_000);

  it('the browser entry imports no Node built-ins and no Dawn', () => {
    const pkg = join(app, 'node_modules/kiln/dist');
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1] ?? m[2];
        expect(spec, `${file} imports ${spec}`).toMatch(/^\./);
        visit(join(dirname(file), spec));
      }
    };
    visit(join(pkg, 'index.js'));
    visit(join(pkg, 'gan/index.js'));
    expect(seen.size).toBeGreaterThan(20);
    expect([...seen].some((f) => f.endsWith('backend/node.js'))).toBe(false);
  });
});

describe.skipIf(!chromiumPath() && !process.env.CI)('the packed library in a Vite-bundled page', () => {
  let browser: Awaited<ReturnType<typeof launch>> | undefined;
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  afterAll(async () => { await browser?.close(); server?.close(); });

  it('bundles with Vite and trains a step in headless Chromium', async () => {
    const page = join(app, 'page');
    execFileSync('mkdir', ['-p', page]);
    writeFileSync(join(page, 'index.html'), '<!doctype html><meta charset="utf-8"><title>kiln app</title><script type="module" src="./main.js"></script>');
    writeFileSync(join(page, 'main.js'), `
      import { init, tensor, nn, optim, F } from 'kiln';
      try {
        const info = await init();
        const model = new nn.Sequential(new nn.Linear(2, 8), new nn.ReLU(), new nn.Linear(8, 1));
        const opt = new optim.Adam(model.parameters(), { lr: 0.05 });
        const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
        const y = tensor([[0], [1], [1], [2]]);
        const losses = [];
        for (let i = 0; i < 30; i++) { opt.zeroGrad(); const l = F.mseLoss(model.forward(x), y); l.backward(); opt.step(); losses.push(await l.item()); }
        window.__result = { losses, adapter: info.source };
      } catch (e) { window.__result = { error: String(e && e.stack || e) }; }
    `);
    run(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', page, '--outDir', join(page, 'dist'), '--emptyOutDir', '--logLevel', 'error'], app);
    const outDir = join(page, 'dist');
    const assets = readdirSync(join(outDir, 'assets'));
    const js = assets.find((f) => f.endsWith('.js'))!;
    const bundle = readFileSync(join(outDir, 'assets', js), 'utf8');
    expect(bundle).not.toMatch(/from\s*["']node:/);
    server = await serve({
      '/': { type: 'text/html', body: readFileSync(join(outDir, 'index.html'), 'utf8') },
      [`/assets/${js}`]: { type: 'text/javascript', body: bundle },
      '/favicon.ico': { type: 'image/x-icon', body: '' },
    });
    browser = await launch();
    const p = await browser.browser.newPage();
    const errors: string[] = [];
    p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    p.on('pageerror', (e) => errors.push(String(e)));
    await p.goto(server.url);
    await p.waitForFunction('window.__result', { timeout: 120_000 });
    const r = await p.evaluate('window.__result') as { losses?: number[]; adapter?: string; error?: string };
    expect(r.error).toBeUndefined();
    expect(r.adapter).toBe('browser');
    expect(r.losses!.every(Number.isFinite)).toBe(true);
    expect(r.losses![29]).toBeLessThan(r.losses![0]);
    expect(errors).toEqual([]);
  }, 240_000);
});
