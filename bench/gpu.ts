// The benchmark table on a machine with a real GPU but no Node install:
// bundled by bench/pack-gpu.mjs with tfjs inside, run by the carried Node binary against the carried Dawn.
// Usage there: node bench.mjs [--quick] [--filter REGEX] [--out DIR] [--torch python3]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { create, globals } from 'webgpu';
import { adapter, init } from '../src/index.js';
import { markdown, runBench, tuneReport, tuneSummary } from './run.js';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const quick = args.includes('--quick');
const filter = opt('--filter') ? new RegExp(opt('--filter')!, 'i') : undefined;
const out = opt('--out') ?? '.';
const python = opt('--torch') ?? 'python3';

// navigator.gpu first: Kiln takes the browser path (its Node loader is a dynamic import the bundle cannot
// follow) and tfjs gets its own device from the same Dawn instance. The machine's NVIDIA Vulkan ICD is found
// by the loader; no CPU driver is involved.
Object.assign(globalThis, globals);
const gpu = create([]);
(globalThis as { navigator?: unknown }).navigator = { gpu };
const info = await init();
// Imported after navigator.gpu exists: tfjs registers its WebGPU backend only if it sees one at load time.
const tf = await import('./tfjs.js');
await tf.setBackend('webgpu');
await tf.ready();
console.log(`Kiln adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}`);
const t0 = Date.now();
const rows = await runBench({ tf, quick, filter, log: console.log });
let torchInfo = 'PyTorch: not run';
const keys = rows.map((r) => r.torchKey).filter(Boolean);
const r = spawnSync(python, [new URL('./torch_bench.py', import.meta.url).pathname, '--cuda', ...(quick ? ['--quick'] : [])],
  { input: JSON.stringify(keys), encoding: 'utf8', maxBuffer: 1 << 24 });
if (r.status === 0) {
  const j = JSON.parse(r.stdout) as { torch: string; device: string; results: Record<string, { medianMs: number; minMs: number; maxMs: number; samples: number; error?: string }> };
  torchInfo = `PyTorch ${j.torch} on ${j.device}`;
  for (const row of rows) {
    const t = row.torchKey ? j.results[row.torchKey] : undefined;
    row.torch = t && !t.error ? t : null;
  }
} else {
  torchInfo = `PyTorch failed: ${(r.stderr || String(r.error)).slice(-300)}`;
}
const a = adapter();
const header = `### Node on Dawn — ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')} — ${new Date().toISOString().slice(0, 10)}${quick ? ' (quick)' : ''}\n\n` +
  `Kiln vs TensorFlow.js ${tf.version_core} (WebGPU backend) on the same adapter in the same run; ${torchInfo} (PyTorch column). ` +
  `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}. Median per step after warm-up. Kiln matmul workgroups from tune(): ` +
  `${tuneReport ? tuneSummary(tuneReport) : 'default'}. Wall ${((Date.now() - t0) / 1000).toFixed(0)} s.`;
const md = markdown(rows, header, 'gpu');
writeFileSync(join(out, 'gpu.md'), md);
writeFileSync(join(out, 'gpu.json'), JSON.stringify({ adapter: a, tfjs: tf.version_core, torch: torchInfo, rows }, null, 1));
console.log(md);
process.exit(0);
