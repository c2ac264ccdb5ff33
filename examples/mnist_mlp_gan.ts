// The MNIST MLP-GAN blog post's training loop (including its `retain_graph=True` pattern), ported line by
// line from PyTorch to Kiln; the PyTorch line is the comment beside each Kiln line.
// Run: npm run example:mnist-mlp
import { pathToFileURL } from 'node:url';
import * as kiln from '../src/node.js';
import { nn, optim, data, F, MNIST, type Tensor } from '../src/node.js';

const { transforms } = data;

export interface MlpGanOptions {
  steps?: number; batchSize?: number; seed?: number; log?: (line: string) => void;
  /** Called with the models before training (tests snapshot the initial weights). */
  onStart?: (gen: nn.Module, disc: nn.Module) => Promise<void>;
}

// class Discriminator(nn.Module):
class Discriminator extends nn.Module {
  discriminator: nn.Sequential;
  constructor(inFeatures: number) { // def __init__(self, in_features):
    super(); // super().__init__()
    this.discriminator = new nn.Sequential( // self.discriminator = nn.Sequential(
      new nn.Linear(inFeatures, 1024), // nn.Linear(in_features,1024),
      new nn.LeakyReLU(0.01), // nn.LeakyReLU(0.01),
      new nn.Linear(1024, 512), // nn.Linear(1024,512),
      new nn.LeakyReLU(0.01), // nn.LeakyReLU(0.01),
      new nn.Linear(512, 256), // nn.Linear(512,256),
      new nn.LeakyReLU(0.01), // nn.LeakyReLU(0.01),
      new nn.Linear(256, 1), // nn.Linear(256,1),
      new nn.Sigmoid(), // nn.Sigmoid() # normalize output to [0,1]
    );
  }
  forward(x: Tensor) { return this.discriminator.forward(x); } // return self.discriminator(x)
}

// class Generator(nn.Module):
class Generator extends nn.Module {
  generator: nn.Sequential;
  constructor(inFeatures: number, outFeatures: number) { // def __init__(self, in_features, out_features):
    super(); // super().__init__()
    this.generator = new nn.Sequential( // self.generator = nn.Sequential(
      new nn.Linear(inFeatures, 256), // nn.Linear(in_features,256),
      new nn.LeakyReLU(0.01), // nn.LeakyReLU(0.01),
      new nn.Linear(256, 512), // nn.Linear(256,512),
      new nn.LeakyReLU(0.01), // nn.LeakyReLU(0.01),
      new nn.Linear(512, 1024), // nn.Linear(512,1024),
      new nn.LeakyReLU(0.01), // nn.LeakyReLU(0.01),
      new nn.Linear(1024, outFeatures), // nn.Linear(1024,out_features),
      new nn.Tanh(), // nn.Tanh() # normalize output to [-1,1]
    );
  }
  forward(x: Tensor) { return this.generator.forward(x); } // return self.generator(x)
}

export async function main(o: MlpGanOptions = {}) {
  await kiln.init();
  kiln.manualSeed(o.seed ?? 0); // torch.manual_seed(0)
  const log = o.log ?? console.log;
  const lr = 3e-4; // lr = 3e-4
  const zDim = 64; // z_dim = 64
  const imageDim = 28 * 28 * 1; // image_dim = 28 * 28 * 1
  const batchSize = o.batchSize ?? 32; // batch_size = 32

  const disc = new Discriminator(imageDim); // disc = Discriminator(image_dim).to(device)
  const gen = new Generator(zDim, imageDim); // gen = Generator(z_dim, image_dim).to(device)
  const fixedNoise = kiln.randn([batchSize, zDim]); // fixed_noise = torch.randn((batch_size, z_dim)).to(device)
  // transforms = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
  const tf = transforms.Normalize([0.5], [0.5]); // (Kiln's MNIST already gives [1, 28, 28] floats in [0, 1])
  const dataset = new MNIST(tf); // dataset = datasets.MNIST(root="dataset/", transform=transforms, download=True)
  const loader = new data.DataLoader(dataset, { batchSize, shuffle: true, seed: o.seed ?? 0 }); // loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
  const optDisc = new optim.Adam(disc.parameters(), lr); // opt_disc = optim.Adam(disc.parameters(), lr=lr)
  const optGen = new optim.Adam(gen.parameters(), lr); // opt_gen = optim.Adam(gen.parameters(), lr=lr)
  const logged: Promise<[number, number]>[] = [];
  await o.onStart?.(gen, disc);

  let step = 0;
  for await (const [batch] of loader) { // for batch_idx, (real, _) in enumerate(loader):
    // tidy() frees the step's intermediate tensors at once (PyTorch frees them by reference counting).
    const [lossD, lossG] = kiln.tidy(() => {
      const real = batch.view(-1, 784); // real = real.view(-1, 784).to(device)
      const bs = real.size(0); // batch_size = real.shape[0]

      // ### Train Discriminator: max log(D(x)) + log(1 - D(G(z)))
      const noise = kiln.randn([bs, zDim]); // noise = torch.randn(batch_size, z_dim).to(device)
      const fake = gen.forward(noise); // fake = gen(noise)
      const discReal = disc.forward(real).view(-1); // disc_real = disc(real).view(-1)
      const lossDReal = F.binaryCrossEntropy(discReal, kiln.onesLike(discReal)); // lossD_real = F.binary_cross_entropy(disc_real, torch.ones_like(disc_real))
      const discFake = disc.forward(fake).view(-1); // disc_fake = disc(fake).view(-1)
      const lossDFake = F.binaryCrossEntropy(discFake, kiln.zerosLike(discFake)); // lossD_fake = F.binary_cross_entropy(disc_fake, torch.zeros_like(disc_fake))
      const lossD = lossDReal.add(lossDFake).div(2); // lossD = (lossD_real + lossD_fake) / 2
      disc.zeroGrad(); // disc.zero_grad()
      lossD.backward({ retainGraph: true }); // lossD.backward(retain_graph=True)
      optDisc.step(); // opt_disc.step()

      // ### Train Generator: min log(1 - D(G(z))) <-> max log(D(G(z))
      const output = disc.forward(fake).view(-1); // output = disc(fake).view(-1)
      const lossG = F.binaryCrossEntropy(output, kiln.onesLike(output)); // lossG = F.binary_cross_entropy(output, torch.ones_like(output))
      gen.zeroGrad(); // gen.zero_grad()
      lossG.backward(); // lossG.backward()
      optGen.step(); // opt_gen.step()
      return [lossD.detach(), lossG.detach()];
    });
    batch.dispose();

    // Logging without stalling: `lossD.item()` would wait for the GPU every step; these reads ride along with
    // the next submission instead.
    const s = step;
    logged.push(Promise.all([lossD.toArray({ flush: false }), lossG.toArray({ flush: false })]).then(([d, g]) => {
      lossD.dispose(); lossG.dispose();
      if (s % 100 === 0) log(`step ${s} Loss D: ${d[0].toFixed(4)}, loss G: ${g[0].toFixed(4)}`); // print(f"... Loss D: {lossD:.4f}, loss G: {lossG:.4f}")
      return [d[0], g[0]];
    }));
    if (++step >= (o.steps ?? 1000)) break;
  }
  kiln.flush();
  const losses = (await Promise.all(logged)).map(([lossD, lossG]) => ({ lossD, lossG }));
  const samples = kiln.noGrad(() => gen.forward(fixedNoise).view(-1, 1, 28, 28)); // fake = gen(fixed_noise).reshape(-1, 1, 28, 28)
  return { losses, gen, disc, samples };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(async (r) => {
    await kiln.io.saveImage(r.samples, 'mnist_mlp_gan_samples.png', { normalize: true }); // torchvision.utils.save_image(fake, ..., normalize=True)
    process.exit(0);
  }, (e) => { console.error(e); process.exit(1); });
}
