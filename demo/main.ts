// The demo: train the seeds' three GANs live in the browser on WebGPU, watch samples, the discriminator and
// the losses, save and load checkpoints. The page owns its GPUDevice and shares it with Kiln; samples are drawn
// from the tensors' GPU buffers (no copy back), and the loop yields to the browser every frame.
import { F, flush, init, memory, noGrad, stateDictFromSafetensors, tensor, tidy, type Tensor } from 'kiln';
import {
  buildRun, decodeCheckpoint, encodeCheckpoint, GanTrainer, GaussianData, makeGenerator, restoreCheckpoint, sampleGenerator,
  type GanSetup, type ImageSource, type RunConfig, type StepRecord,
} from 'kiln/gan';
import type { nn } from 'kiln';
import { AppScene } from './app_scene.js';
import { imageFiles, mnistDigits } from './data.js';
import { Canvas2Gpu, drawChart } from './render.js';

type Tab = 'gaussian' | 'mnist-mlp' | 'dcgan' | 'app';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

/** What the end-to-end test and a curious visitor can read: window.__demo. */
const status = { tab: '' as Tab | '', step: 0, stepsPerSecond: 0, losses: [] as StepRecord[], ready: false, error: '', frames: 0 };
(window as unknown as { __demo: typeof status }).__demo = status;

interface Field { key: keyof RunConfig | 'steps'; label: string; kind: 'number' | 'select'; options?: string[]; tabs: Tab[] }
const FIELDS: Field[] = [
  { key: 'preset', label: 'recipe', kind: 'select', options: ['needle', 'd2l'], tabs: ['gaussian'] },
  { key: 'lr', label: 'learning rate', kind: 'number', tabs: ['gaussian', 'mnist-mlp', 'dcgan'] },
  { key: 'batch', label: 'batch', kind: 'number', tabs: ['gaussian', 'mnist-mlp', 'dcgan'] },
  { key: 'latent', label: 'latent size', kind: 'number', tabs: ['mnist-mlp', 'dcgan'] },
  { key: 'width', label: 'width (64 in the lecture)', kind: 'number', tabs: ['dcgan'] },
  { key: 'objective', label: 'G objective', kind: 'select', options: ['nonSaturating', 'minimax'], tabs: ['gaussian', 'mnist-mlp', 'dcgan'] },
  { key: 'ema', label: 'EMA of G (0 = off)', kind: 'number', tabs: ['gaussian', 'mnist-mlp', 'dcgan'] },
  { key: 'seed', label: 'seed', kind: 'number', tabs: ['gaussian', 'mnist-mlp', 'dcgan'] },
];
/** Defaults sized for a CPU adapter; the recipes' own values are one edit away. */
const DEFAULTS: Record<Exclude<Tab, 'app'>, RunConfig> = {
  gaussian: { recipe: 'gaussian', seed: 0, preset: 'needle', lr: 0.01, batch: 32, ema: 0, objective: 'nonSaturating' },
  'mnist-mlp': { recipe: 'mnist-mlp', seed: 0, lr: 2e-4, batch: 32, latent: 64, ema: 0, objective: 'nonSaturating' },
  dcgan: { recipe: 'dcgan', seed: 0, lr: 2e-4, batch: 16, latent: 100, width: 8, ema: 0, objective: 'nonSaturating' },
};

let device: GPUDevice;
/** Held for the page's lifetime: a collected adapter can take its device down with it. */
let gpuAdapter: GPUAdapter | null = null;
let view: Canvas2Gpu;
let scene: AppScene | null = null;
let tab: Tab = 'gaussian';
let run: (GanSetup & { config: RunConfig }) | null = null;
let trainer: GanTrainer | null = null;
let running = false;
let z: Tensor | null = null;
let sample: Tensor | null = null;
let extra: { heat?: Tensor; grid?: Tensor; gEllipse?: Tensor; trueEllipse?: Tensor } = {};
let strip: Tensor[] = [];
let records: StepRecord[] = [];
let userImages: ImageSource | null = null;
let loadedG: nn.Module | null = null;
let stepsPerFrame = 1;
let rateWindow: { t: number; step: number }[] = [];
let generation = 0;
let lastDraw = 0;
let lastSnap = 0;
/** A line about what is loaded (a PyTorch generator, a folder), shown under the numbers. */
let note = '';

function showError(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  status.error = msg;
  $('error').textContent = msg;
  running = false;
}

function config(): RunConfig {
  const c: RunConfig = { ...DEFAULTS[tab as Exclude<Tab, 'app'>] };
  for (const f of FIELDS) {
    if (!f.tabs.includes(tab)) continue;
    const el = document.getElementById(`f-${f.key}`) as HTMLInputElement | HTMLSelectElement | null;
    if (!el || el.value === '') continue;
    (c as unknown as Record<string, unknown>)[f.key] = f.kind === 'number' ? Number(el.value) : el.value;
  }
  if (tab === 'dcgan' && userImages) { c.size = 64; c.channels = 3; c.data = 'browser-files'; }
  return c;
}

function renderFields(): void {
  const box = $('fields');
  box.innerHTML = '';
  if (tab === 'app') return;
  const d = DEFAULTS[tab];
  for (const f of FIELDS.filter((x) => x.tabs.includes(tab))) {
    const label = document.createElement('label');
    label.textContent = f.label;
    const fromUrl = params.get(f.key);
    const value = String(fromUrl ?? (d as unknown as Record<string, unknown>)[f.key] ?? '');
    if (f.kind === 'select') {
      const s = document.createElement('select');
      s.id = `f-${f.key}`;
      for (const o of f.options!) { const op = document.createElement('option'); op.value = o; op.textContent = o; s.append(op); }
      s.value = value;
      label.append(s);
    } else {
      const i = document.createElement('input');
      i.id = `f-${f.key}`; i.type = 'number'; i.step = 'any'; i.value = value;
      label.append(i);
    }
    box.append(label);
  }
}

function disposeRun(): void {
  for (const t of [z, sample, extra.heat, extra.grid, extra.gEllipse, extra.trueEllipse, ...strip]) t?.dispose();
  z = sample = null; extra = {}; strip = [];
  trainer?.dispose(); // the compiled step's arena and unread metrics
  trainer = null; run = null; records = []; loadedG = null; lastSnap = 0; stepsPerFrame = 1; note = '';
  status.step = 0; status.losses = [];
  $('stripbox').classList.add('hidden');
}

async function reset(): Promise<void> {
  const gen = ++generation;
  running = false;
  disposeRun();
  $('error').textContent = ''; status.error = '';
  if (tab === 'app') return;
  const c = config();
  let images: ImageSource | undefined;
  if (c.recipe !== 'gaussian') {
    $('stats').textContent = 'loading images...';
    images = userImages && c.recipe === 'dcgan' ? userImages : await mnistDigits();
    if (gen !== generation) return;
  }
  run = buildRun(c, images);
  trainer = new GanTrainer(run);
  const n = c.recipe === 'gaussian' ? 1000 : 64;
  z = tidy(() => F.randn([n, ...run!.latent])).keep();
  if (c.recipe === 'gaussian') gaussianExtras();
  refreshSample();
  status.ready = true;
}

/** The Gaussian view's fixed tensors: a 64x64 lattice over the visible box for D's heat map, and the true
 * ellipse's x = A^T z + mu as [W row-major, b]. */
function gaussianExtras(): void {
  const g = 64; const pts: number[] = [];
  for (let y = 0; y < g; y++) for (let x = 0; x < g; x++) pts.push(2 + ((x + 0.5) / g * 2 - 1) * 6, 1 + ((y + 0.5) / g * 2 - 1) * 6);
  extra.grid = tensor(pts, [g * g, 2]).keep();
  extra.trueEllipse = tensor([1, -0.2, 2, 0.5, 2, 1]).keep();
}

function refreshSample(): void {
  if (!trainer || !z) return;
  const G = loadedG ?? trainer.sampler;
  const next = tidy(() => sampleGenerator(G, z!)).keep();
  sample?.dispose();
  sample = next;
  if (run?.config.recipe === 'gaussian') {
    const D = run.D;
    const softmax = run.config.preset !== 'd2l';
    const heat = tidy(() => noGrad(() => { const o = D.forward(extra.grid!); return softmax ? F.softmax(o, 1).narrow(1, 1, 1).reshape([-1]) : o.reshape([-1]); })).keep();
    extra.heat?.dispose(); extra.heat = heat;
    const [w, b] = G.parameters();
    const ell = tidy(() => noGrad(() => F.cat([w.reshape([-1]), b.reshape([-1])]))).keep();
    extra.gEllipse?.dispose(); extra.gEllipse = ell;
  }
}

function draw(): void {
  if (tab === 'app' || !run || !sample) return;
  if (run.config.recipe === 'gaussian') {
    const real = (run.data as GaussianData).x;
    view.drawScene([
      { kind: 'heat', data: extra.heat!.gpuBuffer(), grid: 64 },
      { kind: 'points', data: { ...real.gpuBuffer(), size: 1000 * 8 }, n: 1000, color: [0.16, 0.35, 0.86, 1], size: 0.006 },
      { kind: 'points', data: sample.gpuBuffer(), n: sample.shape[0], color: [0.9, 0.2, 0.16, 1], size: 0.006 },
      { kind: 'ellipse', data: extra.trueEllipse!.gpuBuffer(), color: [0.1, 0.2, 0.6, 1], width: 0.004 },
      { kind: 'ellipse', data: extra.gEllipse!.gpuBuffer(), color: [0.7, 0.1, 0.1, 1], width: 0.004 },
    ], Canvas2Gpu.view(2, 1, 12, 1));
  } else {
    const slider = $<HTMLInputElement>('strip');
    const pick = strip.length && Number(slider.value) < strip.length - 1 ? strip[Number(slider.value)] : sample;
    const [n, c, h, w] = pick.shape;
    view.drawGrid(pick.gpuBuffer(), n, c, h, w);
  }
}

function stats(): void {
  const m = memory();
  const last = records[records.length - 1];
  $('stats').textContent = [
    `step ${status.step}   ${status.stepsPerSecond.toFixed(status.stepsPerSecond < 10 ? 2 : 0)} steps/s`,
    `GPU memory held ${(m.inUseBytes / 2 ** 20).toFixed(1)} MiB (+${(m.pooledBytes / 2 ** 20).toFixed(1)} pooled)`,
    last ? `D ${last.dLoss.toFixed(3)}  G ${last.gLoss.toFixed(3)}\nD(x) ${last.realScore.toFixed(2)}  D(G(z)) ${last.fakeScore.toFixed(2)}` : '',
    note,
  ].filter(Boolean).join('\n');
}

function pullMetrics(): void {
  if (!trainer) return;
  const gen = generation;
  trainer.metrics().then((r) => {
    if (gen !== generation) return;
    records.push(...r);
    if (records.length > 5000) records = records.filter((_, i) => i % 2 === 0);
    status.losses = records.slice(-200);
    drawChart($('chart'), records.map((x) => x.step), [
      { name: 'D loss', color: '#d62728', values: records.map((x) => x.dLoss) },
      { name: 'G loss', color: '#1f77b4', values: records.map((x) => x.gLoss) },
      { name: 'D(x)', color: '#2ca02c', values: records.map((x) => x.realScore) },
      { name: 'D(G(z))', color: '#ff7f0e', values: records.map((x) => x.fakeScore) },
    ]);
  }, showError);
}

async function loop(): Promise<void> {
  let t = 0;
  for (;;) {
    await new Promise((r) => requestAnimationFrame(r));
    status.frames++;
    try {
      if (tab === 'app') {
        if (!scene) { await new Promise((r) => setTimeout(r, 50)); continue; }
        if (!trainer) { run = buildRun({ recipe: 'gaussian', seed: 0 }); trainer = new GanTrainer(run); }
        trainer.trainStep();
        status.step = trainer.step;
        if (trainer.step % 50 === 0) pullMetrics();
        scene.frame(trainer.s.G, (t += 0.01), 1);
        await device.queue.onSubmittedWorkDone();
        continue;
      }
      if (running && trainer) {
        // Train: record stepsPerFrame steps, submit, wait for the GPU (never for a readback), and size the next
        // batch of steps so training takes ~100 ms of each frame.
        const t0 = performance.now();
        for (let i = 0; i < stepsPerFrame; i++) trainer.trainStep();
        status.step = trainer.step;
        const image = run!.config.recipe !== 'gaussian';
        if (trainer.step % (image ? 2 : 20) < stepsPerFrame) pullMetrics();
        flush();
        await device.queue.onSubmittedWorkDone();
        const ms = performance.now() - t0;
        stepsPerFrame = Math.max(1, Math.min(500, Math.round(stepsPerFrame * (ms < 70 ? 1.5 : ms > 130 ? 0.7 : 1))));
        // Draw at most ~4 times a second: on a CPU adapter rendering costs as much as a few steps.
        if (performance.now() - lastDraw > 250) {
          refreshSample();
          if (image && trainer.step - lastSnap >= 10 && strip.length < 60) {
            lastSnap = trainer.step;
            strip.push(tidy(() => F.clone(sample!)).keep());
            const s = $<HTMLInputElement>('strip');
            s.max = String(strip.length - 1); s.value = s.max;
            $('striplabel').textContent = `${strip.length} grids, one every ≥10 steps`;
            $('stripbox').classList.remove('hidden');
          }
          draw();
          lastDraw = performance.now();
        }
        const now = performance.now();
        rateWindow.push({ t: now, step: trainer.step });
        rateWindow = rateWindow.filter((r) => now - r.t < 3000);
        if (rateWindow.length > 1) status.stepsPerSecond = (trainer.step - rateWindow[0].step) / ((now - rateWindow[0].t) / 1000);
      } else draw();
      stats();
    } catch (e) { showError(e); }
  }
}

function download(bytes: Uint8Array, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  a.download = name;
  a.click();
}

/** A DCGAN generator's architecture from its PyTorch state dict's shapes. */
function dcganArchOf(sd: Map<string, Tensor>): RunConfig {
  const convs = [...sd.entries()].filter(([k, t]) => k.endsWith('.weight') && t.ndim === 4);
  if (convs.length < 4) throw new Error(`not a DCGAN generator state dict: found ${convs.length} 4-d weights`);
  const [latent, w4] = convs[0][1].shape;
  const last = convs[convs.length - 1][1].shape;
  return { recipe: 'dcgan', seed: 0, latent, width: convs.length === 5 ? w4 / 8 : w4 / 4, channels: last[1] as 1 | 3, size: convs.length === 5 ? 64 : 32 };
}

async function selectTab(t: Tab): Promise<void> {
  tab = t;
  status.tab = t;
  status.ready = false;
  document.querySelectorAll('header button').forEach((b) => b.classList.toggle('on', (b as HTMLElement).dataset.tab === t));
  $('drop').classList.toggle('hidden', t !== 'dcgan');
  $('controls').querySelector('.buttons')!.classList.toggle('hidden', t === 'app');
  $('chart').classList.toggle('hidden', t === 'app');
  renderFields();
  if (t === 'app') {
    disposeRun();
    const c = $<HTMLCanvasElement>('gpu');
    // A fresh canvas: a canvas context stays configured for the pipeline that first used it.
    const fresh = c.cloneNode() as HTMLCanvasElement;
    c.replaceWith(fresh);
    scene = new AppScene(device, fresh);
    status.ready = true;
    return;
  }
  if (scene) {
    scene = null;
    const c = $<HTMLCanvasElement>('gpu');
    const fresh = c.cloneNode() as HTMLCanvasElement;
    c.replaceWith(fresh);
    view = new Canvas2Gpu(device, fresh);
  }
  await reset();
}

async function main(): Promise<void> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    $('nogpu-why').textContent = 'This browser does not expose navigator.gpu.';
    $('nogpu').style.display = 'block'; $('ui').classList.add('hidden');
    return;
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) {
    $('nogpu-why').textContent = 'navigator.gpu is present but no WebGPU adapter is available (blocklisted GPU or WebGPU disabled).';
    $('nogpu').style.display = 'block'; $('ui').classList.add('hidden');
    return;
  }
  gpuAdapter = adapter;
  const l = adapter.limits;
  device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize } });
  const dbg = (m: string) => { if (params.has('debug')) console.log(`[demo] ${m} ${performance.now().toFixed(0)}`); };
  device.lost.then((i) => dbg(`lost ${i.reason} ${i.message}`));
  // The page owns the device, so its validation errors are the page's to show.
  device.addEventListener('uncapturederror', (e) => showError(`WebGPU: ${(e as GPUUncapturedErrorEvent).error.message}`));
  dbg('device');
  await init({ device }); // Kiln shares the page's device and queue
  dbg('init');
  view = new Canvas2Gpu(device, $('gpu'));
  dbg('canvas');
  document.querySelectorAll('header button').forEach((b) => b.addEventListener('click', () => { selectTab((b as HTMLElement).dataset.tab as Tab).catch(showError); }));
  $('start').addEventListener('click', () => { if (trainer) running = true; });
  $('pause').addEventListener('click', () => { running = false; });
  $('reset').addEventListener('click', () => { reset().catch(showError); });
  $('fields').addEventListener('change', () => { reset().catch(showError); });
  $('strip').addEventListener('input', () => draw());
  $('save').addEventListener('click', async () => {
    if (!trainer || !run) return;
    try {
      records.push(...(await trainer.metrics()));
      download(await encodeCheckpoint(trainer, run.config), `kiln-${run.config.recipe}-step${trainer.step}.safetensors`);
    } catch (e) { showError(e); }
  });
  $('load').addEventListener('change', async (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (!f) return;
    try {
      const ck = decodeCheckpoint(new Uint8Array(await f.arrayBuffer()), f.name);
      if (ck.config.recipe !== tab) await selectTab(ck.config.recipe as Tab);
      running = false;
      disposeRun();
      const images = ck.config.recipe === 'gaussian' ? undefined : ck.config.data === 'browser-files' && userImages ? userImages : await mnistDigits();
      run = buildRun(ck.config, images);
      trainer = new GanTrainer(run);
      restoreCheckpoint(trainer, ck);
      status.step = trainer.step;
      z = tidy(() => F.randn([ck.config.recipe === 'gaussian' ? 1000 : 64, ...run!.latent])).keep();
      if (ck.config.recipe === 'gaussian') gaussianExtras();
      refreshSample();
    } catch (e) { showError(e); }
  });
  $('torchg').addEventListener('change', async (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (!f) return;
    try {
      const { stateDict } = stateDictFromSafetensors(new Uint8Array(await f.arrayBuffer()), f.name);
      // Files made by scripts/make_gan_fixtures.py prefix the generator's keys with "G.".
      const sd = new Map([...stateDict].filter(([k]) => !['z', 'out'].includes(k)).map(([k, v]) => [k.replace(/^G\./, ''), v]));
      const arch = dcganArchOf(sd);
      if (tab !== 'dcgan') await selectTab('dcgan');
      running = false;
      const G = makeGenerator(arch);
      G.loadStateDict(sd);
      for (const t of stateDict.values()) t.dispose();
      disposeRun();
      run = buildRun({ ...arch, data: 'none' }, { images: new Float32Array(arch.channels! * arch.size! * arch.size!), channels: arch.channels!, side: arch.size! });
      trainer = new GanTrainer(run);
      loadedG = G;
      z = tidy(() => F.randn([64, arch.latent!, 1, 1])).keep();
      refreshSample();
      note = `PyTorch generator: latent ${arch.latent}, width ${arch.width}, ${arch.channels}x${arch.size}x${arch.size}`;
    } catch (e) { showError(e); }
  });
  const takeFiles = async (files: File[]) => {
    try {
      const f = await imageFiles(files);
      userImages = f;
      $('drop').textContent = `${f.count} images loaded (64x64 RGB): training the DCGAN on them`;
      await reset();
      running = true;
    } catch (e) { showError(e); }
  };
  $('folder').addEventListener('change', (ev) => { void takeFiles([...((ev.target as HTMLInputElement).files ?? [])]); });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    void takeFiles([...(e.dataTransfer?.files ?? [])]);
  });
  void loop();
  dbg('loop');
  await selectTab((params.get('tab') as Tab | null) ?? 'gaussian');
  if (params.has('autostart')) running = true;
}

main().catch(showError);
