// The demo end to end: build it with Vite, open it in headless Chromium (SwiftShader) and use it as people do,
// in odd orders too: switch tabs while training, reset mid-run, save while paused and switch away, click tabs
// rapidly, load another tab's checkpoint and bad files, a phone-width viewport. After each: no page error, no
// number left over from an earlier run, and the right file downloaded. Screenshots go to test-artifacts/.
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { PNG } from 'pngjs';
import type { Page } from 'puppeteer';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launch } from '../../scripts/chromium.js';

const root = new URL('../..', import.meta.url).pathname;
const dist = join(root, 'demo/dist');
const artifacts = join(root, 'test-artifacts');
const downloads = mkdtempSync(join(tmpdir(), 'kiln-demo-downloads-'));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

let server: ReturnType<typeof createServer> | undefined;
let url = '';
let env: Awaited<ReturnType<typeof launch>> | undefined;

interface DemoStatus {
  tab: string; state: string; step: number; stepsPerSecond: number; error: string; ready: boolean; saved: string[]; session: number;
  failures: number;
  losses: { step: number; dLoss: number; gLoss: number; realScore: number; fakeScore: number }[];
}

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

afterAll(async () => { await env?.close(); server?.close(); rmSync(downloads, { recursive: true, force: true }); });

/** Spread of the image's colours: 1 for a blank (uniform) image. */
function pixelSpread(png: Buffer): number {
  const img = PNG.sync.read(png);
  const seen = new Set<number>();
  for (let i = 0; i < img.data.length; i += 4 * 7) seen.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
  return seen.size;
}

/** Whether some pixel of the image is within 12 of `rgb` in every channel. */
function hasColour(png: Buffer, rgb: readonly [number, number, number]): boolean {
  const img = PNG.sync.read(png);
  for (let i = 0; i < img.data.length; i += 4) {
    if (Math.abs(img.data[i] - rgb[0]) <= 12 && Math.abs(img.data[i + 1] - rgb[1]) <= 12 && Math.abs(img.data[i + 2] - rgb[2]) <= 12) return true;
  }
  return false;
}

/** A page that records page errors and console errors, downloading into `downloads`. */
async function open(query: string, width = 1100): Promise<{ page: Page; errors: string[] }> {
  env ??= await launch();
  const page = await env.browser.newPage();
  await page.setViewport({ width, height: 800 });
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${url}?${query}`);
  await until(page, 'window.__demo && window.__demo.ready');
  return { page, errors };
}

const demo = (page: Page) => page.evaluate('({ ...window.__demo })') as Promise<DemoStatus>;

async function until(page: Page, cond: string, timeout = 120_000): Promise<void> {
  await page.waitForFunction(cond, { timeout, polling: 100 }).catch(async (e: Error) => {
    throw new Error(`${e.message} waiting for ${cond}; page state ${await page.evaluate('JSON.stringify({ ...window.__demo, losses: window.__demo.losses.length, stats: document.getElementById("stats").textContent })')}`);
  });
}

// Waits after an action never rely on what the page showed before it: an error left from an earlier step must
// not end a wait for the next one. The page counts the errors it shows; read the count before the action.
const failures = async (page: Page) => (await demo(page)).failures;

/** Waits for `cond`; fails at once, with the page's message, if an error newer than the `before`-th shows up. */
async function settle(page: Page, before: number, cond: string, timeout?: number): Promise<void> {
  await until(page, `window.__demo.failures > ${before} || (${cond})`, timeout);
  const s = await demo(page);
  if (s.failures > before) throw new Error(`the page showed an error while waiting for ${cond}: ${s.error}`);
}

/** Waits for an error newer than the `before`-th and returns its message. */
async function newError(page: Page, before: number): Promise<string> {
  await until(page, `window.__demo.failures > ${before}`);
  return (await demo(page)).error;
}

const click = (page: Page, sel: string) => page.$eval(sel, (b) => (b as HTMLElement).click());
const text = (page: Page, sel: string) => page.$eval(sel, (e) => e.textContent ?? '');

async function upload(page: Page, sel: string, ...paths: string[]): Promise<void> {
  const input = await page.$(sel);
  await (input as unknown as { uploadFile: (...p: string[]) => Promise<void> }).uploadFile(...paths);
}

/** Waits for a finished download named `name` and returns its bytes. */
async function downloaded(name: string): Promise<Buffer> {
  const path = join(downloads, name);
  for (let i = 0; i < 300 && !(existsSync(path) && !readdirSync(downloads).some((f) => f.endsWith('.crdownload'))); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(path)) throw new Error(`no download ${name}; have ${readdirSync(downloads).join(', ')}`);
  return readFileSync(path);
}

/** A safetensors file's metadata. */
function metadata(bytes: Buffer): Record<string, string> {
  const n = Number(bytes.readBigUInt64LE(0));
  return (JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as { __metadata__: Record<string, string> }).__metadata__;
}

/** A fresh run's page shows nothing from an earlier one. */
async function expectFresh(page: Page, tab: string): Promise<void> {
  const s = await demo(page);
  expect(s.tab).toBe(tab);
  expect(s.step).toBe(0);
  expect(s.losses).toEqual([]);
  expect(s.stepsPerSecond).toBe(0);
  expect(s.error).toBe('');
  await until(page, 'document.getElementById("stats").textContent.startsWith("step 0 ")');
  expect(await text(page, '#stats')).not.toMatch(/D loss/);
}

const DCGAN_SMALL = 'width=4&batch=4&latent=16';

describe.skipIf(!chromiumPath() && !process.env.CI)('demo in headless Chromium', () => {
  for (const [tab, query, steps] of [
    ['gaussian', 'tab=gaussian&autostart', 40], ['mnist-mlp', 'tab=mnist-mlp&autostart&batch=4', 2],
    ['dcgan', `tab=dcgan&autostart&${DCGAN_SMALL}`, 3], ['app', 'tab=app', 10],
  ] as const) {
    it(`${tab}: trains, draws a non-blank canvas, no console errors`, async () => {
      const { page, errors } = await open(query);
      await settle(page, 0, `window.__demo.step >= ${steps}`, 200_000);
      const s = await demo(page);
      expect(s.error).toBe('');
      expect(s.state).toBe('training');
      await until(page, `window.__demo.step > ${s.step}`); // the counter keeps moving
      for (const r of (await demo(page)).losses) {
        expect(Number.isFinite(r.dLoss) && Number.isFinite(r.gLoss)).toBe(true);
        expect(r.realScore).toBeGreaterThanOrEqual(0); expect(r.fakeScore).toBeLessThanOrEqual(1);
      }
      await new Promise((r) => setTimeout(r, 1200)); // one redraw at the software adapter's rate
      const shot = Buffer.from(await (await page.$('#gpu'))!.screenshot({ type: 'png' }));
      writeFileSync(join(artifacts, `demo-${tab}.png`), shot);
      expect(pixelSpread(shot)).toBeGreaterThan(2);
      expect(await text(page, '#adapter')).not.toBe('');
      expect(errors).toEqual([]);
      await page.close();
    }, 300_000);
  }

  it('switching tab while training, then reset mid-run: a fresh run each time, nothing stale', async () => {
    const { page, errors } = await open('tab=gaussian&autostart');
    await until(page, 'window.__demo.step > 30 && window.__demo.losses.length > 0 && window.__demo.stepsPerSecond > 0');
    await click(page, '#tab-dcgan');
    await until(page, 'window.__demo.tab === "dcgan" && window.__demo.ready');
    await expectFresh(page, 'dcgan');
    expect((await demo(page)).state).toBe('idle');
    await click(page, '#tab-gaussian');
    await until(page, 'window.__demo.tab === "gaussian" && window.__demo.ready');
    await expectFresh(page, 'gaussian');
    await click(page, '#start');
    await until(page, 'window.__demo.step > 20 && window.__demo.stepsPerSecond > 0');
    for (let i = 0; i < 3; i++) { await click(page, '#reset'); await new Promise((r) => setTimeout(r, 30 * i)); }
    await until(page, 'window.__demo.ready && window.__demo.state === "idle"');
    await expectFresh(page, 'gaussian');
    // Editing a field while paused rebuilds the run with the new value.
    await click(page, '#start');
    await until(page, 'window.__demo.step > 5');
    await click(page, '#pause');
    await page.$eval('#f-batch', (e) => { (e as HTMLInputElement).value = '16'; e.dispatchEvent(new Event('change', { bubbles: true })); });
    await until(page, 'window.__demo.ready && window.__demo.state === "idle"');
    await expectFresh(page, 'gaussian');
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('rapid tab clicks settle on the last tab clicked, with a working run', async () => {
    const { page, errors } = await open(`tab=dcgan&${DCGAN_SMALL}`);
    for (const t of ['gaussian', 'mnist-mlp', 'app', 'dcgan', 'gaussian', 'app', 'mnist-mlp', 'gaussian', 'dcgan', 'gaussian']) await click(page, `#tab-${t}`);
    await until(page, 'window.__demo.tab === "gaussian" && window.__demo.ready && window.__demo.state === "idle"');
    await expectFresh(page, 'gaussian');
    await click(page, '#start');
    await until(page, 'window.__demo.step > 20 && window.__demo.losses.length > 0');
    expect((await demo(page)).error).toBe('');
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('save while paused, then switch tab: the paused model is the file written', async () => {
    const { page, errors } = await open(`tab=dcgan&autostart&${DCGAN_SMALL}`);
    await until(page, 'window.__demo.step >= 2');
    await click(page, '#pause');
    const step = (await demo(page)).step;
    await click(page, '#save');
    expect(['saving', 'paused']).toContain((await demo(page)).state);
    await click(page, '#tab-gaussian');
    await until(page, 'window.__demo.tab === "gaussian" && window.__demo.ready');
    await click(page, '#start');
    const name = `kiln-dcgan-step${step}.safetensors`;
    const bytes = await downloaded(name);
    const meta = metadata(bytes);
    expect(JSON.parse(meta.config).recipe).toBe('dcgan');
    expect(Number(meta.step)).toBe(step);
    await until(page, 'window.__demo.step > 10');
    const s = await demo(page);
    expect(s.error).toBe('');
    expect(s.saved).toEqual([name]);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('checkpoints: another tab\'s model and bad files give clear errors; a matching one loads', async () => {
    const { page, errors } = await open('tab=gaussian&autostart');
    await until(page, 'window.__demo.step >= 100');
    await click(page, '#pause');
    const step = (await demo(page)).step;
    await click(page, '#save');
    const good = join(downloads, `kiln-gaussian-step${step}.safetensors`);
    const bytes = await downloaded(`kiln-gaussian-step${step}.safetensors`);
    await until(page, 'window.__demo.state === "paused"');
    // Another tab's model.
    await click(page, '#tab-dcgan');
    await until(page, 'window.__demo.tab === "dcgan" && window.__demo.ready');
    let n = await failures(page);
    await upload(page, '#load', good);
    expect(await newError(page, n)).toMatch(/holds a 2-D Gaussian model \(step \d+\).*open the 2-D Gaussian tab/);
    expect(await text(page, '#error')).toMatch(/2-D Gaussian/);
    // A Kiln checkpoint is not a PyTorch DCGAN generator.
    n = await failures(page);
    await upload(page, '#torchg', good);
    expect(await newError(page, n)).toMatch(/DCGAN generator/);
    // Not a safetensors file; a truncated checkpoint; a flipped tensor byte.
    const dir = mkdtempSync(join(tmpdir(), 'kiln-demo-bad-'));
    const bad: [string, Buffer, RegExp][] = [
      ['notes.safetensors', Buffer.from('hello, not a checkpoint'), /notes\.safetensors/],
      ['cut.safetensors', bytes.subarray(0, bytes.length - 9), /cut\.safetensors/],
      ['flip.safetensors', Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes[bytes.length - 1] ^ 0xff])]), /CRC-32/],
    ];
    await click(page, '#tab-gaussian');
    await until(page, 'window.__demo.tab === "gaussian" && window.__demo.ready');
    for (const [name, body, want] of bad) {
      writeFileSync(join(dir, name), body);
      n = await failures(page);
      await upload(page, '#load', join(dir, name));
      const error = await newError(page, n);
      expect(error).toContain(name);
      expect(error).toMatch(want);
    }
    // A folder with no images.
    await click(page, '#tab-dcgan');
    await until(page, 'window.__demo.tab === "dcgan" && window.__demo.ready');
    mkdirSync(join(dir, 'texts'));
    writeFileSync(join(dir, 'texts', 'readme.txt'), 'no images here');
    n = await failures(page);
    await upload(page, '#folder', join(dir, 'texts'));
    expect(await newError(page, n)).toMatch(/no PNG or JPEG/);
    // The matching checkpoint loads at its step, and trains on from there.
    await click(page, '#tab-gaussian');
    await until(page, 'window.__demo.tab === "gaussian" && window.__demo.ready');
    n = await failures(page);
    await upload(page, '#load', good);
    await settle(page, n, `window.__demo.step === ${step} && window.__demo.ready && window.__demo.state === "idle"`);
    expect((await demo(page)).error).toBe('');
    expect(await text(page, '#stats')).toContain(`checkpoint kiln-gaussian-step${step}.safetensors`);
    await click(page, '#start');
    await until(page, `window.__demo.step > ${step + 10}`);
    rmSync(dir, { recursive: true, force: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('downloads the sample grid (PNG) and the losses (CSV); copy link holds the settings', async () => {
    const { page, errors } = await open('tab=gaussian&autostart&lr=0.005');
    await until(page, 'window.__demo.losses.length >= 32');
    await click(page, '#pause');
    await click(page, '#png');
    await click(page, '#csv');
    await until(page, 'window.__demo.saved.length === 2');
    // The PNG is encoded asynchronously, the CSV at once: either may be saved first.
    const saved = (await demo(page)).saved;
    const pngName = saved.find((f) => f.endsWith('.png')) ?? '';
    const csvName = saved.find((f) => f.endsWith('.csv')) ?? '';
    expect(pngName).toMatch(/^kiln-gaussian-step\d+\.png$/);
    expect(csvName).toMatch(/^kiln-gaussian-losses-step\d+\.csv$/);
    expect(pixelSpread(await downloaded(pngName))).toBeGreaterThan(20);
    const csv = (await downloaded(csvName)).toString('utf8').trim().split('\n');
    expect(csv[0]).toBe('step,d_loss,g_loss,d_real,d_fake');
    expect(csv.length).toBeGreaterThan(32);
    expect(csv.slice(1).every((l) => l.split(',').map(Number).every(Number.isFinite))).toBe(true);
    await click(page, '#copylink');
    const link = new URL(await page.$eval('#linkout', (e) => (e as HTMLInputElement).value));
    expect(link.searchParams.get('tab')).toBe('gaussian');
    expect(link.searchParams.get('lr')).toBe('0.005');
    expect(link.searchParams.get('batch')).toBe('32');
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('a PyTorch-exported generator samples; a small folder trains with the batch fitted to it, and the picker stays', async () => {
    const { page, errors } = await open('tab=dcgan&batch=16&width=4&latent=16');
    await upload(page, '#torchg', join(root, 'tests/fixtures/dcgan_generator.safetensors'));
    await until(page, 'document.getElementById("stats").textContent.includes("PyTorch generator: latent 16, width 4, 1x32x32")');
    expect(await page.$eval('#save', (b) => (b as HTMLButtonElement).disabled)).toBe(true); // nothing trained to save
    await new Promise((r) => setTimeout(r, 300));
    const shot = Buffer.from(await (await page.$('#gpu'))!.screenshot({ type: 'png' }));
    writeFileSync(join(artifacts, 'demo-pytorch-generator.png'), shot);
    expect(pixelSpread(shot)).toBeGreaterThan(20);
    const dir = join(artifacts, 'images');
    mkdirSync(dir, { recursive: true });
    for (const [i, rgb] of [[0, [220, 40, 40]], [1, [40, 60, 220]], [2, [40, 200, 60]], [3, [200, 200, 40]]] as const) {
      const img = new PNG({ width: 80, height: 70 });
      for (let k = 0; k < 80 * 70; k++) img.data.set([rgb[0], rgb[1], (k % 80) * 3, 255], k * 4);
      writeFileSync(join(dir, `face${i}.png`), PNG.sync.write(img));
    }
    const n = await failures(page);
    await upload(page, '#folder', dir);
    await settle(page, n, 'window.__demo.step >= 1 && window.__demo.state === "training"', 200_000);
    expect((await demo(page)).error).toBe('');
    expect(await text(page, '#stats')).toMatch(/batch lowered from 16 to 4/);
    expect(await page.$eval('#f-batch', (e) => (e as HTMLInputElement).value)).toBe('4');
    expect(await text(page, '#droptext')).toMatch(/4 images loaded/);
    expect(await page.$eval('#folder', (e) => !(e as HTMLInputElement).disabled && (e as HTMLElement).offsetParent !== null)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('at 390 px wide nothing overflows and the controls work by keyboard', async () => {
    const { page, errors } = await open('tab=gaussian', 390);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // Labels name every field; Tab reaches Start and Enter presses it.
    const unlabelled = await page.$$eval('#fields input, #fields select', (els) => els.filter((e) => !(e as HTMLInputElement).labels?.length).length);
    expect(unlabelled).toBe(0);
    await page.focus('#start');
    await page.keyboard.press('Enter');
    await until(page, 'window.__demo.step > 10');
    // Arrow keys move between tabs.
    await page.focus('#tab-gaussian');
    await page.keyboard.press('ArrowRight');
    await until(page, 'window.__demo.tab === "mnist-mlp" && window.__demo.ready', 200_000);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    writeFileSync(join(artifacts, 'demo-narrow.png'), Buffer.from(await page.screenshot({ type: 'png', fullPage: true })));
    // The CycleGAN chart's lower legend names four losses: it wraps, so the last one (G_B) is drawn.
    await click(page, '#tab-cyclegan');
    await until(page, 'window.__demo.tab === "cyclegan" && window.__demo.ready');
    await new Promise((r) => setTimeout(r, 300));
    const chartShot = Buffer.from(await (await page.$('#chart'))!.screenshot({ type: 'png' }));
    writeFileSync(join(artifacts, 'demo-narrow-cyclegan-chart.png'), chartShot);
    expect(hasColour(chartShot, [0x94, 0x67, 0xbd])).toBe(true);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect((await demo(page)).error).toBe('');
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('cyclegan: the toy trains and draws; switching to and from it while training starts fresh runs', async () => {
    const { page, errors } = await open('tab=cyclegan&autostart');
    await settle(page, 0, 'window.__demo.step >= 60 && window.__demo.losses.length > 0', 200_000);
    let s = await demo(page);
    expect(s.error).toBe('');
    const last = s.losses.at(-1) as unknown as Record<string, number>;
    for (const k of ['D_A', 'D_B', 'G_A', 'G_B', 'cycle_A', 'cycle_B']) expect(Number.isFinite(last[k])).toBe(true);
    await new Promise((r) => setTimeout(r, 1200));
    const shot = Buffer.from(await (await page.$('#gpu'))!.screenshot({ type: 'png' }));
    writeFileSync(join(artifacts, 'demo-cyclegan-toy.png'), shot);
    expect(pixelSpread(shot)).toBeGreaterThan(4); // both domains, both mappings and the arrows
    // Away while training, and back: a fresh run each time, nothing stale.
    await click(page, '#tab-gaussian');
    await until(page, 'window.__demo.tab === "gaussian" && window.__demo.ready');
    await expectFresh(page, 'gaussian');
    await click(page, '#start');
    await until(page, 'window.__demo.step > 10');
    await click(page, '#tab-cyclegan');
    await until(page, 'window.__demo.tab === "cyclegan" && window.__demo.ready');
    await expectFresh(page, 'cyclegan');
    await click(page, '#start');
    await until(page, 'window.__demo.step > 10 && window.__demo.losses.length > 0');
    s = await demo(page);
    expect(s.error).toBe('');
    expect(Object.keys(s.losses[0])).toContain('cycle_A');
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('cyclegan: one folder only gives a clear error; both train with the batch fitted; checkpoints of other models are refused', async () => {
    // A DCGAN checkpoint to load on the wrong tab.
    const { page, errors } = await open(`tab=dcgan&autostart&${DCGAN_SMALL}`);
    await until(page, 'window.__demo.step >= 1');
    await click(page, '#pause');
    const dstep = (await demo(page)).step;
    await click(page, '#save');
    await downloaded(`kiln-dcgan-step${dstep}.safetensors`);
    await until(page, 'window.__demo.state === "paused"');
    await click(page, '#tab-cyclegan');
    await until(page, 'window.__demo.tab === "cyclegan" && window.__demo.ready');
    let n = await failures(page);
    await upload(page, '#load', join(downloads, `kiln-dcgan-step${dstep}.safetensors`));
    expect(await newError(page, n)).toMatch(/holds a DCGAN model \(step \d+\), not a CycleGAN one: open the DCGAN tab/);
    // Only domain A's folder, then Start: a clear error naming what is missing, Start stays off.
    const dir = mkdtempSync(join(tmpdir(), 'kiln-demo-cycle-'));
    const make = (sub: string, n: number, tone: number) => {
      mkdirSync(join(dir, sub));
      for (let i = 0; i < n; i++) {
        const img = new PNG({ width: 40, height: 36 });
        for (let k = 0; k < 40 * 36; k++) img.data.set([tone, (k % 40) * 6, 255 - tone, 255], k * 4);
        writeFileSync(join(dir, sub, `img${i}.png`), PNG.sync.write(img));
      }
    };
    make('a', 3, 30); make('b', 2, 220);
    n = await failures(page);
    await upload(page, '#foldera', join(dir, 'a'));
    expect(await newError(page, n)).toMatch(/needs a folder for each domain: choose one for domain B \(domain A has 3 images\)/);
    await click(page, '#start');
    expect((await demo(page)).state).toBe('error');
    expect(await page.$eval('#start', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    // Domain B's folder: trains, batch 4 lowered to the smaller folder's 2.
    await page.$eval('#f-batch', (e) => { (e as HTMLInputElement).value = '4'; });
    n = await failures(page);
    await upload(page, '#folderb', join(dir, 'b'));
    // Picking the missing folder clears the error it caused; the run then trains.
    await settle(page, n, 'window.__demo.error === "" && window.__demo.step >= 1 && window.__demo.state === "training"', 200_000);
    expect((await demo(page)).error).toBe('');
    expect(await text(page, '#stats')).toMatch(/domain A 3, domain B 2 .*batch lowered from 4 to 2/s);
    expect(await text(page, '#cycleatext')).toMatch(/3 images/);
    // A CycleGAN checkpoint: refused on the Gaussian tab, loaded at its step on the CycleGAN tab.
    await until(page, 'window.__demo.step >= 2');
    await click(page, '#pause');
    const cstep = (await demo(page)).step;
    await click(page, '#save');
    const cname = `kiln-cyclegan-folders-step${cstep}.safetensors`;
    const cmeta = metadata(await downloaded(cname));
    expect(cmeta.format).toBe('kiln-gan-checkpoint'); // every recipe's checkpoint format, the config names the recipe
    expect(JSON.parse(cmeta.config).recipe).toBe('cyclegan');
    await until(page, 'window.__demo.state === "paused"');
    await click(page, '#tab-gaussian');
    await until(page, 'window.__demo.tab === "gaussian" && window.__demo.ready');
    n = await failures(page);
    await upload(page, '#load', join(downloads, cname));
    expect(await newError(page, n)).toMatch(/holds a CycleGAN model, not a 2-D Gaussian one/);
    await click(page, '#tab-cyclegan');
    await until(page, 'window.__demo.tab === "cyclegan" && window.__demo.ready');
    n = await failures(page);
    await upload(page, '#load', join(downloads, cname));
    await settle(page, n, `window.__demo.step === ${cstep} && window.__demo.ready && window.__demo.state === "idle"`);
    expect((await demo(page)).error).toBe('');
    expect(await text(page, '#stats')).toContain(`checkpoint ${cname}`);
    rmSync(dir, { recursive: true, force: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('a lost GPU device: the page gets a new one and trains on from its in-memory snapshot', async () => {
    const { page, errors } = await open('tab=gaussian&autostart&testhooks&snapshot=150');
    for (const t of ['gaussian', 'cyclegan']) {
      if (t === 'cyclegan') {
        await click(page, '#tab-cyclegan');
        await until(page, 'window.__demo.tab === "cyclegan" && window.__demo.ready');
        await click(page, '#start');
      }
      await until(page, 'window.__demo.snapshotStep >= 150 && window.__demo.step > window.__demo.snapshotStep + 20', 200_000);
      const { snap, losses, session } = await page.evaluate(`(() => { const { snapshotStep: snap, deviceLosses: losses, session } = window.__demo; window.__kilnDestroyDevice(); return { snap, losses, session }; })()`) as { snap: number; losses: number; session: number };
      // A new session (the lost one's id, step and restoredFrom from the first round must not end the wait).
      await until(page, `window.__demo.deviceLosses === ${losses + 1} && window.__demo.session !== ${session} && window.__demo.restoredFrom === ${snap} && window.__demo.ready && window.__demo.state === "training"`);
      await until(page, `window.__demo.step > ${snap + 20}`);
      const s = await demo(page);
      expect(s.error).toBe('');
      expect(s.losses.every((r) => r.step <= s.step)).toBe(true);
      expect(await text(page, '#notice')).toBe(`GPU device was lost; restored from step ${snap}`);
      expect(await text(page, '#stats')).toContain(`restored from step ${snap}`);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('without WebGPU the page says how to get it', async () => {
    const plain = await launch({ webgpu: false });
    try {
      const page = await plain.browser.newPage();
      await page.goto(url);
      await page.waitForFunction('getComputedStyle(document.getElementById("nogpu")).display === "block"', { timeout: 60_000 });
      const t = await page.$eval('#nogpu', (e) => e.textContent ?? '');
      expect(t).toMatch(/needs WebGPU/);
      expect(t).toMatch(/enable-unsafe-webgpu/);
      writeFileSync(join(artifacts, 'demo-no-webgpu.png'), Buffer.from(await page.screenshot({ type: 'png' })));
    } finally { await plain.close(); }
  }, 120_000);
});
