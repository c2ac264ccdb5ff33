// tune(): a small per-adapter autotune. Times matmul_vec4's candidate workgroup shapes for each operand
// layout on this device and keeps the fastest for the session (software and hardware adapters disagree:
// lavapipe runs a workgroup's invocations as SIMD lanes on a CPU core, a GPU schedules warps).
import { backend } from '../autograd/context.js';
import * as F from './functional.js';
import { matmulWorkgroup, setMatmulWorkgroup, type MatmulLayout } from './kernels.js';

export interface TuneChoice { workgroup: [number, number]; ms: number; candidates: { workgroup: [number, number]; ms: number }[] }
export interface TuneReport { adapter: string; size: number; matmul: Record<'NN' | 'NT' | 'TN', TuneChoice> }

const CANDIDATES: [number, number][] = [[8, 8], [16, 4], [4, 16], [4, 4], [32, 8]];
const cache = new WeakMap<object, TuneReport>();

/**
 * Picks matmul workgroup shapes for this adapter by timing each candidate on a `size`^3 product (default
 * 256) per layout; the choice holds for the session. Calling it again returns the cached report.
 */
export async function tune(opts: { size?: number } = {}): Promise<TuneReport> {
  const be = backend();
  const size = opts.size ?? 256;
  if (!Number.isInteger(size) || size < 4 || size % 4 !== 0) throw new Error(`tune: size must be a positive multiple of 4, got ${size}`);
  const cached = cache.get(be);
  if (cached) return cached;
  const lim = be.limits;
  const fits = ([x, y]: [number, number]) => x * y <= lim.maxComputeInvocationsPerWorkgroup &&
    x <= lim.maxComputeWorkgroupSizeX && y <= lim.maxComputeWorkgroupSizeY;
  const a = F.randn([size, size]).keep();
  const b = F.randn([size, size]).keep();
  const matmul: Partial<TuneReport['matmul']> = {};
  try {
    for (const layout of ['NN', 'NT', 'TN'] as const) {
      const opts2 = { transA: layout[0] === 'T', transB: layout[1] === 'T' };
      const before = matmulWorkgroup(be, layout);
      const results: { workgroup: [number, number]; ms: number }[] = [];
      for (const wg of CANDIDATES.filter(fits)) {
        setMatmulWorkgroup(be, layout as MatmulLayout, wg);
        F.matmul(a, b, opts2).dispose();
        await be.sync();
        let best = Infinity;
        for (let r = 0; r < 5; r++) {
          const t0 = performance.now();
          F.matmul(a, b, opts2).dispose();
          await be.sync();
          best = Math.min(best, performance.now() - t0);
        }
        results.push({ workgroup: wg, ms: best });
      }
      const win = results.reduce((p, q) => (q.ms < p.ms ? q : p), results[0] ?? { workgroup: before, ms: NaN });
      setMatmulWorkgroup(be, layout, win.workgroup);
      matmul[layout] = { workgroup: win.workgroup, ms: win.ms, candidates: results };
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  const report: TuneReport = { adapter: be.adapter.description || be.adapter.device, size, matmul: matmul as TuneReport['matmul'] };
  cache.set(be, report);
  return report;
}
