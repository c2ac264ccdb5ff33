"""Reference values for Kiln's loss options (crossEntropy weight / ignoreIndex / labelSmoothing, nllLoss,
BCE-with-logits weight / posWeight) and the pooling / comparison composites, computed by PyTorch in float64
from float32 inputs: forward values and the gradient of sum(out * cotangent) with respect to the input.
Run: /usr/bin/python3 scripts/make_loss_option_fixtures.py tests/fixtures/loss_options.json"""
import json
import sys

import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed(14)


def randn(*shape):
    return torch.randn(*shape, generator=g).float()


def case(name, fn, x, extra, kiln):
    """`fn(x64, extra64)` evaluated in float64; `kiln` names the Kiln call the test makes."""
    x64 = x.double().requires_grad_(True)
    ex64 = {k: (v.double() if v.is_floating_point() else v) for k, v in extra.items()}
    y = fn(x64, ex64)
    cot = torch.randn(y.shape, generator=g).double()
    (grad,) = torch.autograd.grad((y * cot).sum(), x64)
    return {
        "name": name, "kiln": kiln, "x": x.flatten().tolist(), "xShape": list(x.shape),
        "extra": {k: {"data": v.flatten().tolist(), "shape": list(v.shape), "int": not v.is_floating_point()} for k, v in extra.items()},
        "out": y.detach().flatten().tolist(), "outShape": list(y.shape), "cot": cot.flatten().tolist(),
        "grad": grad.flatten().tolist(),
    }


def main(out_path):
    N, C = 6, 4
    labels = torch.tensor([0, 3, 1, 2, 3, 1], dtype=torch.int32)
    ignored = torch.tensor([0, -100, 1, 2, -100, 3], dtype=torch.int32)
    ign2 = torch.tensor([0, 2, 1, 2, 3, 2], dtype=torch.int32)
    w = torch.rand(C, generator=g).float() + 0.5
    x = randn(N, C)
    ce = lambda **kw: (lambda x, e: F.cross_entropy(x, e["labels"].long(), **{k: (e[v] if k == "weight" else v) for k, v in kw.items()}))
    cases = []
    for red in ["mean", "sum", "none"]:
        cases.append(case(f"crossEntropy weight {red}", ce(weight="weight", reduction=red), x, {"labels": labels, "weight": w}, {"op": "crossEntropy", "reduction": red, "weight": True}))
        cases.append(case(f"crossEntropy ignoreIndex {red}", ce(ignore_index=-100, reduction=red), x, {"labels": ignored}, {"op": "crossEntropy", "reduction": red, "ignoreIndex": -100}))
        cases.append(case(f"crossEntropy labelSmoothing {red}", ce(label_smoothing=0.2, reduction=red), x, {"labels": labels}, {"op": "crossEntropy", "reduction": red, "labelSmoothing": 0.2}))
        cases.append(case(f"crossEntropy all three {red}", ce(weight="weight", ignore_index=2, label_smoothing=0.1, reduction=red), x, {"labels": ign2, "weight": w}, {"op": "crossEntropy", "reduction": red, "weight": True, "ignoreIndex": 2, "labelSmoothing": 0.1}))
        cases.append(case(f"nllLoss weight ignoreIndex {red}", lambda x, e, red=red: F.nll_loss(F.log_softmax(x, 1), e["labels"].long(), weight=e["weight"], ignore_index=-100, reduction=red), x, {"labels": ignored, "weight": w}, {"op": "nllLoss", "reduction": red, "weight": True, "ignoreIndex": -100}))
    t = (torch.rand(N, C, generator=g) > 0.5).float()
    pw = torch.rand(C, generator=g).float() * 3
    bw = torch.rand(N, C, generator=g).float()
    for red in ["mean", "none"]:
        cases.append(case(f"bceWithLogits posWeight {red}", lambda x, e, red=red: F.binary_cross_entropy_with_logits(x * 4, e["target"], pos_weight=e["posWeight"], reduction=red), x, {"target": t, "posWeight": pw}, {"op": "bceWithLogits", "reduction": red, "posWeight": True, "scale": 4}))
        cases.append(case(f"bceWithLogits weight posWeight {red}", lambda x, e, red=red: F.binary_cross_entropy_with_logits(x * 4, e["target"], weight=e["weight"], pos_weight=e["posWeight"], reduction=red), x, {"target": t, "posWeight": pw, "weight": bw}, {"op": "bceWithLogits", "reduction": red, "posWeight": True, "weight": True, "scale": 4}))
    xp = randn(2, 3, 4, 6)
    cases.append(case("maxPool2d 2", lambda x, e: F.max_pool2d(x, 2), xp, {}, {"op": "maxPool2d", "kernel": 2}))
    cases.append(case("maxPool2d (2, 3)", lambda x, e: F.max_pool2d(x, (2, 3)), xp, {}, {"op": "maxPool2d", "kernel": [2, 3]}))
    json.dump({"torch": torch.__version__, "cases": cases}, open(out_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1])
