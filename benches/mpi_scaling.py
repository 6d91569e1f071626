#!/usr/bin/env python3
"""Throughput of `bp-par train` on MPI ranks against one threaded process, on one machine.

Build first: cargo build --release --features mpi. Then:
    python3 benches/mpi_scaling.py [--reps 3] [--epochs 3] [--data FILE] [--test FILE]
    python3 benches/mpi_scaling.py --estimate SECONDS_PER_SAMPLE_ON_ONE_CORE

The second form prints the on-paper scaling to 2-16 nodes (docs/PERFORMANCE.md) from a
measured per-sample time, without running anything.

Each repetition runs every configuration once, in turn (so the machine's noise falls on all
of them alike): one process with 1 and 2 threads, and mpirun -np 2 and -np 4 (oversubscribed
on a 2-core machine) with 1 thread per rank, for each batch/shard pair. From `--json` it takes
the mean epoch time, and on ranks rank 0's time in the exchange and in the steps. Prints a
Markdown table of medians with their spread, and the per-step figures the scaling estimate
in docs/PERFORMANCE.md uses.
"""

import argparse
import json
import math
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


GRADIENT_BYTES = 4 * 101770  # 784-128-10: 4P
NETWORKS = {"10 Gbit/s": (1.25e9, 20e-6), "100 Gbit/s": (12.5e9, 3e-6)}  # bytes/s, s per message
CORES = 16


def exchange_seconds(ranks, bandwidth, latency):
    """One step's exchange per rank: an all-to-all (ranks - 1 messages) and an all-gather of
    2 (R - 1) / R of the gradient's bytes, plus log2 R messages each for the all-gather and the
    two small collectives (the shards' losses, the stop vote)."""
    if ranks == 1:
        return 0.0
    log = math.ceil(math.log2(ranks))
    return 2 * (ranks - 1) / ranks * GRADIENT_BYTES / bandwidth + latency * ((ranks - 1) + 3 * log)


def estimate(per_sample):
    """Speed-up of R nodes of CORES cores (perfect scaling inside a node) over one node."""
    print(f"one core: {per_sample * 1e6:.2f} us per sample; nodes of {CORES} cores; 4P = {GRADIENT_BYTES} B")
    print("| nodes | exchange per step, 10 / 100 Gbit/s | batch 256 | batch 1024 | batch 4096 | exchange = compute at batch |")
    print("|---|---|---|---|---|---|")
    for ranks in [2, 4, 8, 16]:
        ex = [exchange_seconds(ranks, *NETWORKS[n]) for n in NETWORKS]
        cells = []
        for batch in [256, 1024, 4096]:
            one = batch * per_sample / CORES
            cells.append(" / ".join(f"{one / (one / ranks + x):.2f}x" for x in ex))
        even = " / ".join(f"{x * ranks * CORES / per_sample:,.0f}" for x in ex)
        times = " / ".join(f"{x * 1e6:.0f}" for x in ex)
        print(f"| {ranks} | {times} us | " + " | ".join(cells) + f" | {even} |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--estimate", type=float, help="seconds per sample on one core: print the estimate only")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--data", default="datasets/mnist/train-images-idx3-ubyte.gz")
    p.add_argument("--test", default="datasets/mnist/t10k-images-idx3-ubyte.gz")
    args = p.parse_args()
    if args.estimate:
        estimate(args.estimate)
        return
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
