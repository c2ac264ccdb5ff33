// pytorch/examples' dcgan/main.py ported line by line to Kiln: the Generator and Discriminator classes with
// `self.main = nn.Sequential(...)`, weights_init through apply(), the D-then-G training loop and save_image.
// The PyTorch line is the comment beside each Kiln line. Run: npm run example:dcgan -- --niter 1
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as kiln from '../src/node.js';
import { nn, optim, data, ImageFolder, MNIST, type Tensor } from '../src/node.js';

const { transforms } = data;

export interface DcganOptions {
  dataset?: 'mnist' | 'folder'; dataroot?: string; batchSize?: number; imageSize?: number; nz?: number; ngf?: number;
  ndf?: number; niter?: number; lr?: number; beta1?: number; outf?: string; manualSeed?: number;
  /** Stop after this many iterations in total (for a quick check). */
  maxSteps?: number; log?: (line: string) => void;
  /** Called with the models before training (tests snapshot the initial weights). */
  onStart?: (netG: nn.Module, netD: nn.Module) => Promise<void>;
}

export async function main(opt: DcganOptions = {}) {
  await kiln.init();
  const log = opt.log ?? console.log;
  const o = { dataset: 'mnist', dataroot: '', batchSize: 64, imageSize: 64, nz: 100, ngf: 64, ndf: 64, niter: 25,
    lr: 0.0002, beta1: 0.5, outf: '.', manualSeed: 999, maxSteps: Infinity, ...opt };
  mkdirSync(o.outf, { recursive: true }); // os.makedirs(opt.outf)
  log(`Random Seed: ${o.manualSeed}`); // print("Random Seed: ", opt.manualSeed)
  kiln.manualSeed(o.manualSeed); // torch.manual_seed(opt.manualSeed)

  let dataset: data.MapDataset<data.HostArray[]>;
  let nc: number;
  if (o.dataset === 'folder') { // if opt.dataset in ['imagenet', 'folder', 'lfw']:
    dataset = new ImageFolder(o.dataroot, transforms.Compose([ // dataset = dset.ImageFolder(root=opt.dataroot, transform=transforms.Compose([
      transforms.ToTensor(), // transforms.ToTensor(),  (Kiln's transforms act on tensors, so ToTensor comes first)
      transforms.Resize(o.imageSize), // transforms.Resize(opt.imageSize),
      transforms.CenterCrop(o.imageSize), // transforms.CenterCrop(opt.imageSize),
      transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]), // transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ]));
    nc = 3; // nc=3
  } else { // elif opt.dataset == 'mnist':
    dataset = new MNIST(transforms.Compose([ // dataset = dset.MNIST(root=opt.dataroot, download=True, transform=transforms.Compose([
      transforms.Resize(o.imageSize), // transforms.Resize(opt.imageSize),
      transforms.Normalize([0.5], [0.5]), // transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,)),
    ]));
    nc = 1; // nc=1
  }
  // dataloader = torch.utils.data.DataLoader(dataset, batch_size=opt.batchSize, shuffle=True, num_workers=int(opt.workers))
  const dataloader = new data.DataLoader(dataset, { batchSize: o.batchSize, shuffle: true, seed: o.manualSeed });

  const { nz, ngf, ndf } = o; // nz = int(opt.nz); ngf = int(opt.ngf); ndf = int(opt.ndf)

  // custom weights initialization called on netG and netD
  function weightsInit(m: nn.Module) { // def weights_init(m):
    const classname = m.constructor.name; // classname = m.__class__.__name__
    if (classname.includes('Conv')) { // if classname.find('Conv') != -1:
      nn.init.normal_((m as nn.Conv2d).weight, 0.0, 0.02); // torch.nn.init.normal_(m.weight, 0.0, 0.02)
    } else if (classname.includes('BatchNorm')) { // elif classname.find('BatchNorm') != -1:
      const bn = m as nn.BatchNorm2d;
      nn.init.normal_(bn.weight!, 1.0, 0.02); // torch.nn.init.normal_(m.weight, 1.0, 0.02)
      nn.init.zeros_(bn.bias!); // torch.nn.init.zeros_(m.bias)
    }
  }

  class Generator extends nn.Module { // class Generator(nn.Module):
    main: nn.Sequential;
    constructor() { // def __init__(self, ngpu):
      super(); // super(Generator, self).__init__()
      this.main = new nn.Sequential( // self.main = nn.Sequential(
        // input is Z, going into a convolution
        new nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, { bias: false }), // nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        new nn.BatchNorm2d(ngf * 8), // nn.BatchNorm2d(ngf * 8),
        new nn.ReLU(true), // nn.ReLU(True),
        // state size. (ngf*8) x 4 x 4
        new nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, { bias: false }), // nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        new nn.BatchNorm2d(ngf * 4), // nn.BatchNorm2d(ngf * 4),
        new nn.ReLU(true), // nn.ReLU(True),
        // state size. (ngf*4) x 8 x 8
        new nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, { bias: false }), // nn.ConvTranspose2d( ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        new nn.BatchNorm2d(ngf * 2), // nn.BatchNorm2d(ngf * 2),
        new nn.ReLU(true), // nn.ReLU(True),
        // state size. (ngf*2) x 16 x 16
        new nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, { bias: false }), // nn.ConvTranspose2d( ngf * 2, ngf, 4, 2, 1, bias=False),
        new nn.BatchNorm2d(ngf), // nn.BatchNorm2d(ngf),
        new nn.ReLU(true), // nn.ReLU(True),
        // state size. (ngf) x 32 x 32
        new nn.ConvTranspose2d(ngf, nc, 4, 2, 1, { bias: false }), // nn.ConvTranspose2d( ngf, nc, 4, 2, 1, bias=False),
        new nn.Tanh(), // nn.Tanh()
        // state size. (nc) x 64 x 64
      );
    }
    forward(input: Tensor) { return this.main.forward(input); } // def forward(self, input): output = self.main(input); return output
  }

  const netG = new Generator(); // netG = Generator(ngpu).to(device)
  netG.apply(weightsInit); // netG.apply(weights_init)
  log(String(netG)); // print(netG)

  class Discriminator extends nn.Module { // class Discriminator(nn.Module):
    main: nn.Sequential;
    constructor() { // def __init__(self, ngpu):
      super(); // super(Discriminator, self).__init__()
      this.main = new nn.Sequential( // self.main = nn.Sequential(
        // input is (nc) x 64 x 64
        new nn.Conv2d(nc, ndf, 4, 2, 1, { bias: false }), // nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        new nn.LeakyReLU(0.2, true), // nn.LeakyReLU(0.2, inplace=True),
        // state size. (ndf) x 32 x 32
        new nn.Conv2d(ndf, ndf * 2, 4, 2, 1, { bias: false }), // nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        new nn.BatchNorm2d(ndf * 2), // nn.BatchNorm2d(ndf * 2),
        new nn.LeakyReLU(0.2, true), // nn.LeakyReLU(0.2, inplace=True),
        // state size. (ndf*2) x 16 x 16
        new nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, { bias: false }), // nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        new nn.BatchNorm2d(ndf * 4), // nn.BatchNorm2d(ndf * 4),
        new nn.LeakyReLU(0.2, true), // nn.LeakyReLU(0.2, inplace=True),
        // state size. (ndf*4) x 8 x 8
        new nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, { bias: false }), // nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        new nn.BatchNorm2d(ndf * 8), // nn.BatchNorm2d(ndf * 8),
        new nn.LeakyReLU(0.2, true), // nn.LeakyReLU(0.2, inplace=True),
        // state size. (ndf*8) x 4 x 4
        new nn.Conv2d(ndf * 8, 1, 4, 1, 0, { bias: false }), // nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        new nn.Sigmoid(), // nn.Sigmoid()
      );
    }
    forward(input: Tensor) {
      const output = this.main.forward(input); // output = self.main(input)
      return output.view(-1, 1).squeeze(1); // return output.view(-1, 1).squeeze(1)
    }
  }

  const netD = new Discriminator(); // netD = Discriminator(ngpu).to(device)
  netD.apply(weightsInit); // netD.apply(weights_init)
  log(String(netD)); // print(netD)

  const criterion = new nn.BCELoss(); // criterion = nn.BCELoss()

  const fixedNoise = kiln.randn([o.batchSize, nz, 1, 1]); // fixed_noise = torch.randn(opt.batchSize, nz, 1, 1, device=device)
  const realLabel = 1; // real_label = 1
  const fakeLabel = 0; // fake_label = 0

  // setup optimizer
  const optimizerD = new optim.Adam(netD.parameters(), { lr: o.lr, betas: [o.beta1, 0.999] }); // optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
  const optimizerG = new optim.Adam(netG.parameters(), { lr: o.lr, betas: [o.beta1, 0.999] }); // optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))

  await opt.onStart?.(netG, netD);
  const history: { errD: number; errG: number; dX: number; dGz1: number; dGz2: number }[] = [];
  let steps = 0;
  for (let epoch = 0; epoch < o.niter && steps < o.maxSteps; epoch++) { // for epoch in range(opt.niter):
    let i = 0;
    for await (const batch of dataloader) { // for i, data in enumerate(dataloader, 0):
      const realCpu = batch[0]; // real_cpu = data[0].to(device)
      const r = kiln.tidy(() => {
        // (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        // train with real
        netD.zeroGrad(); // netD.zero_grad()
        const batchSize = realCpu.size(0); // batch_size = real_cpu.size(0)
        const label = kiln.full([batchSize], realLabel); // label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
        let output = netD.forward(realCpu); // output = netD(real_cpu)
        const errDReal = criterion.forward(output, label); // errD_real = criterion(output, label)
        errDReal.backward(); // errD_real.backward()
        const dX = output.mean(); // D_x = output.mean().item()  (read below, without a stall per value)

        // train with fake
        const noise = kiln.randn([batchSize, nz, 1, 1]); // noise = torch.randn(batch_size, nz, 1, 1, device=device)
        const fake = netG.forward(noise); // fake = netG(noise)
        label.fill_(fakeLabel); // label.fill_(fake_label)
        output = netD.forward(fake.detach()); // output = netD(fake.detach())
        const errDFake = criterion.forward(output, label); // errD_fake = criterion(output, label)
        errDFake.backward(); // errD_fake.backward()
        const dGz1 = output.mean(); // D_G_z1 = output.mean().item()
        const errD = errDReal.add(errDFake); // errD = errD_real + errD_fake
        optimizerD.step(); // optimizerD.step()

        // (2) Update G network: maximize log(D(G(z)))
        netG.zeroGrad(); // netG.zero_grad()
        label.fill_(realLabel); // label.fill_(real_label)  # fake labels are real for generator cost
        output = netD.forward(fake); // output = netD(fake)
        const errG = criterion.forward(output, label); // errG = criterion(output, label)
        errG.backward(); // errG.backward()
        const dGz2 = output.mean(); // D_G_z2 = output.mean().item()
        optimizerG.step(); // optimizerG.step()
        return kiln.stack([errD.detach(), errG.detach(), dX.detach(), dGz1.detach(), dGz2.detach()]);
      });
      const [errD, errG, dX, dGz1, dGz2] = Array.from(await r.toArray()); // (one readback for the five .item() calls)
      r.dispose();
      history.push({ errD, errG, dX, dGz1, dGz2 });
      // print('[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f' % (...))
      log(`[${epoch}/${o.niter}][${i}/${dataloader.length}] Loss_D: ${errD.toFixed(4)} Loss_G: ${errG.toFixed(4)} ` +
        `D(x): ${dX.toFixed(4)} D(G(z)): ${dGz1.toFixed(4)} / ${dGz2.toFixed(4)}`);
      if (i % 100 === 0) { // if i % 100 == 0:
        await kiln.io.saveImage(realCpu, `${o.outf}/real_samples.png`, { normalize: true }); // vutils.save_image(real_cpu, '%s/real_samples.png' % opt.outf, normalize=True)
        const fake = kiln.noGrad(() => netG.forward(fixedNoise)); // fake = netG(fixed_noise)
        // vutils.save_image(fake.detach(), '%s/fake_samples_epoch_%03d.png' % (opt.outf, epoch), normalize=True)
        await kiln.io.saveImage(fake.detach(), `${o.outf}/fake_samples_epoch_${String(epoch).padStart(3, '0')}.png`, { normalize: true });
        fake.dispose();
      }
      realCpu.dispose();
      i++;
      if (++steps >= o.maxSteps) break;
    }
  }
  return { history, netG, netD };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { // parser = argparse.ArgumentParser() ...
    dataset: { type: 'string', default: 'mnist' }, dataroot: { type: 'string', default: '' },
    batchSize: { type: 'string', default: '64' }, imageSize: { type: 'string', default: '64' },
    niter: { type: 'string', default: '25' }, outf: { type: 'string', default: 'dcgan_out' },
    manualSeed: { type: 'string', default: '999' },
  } });
  main({ dataset: values.dataset as 'mnist' | 'folder', dataroot: values.dataroot, batchSize: Number(values.batchSize),
    imageSize: Number(values.imageSize), niter: Number(values.niter), outf: values.outf, manualSeed: Number(values.manualSeed) })
    .then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
