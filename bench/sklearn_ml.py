#!/usr/bin/env python3
"""scikit-learn side of the dlscope-ml comparison: the same cases and parameters as
`cargo bench -p dlscope-ml --bench ml_bench`, one JSON object per line.

    python3 bench/sklearn_ml.py [CASE ...] [--dir /usr/share/datasets/fashion-mnist]

Cases (all by default): kmeans, kmeans_seeds (seeds 0-4: mean time and inertia), minibatch, pca_full, pca_covariance_eigh, pca_randomized,
ward, dbscan, hdbscan. Data: all 70,000 Fashion-MNIST images (train then test) as float32
pixels / 255; ward, dbscan and hdbscan run on the first 10,000 rows projected on 50 principal
components. Threads follow OMP_NUM_THREADS / OPENBLAS_NUM_THREADS (bench/run.py sets them).
Each line holds the wall time of the fit alone, in seconds, and the quality numbers.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

CASES = ["kmeans", "kmeans_seeds", "minibatch", "pca_full", "pca_covariance_eigh", "pca_randomized",
         "ward", "dbscan", "hdbscan"]


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


def load(d):
    xs, ys = [], []
    for prefix in ("train", "t10k"):
        x = read_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"), 16)
        y = read_idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"), 8)
        xs.append(x.reshape(-1, 784))
        ys.append(y)
    x = np.concatenate(xs).astype(np.float32) / np.float32(255.0)
    return x, np.concatenate(ys).astype(np.int64)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def emit(**kw):
    print(json.dumps(kw), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*", default=CASES)
    ap.add_argument("--dir", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; choose from {CASES}")
    on = set(args.cases)
    x, y = load(args.dir)
    emit(case="load", rows=int(x.shape[0]), cols=int(x.shape[1]))

    if "kmeans" in on:
        s, km = timed(lambda: KMeans(n_clusters=10, n_init=1, algorithm="lloyd", random_state=0).fit(x))
        emit(case="kmeans", seconds=s, iterations=int(km.n_iter_), inertia=float(km.inertia_),
             ari=adjusted_rand_score(y, km.labels_), nmi=normalized_mutual_info_score(y, km.labels_))
    if "kmeans_seeds" in on:
        runs = [timed(lambda: KMeans(n_clusters=10, n_init=1, algorithm="lloyd", random_state=r).fit(x))
                for r in range(5)]
        inertia = [float(km.inertia_) for _, km in runs]
        emit(case="kmeans_seeds", seconds=sum(s for s, _ in runs) / len(runs),
             inertia=sum(inertia) / len(inertia), inertia_min=min(inertia), inertia_max=max(inertia),
             iterations=sum(int(km.n_iter_) for _, km in runs) / len(runs))
    if "minibatch" in on:
        s, mb = timed(lambda: MiniBatchKMeans(n_clusters=10, n_init=1, random_state=0).fit(x))
        emit(case="minibatch", seconds=s, steps=int(mb.n_steps_), inertia=float(mb.inertia_),
             ari=adjusted_rand_score(y, mb.labels_))
    pca50 = None
    for case, solver in (("pca_full", "full"), ("pca_covariance_eigh", "covariance_eigh"),
                         ("pca_randomized", "randomized")):
        need = case in on or (case == "pca_full" and on & {"ward", "dbscan", "hdbscan"})
        if not need:
            continue
        s, p = timed(lambda: PCA(n_components=50, svd_solver=solver, random_state=0).fit(x))
        if case in on:
            emit(case=case, seconds=s,
                 explained_variance_ratio_sum=float(p.explained_variance_ratio_.sum()),
                 first_ratios=[float(v) for v in p.explained_variance_ratio_[:5]])
        if pca50 is None:
            pca50 = p
    if pca50 is None:
        return
    z = pca50.transform(x[:10_000])
    y10 = y[:10_000]
    if "ward" in on:
        s, a = timed(lambda: AgglomerativeClustering(n_clusters=10, linkage="ward").fit(z))
        emit(case="ward", seconds=s, ari=adjusted_rand_score(y10, a.labels_))
    if "dbscan" in on:
        s, d = timed(lambda: DBSCAN(eps=3.0, min_samples=10).fit(z))
        emit(case="dbscan", seconds=s, clusters=int(d.labels_.max() + 1),
             noise=int((d.labels_ == -1).sum()))
    if "hdbscan" in on:
        s, h = timed(lambda: HDBSCAN(min_cluster_size=25, copy=True).fit(z))
        emit(case="hdbscan", seconds=s, clusters=int(h.labels_.max() + 1),
             noise=int((h.labels_ == -1).sum()), ari=adjusted_rand_score(y10, h.labels_))


if __name__ == "__main__":
    main()
