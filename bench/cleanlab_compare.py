"""Same probabilities, same label issues? cleanlab.filter.find_label_issues (defaults) against
`dlscope labels --pred-probs`:
 (a) synthetic Dirichlet probabilities with noisy labels, several seeds and class counts;
 (b) with --fashion DIR (the --keep folder of bench/label_flips.py): the pred_probs.npy that
     dlscope wrote for Fashion-MNIST with its flipped labels.
Prints set sizes, intersection and whether the sets (and the rankings) match exactly.

    python3 bench/cleanlab_compare.py [--dlscope BIN] [--fashion DIR]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from cleanlab.filter import find_label_issues

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cl_cases  # noqa: E402


def write_idx(path, arr):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, arr.ndim]))
        for d in arr.shape:
            f.write(int(d).to_bytes(4, "big"))
        f.write(np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def dlscope_issues(binary, data, probs_path, out, rank_by="self-confidence"):
    cmd = [binary, "labels", data, "--pred-probs", probs_path, "--out", out, "--json",
           "--rank-by", rank_by]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    with open(os.path.join(out, "label_issues.csv")) as f:
        next(f)
        return [int(line.split(",")[2]) for line in f]


ORIG_ARGSORT = np.argsort


def cleanlab_issues(labels, probs, rank, stable):
    """cleanlab's answer, with numpy's default argsort or with every argsort made stable."""
    np.argsort = ORIG_ARGSORT
    if stable:
        cl_cases.force_stable_argsort()
    try:
        return find_label_issues(labels, probs, return_indices_ranked_by=rank, n_jobs=1)
    finally:
        np.argsort = ORIG_ARGSORT


def compare(name, binary, data, probs, labels, work):
    p = os.path.join(work, f"{name.replace(' ', '_')}.npy")
    np.save(p, probs.astype(np.float32))
    ok = True
    for rank in ("self_confidence", "normalized_margin"):
        ds = dlscope_issues(binary, data, p, os.path.join(work, f"{name.replace(' ', '_')}-{rank}"),
                            rank.replace("_", "-"))
        cl = cleanlab_issues(labels, probs.astype(np.float32), rank, stable=False)
        st = cleanlab_issues(labels, probs.astype(np.float32), rank, stable=True)
        same = set(cl.tolist()) == set(ds)
        same_st = set(st.tolist()) == set(ds)
        ok &= same_st
        print(f"{name:34s} {rank:17s} cleanlab {len(cl):6d} dlscope {len(ds):6d} "
              f"both {len(set(cl.tolist()) & set(ds)):6d} same set: {'yes' if same else 'NO '} "
              f"| stable-argsort cleanlab: same set {'yes' if same_st else 'NO '}, "
              f"same order {'yes' if list(st) == ds else 'no'}")
    return ok


def synthetic(seed, n, k, noise):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    alpha = np.full(k, 0.5)
    probs = rng.dirichlet(alpha, n)
    # Mix the true class in with a random confidence, so the model is right most of the time.
    w = rng.uniform(0.0, 1.0, n)[:, None]
    probs = (1 - w) * probs + w * np.eye(k)[true]
    labels = true.copy()
    flip = rng.random(n) < noise
    labels[flip] = (true[flip] + rng.integers(1, k, flip.sum())) % k
    labels[:k] = np.arange(k)  # every class present, so the dataset has k classes
    return probs.astype(np.float32), labels


def main():
    ap = argparse.ArgumentParser()
    default_bin = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "dlscope")
    ap.add_argument("--dlscope", default=default_bin)
    ap.add_argument("--fashion", default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="dlscope-cl-")
    all_ok = True
    for k in (2, 3, 10, 25):
        for seed in range(3):
            n = 2000 + 1000 * seed
            noise = (0.05, 0.1, 0.2)[seed]
            probs, labels = synthetic(seed * 100 + k, n, k, noise)
            data = os.path.join(work, f"data-{k}-{seed}")
            os.makedirs(data)
            write_idx(os.path.join(data, "train-images-idx3-ubyte"), np.zeros((n, 1, 1), np.uint8))
            write_idx(os.path.join(data, "train-labels-idx1-ubyte"), labels.astype(np.uint8))
            all_ok &= compare(f"dirichlet k={k} seed={seed} n={n}", a.dlscope, data, probs, labels, work)
    if a.fashion:
        probs = np.load(os.path.join(a.fashion, "labels", "pred_probs.npy"))
        with open(os.path.join(a.fashion, "data", "train-labels-idx1-ubyte"), "rb") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
        all_ok &= compare("fashion-mnist (flipped 1%)", a.dlscope, os.path.join(a.fashion, "data"),
                          probs, labels, work)
    print("ALL SETS IDENTICAL to cleanlab with stable argsort" if all_ok
          else "SOME SETS DIFFER from cleanlab even with stable argsort")
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
