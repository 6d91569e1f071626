#!/usr/bin/env python3
"""A reference predictor for bp-par models in numpy: reads a model file and a data file and
writes the CSV `bp-par predict` writes, from the model's tensors and metadata alone.

    python3 python/predict.py model.safetensors data.csv [-o predictions.csv]
        [--label-col COL] [--delimiter SEP] [--missing mean|zero] [--labels y.npy]

Needs numpy and the `safetensors` package (`python3 -m pip install numpy safetensors`).

The model. Everything the format allows: hidden activations sigmoid, tanh and relu; outputs
softmax (xent), sigmoid (mse, bce) and linear (mse with `--output linear`); normalisation
none, scale (divide by `divisor`) and zscore (tensors `normalize.mean`, `normalize.std`);
classifiers and regression models. The file: safetensors with `layers.L.weight` (out x in,
row-major), `layers.L.bias`, and a JSON object under the metadata key "bp_par" (`layers`,
`activations`, `task`, `normalization`, `schema`). `forward` below is the whole network.

The data, read the way bp-par reads it for a model (pictures are bp-par's own business):
- CSV, gzipped or not. The separator is `--delimiter` (comma, semicolon, tab, whitespace or one
  character) or detected as bp-par does: of comma, tab, semicolon and whitespace, the one that
  splits the first 64 lines into the same number of fields, preferring the one that reads the
  most numbers. Under a semicolon a comma in a number is its decimal point (`1,5` is 1.5). The
  first line is a header when a field of it is text where the next line has a number, or when
  it is the columns' numbers (0..n-1 or 1..n, at least 5 fields: pandas' header for unnamed
  columns). `--skip-rows N` skips the first N lines (a summary line) as bp-par does.
- Which columns are features. A row as wide as the model's inputs is all features. Otherwise
  a regression model's last K fields are its targets; a one-hot model's (`schema.one_hot` K)
  last K fields are its label; a classifier's label column is `--label-col` (first, last, an
  index or a header name), else the model's stored one (`schema.label.index`, for rows of
  `schema.n_columns` fields), else a header column named label, class, target or y, else the
  first column if it holds the model's class numbers. A header must name the features the
  model was trained on (`schema.feature_names`), in order.
- Missing values (an empty field, NA, N/A, NaN, null or ?, in any case) are replaced by the
  model's stored `schema.missing_fill` (the training means of `--missing mean`, or zeros), or
  by 0 with `--missing zero`; a model that stores none refuses them, naming the first.
- Class labels: numbers, or for a model trained on names (`schema.class_names`) those names.
- MNIST's IDX format (raw or gzip): images (n x h x w) or rows (n x d), its labels from
  `--labels` or the file beside it by name (`*-images-idx3-ubyte` -> `*-labels-idx1-ubyte`).
- numpy: a `.npy` of features (samples x features, or samples x height x width), its labels
  from `--labels` or the file beside it by name (`x.npy` -> `y.npy`, `X_test.npy` ->
  `y_test.npy`, `images.npy` -> `labels.npy`); a `.npz` with x/y, X/y, x_test/y_test,
  data/labels, ... arrays. Found by their content, not their names.

The output: `prediction,label,p0,p1,...` for a classifier (no `label` column when the rows
have none), the prediction and the true label written as class names and the probability
columns headed `p_NAME` for a model of named classes (quoted when a name holds a comma or a
quote); `y0,y1,...` for a regression model. Numbers are computed in float64 and written as
bp-par writes float32 values (shortest round-trip text, `1.5e-5` style outside [1e-3, 1e5));
they agree with `bp-par predict` to about 1e-6 relative (bp-par computes in float32).
"""

import argparse
import csv
import gzip
import io
import json
import os
import re
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

LABEL_NAMES = ("label", "class", "target", "y")
MISSING = ("", "na", "n/a", "nan", "null", "?")
# A number as Rust's f64 parser takes it (Python's float() would also take `1_000`).
NUMBER = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)", re.I | re.A)


def fail(message):
    raise SystemExit(f"predict.py: {message}")


# ---- The model -------------------------------------------------------------------------

def read_model(path):
    """The model's metadata (a dict), its layers [(weight, bias)] as float64 arrays and its
    normalisation (with the zscore tensors)."""
    with safe_open(path, framework="numpy") as f:
        meta = (f.metadata() or {}).get("bp_par")
    if meta is None:
        fail(f"{path}: not a bp-par model (no \"bp_par\" metadata)")
    meta = json.loads(meta)
    tensors = load_file(path)
    layers = [(tensors[f"layers.{l}.weight"].astype(np.float64), tensors[f"layers.{l}.bias"].astype(np.float64))
              for l in range(len(meta["layers"]) - 1)]
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
    fail(f"unknown normalization kind {kind!r}")


def forward(meta, layers, norm, x):
    """The network's outputs for the raw features x: probabilities or real values."""
    a = normalize(x, norm)
    for (w, b), act in zip(layers, meta["activations"]):
        if act not in ACTIVATIONS:
            fail(f"unknown activation {act!r} in the model")
        a = ACTIVATIONS[act](a @ w.T + b)
    return a


# ---- numpy arrays ----------------------------------------------------------------------

NPZ_PAIRS = [("x", "y"), ("X", "y"), ("X", "Y"), ("x_train", "y_train"), ("X_train", "y_train"),
             ("x_test", "y_test"), ("X_test", "y_test"), ("data", "labels"), ("images", "labels"),
             ("features", "labels"), ("inputs", "targets")]


def sibling_labels(path):
    """The labels file beside a .npy of features, by bp-par's names for it, or None."""
    folder, name = os.path.split(path)
    if not name.endswith(".npy"):
        return None
    stem, names = name[:-4], []
    for x, y in (("x", "y"), ("X", "y"), ("X", "Y")):
        if stem == x:
            names.append(y)
        if stem.startswith(x + "_"):
            names.append(y + stem[len(x):])
        if stem.endswith("_" + x):
            names.append(stem[:-len(x)] + y)
    names += [stem.replace(a, "labels") for a in ("images", "features", "data") if a in stem]
    found = [os.path.join(folder, n + ".npy") for n in names]
    return next((f for f in found if os.path.isfile(f) and f != path), None)


def read_arrays(path, data, labels_path, classify):
    """The features (samples x features) and a classifier's labels (or None) of a .npy or .npz
    file."""
    arrays = np.load(io.BytesIO(data), allow_pickle=False)
    if isinstance(arrays, np.ndarray):
        labels_path = labels_path or sibling_labels(path)
        y = None if labels_path is None else np.load(labels_path, allow_pickle=False)
        x = arrays
    else:
        keys = arrays.files
        pairs = [(a, b) for a, b in NPZ_PAIRS if a in keys and b in keys]
        # Without labels: the one features-like array, or the only array.
        x_like = sorted({a for a, _ in NPZ_PAIRS if a in keys})
        lone = x_like if len(x_like) == 1 else keys if not x_like and len(keys) == 1 else []
        if len(pairs) > 1 or not (pairs or lone):
            fail(f"{path}: holds {keys}; expected one features/labels pair (x/y, data/labels, ...)")
        x, y = (arrays[pairs[0][0]], arrays[pairs[0][1]]) if pairs else (arrays[lone[0]], None)
    if not classify:
        y = None
    if x.ndim not in (2, 3, 4) or x.shape[0] == 0:
        fail(f"{path}: holds an array of shape {x.shape}; expected samples x features or images")
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    if not np.isfinite(x).all():
        fail(f"{path}: element {np.argwhere(~np.isfinite(x))[0].tolist()} is not a finite number")
    if y is not None:
        y = y.reshape(-1)
        if len(y) != len(x) or (y < 0).any() or (y != np.floor(y)).any():
            fail(f"{path}: the labels are not one whole number per sample")
        y = [int(v) for v in y]
    return x, y


# ---- CSV text --------------------------------------------------------------------------

def value(field, decimal_comma):
    """A trimmed field's number, or None for a missing value, or "text"."""
    if NUMBER.fullmatch(field):
        v = float(field)
        return None if np.isnan(v) else v
    if field.lower() in MISSING:
        return None
    if decimal_comma and "." not in field and field.count(",") == 1 and NUMBER.fullmatch(field.replace(",", ".")):
        return float(field.replace(",", "."))
    return "text"


def is_text(field, decimal_comma):
    """Whether a field (perhaps quoted) reads as text rather than a number or a missing value."""
    f = field.strip()
    if len(f) >= 2 and f[0] == f[-1] == '"':
        f = f[1:-1]
    return value(f, decimal_comma) == "text"


def split_line(line, sep):
    """One line's fields, trimmed; quotes are respected but kept (for detection)."""
    if sep == " ":
        return [f for f in re.split(r"[ \t]+", line) if f]
    fields, start, quoted = [], 0, False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c == sep and not quoted:
            fields.append(line[start:i].strip())
            start = i + 1
    return fields + [line[start:].strip()]


def detect_separator(path, sample):
    """bp-par's choice of separator for the file whose first non-blank lines are `sample`."""
    fits = []
    for sep in (",", "\t", ";", " "):
        counts = [len(split_line(l, sep)) for l in sample]
        rest = sample[1:] or sample
        numbers = sum(not is_text(f, sep == ";") for l in rest for f in split_line(l, sep))
        if counts[0] > 1:
            fits.append((sep, counts[0], counts.count(counts[0]), numbers))
    consistent = [f for f in fits if f[2] == len(sample)]
    if consistent:
        best = max(consistent, key=lambda f: f[3])  # the first of the best
        if any(f[3] == best[3] and f[1] != best[1] for f in consistent):
            fail(f"{path}: two separators read the file differently: give --delimiter")
        return best[0]
    if not fits:
        fail(f"{path}: line 1 has a single column with comma, tab, semicolon or whitespace separators")
    return max(fits, key=lambda f: f[2])[0]


def read_rows(path, text, delimiter):
    """The file's rows as lists of trimmed fields (quotes removed), its separator, and its
    header (a list of names) or None."""
    lines = [l.rstrip("\r") for l in text.split("\n")]
    lines = [l for l in lines if l.strip()]
    if not lines:
        fail(f"{path}: is empty: expected CSV rows of numbers")
    if delimiter is None:
        sep = detect_separator(path, lines[:64])
    elif len(split_line(lines[0], delimiter)) > 1:
        sep = delimiter
    else:
        fail(f"{path}: line 1 has a single column when split on {delimiter!r}")
    if sep != " " and '"' in text:
        rows = [[f.strip() for f in r] for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)]
    else:
        rows = [[f.strip() for f in split_line(l, sep)] for l in lines]
    rows = [r for r in rows if r and not (len(r) == 1 and not r[0].strip())]
    first, second = split_line(lines[0], sep), split_line(lines[1], sep) if len(lines) > 1 else None
    header = any(is_text(f, sep == ";") and (second is None or c >= len(second) or not is_text(second[c], sep == ";"))
                 for c, f in enumerate(first))
    # pandas writes `0,1,...,n-1` as the header of unnamed columns.
    numbers = [f.strip().strip('"') for f in first]
    header = header or (len(numbers) >= 5 and numbers[0] in ("0", "1")
                        and numbers == [str(i + int(numbers[0])) for i in range(len(numbers))])
    return (rows[1:], sep, rows[0]) if header else (rows, sep, None)


# ---- Which column is what --------------------------------------------------------------

def label_column(path, meta, n_fields, names, label_col):
    """The classifier's label column in rows of n_fields fields, or None for unlabeled rows."""
    schema = meta.get("schema") or {}
    if label_col is not None:
        if label_col in ("first", "last"):
            return 0 if label_col == "first" else n_fields - 1
        if label_col.isdigit():
            if int(label_col) >= n_fields:
                fail(f"{path}: --label-col {label_col} is out of range: rows have {n_fields} fields")
            return int(label_col)
        lowered = [n.lower() for n in names or []]
        if label_col.lower() not in lowered:
            fail(f"{path}: --label-col {label_col}: no column of that name")
        return lowered.index(label_col.lower())
    label, total = schema.get("label"), schema.get("n_columns")
    if label is not None and total is not None:
        if n_fields == total:
            return label["index"]
        if n_fields + 1 == total and not (names and label.get("name") in names):
            return None
        fail(f"{path}: rows of {n_fields} fields, but the model was trained on rows of {total} fields")
    if n_fields == meta["layers"][0]:
        return None
    lowered = [n.lower() for n in names or []]
    return next((lowered.index(n) for n in LABEL_NAMES if n in lowered), "guess")


def roles(path, meta, n_fields, names, label_col):
    """Each column's role: "feature", "label", "target" or "hot" (a one-hot label column)."""
    n_in, n_out = meta["layers"][0], meta["layers"][-1]
    schema = meta.get("schema") or {}
    role = ["feature"] * n_fields
    if meta["task"] == "regress":
        if n_fields != n_in:
            role[n_fields - n_out:] = ["target"] * n_out
    elif schema.get("one_hot") and label_col is None:
        if n_fields != n_in:
            role[n_fields - schema["one_hot"]:] = ["hot"] * schema["one_hot"]
    else:
        c = label_column(path, meta, n_fields, names, label_col)
        if c == "guess":
            role[0] = "guess"  # the first column, if it holds class numbers (checked later)
        elif c is not None:
            role[c] = "label"
    expected = schema.get("feature_names")
    if names is not None and expected is not None:
        got = [(c, n) for c, (n, r) in enumerate(zip(names, role)) if r == "feature"]
        if len(got) != len(expected):
            fail(f"{path}: the header has {len(got)} feature columns, but the model was trained on {len(expected)}")
        for i, ((c, name), want) in enumerate(zip(got, expected)):
            if name.strip() != want.strip():
                fail(f"{path}: column {c + 1} is named {name!r}, but the model's feature {i + 1} is {want!r}")
    return role


# ---- A CSV file for a model ------------------------------------------------------------

def read_csv(path, text, meta, args):
    """The features (float64, missing values filled) and true labels (class numbers, or None)
    of a CSV file read for the model."""
    rows, sep, names = read_rows(path, text, args.delimiter)
    if not rows:
        fail(f"{path}: has a first row but no data rows")
    schema = meta.get("schema") or {}
    rows, names, kept = take_kept(path, rows, names, schema.get("kept_cols") or [], args.keep_cols)
    role = roles(path, meta, len(rows[0]), names, args.label_col)
    classes = schema.get("class_names")
    x, labels, first_missing, n_missing = [], [], None, 0
    for r, row in enumerate(rows, start=1):
        if len(row) != len(role):
            fail(f"{path}: data row {r} has {len(row)} fields, expected {len(role)} like the first")
        features, hot = [], []
        for c, (field, kind) in enumerate(zip(row, role)):
            if kind == "label" and classes is not None and field.lower() not in MISSING:
                if field not in classes:
                    fail(f"{path}: data row {r}, column {c + 1}: label {field!r} is not one of the model's classes")
                labels.append(classes.index(field))
                continue
            v = value(field, sep == ";")
            if v == "text" or (v is not None and not np.isfinite(v)):
                fail(f"{path}: data row {r}, column {c + 1}: expected a number or a class, found {field!r}")
            if v is None:
                if kind != "feature":
                    fail(f"{path}: data row {r}, column {c + 1}: the label is missing")
                n_missing += 1
                first_missing = first_missing or (r, c + 1, field)
            if kind in ("label", "guess"):
                if v != int(v) or v < 0:
                    fail(f"{path}: data row {r}, column {c + 1}: expected a class label, found {field!r}")
                labels.append(int(v))
            elif kind == "hot":
                hot.append(v)
            elif kind == "feature":
                features.append(np.nan if v is None else v)
        if hot:
            if sorted(hot) != [0.0] * (len(hot) - 1) + [1.0]:
                fail(f"{path}: data row {r}: the one-hot label should hold exactly one 1 and 0s")
            labels.append(hot.index(1.0))
        x.append(features)
    x = np.array(x, dtype=np.float64)
    if "guess" in role and max(labels) >= meta["layers"][-1]:
        fail(f"{path}: nothing names the label column and the first is not the model's classes: give --label-col")
    if n_missing:
        x = fill_missing(path, x, schema, args.missing, first_missing, n_missing)
    return x, (labels or None), kept


def take_kept(path, rows, names, stored, asked):
    """The rows and header without the kept columns (`--keep-cols`, and the model's
    `schema.kept_cols`, which a file may lack), and those columns as (names, texts per row)."""
    cols = []
    for spec in list(asked) + [c for c in stored if c not in asked]:
        if names is not None and spec in names:
            c = names.index(spec)
        elif spec.isdigit() and int(spec) < len(rows[0]):
            c = int(spec)
        elif spec in stored:
            continue
        else:
            fail(f"{path}: --keep-cols: no column named {spec!r}")
        if c not in cols:
            cols.append(c)
    if not cols:
        return rows, names, None
    strip = lambda f: f[1:-1] if len(f) >= 2 and f[0] == f[-1] == '"' else f
    head = [names[c] if names is not None else f"column{c + 1}" for c in cols]
    texts = [[strip(row[c].strip()) for c in cols] for row in rows]
    rest = lambda row: [f for c, f in enumerate(row) if c not in cols]
    return [rest(r) for r in rows], (rest(names) if names is not None else None), (head, texts)


def fill_missing(path, x, schema, how, first, count):
    """x with its missing values (NaN) replaced as bp-par predict replaces them."""
    fill = schema.get("missing_fill")
    if how == "zero":
        fill = [0.0] * x.shape[1]
    elif fill is None:
        r, c, text = first
        why = "the model stores no fill values (it was trained without --missing mean or zero)"
        fail(f"{path}: data row {r}, column {c}: missing value ({text!r}), one of {count}: {why}")
    fill = np.asarray(fill, dtype=np.float32).astype(np.float64)  # bp-par reads them as f32
    return np.where(np.isnan(x), fill, x)


IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx_bytes(path, data):
    """The array of an IDX file's bytes (already decompressed)."""
    if len(data) < 4 or data[2] not in IDX_TYPES or data[3] == 0:
        fail(f"{path}: is not an IDX file (expected 0, 0, a type byte and a dimension count)")
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    dtype = np.dtype(IDX_TYPES[data[2]])
    body = data[4 + 4 * nd:]
    if len(body) != int(np.prod(dims)) * dtype.itemsize:
        fail(f"{path}: holds {len(body)} bytes of data for dimensions {dims}")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def read_idx(path, data, labels_path, classify):
    """The features and a classifier's labels (or None) of an IDX images or rows file."""
    x = read_idx_bytes(path, data)
    if x.ndim not in (2, 3):
        fail(f"{path}: is an IDX file of dimensions {list(x.shape)}; expected images or rows")
    if labels_path is None:
        folder, name = os.path.split(path)
        for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
            if a in name:
                cands = [os.path.join(folder, name.replace(a, b))]
                cands += [c[:-3] if c.endswith(".gz") else c + ".gz" for c in cands]
                labels_path = next((c for c in cands if os.path.isfile(c)), None)
                break
    y = None
    if classify and labels_path is not None:
        with open(labels_path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        y = read_idx_bytes(labels_path, raw).reshape(-1)
        if len(y) != len(x):
            fail(f"{labels_path}: holds {len(y)} labels for the {len(x)} samples of {path}")
        y = [int(v) for v in y]
    return x.reshape(x.shape[0], -1).astype(np.float64), y


def read_data(path, meta, args):
    """The features and true labels of a data file: CSV (gzip allowed), IDX, .npy or .npz."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    kept = None
    if data[:6] == b"\x93NUMPY" or data[:4] == b"PK\x03\x04":
        x, labels = read_arrays(path, data, args.labels, meta["task"] == "classify")
    elif data[:2] == b"\x00\x00":
        x, labels = read_idx(path, data, args.labels, meta["task"] == "classify")
    else:
        text = data.decode("utf-8-sig", errors="replace")
        if args.skip_rows:
            parts = text.split("\n", args.skip_rows)
            if len(parts) <= args.skip_rows:
                fail(f"{path}: has {len(parts)} lines, and --skip-rows {args.skip_rows} skips them all")
            text = parts[-1]
        x, labels, kept = read_csv(path, text, meta, args)
    # Features are float32 in bp-par: a value such as 0.1 is rounded the same way here.
    x = x.astype(np.float32).astype(np.float64)
    if x.shape[1] != meta["layers"][0]:
        fail(f"{path}: rows have {x.shape[1]} features; the model takes {meta['layers'][0]}")
    return x, labels, kept


# ---- The output ------------------------------------------------------------------------

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


def csv_field(text):
    """text as a CSV field: in double quotes (doubled inside) when it holds a comma, a quote or
    a line end."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(meta, out, labels, kept, stream):
    """bp-par predict's CSV: the kept columns (if any), then `prediction,label,p0,...`
    (`p_NAME` for named classes) for a classifier, `y0,...` for a regression model."""
    k = out.shape[1]
    lead_head = [csv_field(n) for n in kept[0]] if kept else []
    lead = (lambda i: [csv_field(t) for t in kept[1][i]]) if kept else (lambda i: [])
    if meta["task"] != "classify":
        lines = [",".join(lead_head + [f"y{c}" for c in range(k)])]
        lines += [",".join(lead(i) + [short(v) for v in row]) for i, row in enumerate(out.astype(np.float32))]
        stream.write("\n".join(lines) + "\n")
        return
    names = (meta.get("schema") or {}).get("class_names")
    name = (lambda c: csv_field(names[c]) if c < len(names) else str(c)) if names else str
    head = lead_head + ["prediction"] + (["label"] if labels is not None else [])
    head += [csv_field(f"p_{n}") for n in names] if names else [f"p{c}" for c in range(k)]
    lines = [",".join(head)]
    for i, row in enumerate(out.astype(np.float32)):
        vals = [name(int(np.argmax(row)))] + ([name(labels[i])] if labels is not None else [])
        lines.append(",".join(lead(i) + vals + [short(v) for v in row]))
    stream.write("\n".join(lines) + "\n")


DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "whitespace": " ", "space": " "}


def main(argv=None):
    p = argparse.ArgumentParser(description="Predict with a bp-par model in numpy (the reference).")
    p.add_argument("model", help="a bp-par model file (.safetensors)")
    p.add_argument("data", help="a CSV file (header optional; gzip allowed), a .npy or a .npz")
    p.add_argument("-o", "--output", help="write the CSV here instead of stdout")
    p.add_argument("--label-col", help="the label column: first, last, an index or a header name")
    p.add_argument("--delimiter", help="comma, semicolon, tab, whitespace or one character [default: detected]")
    p.add_argument("--missing", choices=["error", "mean", "zero"],
                   help="missing features: the model's fill values (error, mean) or 0 [default: error]")
    p.add_argument("--labels", help="the labels file of a .npy or IDX file of features [default: found by name]")
    p.add_argument("--skip-rows", type=int, default=0, help="CSV: skip the first N lines (a summary line)")
    p.add_argument("--keep-cols", type=lambda v: v.split(","), default=[],
                   help="columns (names or 0-based indices) written unchanged before each prediction")
    args = p.parse_args(argv)
    if args.delimiter == "auto":
        args.delimiter = None
    args.delimiter = DELIMITERS.get(args.delimiter, args.delimiter)
    if args.delimiter is not None and len(args.delimiter) != 1:
        fail(f"--delimiter {args.delimiter!r}: expected comma, semicolon, tab, whitespace or one character")
    meta, layers, norm = read_model(args.model)
    x, labels, kept = read_data(args.data, meta, args)
    out = forward(meta, layers, norm, x)
    if meta["task"] != "classify":
        labels = None
    if args.output:
        with open(args.output, "w") as f:
            write_csv(meta, out, labels, kept, f)
    else:
        write_csv(meta, out, labels, kept, sys.stdout)


if __name__ == "__main__":
    main()
