// DCGAN (seed 004): G = ConvTranspose2d + BatchNorm2d + ReLU blocks from a latent x 1 x 1 input, Tanh out;
// D = Conv2d + BatchNorm2d + LeakyReLU(0.2) blocks, a 4x4 valid conv to one logit, Sigmoid. Every conv is
// k4 without bias; s1 p0 at the 1x1 <-> 4x4 ends, s2 p1 between. Adam lr 2e-4, betas (0.5, 0.999);
// weights normal(0, 0.02). `width` is the lecture's 64 (G's last hidden block and D's first).
import { manualSeed, nn, optim } from '../index.js';
import { ImageDataset, mapSamples } from '../data/images.js';
import { Normalize, Pad } from '../data/transforms.js';
import { GANLoss, type GObjective } from './gan_loss.js';
import type { GanSetup } from './trainer.js';
import { checkChoice, checkInt, checkOnly, type GanRecipe, GAN_CHECKPOINT, GAN_COMMON } from './recipe.js';
import { mnistGanQuality } from './samples.js';

export interface DcganArch {
  /** Image side: 32 or 64. */
  size?: 32 | 64;
  channels?: 1 | 3;
  latent?: number;
  width?: number;
}

export interface DcganOptions extends DcganArch {
  /** Training images, [n, channels, size, size] in [0, 1]. */
  images: Float32Array;
  seed?: number;
  batch?: number;
  lr?: number;
  ema?: number;
  objective?: GObjective;
}

export const DCGAN_DEFAULTS = { size: 32 as const, channels: 1 as const, latent: 100, width: 64, batch: 64, lr: 2e-4, steps: 1000 };

function arch(a: DcganArch): Required<DcganArch> {
  const r = { size: a.size ?? DCGAN_DEFAULTS.size, channels: a.channels ?? DCGAN_DEFAULTS.channels,
    latent: a.latent ?? DCGAN_DEFAULTS.latent, width: a.width ?? DCGAN_DEFAULTS.width };
  if (r.size !== 32 && r.size !== 64) throw new Error(`dcgan: image size must be 32 or 64, got ${String(r.size)}`);
  if (r.channels !== 1 && r.channels !== 3) throw new Error(`dcgan: channels must be 1 or 3, got ${String(r.channels)}`);
  if (!Number.isInteger(r.latent) || r.latent < 1) throw new Error(`dcgan: latent size must be a positive integer, got ${r.latent}`);
  if (!Number.isInteger(r.width) || r.width < 1) throw new Error(`dcgan: width must be a positive integer, got ${r.width}`);
  return r;
}

/** Hidden widths from the 4x4 end outwards: [8w, 4w, 2w, w] at 64x64, [4w, 2w, w] at 32x32. */
function widths(size: 32 | 64, w: number): number[] {
  return size === 64 ? [8 * w, 4 * w, 2 * w, w] : [4 * w, 2 * w, w];
}

export function dcganGenerator(a: DcganArch = {}): nn.Sequential {
  const { size, channels, latent, width } = arch(a);
  const ws = widths(size, width);
  const layers: nn.Module[] = [];
  ws.forEach((c, i) => {
    layers.push(i === 0
      ? new nn.ConvTranspose2d(latent, c, 4, { stride: 1, padding: 0, bias: false })
      : new nn.ConvTranspose2d(ws[i - 1], c, 4, { stride: 2, padding: 1, bias: false }));
    layers.push(new nn.BatchNorm2d(c), new nn.ReLU());
  });
  layers.push(new nn.ConvTranspose2d(ws[ws.length - 1], channels, 4, { stride: 2, padding: 1, bias: false }), new nn.Tanh());
  const g = new nn.Sequential(...layers);
  nn.init.dcgan(g);
  return g;
}

export function dcganDiscriminator(a: DcganArch = {}): nn.Sequential {
  const { size, channels, width } = arch(a);
  const ws = [...widths(size, width)].reverse();
  const layers: nn.Module[] = [];
  ws.forEach((c, i) => {
    layers.push(new nn.Conv2d(i === 0 ? channels : ws[i - 1], c, 4, { stride: 2, padding: 1, bias: false }),
      new nn.BatchNorm2d(c), new nn.LeakyReLU(0.2));
  });
  layers.push(new nn.Conv2d(ws[ws.length - 1], 1, 4, { stride: 1, padding: 0, bias: false }), new nn.Flatten(), new nn.Sigmoid());
  const d = new nn.Sequential(...layers);
  nn.init.dcgan(d);
  return d;
}

export function dcganSetup(o: DcganOptions): GanSetup {
  const a = arch(o);
  const seed = o.seed ?? 0;
  manualSeed(seed);
  const data = ImageDataset.from(o.images, [a.channels, a.size, a.size], Normalize([0.5], [0.5]), seed);
  const makeG = () => dcganGenerator(a);
  const G = makeG();
  const D = dcganDiscriminator(a);
  const lr = o.lr ?? DCGAN_DEFAULTS.lr;
  const betas: [number, number] = [0.5, 0.999];
  const optG = new optim.Adam(G.parameters(), { lr, betas });
  const optD = new optim.Adam(D.parameters(), { lr, betas });
  // The lecture's D loss is real_loss + fake_loss.
  const loss = new GANLoss(D, optD, { loss: 'bce', objective: o.objective, dReduction: 'sum' });
  return { G, D, makeG, optG, optD, loss, latent: [a.latent, 1, 1], batch: o.batch ?? DCGAN_DEFAULTS.batch, data, ema: o.ema };
}

/** DCGAN (recipe table entry): MNIST padded to 32x32 by default, or a folder of images. */
export const dcganRecipe: GanRecipe = {
  name: 'dcgan',
  trainer: 'gan',
  checkpoint: GAN_CHECKPOINT,
  summary: 'DCGAN (seed 004) on MNIST padded to 32x32, or on a folder of images (--data DIR)',
  options: [
    { name: 'size', key: 'size', kind: 'choice', choices: [32, 64], value: 'S', help: 'image side, 32 or 64 (default 32 on MNIST, 64 on a folder)' },
    { name: 'channels', key: 'channels', kind: 'choice', choices: [1, 3], value: 'C', help: '1 or 3 (default 1 on MNIST, 3 on a folder)' },
    { name: 'width', key: 'width', kind: 'int', min: 1, value: 'N', help: `the lecture's 64: G's last hidden and D's first width (default ${DCGAN_DEFAULTS.width})` },
    { name: 'latent', key: 'latent', kind: 'int', min: 1, value: 'N', help: `latent size (default ${DCGAN_DEFAULTS.latent})` },
    { name: 'data', key: 'data', kind: 'string', value: 'DIR', help: 'a folder of PNG/JPEG images, centre-cropped and resized (default: MNIST)' },
    ...GAN_COMMON,
  ],
  check(c) {
    checkOnly(c, ['size', 'channels', 'width', 'latent', 'data', 'ema', 'objective']);
    checkChoice(c, 'size', [32, 64]);
    checkChoice(c, 'channels', [1, 3]);
    checkInt(c, 'width', 1);
    checkInt(c, 'latent', 1);
  },
  complete(c) {
    if (c.data && c.data !== 'mnist' && c.data !== 'none') return { ...c, size: c.size ?? 64, channels: c.channels ?? 3 };
    return c;
  },
  quality: mnistGanQuality({ latent: (c) => dcganRecipe.latentShape(c), sample: (c) => dcganRecipe.sampleShape(c) }),
  defaultSteps: () => DCGAN_DEFAULTS.steps,
  sampleShape(c) {
    const s = c.size ?? DCGAN_DEFAULTS.size;
    return [c.channels ?? DCGAN_DEFAULTS.channels, s, s];
  },
  latentShape: (c) => [c.latent ?? DCGAN_DEFAULTS.latent, 1, 1],
  data(c) {
    if (!c.data || c.data === 'mnist') {
      if ((c.channels ?? 1) !== 1) throw new Error('dcgan: MNIST has one channel; use --channels 1 or --data DIR with colour images');
      return { kind: 'mnist' };
    }
    return { kind: 'folder', dir: c.data, size: c.size ?? 64, channels: c.channels ?? 3 };
  },
  generator: (c) => dcganGenerator({ ...c, size: c.size as 32 | 64 | undefined }),
  build(c, images) {
    if (!images) throw new Error('dcgan: needs training images');
    const [ch, side] = dcganRecipe.sampleShape(c);
    let px = images.images;
    if (images.side !== side) {
      if (images.channels === 1 && images.side < side) {
        const l = (side - images.side) >> 1;
        px = mapSamples(px, [1, images.side, images.side], Pad([l, l, side - images.side - l, side - images.side - l])).data;
      }
      else throw new Error(`dcgan: images are ${images.side}x${images.side} but the model is ${side}x${side}`);
    }
    if (images.channels !== ch) throw new Error(`dcgan: images have ${images.channels} channel(s) but the model has ${ch}`);
    const s = dcganSetup({ seed: c.seed, batch: c.batch, lr: c.lr, ema: c.ema || undefined, objective: c.objective, images: px,
      size: c.size as 32 | 64 | undefined, channels: c.channels, latent: c.latent, width: c.width });
    return { ...s, config: c, steps: DCGAN_DEFAULTS.steps };
  },
};
