#!/usr/bin/env python3
"""CleanVision on an image folder, with the issue types that overlap `dlscope analyze`.

    python3 bench/peers/cleanvision_analyze.py FOLDER [--n-jobs 2] [--flagged OUT.json]

Runs `Imagelab(data_path=FOLDER).find_issues(...)` with exact_duplicates, near_duplicates, dark,
light, blurry, low_information, odd_aspect_ratio, odd_size and grayscale (CleanVision's default
thresholds) and prints one JSON line: seconds (Imagelab construction + find_issues), images,
counts per issue type (images flagged), peak RSS in MiB of this process and of its worker
processes. `--flagged` also writes the flagged files per type (paths relative to FOLDER).
"""
import argparse, contextlib, io, json, os, resource, sys, time

TYPES = ["exact_duplicates", "near_duplicates", "dark", "light", "blurry", "low_information",
         "odd_aspect_ratio", "odd_size", "grayscale"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--flagged")
    a = ap.parse_args()
    from cleanvision import Imagelab

    folder = os.path.abspath(a.folder)
    t0 = time.perf_counter()
    # CleanVision prints progress and summaries to stdout: keep stdout for the JSON line.
    with contextlib.redirect_stdout(io.StringIO()):
        lab = Imagelab(data_path=folder)
        lab.find_issues(issue_types={t: {} for t in TYPES}, n_jobs=a.n_jobs, verbose=False)
    seconds = time.perf_counter() - t0
    issues = lab.issues
    counts, flagged = {}, {}
    for t in TYPES:
        col = f"is_{t}_issue"
        rows = issues.index[issues[col]] if col in issues.columns else []
        counts[t] = int(len(rows))
        flagged[t] = sorted(os.path.relpath(p, folder) for p in rows)
    kib = lambda who: resource.getrusage(who).ru_maxrss
    out = {"tool": "cleanvision", "seconds": seconds, "images": int(len(issues)), "counts": counts,
           "peak_rss_mib": kib(resource.RUSAGE_SELF) / 1024,
           "children_peak_rss_mib": kib(resource.RUSAGE_CHILDREN) / 1024}
    if a.flagged:
        with open(a.flagged, "w") as f:
            json.dump(flagged, f, indent=1)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
