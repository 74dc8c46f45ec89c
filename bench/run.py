#!/usr/bin/env python3
"""Side-by-side runner: dlscope against its peers on the same machine, in the same run.

    python3 bench/run.py read [--repeat 5]

Each case runs dlscope and every peer alternately `--repeat` times, takes the median wall time
of the whole process (start-up included, as a user sees it), and prints a markdown table with the
ratio dlscope / peer (below 1.0 = dlscope faster). Paste the table into BENCHMARKS.md together
with the command line. Nothing else may run on the machine meanwhile.
"""
import argparse, json, os, platform, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
FMNIST = "/usr/share/datasets/fashion-mnist"
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
DLSCOPE = os.path.join(TARGET, "release", "dlscope")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def build():
    subprocess.run(["cargo", "build", "--release", "-p", "dlscope-cli"], cwd=ROOT, check=True)


def timed(cmd, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return dt, p.stdout


def peer_env(threads):
    env = dict(os.environ)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(threads)
    return env


def case_read():
    png = os.path.join(OUT, "png10k")
    if not os.path.isdir(png):
        sh([sys.executable, os.path.join(HERE, "make_png_folder.py"), FMNIST, png, "10000"])
    py = [sys.executable, os.path.join(HERE, "peers", "read_python.py")]
    return [
        ("Fashion-MNIST, all 70k images from the IDX .gz files",
         [DLSCOPE, "verify", "fashion-mnist", "--json"],
         [("numpy (gzip + frombuffer)", py + ["--idx", FMNIST])]),
        ("10k-image PNG folder (28x28 grey), decode all",
         [DLSCOPE, "verify", "folder:" + png, "--json"],
         [("PIL + numpy, 1 process", py + ["--folder", png]),
          ("PIL + numpy, 2 processes", py + ["--folder", png, "--procs", "2"])]),
    ]


GROUPS = {"read": case_read}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group", choices=sorted(GROUPS))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if not a.no_build:
        build()
    rows = []
    for title, ours, peers in GROUPS[a.group]():
        times = {"dlscope": []}
        for name, _ in peers:
            times[name] = []
        for _ in range(a.repeat):
            times["dlscope"].append(timed(ours)[0])
            for name, cmd in peers:
                times[name].append(timed(cmd, env=peer_env(2))[0])
        ours_med = statistics.median(times["dlscope"])
        for name, _ in peers:
            med = statistics.median(times[name])
            rows.append((title, ours_med, name, med, ours_med / med))
    print(f"\n{platform.node()} {os.cpu_count()} cores, median of {a.repeat}, `python3 bench/run.py {a.group}`\n")
    print("| case | dlscope (s) | peer | peer (s) | ratio dlscope/peer |")
    print("|---|---:|---|---:|---:|")
    for title, o, name, p, r in rows:
        print(f"| {title} | {o:.3f} | {name} | {p:.3f} | {r:.2f} |")
    with open(os.path.join(OUT, f"results-{a.group}.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
