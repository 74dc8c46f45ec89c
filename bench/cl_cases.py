"""Deterministic probability matrices shared by the Rust tests of dlscope-analyze's confident
learning (crates/analyze/tests/analyze/labels.rs implements the same generator) and the
cleanlab reference answers pinned there.

    python3 bench/cl_cases.py          # prints the cleanlab issue indices for each case
    python3 bench/cl_cases.py --stable # the same with numpy's argsort forced stable

numpy's default argsort (SIMD sorting networks on x86) orders exact ties in a CPU-dependent
way; cleanlab uses it when rounding the calibrated confident joint, so on ties its answer
depends on the machine. dlscope breaks ties by index, which equals cleanlab with a stable sort.
"""
import sys

import numpy as np

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * (1.0 / (1 << 53))


def case(seed, n, k, noise=0.15, strength=2.0):
    """Rows: squared uniforms plus `strength * u` on the true class, normalised in f64 then
    stored as f32. Labels: the true class, replaced by a random class with prob `noise`."""
    r = SplitMix64(seed)
    probs = np.zeros((n, k), dtype=np.float32)
    labels = np.zeros(n, dtype=np.int64)
    for i in range(n):
        c = r.next() % k
        w = []
        for j in range(k):
            u = r.uniform()
            w.append(u * u)
        w[c] += strength * r.uniform()
        s = 0.0
        for v in w:
            s += v
        probs[i] = [v / s for v in w]
        labels[i] = r.next() % k if r.uniform() < noise else c
    return probs, labels


CASES = [(1, 40, 3), (2, 300, 4), (3, 1000, 10), (4, 2000, 7)]

def force_stable_argsort():
    """Makes every np.argsort stable (cleanlab calls np.argsort by attribute at run time)."""
    orig = np.argsort

    def stable(a, axis=-1, kind=None, order=None, **kw):
        return orig(a, axis=axis, kind="stable", order=order)

    np.argsort = stable


if __name__ == "__main__":
    from cleanlab.filter import find_label_issues

    if "--stable" in sys.argv:
        force_stable_argsort()

    for seed, n, k in CASES:
        p, l = case(seed, n, k)
        idx = find_label_issues(l, p, return_indices_ranked_by="self_confidence", n_jobs=1)
        print(f"// cases({seed}, {n}, {k}): {len(idx)} issues, sum p = {float(p.astype(np.float64).sum()):.6f}")
        print("sorted", sorted(int(i) for i in idx))
        print("ranked_first10", [int(i) for i in idx[:10]])
        print("count, sum, sum of squares", len(idx), sum(int(i) for i in idx), sum(int(i) ** 2 for i in idx))
