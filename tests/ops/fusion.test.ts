// Pointwise rows and compileStep's fused kernels: NaN/inf rules as PyTorch, and fused chains (broadcasting
// included) against the same ops run eagerly, one kernel per op.
import { beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

const { F } = kiln;
beforeAll(async () => { await setup(); });

const NaN_ = Number.NaN;
const Inf = Number.POSITIVE_INFINITY;

describe('pointwise NaN and inf rules (values from PyTorch 2, noted next to each row)', () => {
  const x = () => kiln.tensor([NaN_, -1, 0, 2]);
  const rows: [string, () => kiln.Tensor, number[]][] = [
    // torch.tensor([nan, -1., 0., 2.]).relu()
    ['relu', () => x().relu(), [NaN_, 0, 0, 2]],
    // .clamp(-0.5, 0.5)
    ['clamp', () => x().clamp(-0.5, 0.5), [NaN_, -0.5, 0, 0.5]],
    // torch.maximum(x, torch.tensor(1.)) / torch.minimum
    ['maximum', () => x().maximum(kiln.tensor([1])), [NaN_, 1, 1, 2]],
    ['minimum', () => x().minimum(kiln.tensor([1])), [NaN_, -1, 0, 1]],
    ['maximum NaN second', () => kiln.tensor([1, 2]).maximum(kiln.tensor([NaN_, 0])), [NaN_, 2]],
    // F.leaky_relu(x, 0.2)
    ['leakyRelu', () => x().leakyRelu(0.2), [NaN_, -0.2, 0, 2]],
    // torch.tensor([0., -0., 2.]).pow(-1); torch.tensor([0.]).pow(torch.tensor([-1.])); torch.tensor([nan]).pow(0)
    ['pow scalar -1', () => kiln.tensor([0, -0, 2]).pow(-1), [Inf, -Inf, 0.5]],
    ['pow scalar -2', () => kiln.tensor([0, -0]).pow(-2), [Inf, Inf]],
    ['pow tensor', () => kiln.tensor([0]).pow(kiln.tensor([-1])), [Inf]],
    ['pow NaN^0', () => kiln.tensor([NaN_]).pow(0), [1]],
    ['tanh', () => x().tanh(), [NaN_, Math.tanh(-1), 0, Math.tanh(2)]],
    ['sigmoid', () => x().sigmoid(), [NaN_, 1 / (1 + Math.E), 0.5, 1 / (1 + Math.exp(-2))]],
  ];
  for (const [name, fn, want] of rows) {
    it(name, async () => {
      const got = Array.from(await fn().toArray());
      got.forEach((v, i) => {
        if (Number.isNaN(want[i])) expect(v, `${name}[${i}]`).toBeNaN();
        else expect(v, `${name}[${i}]`).toBeCloseTo(want[i], 6);
      });
      expectNoGpuErrors();
    });
  }
});

/** A seeded stream of values in [-2, 2). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return new Float32Array(n).map(() => { s = (s * 1664525 + 1013904223) >>> 0; return (s / 2 ** 32) * 4 - 2; });
}

describe('compileStep fuses pointwise chains', () => {
  // Shapes with broadcasting on either side, a scalar, odd sizes.
  const shapes: [number[], number[], number[]][] = [
    [[5, 7], [7], [5, 1]],
    [[3, 1, 9], [4, 9], [1]],
    [[257], [257], [257]],
    [[2, 3, 4, 5], [3, 1, 5], [2, 1, 4, 1]],
  ];
  const chain = (a: kiln.Tensor, b: kiln.Tensor, c: kiln.Tensor, w: kiln.Tensor) => {
    const h = F.leakyRelu(a.mul(b).add(c), 0.2).sub(b.sigmoid()).clamp(-1.5, 1.5);
    const m = F.where(h.gt(0), h.tanh(), h.exp().mul(0.5)).maximum(c).pow(2).mul(0.3).mul(1.7).div(2.9);
    // a matmul whose output the next chain reads element for element (folded into its store)
    const r = F.matmul(m.reshape([-1, 1]), w).relu().add(1).log();
    return [m, r.sum()] as const;
  };
  shapes.forEach(([sa, sb, sc], k) => {
    it(`${sa} ⊙ ${sb} ⊙ ${sc}: fused step equals the eager ops`, async () => {
      const n = (s: number[]) => s.reduce((p, q) => p * q, 1);
      const a = kiln.tensor(values(n(sa), k + 1), sa);
      const b = kiln.tensor(values(n(sb), k + 2), sb);
      const c = kiln.tensor(values(n(sc), k + 3), sc);
      const w = kiln.tensor(values(3, k + 4), [1, 3]);
      const eager = chain(a, b, c, w);
      const want = await Promise.all(eager.map((t) => t.toArray()));
      const step = kiln.compileStep((x: kiln.Tensor) => chain(x, b, c, w));
      for (let i = 0; i < 3; i++) step.run(a);
      const got = await Promise.all(step.run(a).map((t) => t.toArray()));
      // The same expressions in one kernel, scalars opaque to the compiler (the chain of scalar factors would
      // otherwise be folded into one constant): the eager bits.
      got.forEach((g, j) => expect(Array.from(g), `output ${j}`).toEqual(Array.from(want[j])));
      const st = step.stats;
      expect(st.kernels.fused ?? 0).toBeGreaterThan(0);
      // 13 pointwise launches eagerly; fused: b.sigmoid() (b's own shape), the chain, and at most two more.
      const pointwise = Object.entries(st.kernels).filter(([name]) => !name.startsWith('matmul') && name !== 'reduce' && name !== 'copy').reduce((p, [, v]) => p + v, 0);
      expect(pointwise).toBeLessThanOrEqual(4);
      step.dispose();
      expectNoGpuErrors();
    });
  });

  // Bias gradients (a column sum of g) folded into the weight-gradient matmul g^T x, and gradient
  // accumulation (a layer used twice) folded into the stores: scalar and vec4 matmul kernels.
  const layers: [string, number, number, number][] = [['scalar matmul', 37, 5, 6], ['vec4 matmul', 32, 8, 12]];
  for (const [kernel, batch, nin, nout] of layers) {
    it(`linear layer used twice (${kernel}): bias-gradient reduces folded, gradients equal the eager ones`, async () => {
      const w = kiln.tensor(values(nout * nin, 21), [nout, nin]).requiresGrad_();
      const b = kiln.tensor(values(nout, 22), [nout]).requiresGrad_();
      const body = (x: kiln.Tensor) => {
        w.grad = null; b.grad = null;
        const y1 = F.linear(x, w, b).tanh();
        const y2 = F.linear(x.mul(0.5), w, b).relu();
        y1.mul(y2).sum().add(y1.sum()).backward();
        return [w.grad!.clone(), b.grad!.clone()];
      };
      const x = kiln.tensor(values(batch * nin, 23), [batch, nin]);
      const want = await Promise.all(body(x).map((t) => t.toArray()));
      const step = kiln.compileStep(body);
      for (let i = 0; i < 3; i++) step.run(x);
      const got = await Promise.all(step.run(x).map((t) => t.toArray()));
      got.forEach((g, j) => g.forEach((v, i) => expect(Math.abs(v - want[j][i]), `grad ${j}[${i}]`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[j][i])))));
      // Eagerly: two bias-gradient reduces and the two loss sums; compiled only the loss sums.
      expect(step.stats.kernels.reduce ?? 0).toBeLessThanOrEqual(2);
      expect(Object.keys(step.stats.kernels).some((k) => k.startsWith('matmul') && k.endsWith('+epilogue'))).toBe(true);
      step.dispose();
      w.dispose(); b.dispose(); x.dispose();
      expectNoGpuErrors();
    });
  }

  // Horizontal grouping: independent matmuls (different transposes, kernels, odd and aligned sizes,
  // batched) and reductions run as sub-problems of one dispatch, each exactly as it ran alone.
  it('independent matmuls and reductions share one dispatch and give the eager bits', async () => {
    const x1 = kiln.tensor(values(37 * 5, 31), [37, 5]);
    const w1 = kiln.tensor(values(6 * 5, 32), [6, 5]);
    const x2 = kiln.tensor(values(32 * 8, 33), [32, 8]);
    const w2 = kiln.tensor(values(8 * 12, 34), [8, 12]);
    const b3 = kiln.tensor(values(3 * 9 * 7, 35), [3, 9, 7]);
    const c3 = kiln.tensor(values(3 * 7 * 4, 36), [3, 7, 4]);
    const body = (t: kiln.Tensor) => {
      const a = F.linear(t, w1).tanh();
      const b = x2.matmul(w2).relu();
      const c = b3.matmul(c3);
      const d = t.transpose(0, 1).matmul(a);
      return [a, b, c, d, a.sum(), b.sum()];
    };
    const want = await Promise.all(body(x1).map((t) => t.toArray()));
    const step = kiln.compileStep(body);
    for (let i = 0; i < 3; i++) step.run(x1);
    const got = await Promise.all(step.run(x1).map((t) => t.toArray()));
    got.forEach((g, j) => expect(Array.from(g), `output ${j}`).toEqual(Array.from(want[j])));
    const groups = Object.entries(step.stats.kernels).filter(([k]) => k.startsWith('group('));
    expect(groups.length).toBeGreaterThan(0);
    // Six launches eagerly (four matmuls, two sums) are at most three dispatches grouped.
    expect(step.stats.dispatches).toBeLessThanOrEqual(3);
    for (let i = 0; i < 50; i++) step.run(x1);
    const again = await Promise.all(step.run(x1).map((t) => t.toArray()));
    again.forEach((g, j) => expect(Array.from(g), `replayed output ${j}`).toEqual(Array.from(want[j])));
    step.dispose();
    [x1, w1, x2, w2, b3, c3].forEach((t) => t.dispose());
    expectNoGpuErrors();
  });

  // A narrow or transpose feeding a reduce is no copy: the reduce reads the source through strides, summing
  // the same elements in the same order as the eager gather-then-reduce.
  it('a strided gather folds into the reduce after it, with the eager bits', async () => {
    const x = kiln.tensor(values(37 * 6, 51), [37, 6]);
    const y = kiln.tensor(values(4 * 9 * 5, 52), [4, 9, 5]);
    const body = (t: kiln.Tensor) => {
      const kept = t.narrow(1, 2, 3);
      return [F.softmax(t, 1).narrow(1, 1, 1).mean(), y.transpose(0, 2).sum(1), y.permute([1, 0, 2]).sum(0), kept, kept.sum()];
    };
    const want = await Promise.all(body(x).map((t) => t.toArray()));
    const step = kiln.compileStep(body);
    for (let i = 0; i < 3; i++) step.run(x);
    const got = await Promise.all(step.run(x).map((t) => t.toArray()));
    got.forEach((g, j) => expect(Array.from(g), `output ${j}`).toEqual(Array.from(want[j])));
    // Copies kept: the narrow that is also an output, and the permute whose summed-over [4, 5] block does
    // not merge into one stride.
    const gathers = Object.entries(step.stats.kernels)
      .reduce((n, [k, v]) => n + v * (k.match(/gather_strided/g)?.length ?? 0), 0);
    expect(gathers).toBe(2);
    step.dispose();
    [x, y].forEach((t) => t.dispose());
    expectNoGpuErrors();
  });

  // A reduced loss over a small batch runs on one thread; it joins a wider independent kernel on the first
  // thread of a workgroup (its barriers dropped), still with the eager bits.
  it('a one-thread loss and an independent wider kernel share one dispatch and give the eager bits', async () => {
    const logits = kiln.tensor(values(13 * 5, 41), [13, 5]);
    const labels = kiln.tensor(Int32Array.from({ length: 13 }, (_, i) => (i * 3) % 5), [13], { dtype: 'int32' });
    const other = kiln.tensor(values(13 * 5, 42), [13, 5]);
    const body = (x: kiln.Tensor) => [F.crossEntropy(x, labels), F.crossEntropy(other, labels, { reduction: 'none' })];
    const want = await Promise.all(body(logits).map((t) => t.toArray()));
    const step = kiln.compileStep(body);
    for (let i = 0; i < 3; i++) step.run(logits);
    const got = await Promise.all(step.run(logits).map((t) => t.toArray()));
    got.forEach((g, j) => expect(Array.from(g), `output ${j}`).toEqual(Array.from(want[j])));
    expect(step.stats.dispatches).toBe(1);
    expect(Object.keys(step.stats.kernels)).toEqual(['group(cross_entropy,cross_entropy)']);
    step.dispose();
    [logits, labels, other].forEach((t) => t.dispose());
    expectNoGpuErrors();
  });

  // The gradient of a sum passes the upstream gradient on unchanged: such a copy is never stored, its
  // readers read the upstream gradient itself (so each loss's backward no longer waits on the copy).
  it('a pass-through gradient is not copied, and the gradients keep the eager bits', async () => {
    const a = kiln.tensor(values(9 * 4, 51), [9, 4]).requiresGrad_();
    const b = kiln.tensor(values(9 * 4, 52), [9, 4]).requiresGrad_();
    const labels = kiln.tensor(Int32Array.from({ length: 9 }, (_, i) => i % 4), [9], { dtype: 'int32' });
    const body = (x: kiln.Tensor) => {
      a.grad = null; b.grad = null;
      const loss = F.crossEntropy(a.mul(x), labels).add(F.crossEntropy(b.mul(x), labels));
      loss.backward();
      return [loss, a.grad!.clone(), b.grad!.clone()];
    };
    const x = kiln.tensor([1.5]);
    const want = await Promise.all(body(x).map((t) => t.toArray()));
    const step = kiln.compileStep(body);
    for (let i = 0; i < 3; i++) step.run(x);
    const got = await Promise.all(step.run(x).map((t) => t.toArray()));
    got.forEach((g, j) => expect(Array.from(g), `output ${j}`).toEqual(Array.from(want[j])));
    // Unforwarded, both backwards wait on the fused copy; forwarded, one joins its forward's dispatch.
    expect(Object.keys(step.stats.kernels)).toContain('group(cross_entropy,cross_entropy_backward)');
    step.dispose();
    [a, b, labels, x].forEach((t) => t.dispose());
    expectNoGpuErrors();
  });

  // BCE on a sigmoid: the sigmoid's gradient folds into the BCE backward's store, though it reads the
  // sigmoid output the BCE backward already binds.
  it('sigmoid gradient folded into the BCE backward, gradients keep the eager bits', async () => {
    const w = kiln.tensor(values(11 * 3, 61), [11, 3]).requiresGrad_();
    const body = (t: kiln.Tensor) => {
      w.grad = null;
      const loss = F.binaryCrossEntropy(w.sigmoid(), t);
      loss.backward();
      return [loss, w.grad!.clone()];
    };
    const t = kiln.tensor(Float32Array.from({ length: 33 }, (_, i) => (i % 3) / 2), [11, 3]);
    const want = await Promise.all(body(t).map((r) => r.toArray()));
    const step = kiln.compileStep(body);
    for (let i = 0; i < 3; i++) step.run(t);
    const got = await Promise.all(step.run(t).map((r) => r.toArray()));
    got.forEach((g, j) => expect(Array.from(g), `output ${j}`).toEqual(Array.from(want[j])));
    expect(Object.keys(step.stats.kernels).some((k) => k.includes('binary_cross_entropy_backward+epilogue'))).toBe(true);
    expect(step.stats.kernels.sigmoid_grad ?? 0).toBe(0);
    step.dispose();
    [w, t].forEach((r) => r.dispose());
    expectNoGpuErrors();
  });

  it('intermediates never stored: the arena is smaller than the unfused buffers, and memory stays flat over replays', async () => {
    const x = kiln.tensor(values(4096, 9), [64, 64]);
    const step = kiln.compileStep((t: kiln.Tensor) => t.mul(2).add(1).relu().sub(0.5).tanh().mul(t).sum());
    step.run(x); step.run(x);
    const plan = step.stats.memory!;
    // Six 16 KiB intermediates eagerly (two alive at once at least); fused only the last one is stored.
    expect(plan.arenaBytes).toBeLessThan(2 * 64 * 64 * 4);
    for (let i = 0; i < 20; i++) step.run(x);
    await kiln.sync();
    const before = kiln.memory().totalBytes;
    const created = kiln.stats().buffersCreated;
    for (let i = 0; i < 300; i++) step.run(x);
    await kiln.sync();
    expect(kiln.memory().totalBytes).toBe(before);
    expect(kiln.stats().buffersCreated).toBe(created);
    step.dispose();
    expectNoGpuErrors();
  });
});

describe('compileStep stores in-place accumulations and stacked results without copies', () => {
  // The leaf gets gradients from two paths (a matmul and a pointwise square); without zeroGrad every replay
  // adds them into the existing .grad, which the eager step does with an add and a copy back into .grad.
  for (const zero of [false, true]) {
    it(`a leaf with gradients from two paths${zero ? ', zeroed each step' : ', never zeroed'}`, async () => {
      const run = async (compile: boolean) => {
        const w = kiln.tensor(values(6 * 5, 61), [6, 5]).requiresGrad_();
        const b = kiln.tensor(values(5, 62), [5]).requiresGrad_();
        const x = kiln.tensor(values(7 * 6, 63), [7, 6]);
        // An existing .grad (as after a discriminator step), accumulated into from the first run on.
        w.grad = kiln.tensor(values(6 * 5, 64), [6, 5]);
        b.grad = kiln.tensor(values(5, 65), [5]);
        const fn = () => {
          if (zero) { w.grad!.zero_(); b.grad!.zero_(); }
          const h = F.matmul(x, w).add(b).tanh();
          const loss = h.sum().add(w.mul(w).sum().mul(0.5)).add(b.mul(b).sum());
          loss.backward();
          return loss.detach();
        };
        const step = kiln.compileStep(fn);
        for (let i = 0; i < 5; i++) {
          if (compile) step.run();
          else kiln.tidy(() => { fn(); });
        }
        const out = [Array.from(await w.grad!.toArray()), Array.from(await b.grad!.toArray())];
        const copies = step.stats.kernels.copy ?? 0;
        step.dispose();
        [w.grad!, b.grad!, w, b, x].forEach((t) => t.dispose());
        return { out, copies };
      };
      const eager = await run(false);
      const compiled = await run(true);
      expect(compiled.out).toEqual(eager.out);
      // Zeroed, the accumulating add may stay an eager kernel (no generated source to redirect): copies may stay.
      if (!zero) expect(compiled.copies).toBe(0);
      expectNoGpuErrors();
    });
  }

  it('stacked scalars computed by fused kernels are stored into their slices, with the eager bits', async () => {
    const a = kiln.tensor(values(33, 71), [33]);
    const b = kiln.tensor(values(33, 72), [33]);
    const body = (x: kiln.Tensor) => kiln.noGrad(() => {
      const p = a.mul(x).add(b);
      // Scalars finished by pointwise kernels (a reduce has no store site to redirect).
      return kiln.stack([p.sum().mul(x), p.exp().sum().sub(x), a.sub(b).pow(2).mean().mul(3), b.sum().div(x)]);
    });
    const x = kiln.tensor(0.75);
    const want = Array.from(await body(x).toArray());
    const step = kiln.compileStep(body);
    for (let i = 0; i < 3; i++) step.run(x);
    expect(Array.from(await step.run(x).toArray())).toEqual(want);
    expect(step.stats.kernels.copy ?? 0).toBeLessThan(4);
    step.dispose();
    [a, b, x].forEach((t) => t.dispose());
    expectNoGpuErrors();
  });
});
