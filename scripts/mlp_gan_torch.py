"""The MLP GAN recipe (seed 003, src/gan/mnist_mlp.ts) in PyTorch, to find out how many steps and which Adam
settings it needs to draw digits — on a CUDA machine this runs thousands of steps a minute. Saves the
generator's state dict (PyTorch keys, safetensors) every --every steps; score those with
`npx tsx scripts/score_generator.ts F.safetensors` (Kiln's MNIST classifier).
Data: the training split Kiln uses, as uint8 pixels [n, 784] (`npx tsx scripts/export_mnist.ts F`).
Usage: python3 scripts/mlp_gan_torch.py --data F [--steps 6000] [--every 1000] [--save 3000,6000] [--lr 2e-4]
       [--beta1 0.5] [--batch 64] [--real-label 1.0] [--out DIR]"""
import argparse, json, os, struct, time
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--steps', type=int, default=6000)
ap.add_argument('--every', type=int, default=1000, help='print (and save, unless --save) every N steps')
ap.add_argument('--save', default='', help='comma-separated steps to save at (default: every --every)')
ap.add_argument('--lr', type=float, default=2e-4)
ap.add_argument('--beta1', type=float, default=0.5)
ap.add_argument('--batch', type=int, default=64)
ap.add_argument('--real-label', type=float, default=1.0)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--out', default='mlp-torch')
a = ap.parse_args()
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
torch.manual_seed(a.seed)
x = torch.from_numpy(np.fromfile(a.data, dtype=np.uint8).reshape(-1, 784).astype(np.float32) / 255 * 2 - 1).to(dev)
G = nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.01), nn.Linear(256, 512), nn.LeakyReLU(0.01),
                  nn.Linear(512, 1024), nn.LeakyReLU(0.01), nn.Linear(1024, 784), nn.Tanh()).to(dev)
D = nn.Sequential(nn.Linear(784, 1024), nn.LeakyReLU(0.01), nn.Linear(1024, 512), nn.LeakyReLU(0.01),
                  nn.Linear(512, 256), nn.LeakyReLU(0.01), nn.Linear(256, 1), nn.Sigmoid()).to(dev)
optG = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(a.beta1, 0.999))
optD = torch.optim.Adam(D.parameters(), lr=a.lr, betas=(a.beta1, 0.999))
os.makedirs(a.out, exist_ok=True)

def save(path):
    # Minimal safetensors writer (F32 tensors, PyTorch keys; Kiln's G adds an Unflatten with no state).
    tensors = {k: v.detach().float().cpu().contiguous().numpy() for k, v in G.state_dict().items()}
    header, off, blobs = {}, 0, []
    for k, v in tensors.items():
        b = v.tobytes(); header[k] = {'dtype': 'F32', 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(header).encode(); h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for b in blobs: f.write(b)

n = x.shape[0]
perm = torch.randperm(n, device=dev)
t0 = time.time()
for step in range(1, a.steps + 1):
    i = ((step - 1) * a.batch) % (n - n % a.batch)
    if i == 0: perm = torch.randperm(n, device=dev)
    real = x[perm[i:i + a.batch]]
    fake = G(torch.randn(a.batch, 64, device=dev))
    dr, df = D(real).view(-1), D(fake.detach()).view(-1)
    lossD = (F.binary_cross_entropy(dr, torch.full_like(dr, a.real_label)) + F.binary_cross_entropy(df, torch.zeros_like(df))) / 2
    optD.zero_grad(); lossD.backward(); optD.step()
    out = D(fake).view(-1)
    lossG = F.binary_cross_entropy(out, torch.ones_like(out))
    optG.zero_grad(); lossG.backward(); optG.step()
    save_at = {int(v) for v in a.save.split(',') if v} if a.save else None
    if (step in save_at) if save_at is not None else step % a.every == 0:
        save(os.path.join(a.out, f'G-{step:06d}.safetensors'))
    if step % a.every == 0:
        print(f'step {step}: D {lossD.item():.3f} G {lossG.item():.3f} D(x) {dr.mean().item():.2f} D(G(z)) {df.mean().item():.2f} '
              f'({time.time() - t0:.0f} s)', flush=True)
