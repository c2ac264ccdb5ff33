// Bundled into the page of tests/browser/kernels.browser.test.ts: the op rows of the kernels that share WGSL
// through #import (matmul_vec4, linear's store() epilogue, conv2d) which the op suite's one-row subset leaves
// out, and compiled steps against the same steps run eagerly, bit for bit, on the browser's WebGPU.
import * as k from '../../src/index.js';
import { allCases } from '../ops/cases.js';
import { checkCase, type FixtureCase } from '../ops/check.js';
import { backend } from '../../src/autograd/context.js';
import { matmulUnrollK, matmulWorkgroup, setMatmulWorkgroup } from '../../src/ops/kernels.js';

/** A seeded stream of values in [-2, 2). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return new Float32Array(n).map(() => { s = (s * 1664525 + 1013904223) >>> 0; return (s / 2 ** 32) * 4 - 2; });
}
const t = (shape: number[], seed: number) => k.tensor(values(shape.reduce((p, q) => p * q, 1), seed), shape);

async function rows(fixtures: FixtureCase[], names: string[]): Promise<{ name: string; ok: boolean; error?: string }[]> {
  await k.init();
  const byName = new Map(fixtures.map((f) => [f.name, f]));
  const out: { name: string; ok: boolean; error?: string }[] = [];
  for (const { c } of allCases.filter(({ c }) => names.includes(c.name))) {
    try { await checkCase(k, c, byName.get(c.name)!); out.push({ name: c.name, ok: true }); }
    catch (e) { out.push({ name: c.name, ok: false, error: String((e as Error).message ?? e) }); }
  }
  return out;
}

interface Step { fn: () => k.Tensor[]; state: k.Tensor[] }

/** Steps built twice from the same values: one run eagerly, one compiled (eager run, capture, replays). */
const steps: Record<string, () => Step> = {
  // mse's g d + g d added to another gradient of the leaf (a fused chain across which a compiler must not contract)
  'fused gradient sum': () => {
    const A = t([7, 3], 1).requiresGrad_();
    const y = k.tensor(Float32Array.from({ length: 21 }, (_, i) => (i % 4) / 3), [7, 3]);
    return { fn: () => { A.grad = null; A.sum().add(k.F.mseLoss(A, y)).backward(); return [A.grad!.clone()]; }, state: [A] };
  },
  // two independent matmuls stored into unaligned slices of one cat
  'matmuls stored into a cat': () => {
    const [A, B, C, D] = [t([3, 5], 1), t([5, 5], 2), t([3, 8], 3), t([8, 8], 4)];
    return { fn: () => k.noGrad(() => [k.cat([A.matmul(B).reshape([-1]), C.matmul(D).reshape([-1])])]), state: [] };
  },
  // gradients accumulated in place over runs (no zeroGrad) through a vec4 linear + leakyReLU and a batch norm
  'accumulated gradients, linear + batch norm': () => {
    k.manualSeed(3);
    const net = new k.nn.Sequential(new k.nn.Linear(8, 12), new k.nn.BatchNorm1d(12), new k.nn.LeakyReLU(0.2), new k.nn.Linear(12, 1));
    const x = t([16, 8], 5);
    return { fn: () => { const l = net.forward(x).pow(2).mean(); l.backward(); return [l.detach()]; }, state: net.parameters() };
  },
  // the weight gradients (TN, K = 27: a remainder) with matmul_vec4's k loop unrolled, as tune() picks on SwiftShader
  'linear layers, TN k loop unrolled': () => {
    k.manualSeed(4);
    const net = new k.nn.Sequential(new k.nn.Linear(8, 12), new k.nn.LeakyReLU(0.2), new k.nn.Linear(12, 4));
    const x = t([27, 8], 6);
    const unrolled = <T>(fn: () => T): T => {
      const be = backend(); const wg = matmulWorkgroup(be, 'TN'); const was = matmulUnrollK(be, 'TN');
      setMatmulWorkgroup(be, 'TN', wg, true);
      try { return fn(); } finally { setMatmulWorkgroup(be, 'TN', wg, was); }
    };
    return { fn: () => unrolled(() => { const l = net.forward(x).pow(2).mean(); l.backward(); return [l.detach()]; }), state: net.parameters() };
  },
};

async function compiled(name: string, runs = 5): Promise<{ name: string; ok: boolean; error?: string; replays: number }> {
  await k.init();
  const trace = async (compile: boolean) => {
    const s = steps[name]();
    const step = k.compileStep(s.fn);
    const outs: number[][] = [];
    for (let r = 0; r < runs; r++) {
      const o = compile ? step.run() : k.tidy(() => s.fn());
      for (const x of o) outs.push(Array.from(await x.toArray()));
      if (!compile) o.forEach((x) => x.dispose());
    }
    for (const p of s.state) { outs.push(Array.from(await p.toArray())); if (p.grad) outs.push(Array.from(await p.grad.toArray())); }
    const replays = step.stats.replays;
    step.dispose();
    return { outs, replays };
  };
  try {
    const e = await trace(false);
    const c = await trace(true);
    const bad = e.outs.findIndex((v, i) => v.length !== c.outs[i].length || v.some((x, j) => !Object.is(x, c.outs[i][j])));
    return { name, ok: bad < 0, error: bad < 0 ? undefined : `value ${bad}: eager ${e.outs[bad].slice(0, 4)} compiled ${c.outs[bad].slice(0, 4)}`, replays: c.replays };
  } catch (e) {
    return { name, ok: false, error: String((e as Error).message ?? e), replays: 0 };
  }
}

(globalThis as unknown as { kilnKernels: unknown }).kilnKernels = { rows, compiled, steps: Object.keys(steps), gpuErrors: () => k.gpuErrors() };
