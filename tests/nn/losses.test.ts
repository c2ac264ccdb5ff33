// Losses broadcast or refuse where PyTorch does, with PyTorch's input-range check for BCE.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectClose, expectNoGpuErrors, setup } from '../helpers.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

describe('loss shapes and ranges as PyTorch', () => {
  it('mseLoss [4, 1] vs [4] broadcasts to [4, 4] and warns once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const x = k.tensor([[1], [2], [3], [4]]);
    const y = k.tensor([1, 2, 3, 4]);
    const l = await k.F.mseLoss(x, y).item();
    // torch.nn.functional.mse_loss(x, y) on these values = mean over the 4x4 broadcast of (x_i - y_j)^2 = 2.5
    expect(l).toBeCloseTo(2.5, 5);
    await k.F.mseLoss(x, y).item();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/target size \[4\] that is different to the input size \[4, 1\]/);
    warn.mockRestore();
    expect(() => k.F.mseLoss(k.zeros([4, 2]), k.zeros([3]))).toThrow(/mseLoss: the size of input \[4, 2\] must match .* or broadcast/);
    expect(() => k.F.l1Loss(k.zeros([4, 2]), k.zeros([4, 3]))).toThrow(/l1Loss: the size of input/);
  });

  it('mseLoss gradient sums over the broadcast dimension', async () => {
    const x = k.tensor([[1], [2]]).requiresGrad_();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    k.F.mseLoss(x, k.tensor([0, 1])).backward();
    warn.mockRestore();
    // d/dx_i mean_j (x_i - y_j)^2 over 4 elements = sum_j 2 (x_i - y_j) / 4
    expectClose(await x.grad!.toArray(), [(2 * 1 + 2 * 0) / 4, (2 * 2 + 2 * 1) / 4], 'grad');
  });

  it('BCE requires the same shape', () => {
    expect(() => k.F.binaryCrossEntropy(k.full([4, 1], 0.5), k.ones([4]))).toThrow(/binaryCrossEntropy: target shape \[4\] differs from input shape \[4, 1\]/);
    expect(() => new k.nn.BCELoss().forward(k.full([4, 1], 0.5), k.ones([4]))).toThrow(/differs/);
  });

  it('BCE on an input outside [0, 1] raises PyTorch\'s error: host data at once, GPU data at the next readback', async () => {
    expect(() => k.F.binaryCrossEntropy(k.tensor([0.5, 1.5]), k.tensor([1, 0]))).toThrow(/all elements of input should be between 0 and 1/);
    const logits = k.tensor([0.5, 1.5]).mul(1); // computed on the GPU: no host copy
    const l = k.F.binaryCrossEntropy(logits, k.tensor([1, 0]));
    await expect(l.item()).rejects.toThrow(/binaryCrossEntropy: all elements of input should be between 0 and 1/);
    // the check is consumed: later readbacks succeed
    const ok = k.F.binaryCrossEntropy(k.tensor([0.5, 0.25]).mul(1), k.tensor([1, 0]));
    expect(await ok.item()).toBeCloseTo((-Math.log(0.5) - Math.log(0.75)) / 2, 5);
    // NaN fails the check too, and any readback reports it
    const nan = k.tensor([0, 0]).div(k.tensor([0, 1]));
    k.F.binaryCrossEntropy(nan, k.tensor([1, 0]));
    await expect(k.ones([1]).toArray()).rejects.toThrow(/between 0 and 1/);
  });
});
