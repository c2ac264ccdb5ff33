// torch.optim for Kiln.
export { Optimizer, Adam, SGD, type AdamOptions, type SGDOptions, type OptimizerStateDict } from './optimizer.js';
export { emaUpdate } from './ema.js';
export * as lrScheduler from './lr_scheduler.js';
/** PyTorch's spelling of lrScheduler (torch.optim.lr_scheduler), for line-by-line ports. */
export * as lr_scheduler from './lr_scheduler.js';
