// CycleGAN's networks as the reference code defines them (junyanz/pytorch-CycleGAN-and-pix2pix,
// models/networks.py): the ResNet generator and the PatchGAN discriminator, with instance norm (no affine
// parameters, no running statistics, so the convolutions before it keep their bias), and the same module
// tree, so stateDict() keys equal the reference's ("model.1.weight", "model.10.conv_block.1.weight") and its
// weights load unchanged. Weights start as the reference's init_weights('normal', 0.02).
import { nn, noGrad, type Tensor } from '../index.js';
import { checkOptionKeys } from '../signature.js';

/** Conv and Linear weights ~ N(0, 0.02), biases 0 (the reference's init_weights with init_type 'normal'). */
export function initNormal(m: nn.Module, gain = 0.02): nn.Module {
  noGrad(() => {
    for (const [, mod] of m.namedModules()) {
      if (mod instanceof nn.Conv2d || mod instanceof nn.ConvTranspose2d || mod instanceof nn.Linear) {
        nn.init.normal_(mod.weight, 0, gain);
        if (mod.bias) nn.init.zeros_(mod.bias);
      }
    }
  });
  return m;
}

/** ReflectionPad(1), Conv 3x3, InstanceNorm, ReLU, ReflectionPad(1), Conv 3x3, InstanceNorm; plus the input. */
export class ResnetBlock extends nn.Module {
  readonly convBlock: nn.Sequential;
  constructor(dim: number) {
    super();
    const block = new nn.Sequential(
      new nn.ReflectionPad2d(1), new nn.Conv2d(dim, dim, 3), new nn.InstanceNorm2d(dim), new nn.ReLU(),
      new nn.ReflectionPad2d(1), new nn.Conv2d(dim, dim, 3), new nn.InstanceNorm2d(dim));
    // Registered under the reference's snake_case name first; the camelCase field then refers to the same
    // module, which a module registers only once.
    this.registerModule('conv_block', block);
    this.convBlock = block;
  }
  forward(x: Tensor): Tensor { return x.add(this.convBlock.forward(x)); }
}

export interface ResnetGeneratorOptions { inputNc: number; outputNc: number; ngf?: number; nBlocks?: number }

/** The reference's ResnetGenerator: its whole network is one Sequential in the field `model` (registered by assignment). */
export class ResnetGenerator extends nn.Module {
  readonly model: nn.Sequential;
  constructor(readonly opts: Required<ResnetGeneratorOptions>) {
    super();
    const { inputNc, outputNc, ngf, nBlocks } = opts;
    const layers: nn.Module[] = [new nn.ReflectionPad2d(3), new nn.Conv2d(inputNc, ngf, 7), new nn.InstanceNorm2d(ngf), new nn.ReLU()];
    for (let i = 0; i < 2; i++) {
      const m = 2 ** i;
      layers.push(new nn.Conv2d(ngf * m, ngf * m * 2, 3, { stride: 2, padding: 1 }), new nn.InstanceNorm2d(ngf * m * 2), new nn.ReLU());
    }
    for (let i = 0; i < nBlocks; i++) layers.push(new ResnetBlock(ngf * 4));
    for (let i = 0; i < 2; i++) {
      const m = 2 ** (2 - i);
      layers.push(new nn.ConvTranspose2d(ngf * m, (ngf * m) / 2, 3, { stride: 2, padding: 1, outputPadding: 1 }),
        new nn.InstanceNorm2d((ngf * m) / 2), new nn.ReLU());
    }
    layers.push(new nn.ReflectionPad2d(3), new nn.Conv2d(ngf, outputNc, 7), new nn.Tanh());
    this.model = new nn.Sequential(...layers);
  }
  forward(x: Tensor): Tensor { return this.model.forward(x); }
}

function posInt(what: string, name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${what}: ${name} must be an integer >= ${min}, got ${String(v)}`);
}

/**
 * resnet_9blocks (nBlocks 9, the reference's default for 256x256) or resnet_6blocks. Image sides must be
 * multiples of 4 (two stride-2 convs down, two transposed convs up).
 */
export function resnetGenerator(o: ResnetGeneratorOptions): ResnetGenerator {
  checkOptionKeys('resnetGenerator', o ?? {}, ['inputNc', 'outputNc', 'ngf', 'nBlocks']);
  const r = { inputNc: o.inputNc, outputNc: o.outputNc, ngf: o.ngf ?? 64, nBlocks: o.nBlocks ?? 9 };
  posInt('resnetGenerator', 'inputNc', r.inputNc);
  posInt('resnetGenerator', 'outputNc', r.outputNc);
  posInt('resnetGenerator', 'ngf', r.ngf);
  posInt('resnetGenerator', 'nBlocks', r.nBlocks, 0);
  const g = new ResnetGenerator(r);
  initNormal(g);
  return g;
}

export interface NLayerDiscriminatorOptions { inputNc: number; ndf?: number; nLayers?: number }

/** The reference's NLayerDiscriminator: one Sequential named `model`, ending in a 1-channel map of patch scores. */
export class NLayerDiscriminator extends nn.Module {
  readonly model: nn.Sequential;
  constructor(readonly opts: Required<NLayerDiscriminatorOptions>) {
    super();
    const { inputNc, ndf, nLayers } = opts;
    const layers: nn.Module[] = [new nn.Conv2d(inputNc, ndf, 4, { stride: 2, padding: 1 }), new nn.LeakyReLU(0.2)];
    let mult = 1;
    for (let n = 1; n < nLayers; n++) {
      const prev = mult;
      mult = Math.min(2 ** n, 8);
      layers.push(new nn.Conv2d(ndf * prev, ndf * mult, 4, { stride: 2, padding: 1 }), new nn.InstanceNorm2d(ndf * mult), new nn.LeakyReLU(0.2));
    }
    const prev = mult;
    mult = Math.min(2 ** nLayers, 8);
    layers.push(new nn.Conv2d(ndf * prev, ndf * mult, 4, { stride: 1, padding: 1 }), new nn.InstanceNorm2d(ndf * mult), new nn.LeakyReLU(0.2));
    layers.push(new nn.Conv2d(ndf * mult, 1, 4, { stride: 1, padding: 1 }));
    this.model = new nn.Sequential(...layers);
  }
  forward(x: Tensor): Tensor { return this.model.forward(x); }
}

/** The 70x70 PatchGAN at nLayers 3 (the reference's 'basic' D): a 30x30 score map at 256x256, 2x2 at 32x32. */
export function nLayerDiscriminator(o: NLayerDiscriminatorOptions): NLayerDiscriminator {
  checkOptionKeys('nLayerDiscriminator', o ?? {}, ['inputNc', 'ndf', 'nLayers']);
  const r = { inputNc: o.inputNc, ndf: o.ndf ?? 64, nLayers: o.nLayers ?? 3 };
  posInt('nLayerDiscriminator', 'inputNc', r.inputNc);
  posInt('nLayerDiscriminator', 'ndf', r.ndf);
  posInt('nLayerDiscriminator', 'nLayers', r.nLayers);
  const d = new NLayerDiscriminator(r);
  initNormal(d);
  return d;
}

/** The 2-D toy's generator: an MLP with two hidden layers (PyTorch's default init). */
export function toyGenerator(hidden = 64): nn.Sequential {
  return new nn.Sequential(new nn.Linear(2, hidden), new nn.ReLU(), new nn.Linear(hidden, hidden), new nn.ReLU(), new nn.Linear(hidden, 2));
}

/** The 2-D toy's discriminator: one raw score per point (LSGAN). */
export function toyDiscriminator(hidden = 64): nn.Sequential {
  return new nn.Sequential(new nn.Linear(2, hidden), new nn.LeakyReLU(0.2), new nn.Linear(hidden, hidden), new nn.LeakyReLU(0.2), new nn.Linear(hidden, 1));
}
