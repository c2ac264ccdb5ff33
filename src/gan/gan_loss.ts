// GANLoss, as the CMU Deep Learning Systems lecture defines it: a loss-like module that hides the
// discriminator's update inside forward(fake, real) and returns the generator's loss, so any generator
// composes with it like with a loss function. Built on Kiln's public API only.
import { F, full, noGrad, tensor, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { checkOptionKeys } from '../signature.js';

/**
 * 'bce': D ends in a Sigmoid with one output (BCELoss). 'softmax': D has two logits, class 1 = real (SoftmaxLoss).
 * 'lsgan': D outputs raw scores of any shape (a PatchGAN map), regressed to 1 (real) and 0 (fake) with MSE
 * (Mao et al. 2017; the CycleGAN reference's default).
 */
export type DLoss = 'bce' | 'softmax' | 'lsgan';
/** 'nonSaturating': G minimises -log D(G(z)) (fake labelled real). 'minimax': G minimises log(1 - D(G(z))). */
export type GObjective = 'nonSaturating' | 'minimax';

export interface GANLossOptions {
  loss?: DLoss;
  objective?: GObjective;
  /** How the real and fake halves of D's loss combine: 'sum' (the CMU lecture) or 'mean' (d2l). */
  dReduction?: 'sum' | 'mean';
}

/** The discriminator step's numbers, as GPU scalars (valid until the enclosing tidy() ends). */
export interface DStep { dLoss: Tensor; realScore: Tensor; fakeScore: Tensor }

export class GANLoss {
  readonly loss: DLoss;
  readonly objective: GObjective;
  readonly dReduction: 'sum' | 'mean';
  last: DStep | null = null;
  private labelCache = new Map<string, Tensor>();

  constructor(readonly discriminator: Module, readonly optimizerD: Optimizer, opts: GANLossOptions = {}) {
    checkOptionKeys('GANLoss', opts ?? {}, ['loss', 'objective', 'dReduction']);
    this.loss = opts.loss ?? 'bce';
    this.objective = opts.objective ?? 'nonSaturating';
    this.dReduction = opts.dReduction ?? 'sum';
    if (this.loss !== 'bce' && this.loss !== 'softmax' && this.loss !== 'lsgan') {
      throw new Error(`GANLoss: loss must be 'bce', 'softmax' or 'lsgan', got ${String(this.loss)}`);
    }
    if (this.loss === 'lsgan' && this.objective !== 'nonSaturating') {
      throw new Error("GANLoss: with loss 'lsgan' G regresses D(G(z)) to the real label; objective 'minimax' does not apply");
    }
    if (this.objective !== 'nonSaturating' && this.objective !== 'minimax') {
      throw new Error(`GANLoss: objective must be 'nonSaturating' or 'minimax', got ${String(this.objective)}`);
    }
  }

  private labels(out: Tensor, real: boolean): Tensor {
    const shape = this.loss === 'softmax' ? [out.shape[0]] : out.shape;
    const key = `${shape.join('x')}:${real}`;
    let t = this.labelCache.get(key);
    if (!t) {
      const n = shape.reduce((a, b) => a * b, 1);
      t = this.loss !== 'softmax'
        ? full(shape, real ? 1 : 0).keep()
        : tensor(new Int32Array(n).fill(real ? 1 : 0), shape, { dtype: 'int32' }).keep();
      this.labelCache.set(key, t);
    }
    return t;
  }

  private criterion(out: Tensor, real: boolean): Tensor {
    if (this.loss === 'bce') return F.binaryCrossEntropy(out, this.labels(out, real));
    if (this.loss === 'lsgan') return F.mseLoss(out, this.labels(out, real));
    if (out.ndim !== 2 || out.shape[1] !== 2) {
      throw new Error(`GANLoss: with loss 'softmax' the discriminator must output [N, 2] logits, got [${out.shape.join(', ')}]`);
    }
    return F.crossEntropy(out, this.labels(out, real));
  }

  /** Mean probability D assigns to "real" (for 'lsgan', D's mean raw score: 1 = real, 0 = fake). */
  private score(out: Tensor): Tensor {
    return noGrad(() => (this.loss !== 'softmax' ? out.mean() : F.softmax(out, 1).narrow(1, 1, 1).mean()));
  }

  /** One discriminator step on fake.detach() (labelled fake) and real (labelled real). */
  updateD(fake: Tensor, real: Tensor): DStep {
    if (fake.shape[0] !== real.shape[0]) {
      throw new Error(`GANLoss: fake batch has ${fake.shape[0]} samples but real batch has ${real.shape[0]}`);
    }
    const D = this.discriminator;
    this.optimizerD.zeroGrad();
    const yFake = D.forward(fake.detach());
    const yReal = D.forward(real);
    let loss = this.criterion(yFake, false).add(this.criterion(yReal, true));
    if (this.dReduction === 'mean') loss = loss.mul(0.5);
    loss.backward();
    this.optimizerD.step();
    this.last = { dLoss: loss.detach(), realScore: this.score(yReal), fakeScore: this.score(yFake) };
    return this.last;
  }

  /** Updates D, then returns the generator's loss on `fake` (backpropagate it and step G's optimizer). */
  forward(fake: Tensor, real: Tensor): Tensor {
    this.updateD(fake, real);
    return this.generatorLoss(fake);
  }

  /**
   * The generator's loss on `fake` alone, without a D step (for systems that update G first, as CycleGAN).
   * Its backward also leaves gradients in D's parameters; updateD clears them first (zeroGrad), so they never
   * reach D's step.
   */
  generatorLoss(fake: Tensor): Tensor {
    const y = this.discriminator.forward(fake);
    return this.objective === 'nonSaturating' ? this.criterion(y, true) : this.criterion(y, false).neg();
  }

  dispose(): void {
    for (const t of this.labelCache.values()) t.dispose();
    this.labelCache.clear();
  }
}
