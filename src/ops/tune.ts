// tune(): a small per-adapter autotune. Times matmul_vec4's candidate workgroup shapes for each operand
// layout on this device and keeps the fastest for the session (software and hardware adapters disagree:
// lavapipe runs a workgroup's invocations as SIMD lanes on a CPU core, a GPU schedules warps).
import { backend } from '../autograd/context.js';
import * as F from './functional.js';
import { matmulUnrollK, matmulWorkgroup, setMatmulWorkgroup, type MatmulLayout } from './kernels.js';

/** `unrollK`: matmul_vec4's k loop unrolled by four (a TN candidate only; same bits either way). */
export interface TuneChoice { workgroup: [number, number]; unrollK: boolean; ms: number; candidates: { workgroup: [number, number]; unrollK: boolean; ms: number }[] }
export interface TuneReport { adapter: string; size: number; matmul: Record<'NN' | 'NT' | 'TN', TuneChoice> }

const CANDIDATES: [number, number][] = [[8, 8], [16, 4], [4, 16], [4, 4], [32, 8]];
const cache = new WeakMap<object, TuneReport>();

/**
 * Picks matmul workgroup shapes for this adapter by timing each candidate on a `size`^3 product (default
 * 256) per layout, and for TN whether the k loop runs unrolled at the fastest shape (SwiftShader gains,
 * lavapipe loses); the choice holds for the session. Calling it again returns the cached report.
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
      const before = { workgroup: matmulWorkgroup(be, layout), unrollK: matmulUnrollK(be, layout), ms: NaN };
      const results: TuneChoice['candidates'] = [];
      const time = async (workgroup: [number, number], unrollK: boolean) => {
        setMatmulWorkgroup(be, layout as MatmulLayout, workgroup, unrollK);
        F.matmul(a, b, opts2).dispose();
        await be.sync();
        let best = Infinity;
        for (let r = 0; r < 5; r++) {
          const t0 = performance.now();
          F.matmul(a, b, opts2).dispose();
          await be.sync();
          best = Math.min(best, performance.now() - t0);
        }
        results.push({ workgroup, unrollK, ms: best });
      };
      const fastest = () => results.reduce((p, q) => (q.ms < p.ms ? q : p), results[0] ?? before);
      for (const wg of CANDIDATES.filter(fits)) await time(wg, false);
      if (layout === 'TN' && results.length) await time(fastest().workgroup, true);
      const win = fastest();
      setMatmulWorkgroup(be, layout, win.workgroup, win.unrollK);
      matmul[layout] = { workgroup: win.workgroup, unrollK: win.unrollK, ms: win.ms, candidates: results };
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  const report: TuneReport = { adapter: be.adapter.description || be.adapter.device, size, matmul: matmul as TuneReport['matmul'] };
  cache.set(be, report);
  return report;
}
