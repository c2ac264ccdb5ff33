// Exponential moving average of parameters (torch.optim.swa_utils' EMA, TensorFlow's
// ExponentialMovingAverage): one fused in-place kernel per tensor, with the decay read at each update so a
// captured step's replays follow a decay schedule.
import type { Tensor } from '../autograd/tensor.js';
import { lerpInto } from '../ops/kernels.js';

/**
 * averaged[i] = averaged[i] * decay + current[i] * (1 - decay) for every pair. `decay` may be a function; it
 * is called once per update (and on every replay of a compiled step).
 */
export function emaUpdate(averaged: readonly Tensor[], current: readonly Tensor[], decay: number | (() => number)): void {
  if (averaged.length !== current.length) {
    throw new Error(`emaUpdate: got ${averaged.length} averaged tensors and ${current.length} current ones`);
  }
  averaged.forEach((a, i) => {
    const c = current[i];
    if (a.shape.join(',') !== c.shape.join(',')) {
      throw new Error(`emaUpdate: tensor ${i} has shape [${a.shape.join(', ')}] but its source has [${c.shape.join(', ')}]`);
    }
  });
  const read = typeof decay === 'function' ? decay : () => decay;
  let value = 0;
  // One call of `decay` per update, shared by every tensor (the first kernel's params fetch it).
  averaged.forEach((a, i) => lerpInto(a, current[i], i === 0 ? () => {
    value = read();
    if (!(value >= 0 && value <= 1)) throw new Error(`emaUpdate: decay must be in [0, 1], got ${value}`);
    return value;
  } : () => value));
}
