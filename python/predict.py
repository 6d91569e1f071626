#!/usr/bin/env python3
"""A reference predictor for bp-par models in numpy: reads a model file and a CSV file and
writes the CSV `bp-par predict` writes, from the model's tensors and metadata alone.

    python3 python/predict.py model.safetensors data.csv [-o predictions.csv]

Needs numpy and the `safetensors` package (`python3 -m pip install numpy safetensors`).

It covers everything the model format allows: hidden activations sigmoid, tanh and relu;
outputs softmax (xent), sigmoid (mse, bce) and linear (mse with `--output linear`);
normalisation none, scale (divide by `divisor`) and zscore (tensors `normalize.mean` and
`normalize.std`); classifiers (`prediction,p0,p1,...`) and regression models (`y0,y1,...`).
The model file: safetensors with `layers.L.weight` (out x in, row-major), `layers.L.bias`,
and a JSON object under the metadata key "bp_par" (`layers`, `activations`, `task`,
`normalization`, `schema`).

Which columns are features: a row of exactly as many fields as the model has inputs is all
features. Otherwise, for a regression model, the last K fields are its targets; for a
classifier, the label column is dropped: `--label-col` if given, else the model's stored
label column (`schema.label.index`, for rows of `schema.n_columns` fields), else a header
column named label, class, target or y, else the first column (bp-par's rules).

Numbers are computed in float64 and written as bp-par writes float32 values (shortest
round-trip text, `1.5e-5` style outside [1e-3, 1e5)); they agree with `bp-par predict` to
about 1e-6 relative (bp-par computes in float32).
"""

import argparse
import csv
import gzip
import io
import json
import sys

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open

LABEL_NAMES = ("label", "class", "target", "y")


def read_model(path):
    """The model's metadata (a dict) and its layers [(weight, bias)] as float64 arrays."""
    with safe_open(path, framework="numpy") as f:
        meta = (f.metadata() or {}).get("bp_par")
    if meta is None:
        raise SystemExit(f"{path}: not a bp-par model (no \"bp_par\" metadata)")
    meta = json.loads(meta)
    tensors = load_file(path)
    n_layers = len(meta["layers"]) - 1
    layers = []
    for l in range(n_layers):
        w = tensors[f"layers.{l}.weight"].astype(np.float64)
        b = tensors[f"layers.{l}.bias"].astype(np.float64)
        layers.append((w, b))
    norm = meta["normalization"]
    if norm["kind"] == "zscore":
        norm = dict(norm, mean=tensors["normalize.mean"].astype(np.float64),
                    std=tensors["normalize.std"].astype(np.float64))
    return meta, layers, norm


def sigmoid(z):
    """1/(1 + e^-z) without overflow: e^-|z| is at most 1."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(z):
    """Row-wise softmax, shifted by the row maximum."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "softmax": softmax,
    "linear": lambda z: z,
}


def normalize(x, norm):
    """The model's input normalisation, applied to the raw features x (rows x inputs)."""
    kind = norm["kind"]
    if kind == "none":
        return x
    if kind == "scale":
        return x / float(norm["divisor"])
    if kind == "zscore":
        return (x - norm["mean"]) / norm["std"]
    raise SystemExit(f"unknown normalization kind {kind!r}")


def forward(meta, layers, norm, x):
    """The network's outputs for the raw features x: probabilities or real values."""
    a = normalize(x, norm)
    for (w, b), act in zip(layers, meta["activations"]):
        if act not in ACTIVATIONS:
            raise SystemExit(f"unknown activation {act!r} in the model")
        a = ACTIVATIONS[act](a @ w.T + b)
    return a


def open_text(path):
    """The file's text, gunzipped when it is gzip data."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8-sig")


def split_rows(text, delimiter):
    """The non-blank rows of text as lists of fields."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        return []
    if delimiter is None:
        first = lines[0]
        delimiter = next((d for d in (",", "\t", ";") if d in first), " ")
    if delimiter == " ":
        return [l.split() for l in lines]
    return [[f.strip() for f in row] for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)]


def is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def label_index(label_col, n_fields, names, meta):
    """The classifier's label column in rows of n_fields fields."""
    if label_col is not None:
        if label_col == "first":
            return 0
        if label_col == "last":
            return n_fields - 1
        if label_col.isdigit():
            return int(label_col)
        if names and label_col in names:
            return names.index(label_col)
        raise SystemExit(f"--label-col {label_col}: no such column")
    schema = meta.get("schema") or {}
    label = schema.get("label") or {}
    if label.get("index") is not None and schema.get("n_columns") == n_fields:
        return label["index"]
    if names:
        lowered = [n.strip().lower() for n in names]
        for want in LABEL_NAMES:
            if want in lowered:
                return lowered.index(want)
    return 0


def features(rows, meta, label_col, path):
    """The feature matrix (float64) of the CSV rows, the label or target columns dropped, and
    a classifier's labels (the dropped column's text) or None."""
    n_in = meta["layers"][0]
    names = None
    if rows and not all(is_number(f) for f in rows[0]):
        names, rows = rows[0], rows[1:]
    if not rows:
        raise SystemExit(f"{path}: no data rows")
    n_fields = len(rows[0])
    drop = None
    if n_fields == n_in:
        keep = list(range(n_fields))
    elif meta["task"] == "regress" and n_fields == n_in + meta["layers"][-1]:
        keep = list(range(n_in))
    elif meta["task"] == "classify" and n_fields == n_in + 1:
        drop = label_index(label_col, n_fields, names, meta)
        keep = [i for i in range(n_fields) if i != drop]
    else:
        raise SystemExit(f"{path}: rows have {n_fields} fields; the model takes {n_in} features")
    x = np.empty((len(rows), n_in), dtype=np.float64)
    for r, row in enumerate(rows):
        if len(row) != n_fields:
            raise SystemExit(f"{path}: data row {r + 1} has {len(row)} fields, expected {n_fields}")
        try:
            x[r] = [float(row[i]) for i in keep]
        except ValueError as e:
            raise SystemExit(f"{path}: data row {r + 1}: {e}")
    labels = None if drop is None else [label_text(row[drop].strip()) for row in rows]
    return x, labels


def label_text(field):
    """A label as bp-par writes it: an integer class as an integer (`3.0` is 3)."""
    return str(int(float(field))) if is_number(field) else field


def short(v):
    """A float32 value as bp-par writes it: shortest round-trip text, scientific outside
    [1e-3, 1e5) (Rust's `{}` and `{:e}` of f32)."""
    v = np.float32(v)
    if v != 0 and not (1e-3 <= abs(v) < 1e5):
        s = np.format_float_scientific(v, unique=True, trim="-", exp_digits=1)
        mantissa, exponent = s.split("e")
        return f"{mantissa}e{int(exponent)}"
    s = np.format_float_positional(v, unique=True, trim="-")
    return "-0" if s == "-0" else s


def write_csv(meta, out, labels, stream):
    """bp-par predict's CSV: `prediction,p0,...` for classifiers (`prediction,label,p0,...`
    when the rows had labels), `y0,...` for regression."""
    k = out.shape[1]
    classify = meta["task"] == "classify"
    head = (["prediction"] + [f"p{c}" for c in range(k)]) if classify else [f"y{c}" for c in range(k)]
    if labels is not None:
        head.insert(1, "label")
    lines = [",".join(head)]
    out32 = out.astype(np.float32)
    for i, row in enumerate(out32):
        vals = [short(v) for v in row]
        if labels is not None:
            vals.insert(0, labels[i])
        if classify:
            vals.insert(0, str(int(np.argmax(row))))
        lines.append(",".join(vals))
    stream.write("\n".join(lines) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description="Predict with a bp-par model in numpy (the reference).")
    p.add_argument("model", help="a bp-par model file (.safetensors)")
    p.add_argument("data", help="a CSV file (header optional; gzip allowed)")
    p.add_argument("-o", "--output", help="write the CSV here instead of stdout")
    p.add_argument("--label-col", help="the label column: first, last, an index or a header name")
    p.add_argument("--delimiter", help="field separator [default: detected: comma, tab, semicolon, whitespace]")
    args = p.parse_args(argv)
    meta, layers, norm = read_model(args.model)
    delimiter = {"tab": "\t", "space": " ", "whitespace": " "}.get(args.delimiter, args.delimiter)
    rows = split_rows(open_text(args.data), delimiter)
    x, labels = features(rows, meta, args.label_col, args.data)
    out = forward(meta, layers, norm, x)
    if args.output:
        with open(args.output, "w") as f:
            write_csv(meta, out, labels, f)
    else:
        write_csv(meta, out, labels, sys.stdout)


if __name__ == "__main__":
    main()
