#!/usr/bin/env python3
"""Throughput of `bp-par train` on MPI ranks against one threaded process, on one machine.

Build first: cargo build --release --features mpi. Then:
    python3 benches/mpi_scaling.py [--reps 3] [--epochs 3] [--data FILE] [--test FILE]

Each repetition runs every configuration once, in turn (so the machine's noise falls on all
of them alike): one process with 1 and 2 threads, and mpirun -np 2 and -np 4 (oversubscribed
on a 2-core machine) with 1 thread per rank, for each batch/shard pair. From `--json` it takes
the mean epoch time, and on ranks rank 0's time in the exchange and in the steps. Prints a
Markdown table of medians with their spread, and the per-step figures the scaling estimate
in docs/PERFORMANCE.md uses.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "bp-par")
ENV = dict(
    os.environ,
    OMPI_ALLOW_RUN_AS_ROOT="1",
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
    OMPI_MCA_rmaps_base_oversubscribe="1",
    OMPI_MCA_btl_vader_single_copy_mechanism="none",
)


def run(np_, threads, batch, shard, args):
    cmd = [BIN, "train", args.data, "--test", args.test, "--epochs", str(args.epochs), "--batch", str(batch),
           "--shard-size", str(shard), "--threads", str(threads), "--json", "--quiet"]
    if np_ > 0:
        cmd = ["mpirun", "-np", str(np_)] + cmd
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def spread(values):
    med = statistics.median(values)
    return f"{med:.3f} ({min(values):.3f}-{max(values):.3f})"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--data", default="datasets/mnist/train-images-idx3-ubyte.gz")
    p.add_argument("--test", default="datasets/mnist/t10k-images-idx3-ubyte.gz")
    args = p.parse_args()
    configs = []
    for batch, shard in [(64, 32), (256, 64)]:
        configs += [(0, 1, batch, shard), (0, 2, batch, shard), (2, 1, batch, shard)]
        if batch // shard >= 4:
            configs.append((4, 1, batch, shard))
    results = {c: [] for c in configs}
    models = {}
    for rep in range(args.reps):
        for c in configs:
            r = run(*c, args)
            results[c].append(r)
            # Every configuration of a batch/shard pair must reach the same figures.
            key = (c[2], c[3])
            figures = (r["train_loss"], r["held_out_loss"])
            if models.setdefault(key, figures) != figures:
                sys.exit(f"configuration {c} reached {figures}, others {models[key]}")
        print(f"repetition {rep + 1} done", file=sys.stderr)
    print("| batch / shard | run | s per epoch, median (range) | exchange, % of step time | steps |")
    print("|---|---|---|---|---|")
    for c in configs:
        np_, threads, batch, shard = c
        rs = results[c]
        who = f"1 process, {threads} thread{'s' if threads > 1 else ''}" if np_ == 0 else f"mpirun -np {np_}, 1 thread each"
        epoch = spread([r["mean_epoch_seconds"] for r in rs])
        if np_ > 0:
            share = spread([100 * r["exchange_seconds"] / r["step_seconds"] for r in rs])
            steps = rs[0]["steps"]
            per_step = statistics.median([r["exchange_seconds"] / r["steps"] * 1e6 for r in rs])
            exch = f"{share} %, {per_step:.0f} us/step, {rs[0]['bytes_sent_per_step']} B/step"
        else:
            steps = ""
            exch = ""
        print(f"| {batch} / {shard} | {who} | {epoch} | {exch} | {steps} |")
    # Per-step compute on one core, for the scaling estimate.
    for batch, shard in [(64, 32), (256, 64)]:
        rs = results[(0, 1, batch, shard)]
        n = 60000
        per_sample = statistics.median([r["mean_epoch_seconds"] / n for r in rs])
        print(f"one core: {per_sample * 1e6:.2f} us per sample at batch {batch}", file=sys.stderr)


if __name__ == "__main__":
    main()
