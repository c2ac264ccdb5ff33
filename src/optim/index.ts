// torch.optim for Kiln.
export { Optimizer, Adam, SGD, type AdamOptions, type SGDOptions } from './optimizer.js';
export { emaUpdate } from './ema.js';
