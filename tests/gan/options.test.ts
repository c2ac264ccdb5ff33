// Options of the GAN builders are checked as strictly as the rest of the API: a PyTorch spelling is refused
// with the camelCase name, never silently replaced by the default.
import { beforeAll, describe, expect, it } from 'vitest';
import { GANLoss, resnetGenerator, nLayerDiscriminator } from '../../src/gan/index.js';
import { nn, optim } from '../../src/index.js';
import { setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

describe('GAN builder options', () => {
  it('resnetGenerator refuses n_blocks (the reference spelling) instead of building 9 blocks', () => {
    expect(() => resnetGenerator({ inputNc: 1, outputNc: 1, ngf: 4, n_blocks: 2 } as never))
      .toThrow(/resnetGenerator: unknown option 'n_blocks' \(did you mean 'nBlocks'\?\)/);
    const g = resnetGenerator({ inputNc: 1, outputNc: 1, ngf: 4, nBlocks: 2 });
    expect(g.opts.nBlocks).toBe(2);
  });

  it('nLayerDiscriminator refuses n_layers', () => {
    expect(() => nLayerDiscriminator({ inputNc: 1, ndf: 4, n_layers: 2 } as never))
      .toThrow(/nLayerDiscriminator: unknown option 'n_layers' \(did you mean 'nLayers'\?\)/);
  });

  it("GANLoss refuses use_lsgan and says loss: 'lsgan'", () => {
    const D = new nn.Sequential(new nn.Linear(2, 1));
    const opt = new optim.Adam(D.parameters());
    expect(() => new GANLoss(D, opt, { use_lsgan: true } as never)).toThrow(/GANLoss: unknown option 'use_lsgan' \(.*loss: 'lsgan'/);
    expect(new GANLoss(D, opt, { loss: 'lsgan' }).loss).toBe('lsgan');
    opt.dispose();
  });
});
