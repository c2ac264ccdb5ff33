"""The 2-D Gaussian GAN 'needle' recipe (CMU lecture 000) in PyTorch, over seeds 0-9: the reference for
`kiln train gaussian --seeds 10`. Prints each seed's implied mean / covariance error and their medians.
Run with Debian's torch: /usr/bin/python3 scripts/gaussian_reference.py [--seeds 10] [--ema 0.999]"""
import argparse, statistics
import numpy as np
import torch
from torch import nn

A = np.array([[1, 2], [-0.2, 0.5]], dtype=np.float32)
MU = np.array([2, 1], dtype=np.float32)
COV = A.T @ A

ap = argparse.ArgumentParser()
ap.add_argument('--seeds', type=int, default=10)
ap.add_argument('--steps', type=int, default=2000)
ap.add_argument('--ema', type=float, default=0)
ap.add_argument('--json', help='also write the per-seed errors here (for scripts/gaussian_compare.py)')
args = ap.parse_args()

rows = []
for seed in range(args.seeds):
    torch.manual_seed(seed)
    np.random.seed(seed)
    data = (np.random.normal(0, 1, (3200, 2)).astype(np.float32) @ A + MU).astype(np.float32)
    G = nn.Linear(2, 2)
    D = nn.Sequential(nn.Linear(2, 20), nn.ReLU(), nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 2))
    optG = torch.optim.Adam(G.parameters(), lr=0.01)
    optD = torch.optim.Adam(D.parameters(), lr=0.01)
    ce = nn.CrossEntropyLoss()
    ema = [p.detach().clone() for p in G.parameters()]
    bs = 32
    for step in range(args.steps):
        begin = (bs * step) % 3200
        X = torch.from_numpy(data[begin:begin + bs])
        Z = torch.randn(bs, 2)
        fake = G(Z)
        # GANLoss.forward: update D on fake.detach() and real, then G's non-saturating loss.
        optD.zero_grad()
        lossD = ce(D(X), torch.ones(bs, dtype=torch.long)) + ce(D(fake.detach()), torch.zeros(bs, dtype=torch.long))
        lossD.backward()
        optD.step()
        optG.zero_grad()
        lossG = ce(D(fake), torch.ones(bs, dtype=torch.long))
        lossG.backward()
        optG.step()
        if args.ema:
            d = min(args.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                for e, p in zip(ema, G.parameters()):
                    e.mul_(d).add_(p, alpha=1 - d)
    W, b = (ema if args.ema else [p.detach() for p in G.parameters()])
    W = W.numpy(); b = b.numpy()
    cov = W @ W.T
    me = float(np.linalg.norm(b - MU))
    ce_ = float(np.linalg.norm(cov - COV) / np.linalg.norm(COV))
    rows.append((me, ce_))
    print(f'seed {seed}: mean error {me:.3f}, covariance rel. error {ce_:.3f}')
if args.json:
    import json
    with open(args.json, 'w') as f:
        json.dump({'seeds': [{'seed': i, 'meanError': r[0], 'covRelError': r[1]} for i, r in enumerate(rows)]}, f)
print(f'median mean error {statistics.median(r[0] for r in rows):.3f}, median covariance rel. error '
      f'{statistics.median(r[1] for r in rows):.3f}, worst {max(r[0] for r in rows):.3f} / {max(r[1] for r in rows):.3f}')
