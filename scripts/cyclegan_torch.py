"""The CycleGAN recipe of `kiln train cyclegan` in PyTorch on the CPU, on the same digits, as the reference.

The networks are those of scripts/make_cyclegan_fixtures.py (the reference code's structure); the step is
models/cycle_gan_model.py's optimize_parameters: LSGAN, cycle L1 x10 each way, identity L1 x5, G_A and G_B
under one Adam, then D_A and D_B on 50-image history pools with the loss halved; Adam 2e-4 (0.5, 0.999); lr
constant for the first half, then linear decay. Saves G_A and G_B as safetensors at the given steps, to be
scored with Kiln's classifiers (scripts/cyclegan_measure.ts --torch DIR), and prints losses and wall time.

  npx tsx scripts/cyclegan_measure.ts --export /tmp/cyclegan-digits
  /usr/bin/python3 scripts/cyclegan_torch.py /tmp/cyclegan-digits /tmp/cyclegan-torch --steps 1000 --at 250,500,1000
  npx tsx scripts/cyclegan_measure.ts --torch /tmp/cyclegan-torch --at 250,500,1000
"""
import argparse
import os
import random
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from make_cyclegan_fixtures import NLayerDiscriminator, ResnetGenerator, init_weights, save_safetensors  # noqa: E402


class ImagePool:
    def __init__(self, size):
        self.size, self.images = size, []

    def query(self, images):
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                tmp = self.images[i].clone()
                self.images[i] = image
                out.append(tmp)
            else:
                out.append(image)
        return torch.cat(out, 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("digits")
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--at", default="")
    p.add_argument("--ngf", type=int, default=8)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--ndf", type=int, default=8)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    torch.set_num_threads(a.threads)
    load = lambda k: torch.from_numpy(np.fromfile(os.path.join(a.digits, f"{k}.f32"), dtype="<f4").reshape(-1, 1, 32, 32))
    A, B = load("trainA"), load("trainB")
    GA, GB = ResnetGenerator(1, 1, a.ngf, a.blocks), ResnetGenerator(1, 1, a.ngf, a.blocks)
    DA, DB = NLayerDiscriminator(1, a.ndf), NLayerDiscriminator(1, a.ndf)
    for m in (GA, GB, DA, DB):
        init_weights(m)
    optG = torch.optim.Adam(list(GA.parameters()) + list(GB.parameters()), lr=2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(list(DA.parameters()) + list(DB.parameters()), lr=2e-4, betas=(0.5, 0.999))
    constant = (a.steps + 1) // 2
    rule = lambda s: 1 - max(0, s + 1 - constant) / (a.steps - constant + 1)
    schedG = torch.optim.lr_scheduler.LambdaLR(optG, rule)
    schedD = torch.optim.lr_scheduler.LambdaLR(optD, rule)
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    gan = lambda y, real: mse(y, torch.full_like(y, 1.0 if real else 0.0))
    poolA, poolB = ImagePool(50), ImagePool(50)
    at = {int(x) for x in a.at.split(",") if x}
    os.makedirs(a.out, exist_ok=True)
    ia = ib = np.array([], dtype=np.int64)
    t0, log = time.time(), []
    for step in range(a.steps):
        if len(ia) < a.batch:
            ia = np.random.permutation(len(A))
        if len(ib) < a.batch:
            ib = np.random.permutation(len(B))
        realA, realB = A[ia[:a.batch]], B[ib[:a.batch]]
        ia, ib = ia[a.batch:], ib[a.batch:]
        fakeB, fakeA = GA(realA), GB(realB)
        recA, recB = GB(fakeB), GA(fakeA)
        for d in (DA, DB):
            d.requires_grad_(False)
        optG.zero_grad()
        idtA = l1(GA(realB), realB) * 10 * 0.5
        idtB = l1(GB(realA), realA) * 10 * 0.5
        gA, gB = gan(DA(fakeB), True), gan(DB(fakeA), True)
        cycA, cycB = l1(recA, realA) * 10, l1(recB, realB) * 10
        (gA + gB + cycA + cycB + idtA + idtB).backward()
        optG.step()
        for d in (DA, DB):
            d.requires_grad_(True)
        optD.zero_grad()
        fb = poolB.query(fakeB.detach())
        dA = (gan(DA(realB), True) + gan(DA(fb), False)) * 0.5
        dA.backward()
        fa = poolA.query(fakeA.detach())
        dB = (gan(DB(realA), True) + gan(DB(fa), False)) * 0.5
        dB.backward()
        optD.step()
        schedG.step()
        schedD.step()
        log.append([x.item() for x in (dA, dB, gA, gB, cycA, cycB, idtA, idtB)])
        if step + 1 in at:
            for name, g in (("G_A", GA), ("G_B", GB)):
                save_safetensors(os.path.join(a.out, f"step-{step + 1}-{name}.safetensors"), dict(g.state_dict()), {})
            m = np.mean(log[-50:], axis=0)
            print(f"step {step + 1} ({time.time() - t0:.0f} s): D_A {m[0]:.3f} D_B {m[1]:.3f} G_A {m[2]:.3f} G_B {m[3]:.3f} "
                  f"cycle_A {m[4]:.3f} cycle_B {m[5]:.3f} idt_A {m[6]:.3f} idt_B {m[7]:.3f}", flush=True)
    sec = time.time() - t0
    print(f"{a.steps} steps in {sec:.1f} s ({a.steps / sec:.2f} steps/s, torch {torch.__version__}, {a.threads} thread(s))")


if __name__ == "__main__":
    main()
