#!/usr/bin/python3
"""A DCGAN generator exported from PyTorch (Debian's python3-torch) for Kiln's checkpoint tests: the
seed-004 architecture at 32x32, 1 channel, latent 16, width 4 (small enough to commit), with random
weights and batch-norm running statistics, saved as safetensors under PyTorch's state-dict keys, together
with a latent batch and the images PyTorch makes from it in eval mode.

Usage: /usr/bin/python3 scripts/make_gan_fixtures.py tests/fixtures/dcgan_generator.safetensors
"""
import json
import struct
import sys

import torch
from torch import nn


def generator(latent=16, width=4, channels=1):
    ws = [4 * width, 2 * width, width]
    layers = []
    for i, c in enumerate(ws):
        layers.append(nn.ConvTranspose2d(latent if i == 0 else ws[i - 1], c, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False))
        layers += [nn.BatchNorm2d(c), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(ws[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def main(path):
    torch.manual_seed(4)
    G = generator()
    for m in G.modules():
        if isinstance(m, nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.2)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.2)
            nn.init.normal_(m.bias, 0.0, 0.2)
    # A few training-mode passes give the running statistics real values (and num_batches_tracked = 3).
    with torch.no_grad():
        for _ in range(3):
            G(torch.randn(8, 16, 1, 1))
    G.eval()
    z = torch.randn(6, 16, 1, 1)
    with torch.no_grad():
        out = G(z)
    tensors = {f"G.{k}": v for k, v in G.state_dict().items()}
    tensors["z"] = z
    tensors["out"] = out
    save_safetensors(path, tensors, {"torch": torch.__version__, "arch": "dcgan size 32 channels 1 latent 16 width 4", "mode": "eval"})
    print(f"wrote {path}: {len(tensors)} tensors, output {tuple(out.shape)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/dcgan_generator.safetensors")
