// torch.optim.lr_scheduler for Kiln: schedulers set the optimizer's lr, which every step reads (a compiled
// step included: its kernels take lr from the optimizer at each replay), so `scheduler.step()` once per epoch
// works as in PyTorch.
import { arg, argTypes as T, bindArgs, type PyArgs } from '../signature.js';
import { Optimizer } from './optimizer.js';

export abstract class LRScheduler {
  /** The lr the optimizer had when the scheduler was made (PyTorch's initial_lr / base_lrs[0]). */
  readonly baseLr: number;
  /** Scheduler steps taken; the constructor takes the first, as PyTorch's (0 after it). */
  lastEpoch: number;

  constructor(readonly optimizer: Optimizer, lastEpoch: number) {
    const name = this.constructor.name;
    if (!(optimizer instanceof Optimizer)) throw new Error(`${name}: optimizer must be a Kiln optimizer (Adam, SGD), got ${optimizer === null ? 'null' : typeof optimizer}`);
    if (lastEpoch !== -1) throw new Error(`${name}: lastEpoch must be -1 (resuming a schedule: construct it, then call step() per past epoch), got ${String(lastEpoch)}`);
    this.baseLr = optimizer.lr;
    this.lastEpoch = -1;
  }

  /** The factor of baseLr at `epoch`. */
  protected abstract factor(epoch: number): number;

  /** Advances one epoch and sets the optimizer's lr (call after the epoch's optimizer steps, as PyTorch). */
  step(): void {
    this.lastEpoch++;
    this.optimizer.lr = this.baseLr * this.factor(this.lastEpoch);
  }

  /** PyTorch's get_last_lr(): the lr the last step() set, one per parameter group. */
  getLastLr(): number[] { return [this.optimizer.lr]; }
}

export interface StepLROptions { gamma?: number; lastEpoch?: number }

/** lr = baseLr * gamma^floor(epoch / stepSize) (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  /** `new StepLR(optimizer, stepSize, gamma = 0.1, lastEpoch = -1)`, or gamma / lastEpoch as options. */
  constructor(optimizer: Optimizer, stepSize: number, ...rest: PyArgs<[gamma: number, lastEpoch: number], StepLROptions>);
  constructor(optimizer: Optimizer, ...args: unknown[]) {
    const a = bindArgs<Required<StepLROptions> & { stepSize: number }>('StepLR', [arg('stepSize', T.int(1)),
      arg('gamma', T.number((v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0'), 0.1), arg('lastEpoch', T.int(), -1)], args);
    super(optimizer, a.lastEpoch);
    this.stepSize = a.stepSize;
    this.gamma = a.gamma;
    this.step();
  }
  protected factor(epoch: number): number { return this.gamma ** Math.floor(epoch / this.stepSize); }
}

/** lr = baseLr * lrLambda(epoch) (torch.optim.lr_scheduler.LambdaLR). */
export class LambdaLR extends LRScheduler {
  readonly lrLambda: (epoch: number) => number;
  /** `new LambdaLR(optimizer, lrLambda, lastEpoch = -1)`. */
  constructor(optimizer: Optimizer, lrLambda: (epoch: number) => number, ...rest: PyArgs<[lastEpoch: number], { lastEpoch?: number }>);
  constructor(optimizer: Optimizer, ...args: unknown[]) {
    const a = bindArgs<{ lrLambda: (epoch: number) => number; lastEpoch: number }>('LambdaLR', [
      arg('lrLambda', { expected: 'a function of the epoch', check: (v) => typeof v === 'function' }), arg('lastEpoch', T.int(), -1)], args);
    super(optimizer, a.lastEpoch);
    this.lrLambda = a.lrLambda;
    this.step();
  }
  protected factor(epoch: number): number {
    const f = this.lrLambda(epoch);
    if (typeof f !== 'number' || !Number.isFinite(f) || f < 0) throw new Error(`LambdaLR: lrLambda(${epoch}) returned ${String(f)}, expected a finite number >= 0`);
    return f;
  }
}
