#!/usr/bin/env python3
"""The numpy + BLAS reference for `bp-par bench --compare numpy`.

The same model and update as bp-par: an MLP with sigmoid/tanh/relu hidden units and a
softmax + cross-entropy output, weights `out x in`, mini-batch SGD with momentum
(v <- mu*v - lr*g/B ; w <- w + v), float32 throughout, hand-vectorised: every layer is one
BLAS GEMM per mini-batch (no per-sample loops), buffers reused where numpy allows.
Data are synthetic, uniform [0, 1) with uniform labels, like bp-par's synthetic bench data.

Set the BLAS thread count with --threads (it sets OPENBLAS/OMP/MKL_NUM_THREADS before numpy
is imported). Prints one JSON object: samples/s median, min, max over --repeats timings.

With --serve it prints {"ready": true} after the warm-up and then times one repetition for
every line read on stdin, printing {"samples_per_s": ...} for each, until stdin closes:
`bp-par bench --compare numpy` alternates these with its own repetitions, so that both are
measured under the same machine load.
"""
import argparse
import json
import os
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", default="784,128,10")
    p.add_argument("--activation", default="sigmoid", choices=["sigmoid", "tanh", "relu"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--samples", type=int, default=60000, help="timed samples per repetition")
    p.add_argument("--data", type=int, default=60000, help="rows of synthetic data")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=20, help="mini-batches before timing")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--serve", action="store_true", help="time one repetition per line on stdin")
    a = p.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import numpy as np

    sizes = [int(s) for s in a.layers.split(",")]
    rng = np.random.default_rng(1)
    X = rng.random((a.data, sizes[0]), dtype=np.float32)
    labels = rng.integers(0, sizes[-1], a.data)
    Y = np.zeros((a.data, sizes[-1]), dtype=np.float32)
    Y[np.arange(a.data), labels] = 1.0
    W = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        eps = np.sqrt(6.0 / (n_in + n_out))
        W.append(rng.uniform(-eps, eps, (n_out, n_in)).astype(np.float32))
    b = [np.zeros(n, dtype=np.float32) for n in sizes[1:]]
    vW = [np.zeros_like(w) for w in W]
    vb = [np.zeros_like(x) for x in b]
    lr, mu = np.float32(a.lr), np.float32(a.momentum)
    L = len(W)

    def act(z):
        if a.activation == "sigmoid":
            np.negative(z, out=z); np.exp(z, out=z); z += 1; np.reciprocal(z, out=z)
        elif a.activation == "tanh":
            np.tanh(z, out=z)
        else:
            np.maximum(z, 0, out=z)
        return z

    def dact(d, h):
        if a.activation == "sigmoid":
            d *= h * (1 - h)
        elif a.activation == "tanh":
            d *= 1 - h * h
        else:
            d *= h > 0

    def step(idx):
        x, y = X[idx], Y[idx]
        B = x.shape[0]
        hs = [x]
        for l in range(L):
            z = hs[-1] @ W[l].T
            z += b[l]
            if l < L - 1:
                hs.append(act(z))
            else:
                z -= z.max(axis=1, keepdims=True)
                np.exp(z, out=z)
                z /= z.sum(axis=1, keepdims=True)
                hs.append(z)
        d = hs[-1] - y
        scale = lr / np.float32(B)
        for l in range(L - 1, -1, -1):
            gW = d.T @ hs[l]
            gb = d.sum(axis=0)
            if l > 0:
                d = d @ W[l]
                dact(d, hs[l])
            vW[l] *= mu; vW[l] -= scale * gW; W[l] += vW[l]
            vb[l] *= mu; vb[l] -= scale * gb; b[l] += vb[l]

    order = rng.permutation(a.data)
    pos = 0

    def run(n_batches):
        nonlocal order, pos
        for _ in range(n_batches):
            if pos >= a.data:
                order = rng.permutation(a.data)
                pos = 0
            step(order[pos:pos + a.batch])
            pos += a.batch

    run(a.warmup)
    steps = -(-a.samples // a.batch)
    if a.serve:
        print(json.dumps({"ready": True, "numpy": np.__version__}), flush=True)
        for _ in sys.stdin:
            t = time.perf_counter()
            run(steps)
            print(json.dumps({"samples_per_s": steps * a.batch / (time.perf_counter() - t)}), flush=True)
        return
    rates = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        run(steps)
        rates.append(steps * a.batch / (time.perf_counter() - t))
    rates.sort()
    n = len(rates)
    median = rates[n // 2] if n % 2 else 0.5 * (rates[n // 2 - 1] + rates[n // 2])
    json.dump({"peer": "numpy", "numpy": np.__version__, "threads": a.threads, "batch": a.batch,
               "samples_per_s": {"median": median, "min": rates[0], "max": rates[-1]}}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
