#!/usr/bin/python3
"""PyTorch on the CPU for the benchmark table's cases (the reference a user without a GPU would use).
Reads case keys (see bench/cases.ts `torch:`) as a JSON list on stdin, prints {key: {medianMs, minMs, maxMs,
samples}} as JSON, with the BLAS library and the thread count it ran with. Run by bench/node.ts when Debian's
python3-torch is present. On the CPU it uses every core the process may run on (PyTorch's default is the
physical core count, which can be 1 on a small VM), and it names the BLAS actually loaded: Debian's torch
links libblas.so.3, which is the slow reference BLAS unless an optimised alternative (libopenblas0-openmp,
installed by `KILN_WITH_TORCH=1 bash scripts/setup.sh`) is active."""
import glob
import json
import os
import re
import statistics
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


# --cuda (the GPU machine's runner): tensors and modules on the GPU, timings synchronised with it.
CUDA = "--cuda" in sys.argv and torch.cuda.is_available()
if CUDA:
    torch.set_default_device("cuda")
else:
    # --threads N: a fixed count (to compare with a past table); the default is every core.
    _t = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else None
    torch.set_num_threads(int(_t) if _t else len(os.sched_getaffinity(0)))


def blas_report():
    """BLAS_INFO from the build, the libblas.so.3 alternative the loader resolves, and the BLAS libraries mapped
    into this process after a matmul (the one that ran)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    info = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    links = glob.glob("/usr/lib/*-linux-gnu/libblas.so.3") + glob.glob("/usr/lib/libblas.so.3")
    alternative = os.path.realpath(links[0]) if links else "not found"
    loaded = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if re.search(r"lib(open)?blas|libmkl|libblis", path):
                    loaded.add(path)
    except OSError:
        pass
    # The library that provides libblas.so.3's symbols is the one mapped under that name (one per process).
    blas_so = next((p for p in sorted(loaded) if os.path.basename(p).startswith("libblas.so")), alternative)
    mkl = any("mkl" in p for p in loaded)
    kind = "MKL" if mkl else "OpenBLAS" if "openblas" in blas_so else "BLIS" if "blis" in blas_so else \
        "reference BLAS" if "/blas/" in blas_so else "unknown"
    return {"kind": kind, "buildInfo": info.group(1) if info else "?", "libblas": blas_so, "alternative": alternative,
            "loaded": sorted(loaded)}


def sync():
    if CUDA:
        torch.cuda.synchronize()


def timed(step, quick, inner=1):
    for _ in range(max(2, inner)):
        step()
    sync()
    t0 = time.perf_counter()
    step()
    sync()
    one = (time.perf_counter() - t0) * 1000
    budget = 4000 if quick else 15000
    n = max(1, min(3 if quick else 7, int(budget / max(1e-3, one * inner))))
    ms = []
    for _ in range(n):
        t0 = time.perf_counter()
        for _ in range(inner):
            step()
        sync()
        ms.append((time.perf_counter() - t0) * 1000 / inner)
    return {"medianMs": statistics.median(ms), "minMs": min(ms), "maxMs": max(ms), "samples": n}


def gan_step(G, D, optG, optD, data, latent, batch, reduction="sum", ce=False):
    state = {"i": 0}
    n = data.shape[0]

    def crit(out, real):
        if ce:
            return F.cross_entropy(out, torch.full((out.shape[0],), 1 if real else 0, dtype=torch.long))
        return F.binary_cross_entropy(out, torch.full_like(out, 1.0 if real else 0.0))

    def step():
        i = state["i"]; state["i"] += 1
        start = (i * batch) % (n - batch + 1)
        real = data[start:start + batch]
        z = torch.randn(batch, *latent)
        fake = G(z)
        optD.zero_grad()
        lossD = crit(D(fake.detach()), False) + crit(D(real), True)
        if reduction == "mean":
            lossD = lossD * 0.5
        lossD.backward()
        optD.step()
        optG.zero_grad()
        lossG = crit(D(fake), True)
        lossG.backward()
        optG.step()
    return step


def dcgan(width, latent=100, ch=1):
    ws = [4 * width, 2 * width, width]
    g = [nn.ConvTranspose2d(latent, ws[0], 4, 1, 0, bias=False), nn.BatchNorm2d(ws[0]), nn.ReLU()]
    for a, b in zip(ws, ws[1:]):
        g += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
    g += [nn.ConvTranspose2d(ws[-1], ch, 4, 2, 1, bias=False), nn.Tanh()]
    r = ws[::-1]
    d = [nn.Conv2d(ch, r[0], 4, 2, 1, bias=False), nn.BatchNorm2d(r[0]), nn.LeakyReLU(0.2)]
    for a, b in zip(r, r[1:]):
        d += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
    d += [nn.Conv2d(r[-1], 1, 4, 1, 0, bias=False), nn.Flatten(), nn.Sigmoid()]
    return nn.Sequential(*g), nn.Sequential(*d)


def case(key, quick):
    p = key.split(":")
    kind = p[0]
    if kind == "matmul":
        m, k, n = map(int, p[1:])
        a, b = torch.randn(m, k), torch.randn(k, n)
        return timed(lambda: a @ b, quick, 20 if m * k * n < 2e6 else 2)
    if kind == "conv":
        n, cin, h, cout, k, s, pad, bwd = map(int, p[1:])
        x = torch.randn(n, cin, h, h, requires_grad=True)
        w = (torch.randn(cout, cin, k, k) * 0.05).requires_grad_()
        y0 = F.conv2d(x.detach(), w.detach(), stride=s, padding=pad)
        dy = torch.randn_like(y0)
        if bwd:
            return timed(lambda: torch.autograd.grad(F.conv2d(x, w, stride=s, padding=pad), [x, w], dy), quick)
        with torch.no_grad():
            return timed(lambda: F.conv2d(x, w, stride=s, padding=pad), quick)
    if kind == "convT":
        n, cin, h, cout, bwd = map(int, p[1:])
        x = torch.randn(n, cin, h, h, requires_grad=True)
        w = (torch.randn(cin, cout, 4, 4) * 0.05).requires_grad_()
        dy = torch.randn(n, cout, 2 * h, 2 * h)
        if bwd:
            return timed(lambda: torch.autograd.grad(F.conv_transpose2d(x, w, stride=2, padding=1), [x, w], dy), quick)
        with torch.no_grad():
            return timed(lambda: F.conv_transpose2d(x, w, stride=2, padding=1), quick)
    if kind == "bn":
        n, c, h, bwd = map(int, p[1:])
        x = torch.randn(n, c, h, h, requires_grad=True)
        g = torch.ones(c, requires_grad=True); b = torch.zeros(c, requires_grad=True)
        rm, rv = torch.zeros(c), torch.ones(c)
        dy = torch.randn(n, c, h, h)
        f = lambda: F.batch_norm(x, rm, rv, g, b, training=True)
        if bwd:
            return timed(lambda: torch.autograd.grad(f(), [x, g, b], dy), quick, 2)
        with torch.no_grad():
            return timed(f, quick, 2)
    if kind == "sum":
        r, c, axis = map(int, p[1:])
        x = torch.randn(r, c)
        return timed(lambda: x.sum(axis), quick, 10)
    if kind == "softmax":
        r, c = map(int, p[1:])
        x = torch.randn(r, c)
        return timed(lambda: torch.softmax(x, 1), quick, 10)
    if kind == "adam":
        G, D = dcgan(int(p[1]))
        params = [q for q in list(G.parameters()) + list(D.parameters())]
        for q in params:
            q.grad = torch.randn_like(q) * 0.01
        opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))
        return timed(opt.step, quick, 5)
    if kind == "train":
        torch.manual_seed(0)
        if p[1] == "gaussian":
            data = torch.randn(3200, 2) @ torch.tensor([[1.0, 2], [-0.2, 0.5]]) + torch.tensor([2.0, 1])
            G = nn.Linear(2, 2)
            D = nn.Sequential(nn.Linear(2, 20), nn.ReLU(), nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 2))
            step = gan_step(G, D, torch.optim.Adam(G.parameters(), lr=0.01), torch.optim.Adam(D.parameters(), lr=0.01), data, (2,), 32, ce=True)
            return timed(step, quick, 20)
        if p[1] == "mlp":
            G = nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.01), nn.Linear(256, 512), nn.LeakyReLU(0.01), nn.Linear(512, 1024), nn.LeakyReLU(0.01), nn.Linear(1024, 784), nn.Tanh())
            D = nn.Sequential(nn.Linear(784, 1024), nn.LeakyReLU(0.01), nn.Linear(1024, 512), nn.LeakyReLU(0.01), nn.Linear(512, 256), nn.LeakyReLU(0.01), nn.Linear(256, 1), nn.Sigmoid())
            opt = lambda m: torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999))
            return timed(gan_step(G, D, opt(G), opt(D), torch.rand(1024, 784) * 2 - 1, (64,), 64, reduction="mean"), quick)
        if p[1] == "dcgan":
            width, batch = int(p[2]), int(p[3])
            G, D = dcgan(width)
            opt = lambda m: torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999))
            return timed(gan_step(G, D, opt(G), opt(D), torch.rand(256, 1, 32, 32) * 2 - 1, (100, 1, 1), batch), quick)
    raise ValueError(f"unknown case {key}")


def main():
    quick = "--quick" in sys.argv
    if "--info" in sys.argv:  # what the table header needs, without running cases
        json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_report()}, sys.stdout)
        return
    keys = json.load(sys.stdin)
    out = {}
    for k in keys:
        try:
            out[k] = case(k, quick)
        except Exception as e:  # report, keep going
            out[k] = {"error": str(e)}
    blas = blas_report()
    device = torch.cuda.get_device_name() if CUDA else f"the CPU, {torch.get_num_threads()} thread(s), {blas['kind']}"
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas, "device": device,
               "results": out}, sys.stdout)


if __name__ == "__main__":
    main()
