// Bundled into the page that the Chromium suite opens: runs op-table rows and a short Adam run with the
// same checks as the Node suite, on the browser's own WebGPU (SwiftShader here, the user's GPU elsewhere).
import * as k from '../../src/index.js';
import { allCases } from '../ops/cases.js';
import { assertClose, checkCase, type FixtureCase } from '../ops/check.js';

export interface BrowserResult { name: string; ok: boolean; error?: string; ms: number }

async function run(fixtures: FixtureCase[], names: string[]): Promise<{ adapter: k.AdapterReport; results: BrowserResult[]; gpuErrors: readonly string[] }> {
  const adapter = await k.init();
  const byName = new Map(fixtures.map((f) => [f.name, f]));
  const results: BrowserResult[] = [];
  for (const { c } of allCases.filter(({ c }) => names.includes(c.name))) {
    const t0 = performance.now();
    try {
      await checkCase(k, c, byName.get(c.name)!);
      results.push({ name: c.name, ok: true, ms: performance.now() - t0 });
    } catch (e) {
      results.push({ name: c.name, ok: false, error: String((e as Error).message ?? e), ms: performance.now() - t0 });
    }
  }
  return { adapter, results, gpuErrors: k.gpuErrors() };
}

/** Three Adam steps on a tiny MLP; the same steps in float64 on the CPU as the reference. */
async function adamSmoke(): Promise<string> {
  await k.init();
  const w = k.tensor([[0.5, -0.25], [0.1, 0.3]], undefined, { requiresGrad: true });
  const x = k.tensor([[1, 2], [3, -1]]);
  const opt = new k.optim.Adam([w], { lr: 0.1 });
  for (let s = 0; s < 3; s++) {
    opt.zeroGrad();
    x.matmul(w).tanh().sum().backward();
    opt.step();
  }
  // reference: plain JS Adam on the same function
  const W = [0.5, -0.25, 0.1, 0.3];
  const X = [1, 2, 3, -1];
  const m = [0, 0, 0, 0];
  const v = [0, 0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    const g = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      const z = X[i * 2] * W[j] + X[i * 2 + 1] * W[2 + j];
      const d = 1 - Math.tanh(z) ** 2;
      g[j] += X[i * 2] * d;
      g[2 + j] += X[i * 2 + 1] * d;
    }
    for (let q = 0; q < 4; q++) {
      m[q] = 0.9 * m[q] + 0.1 * g[q];
      v[q] = 0.999 * v[q] + 0.001 * g[q] * g[q];
      W[q] -= (0.1 / (1 - 0.9 ** t)) * m[q] / (Math.sqrt(v[q]) / Math.sqrt(1 - 0.999 ** t) + 1e-8);
    }
  }
  assertClose(await w.toArray(), W, 'adam in the browser');
  return 'ok';
}

(globalThis as unknown as { kilnSuite: unknown }).kilnSuite = { run, adamSmoke, names: allCases.map(({ c }) => c.name) };
