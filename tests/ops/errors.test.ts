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
    ['mse shapes', () => k.F.mseLoss(k.zeros([2, 1]), k.zeros([2])), /mseLoss: target shape \[2\] differs from input shape \[2, 1\]/],
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
    expect(() => s.backward()).toThrow(/already freed by an earlier backward/);
  });
});
