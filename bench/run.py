#!/usr/bin/env python3
"""Side-by-side runner: dlscope against its peers on the same machine, in the same run.

    python3 bench/run.py read [--repeat 5]        # whole-process wall time
    python3 bench/run.py mlp|cnn|vision|ml        # the time each side reports for the same work

`read`: each case runs dlscope and every peer alternately `--repeat` times, takes the median wall
time of the whole process (start-up included, as a user sees it), and prints a markdown table with
the ratio dlscope / peer (below 1.0 = dlscope faster).
`mlp`, `cnn`: training from scratch, one run per seed and side, alternating; each side prints
one JSON line whose `seconds` covers preprocessing + training (data already decoded) and whose
`test_accuracy` is on the 10,000 test images; the table shows both and the time ratio.
`vision`: `dlscope classify` vs bench/vision_pytorch.py on the fixture photos, images/s whole
run and in the network alone (ratio = dlscope rate / PyTorch rate, above 1.0 = dlscope faster).
`analyze`: `dlscope analyze folder:DIR --no-html --json` vs bench/peers/cleanvision_analyze.py
(CleanVision's Imagelab with the overlapping issue types, n_jobs 2) on a Fashion-MNIST PNG folder
and on ImageNet-like JPEG folders (bench/make_jpeg_folder.py) of `--sizes` images: whole-process
wall time (median of `--repeat`), peak RSS (wait4 of the child; CleanVision's worker processes
included), then per folder an agreement table: images flagged per issue type by each tool and
their recall of the injected copies.
`ml`: `cargo bench -p dlscope-ml --bench ml_bench` vs bench/sklearn_ml.py, case by case, median
of `--repeat` fits (`seconds` of the fit alone) and the quality numbers.
All peers get 2 threads (OMP/OpenBLAS/MKL), dlscope `--threads 2` / RAYON_NUM_THREADS=2.
Paste the table into BENCHMARKS.md together with the command line. Nothing else may run on the
machine meanwhile.
"""
import argparse, json, os, platform, re, statistics, subprocess, sys, time

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
    subprocess.run(["cargo", "bench", "--no-run", "-p", "dlscope-nn", "-p", "dlscope-ml"], cwd=ROOT, check=True)


def run_checked(cmd, env=None, cwd=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return dt, p


def timed(cmd, env=None, cwd=None):
    dt, p = run_checked(cmd, env, cwd)
    return dt, p.stdout


def timed_stderr(cmd, env=None, cwd=None):
    dt, p = run_checked(cmd, env, cwd)
    return dt, p.stderr


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


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def ours_env(threads=2):
    env = dict(os.environ)
    env["RAYON_NUM_THREADS"] = str(threads)
    return env


def train_group(model, seeds, repeat):
    """MLP/CNN training side by side: one row per seed."""
    nn_bench = ["cargo", "bench", "-q", "-p", "dlscope-nn", "--bench", "fashion", "--"]
    extra = ["--optimizer", "adam", "--epochs", "3"] if model == "cnn" else []
    peer = os.path.join(HERE, f"{model}_pytorch.py")
    rows = []
    for seed in seeds:
        ours_runs, peer_runs = [], []
        for _ in range(repeat):
            dt, out = timed(nn_bench + ["--model", model, "--seed", str(seed), "--threads", "2"] + extra,
                            env=ours_env(), cwd=ROOT)
            ours_runs.append(json_lines(out)[-1])
            dt, out = timed([sys.executable, peer, "--seed", str(seed), "--threads", "2"], env=peer_env(2))
            peer_runs.append(json_lines(out)[-1])
        o = statistics.median(r["seconds"] for r in ours_runs)
        p = statistics.median(r["seconds"] for r in peer_runs)
        rows.append({"seed": seed, "dlscope_s": o, "dlscope_acc": ours_runs[0]["test_accuracy"],
                     "gflops": ours_runs[0].get("gflops"), "pytorch_s": p,
                     "pytorch_acc": peer_runs[0]["test_accuracy"], "ratio": o / p})
    print(f"| seed | dlscope (s) | dlscope test acc | GFLOP/s | PyTorch (s) | PyTorch test acc | ratio dlscope/PyTorch |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        g = f"{r['gflops']:.1f}" if r["gflops"] else "-"
        print(f"| {r['seed']} | {r['dlscope_s']:.2f} | {r['dlscope_acc']:.4f} | {g} | {r['pytorch_s']:.2f} | "
              f"{r['pytorch_acc']:.4f} | {r['ratio']:.2f} |")
    mean = lambda k: statistics.mean(r[k] for r in rows)
    print(f"| mean | {mean('dlscope_s'):.2f} | {mean('dlscope_acc'):.4f} | | {mean('pytorch_s'):.2f} | "
          f"{mean('pytorch_acc'):.4f} | {mean('dlscope_s') / mean('pytorch_s'):.2f} |")
    return rows


RATE = re.compile(r"([0-9.]+) images/s \(([0-9.]+) images/s in the network\)")


def vision_group(repeat):
    fx = os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "imagenet")
    images = os.path.join(fx, "images")
    vgg = os.path.join(OUT, "vgg16.safetensors")
    if not os.path.exists(vgg):
        sh([sys.executable, os.path.join(HERE, "vision_pytorch.py"), "--write-vgg16-weights", vgg])
    lite = os.path.join(fx, "efficientnet_lite0.safetensors")
    cases = [("vgg16", vgg, 4), ("efficientnet-lite0", lite, 20)]
    rows = []
    for model, weights, rep in cases:
        ours, peer = [], []
        for _ in range(repeat):
            _, err = timed_stderr([DLSCOPE, "classify", "--model", model, "--weights", weights, "--threads", "2",
                                   "--batch-size", "8"] + [images] * rep, env=ours_env())
            m = RATE.search(err)
            if not m:
                sys.exit(f"no rate in dlscope output: {err[-500:]}")
            ours.append((float(m.group(1)), float(m.group(2))))
            _, out = timed([sys.executable, os.path.join(HERE, "vision_pytorch.py"), "--model", model, "--weights",
                            weights, "--threads", "2", "--batch-size", "8", "--repeat", str(rep), images],
                           env=peer_env(2))
            j = json_lines(out)[-1]
            peer.append((j["images_per_second"], j["network_images_per_second"]))
        o = [statistics.median(x[i] for x in ours) for i in (0, 1)]
        p = [statistics.median(x[i] for x in peer) for i in (0, 1)]
        rows.append((model, o, p))
    print("| model | dlscope images/s (network) | PyTorch images/s (network) | ratio dlscope/PyTorch rate (network) |")
    print("|---|---:|---:|---:|")
    for model, o, p in rows:
        print(f"| {model} | {o[0]:.2f} ({o[1]:.2f}) | {p[0]:.2f} ({p[1]:.2f}) | {o[0] / p[0]:.2f} ({o[1] / p[1]:.2f}) |")
    return rows


ML_PAIRS = [("kmeans", "kmeans"), ("kmeans_seeds", "kmeans_seeds"), ("minibatch", "minibatch"), ("pca_exact", "pca_full"),
            ("pca_randomized", "pca_randomized"), ("ward", "ward"), ("dbscan", "dbscan"), ("hdbscan", "hdbscan")]
ML_QUALITY = ["inertia", "inertia_min", "inertia_max", "iterations", "ari", "explained_variance_ratio_sum", "n_clusters"]


def ml_group(repeat):
    ours_runs, peer_runs = [], []
    for _ in range(repeat):
        _, out = timed(["cargo", "bench", "-q", "-p", "dlscope-ml", "--bench", "ml_bench"], env=ours_env(), cwd=ROOT)
        ours_runs.append({j["case"]: j for j in json_lines(out)})
        _, out = timed([sys.executable, os.path.join(HERE, "sklearn_ml.py")], env=peer_env(2))
        peer_runs.append({j["case"]: j for j in json_lines(out)})
    print("| case | dlscope (s) | scikit-learn (s) | ratio | dlscope quality | scikit-learn quality |")
    print("|---|---:|---:|---:|---|---|")
    rows = []
    for ours, peer in ML_PAIRS:
        if ours not in ours_runs[0] or peer not in peer_runs[0]:
            continue
        o = statistics.median(r[ours]["seconds"] for r in ours_runs)
        p = statistics.median(r[peer]["seconds"] for r in peer_runs)
        q = lambda j: ", ".join(f"{k} {j[k]:.6g}" if isinstance(j[k], float) else f"{k} {j[k]}"
                                for k in ML_QUALITY if k in j)
        rows.append((ours, o, p))
        print(f"| {ours} | {o:.3f} | {p:.3f} | {o / p:.2f} | {q(ours_runs[0][ours])} | {q(peer_runs[0][peer])} |")
    return rows


def wait_rss(cmd, env=None):
    """Runs `cmd` to completion; returns (wall seconds, peak RSS MiB of the process, stdout)."""
    import tempfile
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if p.returncode != 0:
            sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{err.read()[-2000:]}")
        return dt, ru.ru_maxrss / 1024, out.read()


# dlscope finding kind -> CleanVision issue type, and the truth kinds of make_jpeg_folder.py
# whose copies (and, for duplicates, their sources) should be flagged.
AGREE = [("exact_duplicate", "exact_duplicates", "exact", True),
         ("near_duplicate", "near_duplicates", "near", True),
         ("dark", "dark", "dark", False), ("light", "light", "light", False),
         ("blurry", "blurry", "blurry", False), ("grayscale", "grayscale", "grayscale", False),
         ("low_information", "low_information", None, False),
         ("odd_size", "odd_size", None, False), ("odd_aspect_ratio", "odd_aspect_ratio", None, False)]


def analyze_cases(sizes):
    """(title, folder, truth csv or None) per case; inputs are generated once under bench/out."""
    cases = []
    n = sizes[0]
    png = os.path.join(OUT, f"png{n // 1000}k" if n % 1000 == 0 else f"png{n}")
    if not os.path.isdir(png):
        sh([sys.executable, os.path.join(HERE, "make_png_folder.py"), FMNIST, png, str(sizes[0])])
    cases.append((f"Fashion-MNIST PNG folder, {sizes[0]:,} images 28x28 grey", png, None))
    for n in sizes[1:]:
        d = os.path.join(OUT, f"jpeg{n}")
        if not os.path.exists(os.path.join(d, "truth.csv")):
            sh([sys.executable, os.path.join(HERE, "make_jpeg_folder.py"), d, str(n)])
        cases.append((f"ImageNet-like JPEG folder, {n:,} images ~500x375", d, os.path.join(d, "truth.csv")))
    return cases


def agreement(folder, truth_csv, findings_csv, cv_flagged):
    """Per issue type: dlscope count, CleanVision count, each one's recall of the injected truth."""
    import csv
    ours = {}
    with open(findings_csv, newline="") as f:
        for r in csv.DictReader(f):
            ours.setdefault(r["kind"], set()).add(r["id"].replace("\\", "/"))
    with open(cv_flagged) as f:
        peer = {k: set(v) for k, v in json.load(f).items()}
    truth = {}
    if truth_csv:
        with open(truth_csv, newline="") as f:
            for r in csv.DictReader(f):
                truth.setdefault(r["kind"], []).append(r)
    rows = []
    for kind, cv_type, tkind, pairs in AGREE:
        o, p = ours.get(kind, set()), peer.get(cv_type, set())
        pos = set()
        for r in truth.get(tkind, []) if tkind else []:
            pos.add("images/" + r["file"])
            if pairs:
                pos.add("images/" + r["source"])
        rec = lambda got: (len(pos & got) / len(pos)) if pos else None
        rows.append({"kind": kind, "dlscope": len(o), "cleanvision": len(p), "both": len(o & p),
                     "truth": len(pos), "dlscope_recall": rec(o), "cleanvision_recall": rec(p)})
    return rows


def analyze_group(a):
    sizes = [int(x) for x in a.sizes.split(",")]
    cv = [sys.executable, os.path.join(HERE, "peers", "cleanvision_analyze.py"), "--n-jobs", "2"]
    rows, agree = [], {}
    for title, folder, truth_csv in analyze_cases(sizes):
        ours_t, ours_rss, peer_t, peer_rss = [], [], [], []
        out_dir = os.path.join(OUT, "analyze-out")
        flagged = os.path.join(OUT, "cleanvision-flagged.json")
        for _ in range(a.repeat):
            dt, rss, _ = wait_rss([DLSCOPE, "analyze", "folder:" + folder, "--out", out_dir, "--force",
                                   "--no-html", "--json"], env=ours_env())
            ours_t.append(dt), ours_rss.append(rss)
            dt, rss, out = wait_rss(cv + [folder, "--flagged", flagged], env=peer_env(2))
            j = json_lines(out)[-1]
            peer_t.append(dt), peer_rss.append(max(rss, j["children_peak_rss_mib"]))
        o, p = statistics.median(ours_t), statistics.median(peer_t)
        rows.append({"case": title, "dlscope_s": o, "dlscope_rss_mib": max(ours_rss), "cleanvision_s": p,
                     "cleanvision_in_process_s": j["seconds"], "cleanvision_rss_mib": max(peer_rss),
                     "ratio": o / p})
        agree[title] = agreement(folder, truth_csv, os.path.join(out_dir, "findings.csv"), flagged)
    print("| case | dlscope (s) | dlscope peak RSS (MiB) | CleanVision (s) | CleanVision peak RSS (MiB) "
          "| ratio dlscope/CleanVision |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['dlscope_s']:.2f} | {r['dlscope_rss_mib']:.0f} | {r['cleanvision_s']:.2f} | "
              f"{r['cleanvision_rss_mib']:.0f} | {r['ratio']:.2f} |")
    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    for title, table in agree.items():
        print(f"\nAgreement, {title} (images flagged; recall of the injected copies"
              f"{' and their sources for duplicates' if 'JPEG' in title else ''}):\n")
        print("| issue | dlscope | CleanVision | both | injected | dlscope recall | CleanVision recall |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in table:
            print(f"| {r['kind']} | {r['dlscope']} | {r['cleanvision']} | {r['both']} | {r['truth'] or '-'} | "
                  f"{fmt(r['dlscope_recall'])} | {fmt(r['cleanvision_recall'])} |")
    return {"timing": rows, "agreement": agree}


JSON_GROUPS = {
    "mlp": lambda a: train_group("mlp", [1, 2, 3], a.repeat),
    "cnn": lambda a: train_group("cnn", [1], a.repeat),
    "vision": lambda a: vision_group(a.repeat),
    "ml": lambda a: ml_group(a.repeat),
    "analyze": analyze_group,
}
GROUPS = {"read": case_read}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group", choices=sorted(list(GROUPS) + list(JSON_GROUPS)))
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per case (default 5 for read, 1 for the others)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--sizes", default="10000,2000,20000",
                    help="analyze: PNG folder size, then JPEG folder sizes (comma-separated)")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if not a.no_build:
        build()
    if a.group in JSON_GROUPS:
        a.repeat = a.repeat or 1
        print(f"\n{platform.node()} {os.cpu_count()} cores, median of {a.repeat}, `python3 bench/run.py {a.group}`\n")
        rows = JSON_GROUPS[a.group](a)
        with open(os.path.join(OUT, f"results-{a.group}.json"), "w") as f:
            json.dump(rows, f, indent=1)
        return
    a.repeat = a.repeat or 5
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
