#!/usr/bin/env python3
"""The Python package's fit against `bp-par train` and scikit-learn's MLPClassifier, side by
side in one run (issue 20's benchmark).

MNIST's 60,000 training images, 784-128-10 ReLU, mini-batches of 64, SGD with momentum 0.9
(classical), a constant rate 0.05, no L2, no validation split, 10 epochs, on 1 and 2
threads. Needs the package installed (`pip install ./python`) and the command line built
(`cargo build --release`):

    target/python-venv/bin/python benches/python_fit.py [--reps 3] [--epochs 10] [--sklearn-reps 1]

Each repetition runs, in turn for every thread count and each in a fresh process: `bp-par
train` on the gzipped IDX file (wall time of the whole process: reading, decompressing, the
analysis, training), and `bp_par.MLPClassifier.fit` on the images as numpy has them (uint8,
n x 784: the conversion to float32 is in the time, as the normalisation is; reading the file
is not). scikit-learn's MLPClassifier gets the same settings on float32 pixels scaled to
[0, 1] (scaling not timed), its BLAS limited to the same threads (threadpoolctl). Prints a
Markdown table of medians with min-max.
"""

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.path.join(ROOT, "target", "release", "bp-par")
IMAGES = os.path.join(ROOT, "datasets", "mnist", "train-images-idx3-ubyte.gz")
LABELS = os.path.join(ROOT, "datasets", "mnist", "train-labels-idx1-ubyte.gz")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def time_cli(threads, epochs):
    cmd = [BIN, "train", IMAGES, "--hidden", "128", "--activation", "relu", "--batch", "64", "--optimizer", "sgd",
           "--lr", "0.05", "--momentum", "0.9", "--lr-schedule", "constant", "--val-split", "0",
           "--epochs", str(epochs), "--seed", "1", "--threads", str(threads), "-q"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def params(epochs):
    return dict(hidden_layer_sizes=(128,), activation="relu", solver="sgd", batch_size=64, learning_rate_init=0.05,
                momentum=0.9, nesterovs_momentum=False, learning_rate="constant", alpha=0.0, max_iter=epochs,
                tol=0.0, n_iter_no_change=epochs + 1, random_state=1, shuffle=True)


def in_worker(kind, threads, epochs):
    """One timed fit in a fresh process (no BLAS threads or memory left by the other runs)."""
    out = subprocess.run([sys.executable, __file__, "--worker", kind, "--threads", str(threads),
                          "--epochs", str(epochs)], check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def worker(kind, threads, epochs):
    X, y = read_idx(IMAGES), read_idx(LABELS)
    if kind == "package":
        print(time_package(X, y, threads, epochs))
    else:
        print(time_sklearn((X.reshape(len(X), -1) / np.float32(255)).astype(np.float32), y, threads, epochs))


def time_package(X, y, threads, epochs):
    import bp_par

    clf = bp_par.MLPClassifier(n_jobs=threads, **params(epochs))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X.reshape(len(X), -1), y)
    return time.perf_counter() - start


def time_sklearn(X, y, threads, epochs):
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    clf = MLPClassifier(**params(epochs))
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start


def cell(times):
    med = statistics.median(times)
    return f"{med:.2f} s ({min(times):.2f}-{max(times):.2f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--sklearn-reps", type=int, default=1, help="0 leaves scikit-learn out")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--worker", choices=["package", "sklearn"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, int(args.threads), args.epochs)
    counts = [int(t) for t in args.threads.split(",")]
    cli = {t: [] for t in counts}
    pkg = {t: [] for t in counts}
    skl = {t: [] for t in counts}
    for rep in range(args.reps):
        for t in counts:
            cli[t].append(time_cli(t, args.epochs))
            pkg[t].append(in_worker("package", t, args.epochs))
            if rep < args.sklearn_reps:
                skl[t].append(in_worker("sklearn", t, args.epochs))
            print(f"rep {rep + 1} threads {t}: cli {cli[t][-1]:.2f} s, package {pkg[t][-1]:.2f} s"
                  + (f", scikit-learn {skl[t][-1]:.2f} s" if rep < args.sklearn_reps else ""), file=sys.stderr)
    print(f"| threads | `bp-par train` (process) | `MLPClassifier.fit` (package) | package / CLI | "
          f"scikit-learn {__import__('sklearn').__version__} | scikit-learn / package |")
    print("|---|---|---|---|---|---|")
    for t in counts:
        ratio = statistics.median(pkg[t]) / statistics.median(cli[t])
        sk = cell(skl[t]) if skl[t] else "-"
        speed = f"{statistics.median(skl[t]) / statistics.median(pkg[t]):.1f}x" if skl[t] else "-"
        print(f"| {t} | {cell(cli[t])} | {cell(pkg[t])} | {ratio:.3f} | {sk} | {speed} |")


if __name__ == "__main__":
    main()
