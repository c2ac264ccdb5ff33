// Runs the benchmark table: for every case, Kiln then tfjs (WebGPU) on the same adapter, timed between
// queue syncs after warm-up. Browser-safe; the Node and Chromium runners add PyTorch and file output.
import { sync, tune, type TuneReport } from '../src/index.js';
import { benchCases, type BenchCase, type Prepared } from './cases.js';

type TF = typeof import('@tensorflow/tfjs-core');

export interface Stats { medianMs: number; minMs: number; maxMs: number; samples: number; gflops?: number }
export interface Row { name: string; group: string; note?: string; flops?: number; torchKey?: string; kiln: Stats | null; tfjs: Stats | null; torch?: Stats | null; errors: string[] }

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function time(p: Prepared, c: BenchCase, wait: () => Promise<void>, quick: boolean): Promise<Stats> {
  // Warm-up: pipelines compile, pools fill.
  const w0 = performance.now();
  for (let i = 0; i < Math.max(2, c.inner); i++) await p.step();
  await wait();
  const warmMs = (performance.now() - w0) / Math.max(2, c.inner);
  // Fewer samples for slow cases so the suite stays within its time.
  const budget = quick ? 4000 : 15000;
  const samples = Math.max(1, Math.min(quick ? 3 : 7, Math.floor(budget / Math.max(1, warmMs * c.inner))));
  const ms: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < c.inner; i++) await p.step();
    await wait();
    ms.push((performance.now() - t0) / c.inner);
  }
  const med = median(ms);
  return { medianMs: med, minMs: Math.min(...ms), maxMs: Math.max(...ms), samples, gflops: c.flops ? c.flops / med / 1e6 : undefined };
}

/** The workgroup shapes Kiln's tune() picked in the last runBench (reported with the table). */
export let tuneReport: TuneReport | null = null;

export function tuneSummary(t: TuneReport): string {
  return (['NN', 'NT', 'TN'] as const).map((l) => `${l} ${t.matmul[l].workgroup.join('x')}${t.matmul[l].unrollK ? ' k-unrolled' : ''}`).join(', ');
}

export async function runBench(o: { tf: TF; quick: boolean; filter?: RegExp; log?: (s: string) => void }): Promise<Row[]> {
  const tf = o.tf;
  const tfWait = async () => {
    // What tfjs's own read() does before mapping: end the open pass, submit, then wait for the queue.
    const be = tf.backend() as unknown as { commandEncoder: GPUCommandEncoder | null; endComputePassEncoder: () => void; submitQueue: () => void; device: GPUDevice };
    if (be.commandEncoder) { be.endComputePassEncoder(); be.submitQueue(); }
    await be.device.queue.onSubmittedWorkDone();
  };
  const rows: Row[] = [];
  // Kiln's per-adapter matmul autotune, as an app would run it once at start-up.
  tuneReport = await tune();
  o.log?.(`tune: ${tuneSummary(tuneReport)}`);
  for (const c of benchCases()) {
    if (o.quick && !c.quick) continue;
    if (o.filter && !o.filter.test(c.name)) continue;
    const row: Row = { name: c.name, group: c.group, note: c.note, flops: c.flops, torchKey: c.torch, kiln: null, tfjs: null, errors: [] };
    for (const side of ['kiln', 'tfjs'] as const) {
      let p: Prepared | null = null;
      try {
        p = side === 'kiln' ? c.kiln() : c.tfjs(tf);
        row[side] = await time(p, c, side === 'kiln' ? sync : tfWait, o.quick);
      } catch (e) {
        row.errors.push(`${side}: ${(e as Error).message}`);
      } finally {
        try { p?.dispose(); } catch { /* freeing after a failure */ }
      }
    }
    rows.push(row);
    o.log?.(formatRow(row));
  }
  return rows;
}

const fmtMs = (s: Stats | null | undefined) => (s ? `${s.medianMs < 10 ? s.medianMs.toFixed(3) : s.medianMs.toFixed(1)}` : '—');
const fmtRange = (s: Stats | null | undefined) => (s ? `${s.minMs.toFixed(s.minMs < 10 ? 3 : 1)}–${s.maxMs.toFixed(s.maxMs < 10 ? 3 : 1)}` : '');
const fmtG = (s: Stats | null | undefined) => (s?.gflops !== undefined ? s.gflops.toFixed(2) : '');

export function ratio(r: Row): number | null {
  return r.kiln && r.tfjs ? r.tfjs.medianMs / r.kiln.medianMs : null;
}

export function formatRow(r: Row): string {
  const x = ratio(r);
  return `${r.name}: kiln ${fmtMs(r.kiln)} ms, tfjs ${fmtMs(r.tfjs)} ms${x ? `, kiln ${x.toFixed(2)}x faster` : ''}` +
    (r.torch ? `, torch-cpu ${fmtMs(r.torch)} ms` : '') + (r.errors.length ? ` [${r.errors.join('; ')}]` : '');
}

export type Runner = 'node' | 'chromium' | 'gpu';

/**
 * Kiln's speed-up target over tfjs for a row. Compiled train steps: the Gaussian GAN 25x in Node (lavapipe)
 * and 100x in Chromium (SwiftShader), where tfjs pays more per dispatch; the MLP GAN and DCGAN 3x and 6x.
 * Matmul 1024² 5x; every other row (kernels, eager steps) 3x.
 */
export function target(r: Row, runner: Runner): number {
  if (r.group === 'train' && !r.name.includes('eager')) {
    const gaussian = r.name.includes('gaussian');
    return runner === 'node' ? (gaussian ? 25 : 3) : (gaussian ? 100 : 6);
  }
  return r.name.startsWith('matmul 1024x1024') ? 5 : 3;
}

export function markdown(rows: Row[], header: string, runner: Runner): string {
  const lines = [header, '',
    '| case | Kiln ms (median) | Kiln min–max | Kiln GFLOP/s | tfjs ms (median) | tfjs min–max | tfjs GFLOP/s | tfjs / Kiln | target | PyTorch CPU ms | note |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'];
  for (const r of rows) {
    const x = ratio(r);
    lines.push(`| ${r.name} | ${fmtMs(r.kiln)} | ${fmtRange(r.kiln)} | ${fmtG(r.kiln)} | ${fmtMs(r.tfjs)} | ${fmtRange(r.tfjs)} | ${fmtG(r.tfjs)} | ` +
      `${x ? `${x.toFixed(2)}x` : '—'} | ${target(r, runner)}x${x !== null ? (x >= target(r, runner) ? ' ✓' : ' ✗') : ''} | ${r.torch ? fmtMs(r.torch) : (r.torch === null ? 'n/a' : '')} | ` +
      `${[r.note, ...r.errors].filter(Boolean).join('; ')} |`);
  }
  return lines.join('\n') + '\n';
}
