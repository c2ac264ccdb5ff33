// compileStep: a captured and replayed step gives the eager step's results bit for bit (its pointwise chains run
// fused, and every fused value is opaque to the WGSL compiler, so nothing is contracted or reassociated across
// ops), memory stays flat, and everything that would break a recording is either handled (recapture) or a clear
// error.
import { beforeAll, describe, expect, it } from 'vitest';
import * as k from '../../src/index.js';
import { backend } from '../../src/autograd/context.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

/** A small regression model trained by Adam on random batches drawn inside the step. */
function model(seed: number) {
  k.manualSeed(seed);
  const net = new k.nn.Sequential(new k.nn.Linear(3, 8), new k.nn.ReLU(), new k.nn.BatchNorm1d(8), new k.nn.Linear(8, 1));
  const opt = new k.optim.Adam(net.parameters(), { lr: 0.01 });
  const step = (target: k.Tensor) => {
    opt.zeroGrad();
    const x = k.randn([16, 3]);
    // A host constant made inside the step: replays must see its values too.
    const scale = k.tensor([0.5, -1, 2], [1, 3]);
    const loss = net.forward(x.mul(scale)).sub(target).pow(2).mean();
    loss.backward();
    opt.step();
    return loss.detach();
  };
  return { net, opt, step };
}

async function params(net: k.nn.Module): Promise<number[][]> {
  return Promise.all([...net.stateDict().values()].map(async (t) => Array.from(await t.toArray())));
}

describe('compileStep', () => {
  /** The bound compiled-vs-eager results are held to: equal bits, elementwise, after 12 steps. */
  const closeTo = (a: number[], b: number[], what: string) => {
    expect(a.length, what).toBe(b.length);
    a.forEach((v, i) => expect(v, `${what}[${i}]`).toBe(b[i]));
  };

  it('replays the eager step bit for bit, with the same host state', async () => {
    const targets = Array.from({ length: 12 }, (_, i) => k.full([16, 1], i / 10).keep());
    const eager = model(7);
    const eagerLosses: number[] = [];
    for (const t of targets) eagerLosses.push(await k.tidy(() => eager.step(t)).item());
    const eagerRng = k.getRngState();
    const comp = model(7);
    const step = k.compileStep(comp.step);
    const losses: number[] = [];
    for (const t of targets) losses.push(await step.run(t).item());
    closeTo(losses, eagerLosses, 'loss');
    const [pc, pe] = [await params(comp.net), await params(eager.net)];
    pc.forEach((p, i) => closeTo(p, pe[i], `state ${i}`));
    expect(comp.opt.stepCount).toBe(12);
    const bn = comp.net.namedModules().map(([, m]) => m).find((m) => m instanceof k.nn.BatchNorm1d) as k.nn.BatchNorm1d;
    expect(bn.numBatchesTracked).toBe(12);
    expect(k.getRngState()).toEqual(eagerRng);
    const st = step.stats;
    expect([st.eagerRuns, st.captures, st.replays]).toEqual([1, 1, 10]);
    expect(st.dispatches).toBeGreaterThan(10);
    expect(st.memory!.arenaBytes).toBeLessThanOrEqual(st.memory!.eagerTransientBytes);
    expect(st.memory!.peakBytes).toBe(st.memory!.arenaBytes + st.memory!.persistentBytes + st.memory!.constantBytes);
    step.dispose();
    targets.forEach((t) => t.dispose());
    expectNoGpuErrors();
  }, 60_000);

  it('a sigmoid feeding binary cross-entropy (fused into its backward) gives the eager gradients bit for bit', async () => {
    for (const n of [1, 3, 33]) {
      const w = k.tensor(Array.from({ length: n }, (_, i) => 0.3 - 0.17 * i)).requiresGrad_();
      const x = k.tensor(Array.from({ length: n }, (_, i) => 1.1 + 0.07 * i));
      const t = k.tensor(Array.from({ length: n }, (_, i) => (i % 2 ? 1 : 0.25)));
      const body = () => { w.grad = null; k.F.binaryCrossEntropy(w.mul(x).sigmoid(), t).backward(); return w.grad!.clone(); };
      const want = Array.from(await k.tidy(body).toArray());
      const step = k.compileStep(body);
      for (let i = 0; i < 3; i++) step.run();
      expect(Array.from(await step.run().toArray()), `n=${n}`).toEqual(want);
      step.dispose();
      [w, x, t].forEach((v) => { v.grad?.dispose(); v.dispose(); });
    }
    expectNoGpuErrors();
  }, 60_000);

  it('keeps GPU memory flat across replays', async () => {
    const m = model(1);
    const target = k.zeros([16, 1]).keep();
    const step = k.compileStep(m.step);
    for (let i = 0; i < 10; i++) step.run(target);
    await k.sync();
    const after10 = k.memory();
    const created = k.stats().buffersCreated;
    for (let i = 0; i < 300; i++) step.run(target);
    await k.sync();
    const after310 = k.memory();
    // No GPU buffer is created by a replay (tensors earlier tests leaked may still be collected meanwhile,
    // which can only lower the totals).
    expect(k.stats().buffersCreated).toBe(created);
    expect(after310.totalBytes).toBeLessThanOrEqual(after10.totalBytes);
    expect(after310.liveTensors).toBeLessThanOrEqual(after10.liveTensors);
    expect(step.stats.captures).toBe(1);
    step.dispose();
    expectNoGpuErrors();
  }, 60_000);

  it('captures again after an input shape changes or a tensor it uses is disposed', async () => {
    const w = k.randn([4, 4]).keep();
    const step = k.compileStep((x: k.Tensor) => k.F.matmul(x, w).relu());
    const x = k.randn([2, 4]).keep();
    const expected = Array.from(await k.F.matmul(x, w).relu().toArray());
    for (let i = 0; i < 3; i++) expect(Array.from(await step.run(x).toArray())).toEqual(expected);
    expect(step.stats.captures).toBe(1);
    const y = k.randn([5, 4]).keep();
    await step.run(y).toArray();
    expect(Array.from(await step.run(y).toArray())).toEqual(Array.from(await k.F.matmul(y, w).relu().toArray()));
    expect(step.stats.captures).toBe(2);
    // Disposing the step's output (used in place by the recording) forces a fresh capture.
    step.run(y).dispose();
    expect(Array.from(await step.run(y).toArray())).toEqual(Array.from(await k.F.matmul(y, w).relu().toArray()));
    expect(step.stats.captures).toBe(3);
    step.dispose();
    expectNoGpuErrors();
  }, 60_000);

  it('captures again only when a module\'s training flag it read changes; leaves outputs it did not make alone', async () => {
    const drop = new k.nn.Dropout(0.5);
    const x = k.ones([64]).keep();
    const step = k.compileStep((a: k.Tensor) => [drop.forward(a).sum(), x]);
    for (let i = 0; i < 4; i++) step.run(x);
    expect(step.stats.captures).toBe(1);
    drop.eval();
    for (let i = 0; i < 3; i++) expect(await step.run(x)[0].item()).toBe(64);
    expect(step.stats.captures).toBe(2);
    drop.train();
    const kept = await step.run(x)[0].item();
    expect(kept % 2).toBe(0); // dropout again: survivors are scaled by 2
    expect(kept).not.toBe(64 * 2);
    expect(step.stats).toMatchObject({ captures: 3, eagerRuns: 1 });
    // x was returned by every run and is still the caller's.
    expect(x.isDisposed).toBe(false);
    step.dispose();
    expect(x.isDisposed).toBe(false);
    x.dispose();
    expect(() => k.compileStep((a: k.Tensor) => a.sum()).run(k.ones([2]).requiresGrad_())).toThrow(/compileStep: input 0 .*requires grad/);
    expect(() => k.F.batchNorm(k.ones([2, 3]), null, null, null, null, { training: true, momentum: null as unknown as number }))
      .toThrow(/batchNorm: momentum .*got null/);
    expectNoGpuErrors();
  }, 60_000);

  it('rejects readbacks inside a capture and bad inputs with clear errors', async () => {
    const bad = k.compileStep((x: k.Tensor) => { void x.toArray(); return x.add(1); });
    const x = k.ones([3]).keep();
    bad.run(x);
    expect(() => bad.run(x)).toThrow(/cannot read a tensor back inside a step being captured/);
    const step = k.compileStep((a: k.Tensor) => a.mul(2));
    expect(() => step.run(3 as unknown as k.Tensor)).toThrow(/compileStep: input 0 must be a Tensor, \{ data: Float32Array \| Int32Array, shape \} or \{ source, offset, shape \}, got 3/);
    expect(() => step.run({ data: new Float32Array(3), shape: [2, 2] })).toThrow(/compileStep: input 0 has 3 values for shape \[2, 2\]/);
    const gone = k.ones([2]);
    gone.dispose();
    expect(() => step.run(gone)).toThrow(/compileStep: input 0 \(tensor #\d+\) was disposed/);
    // The failed capture left nothing recording: eager work still runs.
    expect(Array.from(await x.add(1).toArray())).toEqual([2, 2, 2]);
    expectNoGpuErrors();
  });

  it('takes host data as an input, written into the fixed input buffer without allocating', async () => {
    const w = k.randn([3, 2]).keep();
    const step = k.compileStep((x: k.Tensor) => x.matmul(w).sum(0));
    const batches = Array.from({ length: 6 }, (_, i) => Float32Array.from({ length: 12 }, (_, j) => Math.sin(i * 12 + j)));
    const results: number[][] = [];
    let created = 0;
    for (const [i, data] of batches.entries()) {
      if (i === 3) created = k.stats().buffersCreated;
      results.push(Array.from(await step.run({ data, shape: [4, 3] }).toArray()));
    }
    expect(k.stats().buffersCreated).toBe(created);
    for (const [i, data] of batches.entries()) {
      expect(results[i]).toEqual(Array.from(await k.tensor(data, [4, 3]).matmul(w).sum(0).toArray()));
    }
    expect(step.stats).toMatchObject({ eagerRuns: 1, captures: 1, replays: 4 });
    step.dispose();
  });

  it('takes a range of a tensor as an input (a batch of a dataset on the GPU): one copy, no buffer or bind group made', async () => {
    const data = k.randn([40, 3]).keep();
    const w = k.randn([3, 2]).keep();
    const step = k.compileStep((x: k.Tensor) => x.matmul(w).relu().sum(0));
    const be = backend();
    const results: number[][] = [];
    let buffers = 0, groups = 0;
    for (let i = 0; i < 8; i++) {
      if (i === 3) { buffers = be.buffersCreated; groups = be.bindGroupsCreated; }
      results.push(Array.from(await step.run({ source: data, offset: ((i * 4) % 40) * 3, shape: [4, 3] }).toArray()));
    }
    expect(be.buffersCreated - buffers).toBe(0);
    expect(be.bindGroupsCreated - groups).toBe(0);
    for (let i = 0; i < 8; i++) {
      expect(results[i]).toEqual(Array.from(await data.narrow(0, (i * 4) % 40, 4).matmul(w).relu().sum(0).toArray()));
    }
    expect(step.stats).toMatchObject({ eagerRuns: 1, captures: 1, replays: 6 });
    expect(() => step.run({ source: data, offset: 38 * 3, shape: [4, 3] })).toThrow(/compileStep: input 0: range \[114, \+12\) is not inside its source's 120 values/);
    step.dispose();
    expectNoGpuErrors();
  });

  it('advances onReplay host state in order on every replay', async () => {
    const log: number[] = [];
    let n = 0;
    const step = k.compileStep((x: k.Tensor) => { n++; k.onReplay(() => { n++; log.push(n); }); return x.add(1); });
    const x = k.ones([1]).keep();
    for (let i = 0; i < 5; i++) step.run(x);
    expect(n).toBe(5);
    expect(log).toEqual([3, 4, 5]);
    step.dispose();
  });

  it('checks BCE\'s input range on every replay (device-side assert, reported at the next readback)', async () => {
    const t = k.tensor([1, 0, 1]);
    const step = k.compileStep((x: k.Tensor) => k.F.binaryCrossEntropy(x.mul(1), t));
    const feed = (v: number[]) => ({ data: new Float32Array(v), shape: [3] });
    for (let i = 0; i < 3; i++) step.run(feed([0.5, 0.25, 0.75]));
    expect(step.stats.replays).toBe(1);
    await step.run(feed([0.5, 0.25, 0.75])).item();
    step.run(feed([0.5, 1.25, 0.75]));
    await expect(k.ones([1]).toArray()).rejects.toThrow(/binaryCrossEntropy: all elements of input should be between 0 and 1, got 1.25 at index 1/);
    // Reported once; a good replay reads back cleanly.
    expect(await step.run(feed([0.5, 0.25, 0.75])).item()).toBeCloseTo(-(Math.log(0.5) + Math.log(0.75) + Math.log(0.75)) / 3, 5);
    step.dispose();
    expectNoGpuErrors();
  });

  it('reads back without flushing when asked, resolving at the next submission', async () => {
    const t = k.full([4], 3);
    let done = false;
    const p = t.toArray({ flush: false }).then((v) => { done = true; return v; });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    k.flush();
    expect(Array.from(await p)).toEqual([3, 3, 3, 3]);
  });
});

describe('kernel choice', () => {
  it('aligned matmuls run the vec4 kernel, others the scalar one; stats name the kernels', async () => {
    await setup();
    const kernels = (fn: (x: k.Tensor) => k.Tensor, x: k.Tensor) => {
      const s = k.compileStep(fn);
      s.run(x); s.run(x);
      const out = s.stats.kernels;
      s.dispose();
      return out;
    };
    const w8 = k.randn([12, 8]).keep();
    const w7 = k.randn([12, 7]).keep();
    expect(kernels((x) => k.F.linear(x, w8), k.randn([5, 8]).keep())).toMatchObject({ matmul_vec4: 1 });
    expect(kernels((x) => k.F.linear(x, w7), k.randn([5, 7]).keep())).toMatchObject({ matmul: 1 });
    expect(kernels((x) => k.F.linear(x, w7), k.randn([5, 7]).keep()).matmul_vec4).toBeUndefined();
  });

  it('tune() times workgroup shapes per layout and keeps the fastest for the session', async () => {
    const r = await k.tune({ size: 64 });
    for (const l of ['NN', 'NT', 'TN'] as const) {
      expect(r.matmul[l].candidates.length).toBeGreaterThan(1);
      expect(r.matmul[l].candidates.map((c) => c.workgroup)).toContainEqual(r.matmul[l].workgroup);
      expect(r.matmul[l].ms).toBe(Math.min(...r.matmul[l].candidates.map((c) => c.ms)));
    }
    // TN also times its k loop unrolled, at the fastest workgroup shape.
    expect(r.matmul.TN.candidates.filter((c) => c.unrollK)).toHaveLength(1);
    expect(r.matmul.NN.candidates.some((c) => c.unrollK)).toBe(false);
    expect(await k.tune()).toBe(r);
    // Results do not depend on the workgroup shape picked.
    const a = k.randn([9, 16]);
    const b = k.randn([16, 12]);
    expect(Array.from(await a.matmul(b).toArray()).every(Number.isFinite)).toBe(true);
    await expect(k.tune({ size: 6 })).rejects.toThrow(/tune: size must be a positive multiple of 4, got 6/);
  }, 60_000);
});
