"""Reference CycleGAN networks for Kiln's tests: a small ResnetGenerator and NLayerDiscriminator built with the
code structure of junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py (instance norm without affine
parameters or running statistics, reflection padding, bias on every conv), initialised as its init_weights
('normal', 0.02), run on a fixed input. Saved as safetensors: "G.<key>" and "D.<key>" under PyTorch's
state-dict keys, the input "x" and the outputs "G_out" and "D_out".

Usage: /usr/bin/python3 scripts/make_cyclegan_fixtures.py tests/fixtures/cyclegan_nets.safetensors
"""
import functools
import sys

import torch
from torch import nn

from make_gan_fixtures import save_safetensors

NORM = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True), NORM(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True), NORM(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, n_blocks=9):
        super().__init__()
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=True), NORM(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=True), NORM(ngf * mult * 2), nn.ReLU(True)]
        for _ in range(n_blocks):
            model += [ResnetBlock(ngf * 4)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=2, padding=1, output_padding=1, bias=True),
                      NORM(int(ngf * mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, n_layers=3):
        super().__init__()
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1, bias=True), NORM(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1, bias=True), NORM(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


def init_weights(net, gain=0.02):
    def f(m):
        name = m.__class__.__name__
        if hasattr(m, "weight") and ("Conv" in name or "Linear" in name):
            nn.init.normal_(m.weight.data, 0.0, gain)
            if m.bias is not None:
                nn.init.constant_(m.bias.data, 0.0)
    net.apply(f)


def randomize_biases(net):
    """Non-zero biases, so the test also checks that every bias is loaded where it belongs."""
    with torch.no_grad():
        for k, p in net.named_parameters():
            if k.endswith("bias"):
                p.uniform_(-0.1, 0.1)



def main(path):
    torch.manual_seed(0)
    G = ResnetGenerator(3, 3, ngf=4, n_blocks=2)
    D = NLayerDiscriminator(3, ndf=4, n_layers=3)
    init_weights(G)
    randomize_biases(G)
    init_weights(D)
    randomize_biases(D)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        g = G(x)
        d = D(g)
    tensors = {**{f"G.{k}": v for k, v in G.state_dict().items()}, **{f"D.{k}": v for k, v in D.state_dict().items()},
               "x": x, "G_out": g, "D_out": d}
    save_safetensors(path, tensors, {"torch": torch.__version__, "arch": "resnet ngf 4 blocks 2, patchgan ndf 4 layers 3, 3 channels, 32x32"})
    print(f"wrote {path}: {sum(v.numel() for v in tensors.values())} values")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/cyclegan_nets.safetensors")
