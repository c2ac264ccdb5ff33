// `npm run bench:node`: the benchmark table in Node on Dawn (lavapipe here): Kiln, tfjs's WebGPU backend on
// the same adapter, and PyTorch on the CPU when Debian's python3-torch is installed. Writes JSON and markdown
// to bench/results/ and prints a summary. --quick: the short table (under 5 minutes); --filter REGEX.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { cpus, hostname, tmpdir } from 'node:os';
import { adapter, init } from '../src/index.js';
import { report } from './report.js';
import { tuneReport, tuneSummary, runBench, type Row } from './run.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const fi = args.indexOf('--filter');
const filter = fi >= 0 ? new RegExp(args[fi + 1], 'i') : undefined;

const info = await init();
// tfjs gets its own device on the same Dawn adapter (Kiln's init chose the Vulkan driver first).
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
(globalThis as { navigator?: unknown }).navigator = { gpu };
const tfBundle = join(mkdtempSync(join(tmpdir(), 'kiln-bench-')), 'tfjs.mjs');
await build({ entryPoints: [new URL('./tfjs.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'node',
  mainFields: ['module', 'main'], outfile: tfBundle, logLevel: 'error',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
const tf = (await import(tfBundle)) as typeof import('./tfjs.js');
await tf.setBackend('webgpu');
await tf.ready();
tf.env().set('WEBGPU_CPU_FORWARD', false);
const tfAdapter = (tf.backend() as unknown as { adapterInfo?: { description?: string; device?: string } }).adapterInfo;
console.log(`Kiln adapter: ${info.description || info.device}; tfjs ${tf.version_core} on ${tfAdapter?.description || tfAdapter?.device || 'webgpu'}`);
const t0 = Date.now();
const rows: Row[] = await runBench({ tf, quick, filter, log: console.log });

/** What bench/torch_bench.py reports about the BLAS PyTorch ran on. */
interface TorchBlas { kind: string; buildInfo: string; libblas: string; loaded: string[] }

function blasSummary(b: TorchBlas): string {
  const warn = b.kind === 'reference BLAS'
    ? ' — the reference BLAS is 30-40x slower on matmul; install libopenblas0-openmp (KILN_WITH_TORCH=1 bash scripts/setup.sh)'
    : '';
  return `BLAS: ${b.kind} (libblas.so.3 -> ${b.libblas}; build BLAS_INFO=${b.buildInfo})${warn}`;
}

let torchInfo = 'PyTorch: not installed (skipped)';
const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
if (probe.status === 0) {
  const keys = rows.map((r) => r.torchKey).filter(Boolean);
  const r = spawnSync('/usr/bin/python3', [new URL('./torch_bench.py', import.meta.url).pathname, ...(quick ? ['--quick'] : [])],
    { input: JSON.stringify(keys), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status === 0) {
    const j = JSON.parse(r.stdout) as { torch: string; threads: number; blas: TorchBlas; results: Record<string, { medianMs: number; minMs: number; maxMs: number; samples: number; error?: string }> };
    torchInfo = `PyTorch ${j.torch} on the CPU, ${j.threads} thread(s) of ${cpus().length}, ${blasSummary(j.blas)}`;
    for (const row of rows) {
      const t = row.torchKey ? j.results[row.torchKey] : undefined;
      row.torch = t && !t.error ? t : null;
      if (t?.error) row.errors.push(`torch: ${t.error}`);
    }
  } else torchInfo = `PyTorch: failed (${r.stderr.split('\n').slice(-3).join(' ')})`;
}
for (const row of rows) if (row.torch === undefined) row.torch = null;
const date = new Date().toISOString();
const meta = {
  runner: 'node (Dawn)', date, quick, kilnAdapter: adapter(), tfjs: tf.version_core, torch: torchInfo, node: process.version,
  machine: `${hostname()}: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`, robustness: 'default (on) for both Kiln and tfjs',
  wallSeconds: (Date.now() - t0) / 1000,
};
const header = `### Node on Dawn — ${info.description || info.device} — ${date.slice(0, 10)}${quick ? ' (quick)' : ''}\n\n` +
  `Kiln vs TensorFlow.js ${tf.version_core} (WebGPU backend, NHWC where noted) on the same adapter in the same run; ${torchInfo}. ` +
  `${meta.machine}. Times are per step, median of the samples after warm-up, with min–max. tfjs / Kiln > 1 means Kiln is faster. ` +
  `Kiln matmul workgroups from tune(): ${tuneReport ? tuneSummary(tuneReport) : 'default'}.`;
report('node', meta, rows, header);
process.exit(0);
