// In-place parameter initialisers (torch.nn.init), drawing from Kiln's seeded GPU generator.
import { noGrad } from '../autograd/context.js';
import type { Tensor } from '../autograd/tensor.js';
import * as I from '../ops/inplace.js';
import type { Module } from './module.js';
import { BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d } from './layers.js';

// torch.nn.init writes under no_grad, so parameters can be initialised without wrapping the call.
export const normal_ = (t: Tensor, mean = 0, std = 1) => noGrad(() => I.normal_(t, mean, std));
export const uniform_ = (t: Tensor, low = 0, high = 1) => noGrad(() => I.uniform_(t, low, high));
export const constant_ = (t: Tensor, value: number) => noGrad(() => I.fill_(t, value));
export const zeros_ = (t: Tensor) => constant_(t, 0);
export const ones_ = (t: Tensor) => constant_(t, 1);

/** Every parameter ~ normal(mean, std) (the d2l GAN recipe: normal(0, 0.02) on all parameters). */
export function normalAll(m: Module, mean = 0, std = 0.02): void {
  for (const p of m.parameters()) normal_(p, mean, std);
}

/**
 * DCGAN's weights_init: conv and transposed-conv weights ~ normal(0, 0.02); batch-norm weights
 * ~ normal(1, 0.02) and biases 0 (Radford et al.; the PyTorch DCGAN tutorial).
 */
export function dcgan(m: Module): void {
  for (const [, mod] of m.namedModules()) {
    if (mod instanceof Conv2d || mod instanceof ConvTranspose2d) {
      normal_(mod.weight, 0, 0.02);
    } else if (mod instanceof BatchNorm1d || mod instanceof BatchNorm2d) {
      if (mod.weight) normal_(mod.weight, 1, 0.02);
      if (mod.bias) zeros_(mod.bias);
    }
  }
}
