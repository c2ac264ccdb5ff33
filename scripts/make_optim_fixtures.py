#!/usr/bin/python3
"""Reference training runs for Kiln's optimizer and nn tests, made by PyTorch (Debian's python3-torch).
Each run: a small model with given initial state dict, fixed data, N steps of an optimizer; the fixture
holds the initial state, the data, the losses per step and the final state dict (PyTorch key names).

Usage: /usr/bin/python3 scripts/make_optim_fixtures.py tests/fixtures/optim.json
"""
import json
import sys

import torch
import torch.nn as nn


def flat(t):
    return t.detach().reshape(-1).tolist()


def state(model):
    return {k: {"shape": list(v.shape), "data": flat(v.float())} for k, v in model.state_dict().items()}


def run(name, model, make_opt, loss_fn, x, y, steps=10):
    init = state(model)
    opt = make_opt(model.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {
        "name": name,
        "init": init,
        "x": {"shape": list(x.shape), "data": flat(x)},
        "y": {"shape": list(y.shape), "data": flat(y), "dtype": "int32" if y.dtype == torch.long else "float32"},
        "losses": losses,
        "final": state(model),
    }


def main(out_path):
    torch.manual_seed(0)
    runs = []

    mlp = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = torch.randn(8, 3)
    y = torch.randn(8, 2)
    runs.append(run("adam mlp", mlp, lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01),
                    nn.MSELoss(), x, y))

    mlp = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    runs.append(run("sgd nesterov mlp", mlp,
                    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001),
                    nn.MSELoss(), x, y))

    mlp = nn.Sequential(nn.Linear(3, 5), nn.LeakyReLU(0.2), nn.Linear(5, 2))
    runs.append(run("sgd momentum dampening mlp", mlp,
                    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.1),
                    nn.MSELoss(), x, y))

    # A bias right before batch norm has a zero gradient up to rounding, which Adam turns into
    # noise-driven steps of size lr: layers before BN have no bias (as in DCGAN).
    bn = nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
    labels = torch.randint(0, 3, (8,))
    runs.append(run("adam batchnorm1d cross-entropy", bn, lambda p: torch.optim.Adam(p, lr=0.02),
                    nn.CrossEntropyLoss(), x, labels))

    conv = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.LeakyReLU(0.2),
                         nn.Conv2d(3, 4, 4, stride=2, padding=1), nn.Flatten(), nn.Linear(4 * 2 * 2, 1), nn.Sigmoid())
    xi = torch.randn(4, 2, 4, 4)
    yi = torch.randint(0, 2, (4, 1)).float()
    runs.append(run("adam dcgan-style conv discriminator", conv,
                    lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.999)), nn.BCELoss(), xi, yi))

    gen = nn.Sequential(nn.ConvTranspose2d(3, 4, 4, 1, 0, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.ConvTranspose2d(4, 1, 4, 2, 1, bias=False), nn.Tanh())
    z = torch.randn(3, 3, 1, 1)
    target = torch.rand(3, 1, 8, 8) * 2 - 1
    runs.append(run("adam dcgan-style generator", gen,
                    lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.999)), nn.MSELoss(), z, target))

    json.dump({"torch": torch.__version__, "runs": runs}, open(out_path, "w"), separators=(",", ":"))
    print(f"wrote {len(runs)} runs to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1])
