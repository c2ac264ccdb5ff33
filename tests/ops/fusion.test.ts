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
