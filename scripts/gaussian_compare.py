"""Is Kiln's Gaussian seed experiment different from PyTorch's, or within seed noise? Reads two summary files
with per-seed errors (Kiln: runs/<out>/summary.json from `kiln train gaussian --seeds N`; PyTorch:
scripts/gaussian_reference.py --json F) and prints the medians, a bootstrap 95% interval of each median, and a
two-sided permutation test of the difference in medians (seeds are independent runs; streams differ).
Usage: /usr/bin/python3 scripts/gaussian_compare.py KILN.json TORCH.json"""
import json, random, statistics, sys

def load(path):
    return json.load(open(path))['seeds']

kiln, torch_ = load(sys.argv[1]), load(sys.argv[2])
rng = random.Random(0)
for key in ('meanError', 'covRelError'):
    a = [r[key] for r in kiln]
    b = [r[key] for r in torch_]
    def ci(v):
        meds = sorted(statistics.median(rng.choices(v, k=len(v))) for _ in range(4000))
        return meds[100], meds[3899]
    diff = statistics.median(a) - statistics.median(b)
    pool = a + b
    hits = 0
    for _ in range(10000):
        rng.shuffle(pool)
        d = statistics.median(pool[:len(a)]) - statistics.median(pool[len(a):])
        hits += abs(d) >= abs(diff) - 1e-12
    (alo, ahi), (blo, bhi) = ci(a), ci(b)
    print(f'{key}: Kiln median {statistics.median(a):.3f} [{alo:.3f}, {ahi:.3f}] over {len(a)} seeds, '
          f'PyTorch {statistics.median(b):.3f} [{blo:.3f}, {bhi:.3f}] over {len(b)}; difference {diff:+.3f}, '
          f'permutation p = {hits / 10000:.2f}')
