// The demo: train the seeds' GANs live in the browser on WebGPU, watch samples, the discriminator and the
// losses, save and load checkpoints. One state machine (state.ts) gates every control; each tab's run lives in
// a Session, and async work that finishes after its session was replaced is dropped. The page owns its
// GPUDevice and shares it with Kiln; samples are drawn from the tensors' GPU buffers (no copy back). Each
// animation frame records as many compiled steps as a time budget allows, with at most two frames of work
// queued on the GPU; metrics arrive lagged and drawing runs a few times a second, apart from stepping.
import { F, flush, init, KilnDeviceLostError, memory, noGrad, onDeviceLost, stateDictFromSafetensors, tensor, tidy, type AdapterReport, type Tensor } from 'kiln';
import {
  buildRun, CYCLE_LOSSES, decodeCheckpoint, decodeCycleGanCheckpoint, encodeCheckpoint, encodeCycleGanCheckpoint, GanTrainer,
  isCycleGanCheckpointBytes, makeGenerator, restoreCheckpoint, restoreCycleGanCheckpoint, sampleGenerator,
  type Checkpoint, type CycleGanCheckpoint, type CycleGanTrainer, type CycleRecord, type GaussianData, type ImageSource, type RunConfig, type StepRecord,
} from 'kiln/gan';
import type { nn } from 'kiln';
import { AppScene } from './app_scene.js';
import { drawChart } from './chart.js';
import { cycleConfig, cyclePanels, cycleSource, cycleTrainer, CycleView, fitFolders, FOLDER_SIDE, recognisable, taskOf, TASK_DEFAULTS, type CycleTask, type Folders } from './cycle.js';
import { imageFiles, mnistDigits, type LabelledDigits } from './data.js';
import { Canvas2Gpu } from './render.js';
import { PageMachine, type Action, type PageState } from './state.js';
import { tabById, TABS, type GanTab, type TabSpec, type TrainTab } from './tabs.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

/** CPU time per frame spent recording steps. */
const RECORD_BUDGET_MS = 10;
/** Time from submitting a frame's steps to the GPU finishing them (two frames may be queued). */
const QUEUE_TARGET_MS = 100;
/**
 * Samples, chart and numbers redraw at most this often while training. On a software adapter drawing and
 * compositing share the CPU with the emulated GPU: at 4 Hz they cost more than half the Gaussian step rate,
 * once a second still ~25% (334 against 451 steps/s without drawing, headless Chromium on SwiftShader, 2
 * shared cores under load), so a software adapter redraws every 2 s. ?drawms= overrides it.
 */
const drawEvery = (): number => Number(params.get('drawms') ?? (report?.isFallbackAdapter ? 2000 : 250));

/** What the end-to-end tests and a curious visitor can read: window.__demo. */
const status = {
  tab: '', state: 'loading' as PageState, step: 0, stepsPerSecond: 0, losses: [] as Rec[], ready: false, error: '',
  frames: 0, saved: [] as string[], adapter: '', software: false, session: 0,
  /** Errors shown so far: a test waits for "a new error" as `failures` passing the count it read before. */
  failures: 0,
  /** Device losses seen, the step of the latest in-memory snapshot (-1: none) and the step restored from. */
  deviceLosses: 0, snapshotStep: -1, restoredFrom: -1, notice: '',
  /** Loop internals: steps per frame, frame work in ms (mean of the last frames). */
  chunk: 0, frameMs: 0,
};
(window as unknown as { __demo: typeof status }).__demo = status;

const machine = new PageMachine();
let device: GPUDevice;
/** Held for the page's lifetime: a collected adapter can take its device down with it. */
let gpuAdapter: GPUAdapter | null = null;
let report: AdapterReport | null = null;
let view: Canvas2Gpu | null = null;
let canvasOwner: 'kiln' | 'app' = 'kiln';
let tab: TabSpec = TABS[0];
let session: Session | null = null;
/** Bumped whenever a new session is asked for: older async work compares and drops its result. */
let epoch = 0;
let userImages: (ImageSource & { count: number }) | null = null;
/** The CycleGAN tab's two folders. */
const cycleFolders: Folders = { a: null, b: null };

type Rec = StepRecord | CycleRecord;
/** What a session's trainer offers the frame loop: GanTrainer and CycleGanTrainer both. */
interface Trainer { step: number; trainStep(): void; poll(): Promise<Rec[]>; metrics(): Promise<Rec[]>; dispose(): void }
/** A run's state as bytes in host memory (its checkpoint encoding), and its metrics up to then. */
interface Snapshot { bytes: Uint8Array; step: number; records: Rec[]; config: RunConfig }
/** Per tab, the settings last used (from the URL at first). */
const settings = new Map<string, RunConfig>();

/** One tab's run: models, trainer, the tensors drawn, the metrics, and async work that must finish first. */
class Session {
  readonly id = ++sessionCount;
  trainer: Trainer;
  z: Tensor | null = null;
  cycle: CycleView | null = null;
  sample: Tensor | null = null;
  heat: Tensor | null = null;
  gEllipse: Tensor | null = null;
  grid: Tensor | null = null;
  trueEllipse: Tensor | null = null;
  strip: Tensor[] = [];
  lastSnap = 0;
  records: Rec[] = [];
  /** The latest in-memory snapshot, and whether one is being taken (stepping waits meanwhile). */
  snapshot: Snapshot | null = null;
  snapping = false;
  note: string;
  scene: AppScene | null = null;
  /** Steps whose GPU work has completed, and when: the steps/s window. */
  rate: { t: number; step: number }[] = [];
  inflight = 0;
  chunk = 1;
  polling = false;
  lastDraw = -Infinity;
  chartDirty = true;
  disposed = false;
  private holds = new Set<Promise<unknown>>();

  constructor(readonly spec: TabSpec, readonly config: RunConfig, readonly run: ReturnType<typeof buildRun> | null,
    readonly loadedG: nn.Module | null = null, note = '', cycle: CycleGanTrainer | null = null) {
    this.note = note;
    if (cycle) {
      this.trainer = cycle;
      this.cycle = new CycleView(cycle);
    } else {
      this.trainer = new GanTrainer(run!);
      const n = spec.kind === 'gan' ? spec.samples : 1;
      this.z = tidy(() => F.randn([n, ...run!.latent])).keep();
    }
  }

  /** The D-then-G trainer (GAN and app tabs). */
  get gan(): GanTrainer { return this.trainer as GanTrainer; }
  get cyc(): CycleGanTrainer { return this.trainer as CycleGanTrainer; }
  get canSave(): boolean { return (this.spec.kind === 'gan' || this.spec.kind === 'cycle') && !this.loadedG; }
  /** CycleGAN runs stop at their step count (the learning rate has decayed to 0 there). */
  get stepLimit(): number { return this.spec.kind === 'cycle' ? this.config.steps ?? Infinity : Infinity; }
  /** Steps between in-memory snapshots. */
  get snapshotEvery(): number {
    const q = Number(params.get('snapshot'));
    if (q > 0) return q;
    return this.spec.kind === 'gan' ? this.spec.snapshotEvery : this.spec.kind === 'cycle' ? this.spec.snapshotEvery[taskOf(this.config)] : Infinity;
  }

  /** Keeps the session alive until `p` settles, even if the page has moved on. */
  hold<T>(p: Promise<T>): Promise<T> {
    this.holds.add(p);
    const drop = () => { this.holds.delete(p); };
    p.then(drop, drop);
    return p;
  }

  addRecords(r: Rec[]): void {
    if (!r.length) return;
    this.records.push(...r);
    if (this.records.length > 1 && r[0].step < this.records[this.records.length - r.length - 1]?.step) this.records.sort((a, b) => a.step - b.step);
    this.chartDirty = true;
  }

  stepsPerSecond(): number {
    const r = this.rate;
    if (r.length < 2 || r[r.length - 1].t - r[0].t < 400) return NaN;
    return (r[r.length - 1].step - r[0].step) / ((r[r.length - 1].t - r[0].t) / 1000);
  }

  /** Frees everything once held work (a save) has finished. */
  async dispose(): Promise<void> {
    this.disposed = true;
    while (this.holds.size) await Promise.allSettled([...this.holds]);
    for (const t of [this.z, this.sample, this.heat, this.gEllipse, this.grid, this.trueEllipse, ...this.strip]) t?.dispose();
    this.strip = [];
    this.cycle?.dispose();
    this.trainer.dispose();
    if (this.scene) { this.scene.target.dispose(); this.scene.points.destroy(); }
  }
}
let sessionCount = 0;

// ---------------------------------------------------------------------------------------------- state and UI

function fail(e: unknown): void {
  // A lost device is not the user's error: the page gets a new one and restores the last snapshot.
  if (e instanceof KilnDeviceLostError || lostDevices.has(device)) { deviceLost(); return; }
  const msg = e instanceof Error ? e.message : String(e);
  // A readback fails for a lost device ("Buffer was unmapped before mapping was resolved", an AbortError)
  // just before the device says it is lost: give it a moment.
  if ((e instanceof DOMException || /\b(lost|destroyed|unmapped)\b/i.test(msg)) && !recovering) {
    const d = device;
    setTimeout(() => { if (lostDevices.has(d)) { if (d === device) deviceLost(); } else showFailure(msg); }, 300);
    return;
  }
  showFailure(msg);
}

function showFailure(msg: string): void {
  console.warn(`[demo] ${msg}`);
  status.error = msg;
  status.failures++;
  $('error').textContent = msg;
  machine.dispatch('fail');
}

/** Whether the user has the run training (Start pressed, not since paused or replaced); a failure leaves it. */
let wantTraining = false;

function act(a: Action): boolean {
  const ok = machine.dispatch(a);
  if (ok && a === 'start') wantTraining = true;
  else if (ok && a !== 'fail' && a !== 'save' && a !== 'saved' && a !== 'loaded') wantTraining = false;
  if (ok && a !== 'fail' && a !== 'saved') clearError();
  return ok;
}

/** The error shown goes once the user acts on its cause (a new run, a new file or folder picked). */
function clearError(): void {
  status.error = ''; $('error').textContent = '';
}

const STATE_TEXT: Record<PageState, string> = {
  idle: 'ready', loading: 'loading…', training: 'training', paused: 'paused', saving: 'saving checkpoint…', error: 'error',
};

function syncControls(): void {
  const st = machine.state;
  status.state = st;
  const s = session;
  const gan = tab.kind === 'gan' || tab.kind === 'cycle';
  const set = (id: string, on: boolean) => { const el = $(id) as HTMLButtonElement | HTMLInputElement; if (el.disabled === on) el.disabled = !on; };
  set('start', machine.can('start') && !!s);
  set('pause', machine.can('pause'));
  set('reset', machine.can('reset'));
  set('save', machine.can('save') && !!s?.canSave);
  set('png', !!s && st !== 'loading');
  set('csv', !!s && gan && !!s.records.length);
  set('load', gan && machine.can('load'));
  set('foldera', tab.kind === 'cycle' && machine.can('files'));
  set('folderb', tab.kind === 'cycle' && machine.can('files'));
  set('torchg', tab.id === 'dcgan' && machine.can('load'));
  set('folder', tab.kind === 'gan' && tab.data === 'mnist-or-folder' && machine.can('files'));
  $('fields').querySelectorAll('input, select').forEach((el) => { (el as HTMLInputElement).disabled = !machine.can('edit'); });
  if ($('state').dataset.state !== st) { $('state').textContent = STATE_TEXT[st]; $('state').dataset.state = st; }
}

function renderTabs(): void {
  const bar = $('tabs');
  bar.innerHTML = '';
  for (const t of TABS) {
    const b = document.createElement('button');
    b.textContent = t.label; b.dataset.tab = t.id; b.setAttribute('role', 'tab'); b.id = `tab-${t.id}`;
    b.addEventListener('click', () => selectTab(t));
    bar.append(b);
  }
  // Arrow keys move between tabs, as in the ARIA tabs pattern.
  bar.addEventListener('keydown', (e) => {
    const i = TABS.findIndex((t) => t.id === tab.id);
    const j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : -1;
    if (j < 0 || j >= TABS.length || !['ArrowRight', 'ArrowLeft'].includes(e.key)) return;
    selectTab(TABS[j]);
    ($(`tab-${TABS[j].id}`) as HTMLButtonElement).focus();
  });
}

function markTab(): void {
  for (const b of $('tabs').querySelectorAll('button')) {
    const on = (b as HTMLElement).dataset.tab === tab.id;
    b.classList.toggle('on', on);
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
  }
}

/** A tab's settings: the last used, else the URL's (for the tab the URL names), else its defaults. */
function settingsOf(t: TrainTab): RunConfig {
  let c = settings.get(t.id);
  if (!c) {
    const form: Record<string, unknown> = {};
    if ((params.get('tab') ?? TABS[0].id) === t.id) {
      for (const f of t.fields) {
        const v = params.get(f.key);
        if (v !== null && v !== '') form[f.key] = f.kind === 'number' ? Number(v) : v;
      }
    }
    c = t.kind === 'cycle' ? cycleConfig(form) : { ...t.defaults, ...form } as RunConfig;
    settings.set(t.id, c);
  }
  return { ...c };
}

function renderFields(t: TabSpec, c: RunConfig | null): void {
  const box = $('fields');
  box.innerHTML = '';
  if ((t.kind !== 'gan' && t.kind !== 'cycle') || !c) return;
  const toy = t.kind === 'cycle' && taskOf(c) === 'toy';
  for (const f of t.fields) {
    // The toy's MLPs have no widths or blocks to set.
    if (toy && ['ngf', 'blocks', 'ndf'].includes(f.key)) continue;
    const label = document.createElement('label');
    const id = `f-${f.key}`;
    label.htmlFor = id;
    label.textContent = f.label;
    const value = t.kind === 'cycle' && f.key === 'task' ? taskOf(c) : String((c as unknown as Record<string, unknown>)[f.key] ?? '');
    let el: HTMLInputElement | HTMLSelectElement;
    if (f.kind === 'select') {
      el = document.createElement('select');
      for (const o of f.options!) { const op = document.createElement('option'); op.value = o; op.textContent = o; el.append(op); }
    } else {
      el = document.createElement('input');
      el.type = 'number'; el.step = 'any'; el.inputMode = 'decimal';
    }
    el.id = id; el.name = f.key; el.value = value;
    const row = document.createElement('div');
    row.className = 'field';
    row.append(label, el);
    box.append(row);
  }
}

/** The settings in the fields (the folder's image size and a batch no larger than the folder when one is loaded). */
function configFromFields(t: TrainTab): { config: RunConfig; note: string } {
  if (t.kind === 'cycle') {
    const form: Record<string, unknown> = {};
    const task = ((document.getElementById('f-task') as HTMLSelectElement | null)?.value ?? 'toy') as CycleTask;
    const prev = settings.get(t.id);
    // A new task starts from that task's settings; otherwise the fields as edited.
    if (!prev || taskOf(prev) === task) {
      for (const f of t.fields) {
        const el = document.getElementById(`f-${f.key}`) as HTMLInputElement | HTMLSelectElement | null;
        if (el && el.value !== '') form[f.key] = f.kind === 'number' ? Number(el.value) : el.value;
      }
    }
    form.task = task;
    const c = cycleConfig(form);
    settings.set(t.id, { ...c });
    const fit = fitFolders(c, cycleFolders);
    if (fit.config.batch !== c.batch) { const el = document.getElementById('f-batch') as HTMLInputElement | null; if (el) el.value = String(fit.config.batch); }
    return fit;
  }
  const c = { ...t.defaults };
  for (const f of t.fields) {
    const el = document.getElementById(`f-${f.key}`) as HTMLInputElement | HTMLSelectElement | null;
    if (!el || el.value === '') continue;
    (c as unknown as Record<string, unknown>)[f.key] = f.kind === 'number' ? Number(el.value) : el.value;
  }
  settings.set(t.id, { ...c });
  return adaptToFolder(t, c);
}

function adaptToFolder(t: GanTab, c: RunConfig): { config: RunConfig; note: string } {
  if (t.data !== 'mnist-or-folder' || !userImages) return { config: c, note: '' };
  let note = `training on your ${userImages.count} images (64×64 RGB)`;
  c = { ...c, size: 64, channels: 3, data: 'browser-files' };
  if ((c.batch ?? 1) > userImages.count) {
    note += `; batch lowered from ${c.batch} to ${userImages.count}, the folder's size`;
    c.batch = userImages.count;
    const el = document.getElementById('f-batch') as HTMLInputElement | null;
    if (el) el.value = String(c.batch);
  }
  return { config: c, note };
}

function showProgress(text: string | null, loaded = 0, total = 0): void {
  const box = $('progressbox');
  box.classList.toggle('hidden', text === null);
  if (text === null) return;
  $('progresstext').textContent = text;
  const p = $<HTMLProgressElement>('progress');
  if (total > 0) { p.max = total; p.value = loaded; } else p.removeAttribute('value');
}

// ------------------------------------------------------------------------------------------------ sessions

type How = { kind: 'fresh' } | { kind: 'checkpoint'; ck: Checkpoint; file: string } | { kind: 'torch'; G: nn.Module; arch: RunConfig }
  | { kind: 'cycle-checkpoint'; ck: CycleGanCheckpoint; file: string }
  /** After a device loss: the last in-memory snapshot of the run (or none: a fresh run with the same settings). */
  | { kind: 'snapshot'; snap: Snapshot | null; config: RunConfig };

/** Replaces the running session with a new one for `t`; every control that rebuilds comes through here. */
async function openSession(t: TabSpec, action: Action, how: How = { kind: 'fresh' }, autostart = false): Promise<void> {
  if (!act(action)) return;
  const mine = ++epoch;
  const old = session;
  session = null;
  if (old) void old.dispose().catch(() => {});
  status.step = 0; status.stepsPerSecond = 0; status.losses = []; status.ready = false; status.session = 0; status.snapshotStep = -1;
  $('stripbox').classList.add('hidden');
  showProgress(null);
  try {
    useCanvas(t.kind === 'app' ? 'app' : 'kiln');
    let s: Session;
    if (t.kind === 'app') {
      s = new Session(t, { recipe: 'gaussian', seed: 0 }, buildRun({ recipe: 'gaussian', seed: 0 }));
      s.scene = new AppScene(device, $<HTMLCanvasElement>('gpu'));
    } else if (t.kind === 'cycle') {
      const r = await cycleSession(t, how, mine);
      if (!r) return;
      s = r;
    } else {
      let config: RunConfig;
      let note = '';
      if (how.kind === 'snapshot') {
        if (how.snap) {
          const ck = decodeCheckpoint(how.snap.bytes, 'snapshot');
          how = { kind: 'checkpoint', ck, file: 'snapshot' };
        } else how = { kind: 'fresh' };
      }
      if (how.kind === 'checkpoint') {
        config = how.ck.config;
        note = `checkpoint ${how.file} (step ${how.ck.step})`;
        if (config.data === 'browser-files' && (!userImages || (config.batch ?? 1) > userImages.count)) {
          throw new Error(`${how.file} was trained on a folder of images: drop that folder (at least ${config.batch} images) first, then load the checkpoint`);
        }
      } else if (how.kind === 'torch') {
        config = how.arch;
      } else ({ config, note } = configFromFields(t));
      renderFields(t, config);
      syncControls();
      let images: ImageSource | undefined;
      if (how.kind === 'torch') {
        images = { images: new Float32Array(how.arch.channels! * how.arch.size! ** 2), channels: how.arch.channels!, side: how.arch.size! };
      } else if (config.data === 'browser-files') {
        images = userImages!;
      } else if (t.data !== 'none') {
        const d = await loadDigits(mine);
        if (!d) return;
        images = d;
      }
      const run = buildRun(how.kind === 'torch' ? { ...how.arch, data: 'none' } : config, images);
      s = new Session(t, config, run, how.kind === 'torch' ? how.G : null,
        how.kind === 'torch' ? `PyTorch generator: latent ${how.arch.latent}, width ${how.arch.width}, ${how.arch.channels}x${how.arch.size}x${how.arch.size} (sampling only)` : note);
      if (how.kind === 'checkpoint') restoreCheckpoint(s.gan, how.ck);
      if (t.view === 'scatter') gaussianTensors(s);
      refreshSample(s);
    }
    if (mine !== epoch) { void s.dispose(); return; }
    if (restoring) {
      s.note = restoring.note;
      if (restoring.snap) { s.records = restoring.snap.records.filter((r) => r.step <= restoring!.snap!.step); s.snapshot = restoring.snap; }
      status.restoredFrom = restoring.snap?.step ?? 0;
      status.notice = restoring.note;
      restoring = null;
    }
    session = s;
    status.snapshotStep = s.snapshot?.step ?? -1;
    status.session = s.id; status.step = s.trainer.step; status.ready = true;
    act('loaded');
    if (autostart) act('start');
    draw(s);
    chart(s);
  } catch (e) {
    if (mine === epoch) { showProgress(null); fail(e); }
  }
}

/** The MNIST digits with a progress bar; null when the page moved on meanwhile. */
async function loadDigits(mine: number): Promise<LabelledDigits | null> {
  showProgress('loading MNIST digits…');
  const m = mnistDigits((loaded, total) => {
    if (mine === epoch) showProgress(`loading MNIST digits: ${(loaded / 2 ** 20).toFixed(1)}${total ? ` / ${(total / 2 ** 20).toFixed(1)}` : ''} MB`, loaded, total);
  });
  let d: LabelledDigits;
  try { d = await m.done; } finally { m.stop(); }
  if (mine !== epoch) return null;
  showProgress(null);
  return d;
}

/** A CycleGAN session: fresh from the fields, from a checkpoint, or from a snapshot after a device loss.
 * Null when the page moved on while the digits loaded. */
async function cycleSession(t: TrainTab, how: How, mine: number): Promise<Session | null> {
  let config: RunConfig;
  let note = '';
  let ck: CycleGanCheckpoint | null = null;
  if (how.kind === 'snapshot' && how.snap) ck = decodeCycleGanCheckpoint(how.snap.bytes, 'snapshot');
  else if (how.kind === 'cycle-checkpoint') { ck = how.ck; note = `checkpoint ${how.file} (step ${ck.step})`; }
  if (ck) {
    config = ck.config;
    const { a, b } = cycleFolders;
    if (taskOf(config) === 'folders' && (!a || !b || (config.batch ?? 1) > Math.min(a.count, b.count))) {
      throw new Error(`${how.kind === 'cycle-checkpoint' ? how.file : 'the snapshot'} was trained on two folders of images: choose a folder for each domain (at least ${config.batch} images each) first, then load the checkpoint`);
    }
  } else if (how.kind === 'snapshot') {
    ({ config, note } = fitFolders(how.config, cycleFolders));
  } else ({ config, note } = configFromFields(t));
  renderFields(t, config);
  syncControls();
  let digits: LabelledDigits | null = null;
  if (taskOf(config) === 'digits') {
    digits = await loadDigits(mine);
    if (!digits) return null;
  }
  const trainer = cycleTrainer(config, cycleSource(config, digits, cycleFolders));
  try {
    if (ck) restoreCycleGanCheckpoint(trainer, ck);
  } catch (e) { trainer.dispose(); throw e; }
  const s = new Session(t, config, null, null, note, trainer);
  s.cycle!.refresh();
  return s;
}

function useCanvas(owner: 'kiln' | 'app'): void {
  if (view && owner === canvasOwner && owner === 'kiln') return;
  // A fresh canvas whenever the owner changes: a canvas context stays configured for its first user.
  const c = $<HTMLCanvasElement>('gpu');
  const fresh = c.cloneNode() as HTMLCanvasElement;
  c.replaceWith(fresh);
  canvasOwner = owner;
  view = owner === 'kiln' ? new Canvas2Gpu(device, fresh) : null;
}

/** The Gaussian view's fixed tensors: a 64x64 lattice over the visible box for D's heat map, and the true
 * ellipse's x = A^T z + mu as [W row-major, b]. */
function gaussianTensors(s: Session): void {
  const g = 64; const pts: number[] = [];
  for (let y = 0; y < g; y++) for (let x = 0; x < g; x++) pts.push(2 + ((x + 0.5) / g * 2 - 1) * 6, 1 + ((y + 0.5) / g * 2 - 1) * 6);
  s.grid = tensor(pts, [g * g, 2]).keep();
  s.trueEllipse = tensor([1, -0.2, 2, 0.5, 2, 1]).keep();
}

function refreshSample(s: Session): void {
  if (s.spec.kind === 'cycle') { s.cycle!.refresh(); return; }
  if (s.spec.kind !== 'gan') return;
  const G = s.loadedG ?? s.gan.sampler;
  const next = tidy(() => sampleGenerator(G, s.z!)).keep();
  s.sample?.dispose();
  s.sample = next;
  if (s.spec.view === 'scatter') {
    const D = s.run!.D;
    const softmax = s.config.preset !== 'd2l';
    const heat = tidy(() => noGrad(() => { const o = D.forward(s.grid!); return softmax ? F.softmax(o, 1).narrow(1, 1, 1).reshape([-1]) : o.reshape([-1]); })).keep();
    s.heat?.dispose(); s.heat = heat;
    const [w, b] = G.parameters();
    const ell = tidy(() => noGrad(() => F.cat([w.reshape([-1]), b.reshape([-1])]))).keep();
    s.gEllipse?.dispose(); s.gEllipse = ell;
  }
}

/** Sample views by kind (a tab's `view`): each draws a session's tensors onto the WebGPU canvas. */
const VIEWS: Record<'scatter' | 'grid', (s: Session, v: Canvas2Gpu) => void> = {
  scatter: (s, v) => {
    const real = (s.run!.data as GaussianData).x;
    const n = Math.min(1000, real.shape[0]);
    v.drawScene([
      { kind: 'heat', data: s.heat!.gpuBuffer(), grid: 64 },
      { kind: 'points', data: { ...real.gpuBuffer(), size: n * 8 }, n, color: [0.16, 0.35, 0.86, 1], size: 0.006 },
      { kind: 'points', data: s.sample!.gpuBuffer(), n: s.sample!.shape[0], color: [0.9, 0.2, 0.16, 1], size: 0.006 },
      { kind: 'ellipse', data: s.trueEllipse!.gpuBuffer(), color: [0.1, 0.2, 0.6, 1], width: 0.004 },
      { kind: 'ellipse', data: s.gEllipse!.gpuBuffer(), color: [0.7, 0.1, 0.1, 1], width: 0.004 },
    ], Canvas2Gpu.view(2, 1, 12, 1));
  },
  grid: (s, v) => {
    const slider = $<HTMLInputElement>('strip');
    const pick = s.strip.length && Number(slider.value) < s.strip.length - 1 ? s.strip[Number(slider.value)] : s.sample!;
    const [n, c, h, w] = pick.shape;
    v.drawGrid(pick.gpuBuffer(), n, c, h, w);
  },
};

function draw(s: Session): void {
  if (s.spec.kind === 'app') { s.scene?.frame(s.gan.s.G, performance.now() / 1000 * 0.6, 1); return; }
  if (s.spec.kind === 'cycle') { if (view) s.cycle!.draw(view); return; }
  if (!view || !s.sample) return;
  VIEWS[s.spec.view](s, view);
}

// -------------------------------------------------------------------------------------------- the frame loop

function frame(): void {
  requestAnimationFrame(frame);
  status.frames++;
  const s = session;
  const now = performance.now();
  if (recovering) return;
  if (!s) { if (now - lastPaint > drawEvery()) { stats(null); lastPaint = now; } return; }
  try {
    const training = machine.state === 'training';
    const app = s.spec.kind === 'app';
    // Everything visible changes in one frame per interval: on a software adapter each repaint of the page
    // costs the emulated GPU time, so samples, chart and numbers share one repaint instead of three.
    const paint = now - lastPaint > drawEvery();
    let n = 0;
    // At most two frames of work queued on the GPU: the page stays responsive and drawing stays current.
    // Stepping waits while a snapshot reads the model, so the snapshot is of one step.
    if (training && s.inflight < 2 && !s.snapping) {
      const t0 = performance.now();
      const limit = s.stepLimit;
      while (n < s.chunk && s.trainer.step < limit && (n === 0 || performance.now() - t0 < RECORD_BUDGET_MS)) { s.trainer.trainStep(); n++; }
      status.step = s.trainer.step;
      if (s.canSave && s.trainer.step - (s.snapshot?.step ?? 0) >= s.snapshotEvery) void takeSnapshot(s);
      if (s.trainer.step >= limit) {
        s.note = `finished: ${limit} steps, the learning rate has decayed to 0. Raise "steps" or Reset to train again.`;
        act('pause');
      }
    }
    const drawNow = app ? s.inflight < 2 : (training && paint) || s.lastDraw < 0;
    if (drawNow) { refreshSample(s); if (training) snapStrip(s); draw(s); s.lastDraw = now; }
    if (n || drawNow) {
      flush();
      s.inflight++;
      const submitted = performance.now();
      void device.queue.onSubmittedWorkDone().then(() => {
        s.inflight--;
        if (s.disposed || !n) return;
        const done = performance.now();
        // Size chunks by queue latency, not by per-step estimates: onSubmittedWorkDone resolves tens of ms
        // late in Chromium, so short chunks would leave the GPU idle between them. Grow until a chunk spends
        // about QUEUE_TARGET_MS between submit and done (it waits behind at most one other), shrink past it.
        const latency = done - submitted;
        s.chunk = Math.max(1, Math.min(5000, latency < QUEUE_TARGET_MS ? Math.ceil(s.chunk * 1.25) : latency > 1.5 * QUEUE_TARGET_MS ? Math.floor(s.chunk * 0.8) : s.chunk));
        s.rate.push({ t: done, step: (s.rate.at(-1)?.step ?? s.trainer.step - n) + n });
        while (s.rate.length > 2 && done - s.rate[0].t > 3000) s.rate.shift();
      });
    }
    if (!training) s.rate = [];
    pollMetrics(s);
    if (paint) {
      if (s.chartDirty) chart(s);
      stats(s);
      lastPaint = now;
    }
    status.chunk = s.chunk;
    status.frameMs = 0.9 * status.frameMs + 0.1 * (performance.now() - now);
  } catch (e) { fail(e); }
}
let lastPaint = -Infinity;

function snapStrip(s: Session): void {
  if (s.spec.kind !== 'gan' || s.spec.view !== 'grid' || !s.sample || s.trainer.step - s.lastSnap < 10 || s.strip.length >= 60) return;
  s.lastSnap = s.trainer.step;
  s.strip.push(tidy(() => F.clone(s.sample!)).keep());
  const el = $<HTMLInputElement>('strip');
  el.max = String(s.strip.length - 1); el.value = el.max;
  $('striplabel').textContent = `${s.strip.length} grids, one every ≥10 steps (latest: step ${s.trainer.step})`;
  $('stripbox').classList.remove('hidden');
}

/** Keeps the run's state (its checkpoint encoding) in host memory, to restore after a device loss. */
async function takeSnapshot(s: Session): Promise<void> {
  s.snapping = true;
  try {
    const step = s.trainer.step;
    const bytes = await s.hold((async () => {
      s.addRecords(await s.trainer.metrics());
      return encodeRun(s);
    })());
    if (s.disposed) return;
    s.snapshot = { bytes, step, records: [], config: s.config };
    if (session === s) status.snapshotStep = step;
  } catch (e) {
    if (session === s) fail(e);
  } finally { s.snapping = false; }
}

/** This run's checkpoint bytes (the caller has read its pending metrics). */
function encodeRun(s: Session): Promise<Uint8Array> {
  return s.spec.kind === 'cycle' ? encodeCycleGanCheckpoint(s.cyc, s.config) : encodeCheckpoint(s.gan, s.config);
}

function pollMetrics(s: Session): void {
  if (s.polling) return;
  s.polling = true;
  s.trainer.poll().then((r) => { s.polling = false; if (!s.disposed) s.addRecords(r); }, (e: unknown) => { s.polling = false; if (session === s) fail(e); });
}

function chart(s: Session): void {
  s.chartDirty = false;
  if (s !== session) return;
  status.losses = s.records.slice(-200);
  // At most ~1500 points per series: every k-th record.
  const k = Math.max(1, Math.ceil(s.records.length / 1500));
  const all = s.records.filter((x) => x.step <= s.trainer.step);
  const r = k === 1 ? all : all.filter((_, i) => i % k === 0 || i === all.length - 1);
  drawChart($('chart'), r.map((x) => x.step), s.spec.kind === 'cycle' ? cyclePanels(r as CycleRecord[]) : ganPanels(r as StepRecord[]),
    machine.state === 'loading' ? 'loading…' : 'no steps yet: press Start');
}

function ganPanels(r: StepRecord[]) {
  return [
    { title: 'loss', series: [{ name: 'D', color: '#d62728', values: r.map((x) => x.dLoss) }, { name: 'G', color: '#1f77b4', values: r.map((x) => x.gLoss) }] },
    { title: 'D score', range: [0, 1] as [number, number], series: [{ name: 'D(x) real', color: '#2ca02c', values: r.map((x) => x.realScore) }, { name: 'D(G(z)) fake', color: '#ff7f0e', values: r.map((x) => x.fakeScore) }] },
  ];
}

function stats(s: Session | null): void {
  syncControls();
  if (!s) { $('stats').textContent = machine.state === 'loading' ? 'loading…' : '—'; return; }
  const m = memory();
  const last = s.records.at(-1);
  const sps = s.stepsPerSecond();
  status.stepsPerSecond = Number.isFinite(sps) ? sps : 0;
  const rate = Number.isFinite(sps) ? `${sps.toFixed(sps < 10 ? 2 : 0)} steps/s` : '— steps/s';
  $('stats').textContent = [
    `step ${s.trainer.step}   ${rate}`,
    `GPU memory ${(m.inUseBytes / 2 ** 20).toFixed(1)} MiB held, ${(m.pooledBytes / 2 ** 20).toFixed(1)} MiB pooled`,
    last ? lossLine(s, last) : '',
    s.note,
  ].filter(Boolean).join('\n');
  softwareNote(s, sps);
}

function lossLine(s: Session, last: Rec): string {
  if (s.spec.kind === 'cycle') {
    const c = last as CycleRecord;
    return `D_A ${c.D_A.toFixed(3)}  D_B ${c.D_B.toFixed(3)}  G_A ${c.G_A.toFixed(3)}  G_B ${c.G_B.toFixed(3)}\ncycle A ${c.cycle_A.toFixed(3)}  cycle B ${c.cycle_B.toFixed(3)}  (step ${c.step})`;
  }
  if (s.spec.kind !== 'gan') return '';
  const g = last as StepRecord;
  return `D loss ${g.dLoss.toFixed(3)}  G loss ${g.gLoss.toFixed(3)}  (step ${g.step})\nD(x) ${g.realScore.toFixed(2)}  D(G(z)) ${g.fakeScore.toFixed(2)}`;
}

function softwareNote(s: Session, sps: number): void {
  const el = $('swnote');
  if (!report?.isFallbackAdapter || (s.spec.kind !== 'gan' && s.spec.kind !== 'cycle')) { el.classList.add('hidden'); return; }
  const r = s.spec.kind === 'cycle' ? recognisable(taskOf(s.config)) : s.spec.recognisable;
  const key = s.spec.kind === 'cycle' ? `${s.spec.id}/${taskOf(s.config)}` : s.spec.id;
  const speed = Number.isFinite(sps) && machine.state === 'training' ? sps : lastRate.get(key);
  if (Number.isFinite(sps) && machine.state === 'training') lastRate.set(key, sps);
  const when = speed ? `${speed.toFixed(speed < 10 ? 1 : 0)} steps/s measured here, so about ${fmtDuration(r.steps / speed)}` : 'press Start to measure how long that takes here';
  el.textContent = `Software adapter (${adapterName()}): the GPU is emulated on the CPU. A recognisable result (${r.what}) needs about ${r.steps} steps: ${when}.`;
  el.classList.remove('hidden');
}
const lastRate = new Map<string, number>();

function fmtDuration(sec: number): string {
  if (sec < 90) return `${Math.round(sec)} s`;
  if (sec < 5400) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

function adapterName(): string {
  if (!report) return 'unknown adapter';
  return [report.vendor, report.architecture, report.description].filter(Boolean).join(' ') || 'unknown adapter';
}

// ------------------------------------------------------------------------------------------------- controls

function selectTab(t: TabSpec): void {
  tab = t;
  status.tab = t.id;
  markTab();
  $('explain').innerHTML = t.explain;
  $('drop').classList.toggle('hidden', !(t.kind === 'gan' && t.data === 'mnist-or-folder'));
  $('cycledrop').classList.toggle('hidden', t.kind !== 'cycle');
  $('torchbox').classList.toggle('hidden', t.id !== 'dcgan');
  const train = t.kind === 'gan' || t.kind === 'cycle';
  $('chartbox').classList.toggle('hidden', !train);
  $('filebox').classList.toggle('hidden', !train);
  $('notice').textContent = ''; status.notice = '';
  renderFields(t, train ? settingsOf(t) : null);
  drawChart($('chart'), [], [{ title: t.kind === 'cycle' ? 'cycle L1' : 'loss', series: [] }, { title: t.kind === 'cycle' ? 'LSGAN losses' : 'D score', range: [0, 1], series: [] }], 'loading…');
  void openSession(t, 'tab', { kind: 'fresh' }, t.kind === 'app');
}

function download(data: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(data);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  status.saved.push(name);
}

async function save(): Promise<void> {
  const s = session;
  if (!s || !s.canSave || !act('save')) return;
  // Everything that names the file is fixed now: the model on screen when Save was clicked.
  const name = `kiln-${s.config.recipe}${s.spec.kind === 'cycle' ? `-${taskOf(s.config)}` : ''}-step${s.trainer.step}.safetensors`;
  $('savenote').textContent = `saving ${name}…`;
  try {
    const bytes = await s.hold((async () => {
      s.addRecords(await s.trainer.metrics());
      return encodeRun(s);
    })());
    download(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), name);
    $('savenote').textContent = `saved ${name} (${(bytes.length / 2 ** 20).toFixed(2)} MB)`;
    if (session === s) act('saved');
  } catch (e) {
    $('savenote').textContent = '';
    if (session === s) fail(e);
  }
}

function savePng(): void {
  const s = session;
  if (!s) return;
  draw(s); // draw and read back in one task: the canvas still holds this frame
  const name = `kiln-${s.spec.id}-step${s.trainer.step}.png`;
  $<HTMLCanvasElement>('gpu').toBlob((b) => { if (b) download(b, name); else fail(new Error('the canvas could not be encoded as PNG')); }, 'image/png');
}

function saveCsv(): void {
  const s = session;
  if (!s) return;
  const rows = s.spec.kind === 'cycle'
    ? [['step', ...CYCLE_LOSSES].join(','), ...(s.records as CycleRecord[]).map((r) => [r.step, ...CYCLE_LOSSES.map((k) => r[k])].join(','))]
    : ['step,d_loss,g_loss,d_real,d_fake', ...(s.records as StepRecord[]).map((r) => `${r.step},${r.dLoss},${r.gLoss},${r.realScore},${r.fakeScore}`)];
  download(new Blob([rows.join('\n') + '\n'], { type: 'text/csv' }), `kiln-${s.spec.id}-losses-step${s.records.at(-1)?.step ?? 0}.csv`);
}

function copyLink(): void {
  const u = new URL(location.href);
  u.search = '';
  u.searchParams.set('tab', tab.id);
  const c = session?.config;
  if ((tab.kind === 'gan' || tab.kind === 'cycle') && c) {
    for (const f of tab.fields) {
      const v = tab.kind === 'cycle' && f.key === 'task' ? taskOf(c) : (c as unknown as Record<string, unknown>)[f.key];
      if (v !== undefined) u.searchParams.set(f.key, String(v));
    }
  }
  const link = u.toString();
  const out = $<HTMLInputElement>('linkout');
  out.value = link;
  out.classList.remove('hidden');
  out.select();
  navigator.clipboard?.writeText(link).then(() => { $('linknote').textContent = 'copied'; }, () => { $('linknote').textContent = 'select and copy the link'; });
}

/** A DCGAN generator's architecture from its PyTorch state dict's shapes. */
function dcganArchOf(sd: Map<string, Tensor>): RunConfig {
  const convs = [...sd.entries()].filter(([k, t]) => k.endsWith('.weight') && t.ndim === 4);
  if (convs.length < 4) throw new Error(`not a DCGAN generator state dict: found ${convs.length} 4-d weights`);
  const [latent, w4] = convs[0][1].shape;
  const last = convs[convs.length - 1][1].shape;
  return { recipe: 'dcgan', seed: 0, latent, width: convs.length === 5 ? w4 / 8 : w4 / 4, channels: last[1] as 1 | 3, size: convs.length === 5 ? 64 : 32 };
}

/** Reads a picked file, dropping the result when the tab changed meanwhile. */
async function readFile(ev: Event): Promise<{ f: File; bytes: Uint8Array; t: TabSpec } | null> {
  const input = ev.target as HTMLInputElement;
  const f = input.files?.[0];
  input.value = ''; // the same file can be picked again
  if (!f) return null;
  clearError();
  const t = tab; const mine = epoch;
  const bytes = new Uint8Array(await f.arrayBuffer());
  return mine === epoch && t === tab ? { f, bytes, t } : null;
}

async function loadCheckpoint(ev: Event): Promise<void> {
  try {
    const got = await readFile(ev);
    if (!got || (got.t.kind !== 'gan' && got.t.kind !== 'cycle')) return;
    const cycle = isCycleGanCheckpointBytes(got.bytes);
    if (got.t.kind === 'cycle' && cycle) {
      const ck = decodeCycleGanCheckpoint(got.bytes, got.f.name);
      await openSession(got.t, 'load', { kind: 'cycle-checkpoint', ck, file: got.f.name });
      return;
    }
    if (cycle) {
      throw new Error(`${got.f.name} holds a CycleGAN model, not a ${got.t.label} one: open the CycleGAN tab and load it there`);
    }
    const ck = decodeCheckpoint(got.bytes, got.f.name);
    if (ck.config.recipe !== got.t.recipe) {
      const other = TABS.find((x) => (x.kind === 'gan' || x.kind === 'cycle') && x.recipe === ck.config.recipe);
      throw new Error(`${got.f.name} holds a ${other?.label ?? ck.config.recipe} model (step ${ck.step}), not a ${got.t.label} one: open the ${other?.label ?? ck.config.recipe} tab and load it there`);
    }
    await openSession(got.t, 'load', { kind: 'checkpoint', ck, file: got.f.name });
  } catch (e) { fail(e); }
}

async function loadTorch(ev: Event): Promise<void> {
  try {
    const got = await readFile(ev);
    if (!got) return;
    const { stateDict } = stateDictFromSafetensors(got.bytes, got.f.name);
    try {
      // Files made by scripts/make_gan_fixtures.py prefix the generator's keys with "G.".
      const sd = new Map([...stateDict].filter(([k]) => !['z', 'out'].includes(k)).map(([k, v]) => [k.replace(/^G\./, ''), v]));
      const arch = dcganArchOf(sd);
      const G = makeGenerator(arch);
      G.loadStateDict(sd);
      await openSession(got.t, 'load', { kind: 'torch', G, arch });
    } finally { for (const t of stateDict.values()) t.dispose(); }
  } catch (e) { fail(e); }
}

async function takeFiles(files: File[]): Promise<void> {
  if (!machine.can('files')) return;
  const t = tab; const mine = epoch;
  clearError();
  try {
    $('droptext').textContent = `decoding ${files.length} file(s)…`;
    const f = await imageFiles(files);
    if (mine !== epoch || t !== tab || t.kind !== 'gan') return;
    userImages = f;
    $('droptext').textContent = `${f.count} images loaded (64×64 RGB)${f.skipped ? `, ${f.skipped} could not be decoded` : ''}. Choose or drop another folder to replace them.`;
    await openSession(t, 'files', { kind: 'fresh' }, true);
  } catch (e) {
    $('droptext').textContent = 'Drop a folder of PNG/JPEG images here, or choose one:';
    fail(e);
  }
}

/** A folder for one CycleGAN domain: decoded, then a fresh run on the folders task (which says what is
 * still missing when only one folder is there). */
async function takeCycleFolder(which: 'a' | 'b', files: File[]): Promise<void> {
  if (!machine.can('files') || tab.kind !== 'cycle') return;
  const t = tab; const mine = epoch;
  const label = $(`cycle${which}text`);
  clearError();
  try {
    label.textContent = `decoding ${files.length} file(s)…`;
    const f = await imageFiles(files, FOLDER_SIDE);
    if (mine !== epoch || t !== tab) return;
    cycleFolders[which] = f;
    label.textContent = `${f.count} images${f.skipped ? ` (${f.skipped} could not be decoded)` : ''}`;
    const task = document.getElementById('f-task') as HTMLSelectElement | null;
    if (task) task.value = 'folders';
    await openSession(t, 'files', { kind: 'fresh' }, !!(cycleFolders.a && cycleFolders.b));
  } catch (e) {
    if (mine !== epoch) return;
    label.textContent = cycleFolders[which] ? `${cycleFolders[which]!.count} images (kept)` : 'no folder yet';
    fail(e);
  }
}

/** The page's GPUDevice (Kiln shares it), from a fresh adapter: after a device loss the old adapter is spent. */
async function newDevice(): Promise<GPUDevice> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu is present but no WebGPU adapter is available (blocklisted GPU or WebGPU disabled).');
  gpuAdapter = adapter;
  const l = adapter.limits;
  // The limits and features Kiln asks for when it makes its own device (fused kernels bind up to 16 storage
  // buffers; the defaults are lower), so the page trains with the same kernels as the benchmark.
  const d = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('shader-f16') ? ['shader-f16'] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 16),
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    },
  });
  // Registered before Kiln's own handler, so Kiln's onDeviceLost callback sees this device marked lost.
  void d.lost.then(() => { lostDevices.add(d); });
  // The page owns the device, so its validation errors are the page's to show.
  d.addEventListener('uncapturederror', (e) => { if (d === device) fail(new Error(`WebGPU: ${(e as GPUUncapturedErrorEvent).error.message}`)); });
  return d;
}
const lostDevices = new WeakSet<GPUDevice>();
const handledLosses = new WeakSet<GPUDevice>();
let recovering = false;
/** Set while a session is rebuilt after a device loss: the note to show and the snapshot it came from. */
let restoring: { note: string; snap: Snapshot | null } | null = null;

/** The device was lost: get a new one, re-initialise Kiln on it and restore the run from its last in-memory
 * snapshot (a fresh run with the same settings when there is none yet), training on if it was. */
function deviceLost(): void {
  if (handledLosses.has(device)) return;
  handledLosses.add(device);
  recovering = true;
  // The session went with the device: nothing on the page is ready until the restored one is.
  status.ready = false;
  status.deviceLosses++;
  void recover(wantTraining).finally(() => { recovering = false; });
}

async function recover(wasTraining: boolean): Promise<void> {
  const s = session;
  const t = tab;
  const snap = s?.snapshot ? { ...s.snapshot, records: s.records.filter((r) => r.step <= s.snapshot!.step) } : null;
  $('notice').textContent = 'GPU device was lost; getting a new one…';
  try {
    device = await newDevice();
    report = await init({ device });
    view = null;
    const note = snap ? `GPU device was lost; restored from step ${snap.step}` : s && s.trainer.step > 0 ? 'GPU device was lost before the first snapshot; started the run again' : 'GPU device was lost; started again';
    restoring = { note, snap };
    $('notice').textContent = note;
    if (t.kind === 'app' || !s) await openSession(t, 'reset', { kind: 'fresh' }, t.kind === 'app');
    else await openSession(t, 'load', { kind: 'snapshot', snap, config: s.config }, wasTraining);
  } catch (e) {
    restoring = null;
    $('notice').textContent = '';
    fail(new Error(`the GPU device was lost and could not be restored: ${e instanceof Error ? e.message : String(e)}; reload the page`));
  }
}

async function main(): Promise<void> {
  const noGpu = (why: string) => {
    $('nogpu-why').textContent = why;
    $('nogpu').style.display = 'block'; $('ui').classList.add('hidden');
  };
  if (!('gpu' in navigator) || !navigator.gpu) { noGpu('This browser does not expose navigator.gpu.'); return; }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) { noGpu('navigator.gpu is present but no WebGPU adapter is available (blocklisted GPU or WebGPU disabled).'); return; }
  device = await newDevice();
  report = await init({ device }); // Kiln shares the page's device and queue
  onDeviceLost(() => { if (lostDevices.has(device)) deviceLost(); });
  if (import.meta.env.DEV || params.has('testhooks')) {
    // For the end-to-end tests: lose the device as a driver reset would.
    (window as unknown as { __kilnDestroyDevice: () => void }).__kilnDestroyDevice = () => device.destroy();
  }
  status.adapter = adapterName(); status.software = report.isFallbackAdapter;
  $('adapter').textContent = `${adapterName()}${report.isFallbackAdapter ? ' (software)' : ''}`;

  renderTabs();
  // Numbers and pictures follow every state change at once, never a redraw interval later.
  machine.onChange(() => { if (session) session.lastDraw = -Infinity; stats(session); });
  $('start').addEventListener('click', () => { if (session) act('start'); });
  $('pause').addEventListener('click', () => { act('pause'); });
  $('reset').addEventListener('click', () => { void openSession(tab, 'reset', { kind: 'fresh' }, tab.kind === 'app'); });
  $('fields').addEventListener('change', () => { void openSession(tab, 'edit'); });
  $('strip').addEventListener('input', () => { if (session) draw(session); });
  $('save').addEventListener('click', () => { void save(); });
  $('png').addEventListener('click', savePng);
  $('csv').addEventListener('click', saveCsv);
  $('copylink').addEventListener('click', copyLink);
  $('load').addEventListener('change', (ev) => { void loadCheckpoint(ev); });
  $('torchg').addEventListener('change', (ev) => { void loadTorch(ev); });
  for (const w of ['a', 'b'] as const) {
    $(`folder${w}`).addEventListener('change', (ev) => {
      const input = ev.target as HTMLInputElement;
      const files = [...(input.files ?? [])];
      input.value = '';
      void takeCycleFolder(w, files);
    });
  }
  $('folder').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const files = [...(input.files ?? [])];
    input.value = '';
    void takeFiles(files);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => { e.preventDefault(); void takeFiles([...(e.dataTransfer?.files ?? [])]); });
  window.addEventListener('resize', () => { if (session) session.chartDirty = true; });
  requestAnimationFrame(frame);
  selectTab(tabById(params.get('tab') ?? '') ?? TABS[0]);
  if (params.has('autostart')) {
    // Start as soon as the first session is ready.
    const t0 = tab;
    const go = () => { if (tab !== t0) return; if (machine.state === 'idle') act('start'); else if (machine.state === 'loading') setTimeout(go, 50); };
    go();
  }
}

main().catch(fail);
