#!/usr/bin/env bash
# Issue 23's sixteen-core sweep in one prepared run: `bp-par bench` at 1..N threads, batch 64,
# 256 and 1024 (shard = batch: every batch cut inside the layers), 784-128-10 sigmoid, with
# its tasks per phase and the threads' busy shares, written as CSV, JSON and a plot.
#
#     benches/thread_sweep.sh [BINARY] [OUT_DIR] [THREADS]
#
# BINARY defaults to target/release/bp-par, OUT_DIR to target/sweep, THREADS to
# 1,2,4,8,12,16. On the device machine (no Rust there), carry the built binary:
#     run(command="bash benches/thread_sweep.sh target/release/bp-par $OUT", carry=["target/release/bp-par"])
# About two minutes on 16 cores. Efficiency = speed-up / threads, against the 1-thread row of
# the same batch in the same run.
set -euo pipefail
bin="${1:-target/release/bp-par}"
out="${2:-target/sweep}"
threads="${3:-1,2,4,8,12,16}"
mkdir -p "$out"
"$bin" bench --help >/dev/null
nproc > "$out/nproc.txt"
lscpu > "$out/lscpu.txt" 2>/dev/null || true
for batch in 64 256 1024; do
    "$bin" bench --threads "$threads" --batch "$batch" --shard-size "$batch" --activation sigmoid \
        --repeats 3 --samples 61440 -o "$out/sweep-b$batch.csv" --plot "$out/sweep-b$batch.svg" \
        --json > "$out/sweep-b$batch.json"
done
python3 - "$out" <<'PY' || true
import json, sys, glob
for f in sorted(glob.glob(sys.argv[1] + "/sweep-b*.json"), key=lambda f: int(f.split("-b")[-1][:-5])):
    d = json.load(open(f))
    for r in d["rows"]:
        eff = r.get("efficiency")
        print(f"batch {r['batch']:5d} threads {r['threads']:3d} team {r['team']:3d} "
              f"{r['samples_per_s']['median'] / 1e3:8.1f}k samples/s  {r['pct_peak']:5.1f}% of peak  "
              f"efficiency {'-' if eff is None else f'{eff:.2f}'}  busy {r['busiest_thread_pct']:.0f}/{r['idlest_thread_pct']:.0f}%")
PY
