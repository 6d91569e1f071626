#!/usr/bin/env python3
"""The load path's figure (issue 23): a one-epoch MNIST `bp-par train` timed as a whole process
beside its epoch, for one or more builds, runs alternating between them.

    python3 benches/one_epoch.py [--runs 7] [--data PATH] BINARY [BINARY ...]

Prints, per build, the medians (min-max) of the wall time, of the epoch time (the run's own
`mean_epoch_seconds`) and of their ratio, run by run.
"""
import argparse
import json
import statistics
import subprocess
import time


def one(binary, data):
    cmd = [binary, "train", data, "--epochs", "1", "--val-split", "0", "--json", "-q"]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    epoch = json.loads(out)["mean_epoch_seconds"]
    return wall, epoch


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("binaries", nargs="+")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--data", default="datasets/mnist/train-images-idx3-ubyte.gz")
    a = p.parse_args()
    got = {b: [] for b in a.binaries}
    for _ in range(a.runs):
        for b in a.binaries:
            got[b].append(one(b, a.data))
    fmt = lambda v, f: f"{f(statistics.median(v))} ({f(min(v))}-{f(max(v))})"
    for b, runs in got.items():
        walls, epochs = [w for w, _ in runs], [e for _, e in runs]
        ratios = [w / e for w, e in runs]
        s = lambda x: f"{x:.2f} s"
        print(f"{b}: wall {fmt(walls, s)}, epoch {fmt(epochs, lambda x: f'{x:.3f} s')}, "
              f"wall/epoch {fmt(ratios, lambda x: f'{x:.1f}x')}")


if __name__ == "__main__":
    main()
