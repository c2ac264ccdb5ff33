// Bad input: every op checks its arguments before any GPU work and throws an error naming the op, what it
// got and what it expected; none of these may reach the device as a validation error.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoGpuErrors, setup } from '../helpers.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

describe('clear errors before GPU work', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['conv2d channel mismatch', () => k.F.conv2d(k.zeros([1, 3, 8, 8]), k.zeros([4, 1, 3, 3])), /conv2d: input has 3 channels but weight \[4, 1, 3, 3\] expects 1 \(groups=1\)/],
    ['conv2d groups', () => k.F.conv2d(k.zeros([1, 3, 8, 8]), k.zeros([4, 1, 3, 3]), null, { groups: 2 }), /conv2d: input channels 3 are not divisible by groups=2/],
    ['conv2d too small', () => k.F.conv2d(k.zeros([1, 1, 2, 2]), k.zeros([1, 1, 3, 3])), /conv2d: input \[1, 1, 2, 2\] is too small for kernel 3x3/],
    ['conv2d rank', () => k.F.conv2d(k.zeros([3, 8, 8]), k.zeros([4, 3, 3, 3])), /conv2d: input must be 4-D \[N, C, H, W\], got shape \[3, 8, 8\]/],
    ['conv2d stride 0', () => k.F.conv2d(k.zeros([1, 1, 4, 4]), k.zeros([1, 1, 3, 3]), null, { stride: 0 }), /conv2d: stride must be an integer >= 1/],
    ['conv2d bias', () => k.F.conv2d(k.zeros([1, 1, 4, 4]), k.zeros([2, 1, 3, 3]), k.zeros([3])), /conv2d: bias must have shape \[2\], got \[3\]/],
    ['convTranspose2d channels', () => k.F.convTranspose2d(k.zeros([1, 3, 4, 4]), k.zeros([2, 4, 3, 3])), /convTranspose2d: input has 3 channels but weight \[2, 4, 3, 3\] expects 2/],
    ['convTranspose2d outputPadding', () => k.F.convTranspose2d(k.zeros([1, 2, 4, 4]), k.zeros([2, 4, 3, 3]), null, { stride: 2, outputPadding: 2 }), /outputPadding \(2 along H\) must be smaller than either stride \(2\) or dilation \(1\)/],
    ['matmul inner', () => k.zeros([2, 3]).matmul(k.zeros([4, 5])), /matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/],
    ['matmul batch', () => k.zeros([2, 2, 3]).matmul(k.zeros([3, 3, 4])), /matmul: shapes \[2\] and \[3\] cannot be broadcast/],
    ['broadcast', () => k.zeros([2, 3]).add(k.zeros([4])), /add: shapes \[2, 3\] and \[4\] cannot be broadcast together/],
    ['reshape', () => k.zeros([2, 3]).reshape(4, 2), /reshape: cannot reshape a tensor of shape \[2, 3\] \(6 elements\) into \[4, 2\]/],
    ['reshape two -1', () => k.zeros([2, 3]).reshape(-1, -1), /reshape: only one dimension can be -1/],
    ['permute', () => k.zeros([2, 3]).permute(0, 0), /permute: \[0,0\] is not a permutation/],
    ['sum dim', () => k.zeros([2, 3]).sum(2), /sum: dim 2 is out of range for a tensor of rank 2/],
    ['softmax dim', () => k.zeros([2, 3]).softmax(-3), /softmax: dim -3 is out of range/],
    ['expand', () => k.zeros([2, 3]).expand(4, 3), /expand: cannot expand shape \[2, 3\] to \[4, 3\]/],
    ['batchNorm weight', () => k.F.batchNorm(k.zeros([4, 3]), null, null, k.ones([2]), k.zeros([2]), { training: true }), /batchNorm: weight must have shape \[3\] for input \[4, 3\], got \[2\]/],
    ['batchNorm single value', () => k.F.batchNorm(k.zeros([1, 3]), null, null, null, null, { training: true }), /batchNorm: expected more than 1 value per channel when training/],
    ['BatchNorm2d rank', () => new k.nn.BatchNorm2d(3).forward(k.zeros([4, 3])), /BatchNorm2d: expected a 4-D input, got shape \[4, 3\]/],
    ['Linear features', () => new k.nn.Linear(3, 2).forward(k.zeros([4, 5])), /linear: input \[4, 5\] has 5 features but weight \[2, 3\] expects 3/],
    ['crossEntropy labels dtype', () => k.F.crossEntropy(k.zeros([2, 3]), k.zeros([2])), /crossEntropy: labels must be int32 class indices, got float32/],
    ['crossEntropy label range', () => k.F.crossEntropy(k.zeros([2, 3]), k.tensor([0, 3], undefined, { dtype: 'int32' })), /crossEntropy: label 3 at index 1 is outside \[0, 3\)/],
    ['bce shapes', () => k.F.binaryCrossEntropy(k.zeros([2, 1]), k.zeros([2])), /binaryCrossEntropy: target shape \[2\] differs from input shape \[2, 1\]/],
    ['mse shapes', () => k.F.mseLoss(k.zeros([2, 3]), k.zeros([4])), /mseLoss: the size of input \[2, 3\] must match the size of target \[4\] or broadcast with it/],
    ['int op', () => k.tensor([1, 2], undefined, { dtype: 'int32' }).exp(), /exp: expected a float32 tensor, got int32/],
    ['ragged', () => k.tensor([[1, 2], [3]]), /tensor: ragged nested array/],
    ['tensor size', () => k.tensor([1, 2, 3], [2, 2]), /tensor: 3 values do not fill shape \[2, 2\] \(4 elements\)/],
    ['negative shape', () => k.zeros([2, -1]), /zeros|full: invalid shape \[2, -1\]/],
    ['int requires grad', () => k.tensor([1], undefined, { dtype: 'int32', requiresGrad: true }), /only float32 tensors can require grad/],
    ['clamp', () => k.zeros([2]).clamp(1, 0), /clamp: min \(1\) is greater than max \(0\)/],
    ['arange step', () => k.arange(0, 3, 0), /arange: step must be a non-zero finite number/],
    ['item', () => k.zeros([2]).item(), /item: only a single-element tensor converts to a number, got shape \[2\]/],
    ['too large', () => k.zeros([1 << 30]), /exceeds this device's maxStorageBufferBindingSize/],
    ['loadStateDict shape', () => new k.nn.Linear(2, 3).loadStateDict({ weight: k.zeros([3, 3]), bias: k.zeros([3]) }), /loadStateDict: weight has shape \[3, 3\] in the state dict but \[3, 2\] in the module/],
    ['loadStateDict keys', () => new k.nn.Linear(2, 3).loadStateDict({ weight: k.zeros([3, 2]) }), /loadStateDict: keys do not match. Missing: bias/],
  ];
  it.each(cases)('%s', async (_name, fn, re) => {
    const before = k.memory().liveTensors;
    let err: unknown;
    try { await fn(); } catch (e) { err = e; }
    expect(err, 'expected an error').toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(re);
    expect(k.memory().liveTensors).toBeGreaterThanOrEqual(before);
    await k.sync();
  });
});

describe('lifetime errors', () => {
  it('use after dispose names the tensor', () => {
    const t = k.ones([2, 2]);
    t.dispose();
    expect(() => t.add(1)).toThrow(/tensor #\d+ \(shape \[2, 2\]\) was used after dispose\(\)/);
    expect(t.isDisposed).toBe(true);
    t.dispose(); // idempotent
  });

  it('backward on a non-scalar, a constant, or twice', () => {
    const x = k.ones([3], { requiresGrad: true });
    const y = x.mul(2);
    expect(() => y.backward(k.ones([2]))).toThrow(/backward: gradient has shape \[2\] but the tensor has shape \[3\]/);
    expect(() => y.backward()).toThrow(/backward: grad can be implicitly created only for a single-element tensor; got shape \[3\]/);
    expect(() => k.ones([1]).backward()).toThrow(/backward: this tensor does not require grad/);
    const s = y.sum();
    s.backward();
    expect(() => s.backward()).toThrow(/trying to backward through the graph a second time: tensor #\d+/);
  });
});

describe('device-side checks of labels only the GPU knows', () => {
  const int = { dtype: 'int32' as const };
  it('crossEntropy with out-of-range labels from arange, full, cat or a long tensor throws at the next readback', async () => {
    const x = k.randn([6, 3]);
    const makers: [string, () => InstanceType<typeof k.Tensor>, RegExp][] = [
      ['arange', () => k.arange(0, 6, 1, int), /crossEntropy: label 3 at index 3 is outside \[0, 3\)/],
      ['full', () => k.full([6], -2, int), /crossEntropy: label -2 at index \d is outside \[0, 3\)/],
      ['cat', () => k.cat([k.zeros([5], int), k.full([1], 7, int)]), /crossEntropy: label 7 at index 5 is outside \[0, 3\)/],
    ];
    for (const [what, make, re] of makers) {
      const y = make();
      const loss = k.F.crossEntropy(x, y);
      await expect(loss.toArray(), what).rejects.toThrow(re);
      // Reported once: the next readback is clean.
      expect((await k.F.crossEntropy(x, k.zeros([6], int)).toArray())[0]).toBeGreaterThan(0);
      y.dispose(); loss.dispose();
    }
    const n = 70_000;
    const big = k.zeros([n, 2]);
    const labels = k.tensor(Int32Array.from({ length: n }, (_, i) => (i === n - 1 ? 2 : 0)), [n]);
    await expect(k.F.crossEntropy(big, labels).item()).rejects.toThrow(/crossEntropy: label 2 at index 69999 is outside \[0, 2\)/);
    expectNoGpuErrors();
  });

  it('a compiled step flags bad labels on every replay, and good labels pass', async () => {
    const x = k.randn([4, 3]);
    const step = k.compileStep((y: InstanceType<typeof k.Tensor>) => k.F.crossEntropy(x, y));
    const good = { data: Int32Array.from([0, 1, 2, 0]), shape: [4] };
    const bad = { data: Int32Array.from([0, 1, 5, 0]), shape: [4] };
    for (let i = 0; i < 3; i++) expect(Number.isFinite(await step.run(good).item())).toBe(true);
    await expect(step.run(bad).item()).rejects.toThrow(/crossEntropy: label 5 at index 2 is outside \[0, 3\)/);
    expect(Number.isFinite(await step.run(good).item())).toBe(true);
    step.dispose?.();
    expectNoGpuErrors();
  });

  it('oneHot with an out-of-range label made on the device throws at the next readback', async () => {
    const y = k.arange(0, 4, 1, int).reshape([4]);
    const h = k.F.oneHot(y, 3);
    await expect(h.toArray()).rejects.toThrow(/oneHot: label 3 at index 3 is outside \[0, 3\)/);
    expect(Array.from(await k.F.oneHot(k.full([2], 1, int), 3).toArray())).toEqual([0, 1, 0, 0, 1, 0]);
  });
});

describe('no half-done work on error', () => {
  it('optimizers refuse a disposed parameter at step() instead of skipping it', () => {
    for (const O of [k.optim.Adam, k.optim.SGD]) {
      const p = k.ones([2], { requiresGrad: true });
      const opt = new O([p], { lr: 0.1 });
      p.dispose();
      expect(() => opt.step()).toThrow(/(Adam|SGD)\.step: parameter 0 \(tensor #\d+, shape \[2\]\) was disposed/);
      opt.dispose();
    }
    expect(() => new k.optim.Adam(new k.nn.Linear(2, 2) as never)).toThrow(/Adam: params must be an iterable of tensors \(pass model.parameters\(\), not the model\)/);
  });

  it('loadStateDict checks every entry before writing, and leaks nothing with batch norm', async () => {
    const m = new k.nn.Sequential(new k.nn.Linear(2, 3), new k.nn.BatchNorm1d(3));
    const before = await m.at(0).parameters()[0].toArray();
    const sd = new Map([...m.stateDict()].map(([key, t]) => [key, k.full(t.shape, 5, { dtype: t.dtype })]));
    sd.set('1.running_var', k.zeros([3], { dtype: 'int32' }));
    expect(() => m.loadStateDict(sd)).toThrow(/loadStateDict: 1.running_var is int32 in the state dict but float32 in the module/);
    expect(Array.from(await m.at(0).parameters()[0].toArray())).toEqual(Array.from(before));
    sd.get('1.running_var')!.dispose();
    sd.set('1.running_var', k.ones([3]));
    const live = k.memory().liveTensors;
    for (let i = 0; i < 3; i++) m.loadStateDict(sd);
    expect(k.memory().liveTensors).toBe(live);
    expect(Array.from(await m.at(0).parameters()[0].toArray())).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it('a composite that fails midway frees what it made', () => {
    const a = k.rand([2, 3]);
    const mask = k.ones([2, 3]).gt(0);
    const four = k.ones([4]);
    const w = k.ones([2, 3]);
    const live = k.memory().liveTensors;
    expect(() => k.F.where(mask, a, 0.5)).not.toThrow();
    expect(() => k.F.where(mask, a, four)).toThrow(/where: shapes/);
    expect(() => k.F.where(mask, four, 1)).toThrow(/where: shapes/);
    expect(() => k.F.linear(a, w, null, { precision: 'f64' as never })).toThrow(/linear: precision must be 'f32', 'f16', got "f64"/);
    expect(() => k.F.mseLoss(a, a, { reduction: 'avg' as never })).toThrow(/mseLoss: reduction must be 'mean', 'sum', 'none', got "avg"/);
    expect(() => k.tidy(() => { k.ones([3]); throw new Error('user error'); })).toThrow('user error');
    expect(k.memory().liveTensors).toBe(live + 1); // the one successful where()
  });
});
