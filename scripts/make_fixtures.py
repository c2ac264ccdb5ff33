#!/usr/bin/python3
"""Reference values for Kiln's op tests, computed by PyTorch (Debian's python3-torch, run with the system
python3). For each case of tests/ops/cases.ts: the float32 forward output, a fixed random cotangent, the
autograd gradients of sum(out * cot), and float64 central differences of the same scalar.

Usage: npm run fixtures   (or: tsx scripts/export-op-spec.ts spec.json && /usr/bin/python3 scripts/make_fixtures.py spec.json tests/fixtures/ops.json)
"""
import json
import sys

import torch
import torch.nn.functional as F

H = 1e-6  # float64 central-difference step


def num(v):
    return float("nan") if v == "NaN" else v


def enc(values):
    """JSON has no NaN: it is stored as null (tests/ops/check.ts reads it back)."""
    return [None if v != v else v for v in values]


def make(inp, dtype=None):
    t = torch.tensor([num(v) for v in inp["data"]], dtype=torch.int32 if inp["dtype"] == "int32" else torch.float32)
    t = t.reshape(inp["shape"])
    return t if dtype is None or inp["dtype"] == "int32" else t.to(dtype)


def main(spec_path, out_path):
    spec = json.load(open(spec_path))
    out = {"torch": torch.__version__, "h": H, "cases": []}
    for idx, case in enumerate(spec["cases"]):
        fn = eval(case["torch"], {"torch": torch, "F": F})
        xs = [make(i) for i in case["inputs"]]
        wants = [i["grad"] for i in case["inputs"]]
        xs = [x.clone().requires_grad_(w) for x, w in zip(xs, wants)]
        y = fn(*xs)
        rec = {
            "name": case["name"],
            "op": case["op"],
            "inputs": [{**i, "data": enc([num(v) for v in i["data"]])} for i in case["inputs"]],
            "out": enc(y.detach().reshape(-1).tolist()),
            "outShape": list(y.shape),
        }
        if case["grad"]:
            g = torch.Generator().manual_seed(1000 + idx)
            cot = torch.randn(y.shape, generator=g)
            loss = (y * cot).sum()
            targets = [x for x, w in zip(xs, wants) if w]
            grads = torch.autograd.grad(loss, targets)
            it = iter(grads)
            rec["cot"] = cot.reshape(-1).tolist()
            rec["grads"] = [next(it).reshape(-1).tolist() if w else None for w in wants]
            # float64 central differences of the same scalar
            xd = [make(i, torch.float64) for i in case["inputs"]]
            cotd = cot.double()

            def scalar(args):
                with torch.no_grad():
                    return float((fn(*args) * cotd).sum())

            fds = []
            for k, w in enumerate(wants):
                if not w:
                    fds.append(None)
                    continue
                flat = xd[k].reshape(-1)
                fd = []
                for e in range(flat.numel()):
                    orig = float(flat[e])
                    flat[e] = orig + H
                    lp = scalar(xd)
                    flat[e] = orig - H
                    lm = scalar(xd)
                    flat[e] = orig
                    fd.append((lp - lm) / (2 * H))
                fds.append(fd)
            rec["fd64"] = fds
        out["cases"].append(rec)
    json.dump(out, open(out_path, "w"), separators=(",", ":"), allow_nan=False)
    print(f"wrote {len(out['cases'])} cases to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
