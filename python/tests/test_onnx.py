"""`bp-par export` checked in ONNX Runtime: every kind of model, exported, run on the rows
`bp-par predict` reads, agrees with it (probabilities within 1e-5 relative or 1e-6
absolute, the class identical on every row); `onnx.checker` passes. onnx and onnxruntime
are installed by python/run-tests.sh: missing, these tests fail."""

import csv
import gzip
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import bp_par
from conftest import ROOT

DIGITS = ROOT / "datasets" / "digits.csv"


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def export(cli, model, tmp_path):
    out = tmp_path / "model.onnx"
    run = subprocess.run([cli, "export", str(model), "-o", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 13 and "bp-par" in proto.doc_string
    return out, proto, run.stderr


def predict(cli, model, data, tmp_path, *extra):
    out = tmp_path / "predictions.csv"
    subprocess.run([cli, "predict", "--model", str(model), str(data), "-o", str(out), *extra],
                   check=True, capture_output=True)
    return read_csv(out)


def run_onnx(path, features):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"features": np.ascontiguousarray(features, dtype=np.float32)})))


def check_classifier(onnx_out, rows, classes=None):
    k = onnx_out["probabilities"].shape[1]
    cli_proba = np.array([[np.float32(r[f"p{j}"] if f"p{j}" in r else r[f"p_{classes[j]}"]) for j in range(k)]
                          for r in rows])
    np.testing.assert_allclose(onnx_out["probabilities"], cli_proba, rtol=1e-5, atol=1e-6)
    labels = onnx_out["label"]
    predicted = [r["prediction"] for r in rows]
    expected = [str(classes[i]) if classes is not None else str(i) for i in labels]
    assert predicted == expected


def digits_features():
    data = np.loadtxt(DIGITS, delimiter=",", skiprows=1, dtype=np.float32)
    return data[:, 1:], data[:, 0].astype(int)


@pytest.mark.parametrize("flags", [
    [],                                                                       # ReLU, softmax + xent, scale
    ["--activation", "sigmoid", "--loss", "bce"],                             # sigmoid outputs
    ["--activation", "tanh", "--hidden", "48,24", "--normalize", "zscore"],   # two hidden layers, z-score
    ["--normalize", "none", "--lr", "0.001"],                                 # no normalisation
], ids=["relu-xent-scale", "sigmoid-bce", "tanh-2-hidden-zscore", "no-normalization"])
def test_digits_models_agree_with_predict_on_every_row(cli, tmp_path, flags):
    model = tmp_path / "m.st"
    subprocess.run([cli, "train", str(DIGITS), "--epochs", "3", "--save", str(model), "-q", *flags],
                   check=True, capture_output=True)
    path, proto, said = export(cli, model, tmp_path)
    assert "label column" in said
    X, _ = digits_features()
    check_classifier(run_onnx(path, X), predict(cli, model, DIGITS, tmp_path))


def test_an_mnist_model_agrees_with_predict_on_the_whole_test_set(cli, tmp_path):
    mnist = ROOT / "datasets" / "mnist"
    model = tmp_path / "m.st"
    subprocess.run([cli, "train", str(mnist / "train-images-idx3-ubyte.gz"), "--epochs", "1", "--val-split", "0",
                    "--save", str(model), "-q"], check=True, capture_output=True)
    path, _, _ = export(cli, model, tmp_path)
    test = mnist / "t10k-images-idx3-ubyte.gz"
    X = read_idx(test).reshape(10000, 784)
    check_classifier(run_onnx(path, X), predict(cli, model, test, tmp_path))


def test_class_names_and_missing_values(cli, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    names = np.array(["setosa", "versicolor", "virginica"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    X[rng.random(X.shape) < 0.05] = np.nan
    data = tmp_path / "named.csv"
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["species"] + [f"f{j}" for j in range(5)])
        w.writerows([n, *("" if np.isnan(v) else repr(float(v)) for v in row)] for n, row in zip(names, X))
    model = tmp_path / "m.st"
    subprocess.run([cli, "train", str(data), "--missing", "mean", "--epochs", "20", "--save", str(model), "-q"],
                   check=True, capture_output=True)
    path, proto, _ = export(cli, model, tmp_path)
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["class_names"] == '["setosa","versicolor","virginica"]'
    assert props["feature_names"] == '["f0","f1","f2","f3","f4"]'
    out = run_onnx(path, X)
    assert np.isfinite(out["probabilities"]).all()
    check_classifier(out, predict(cli, model, data, tmp_path), classes=["setosa", "versicolor", "virginica"])


def test_a_regression_model_with_linear_outputs(cli, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(400, 3)).astype(np.float32)
    Y = np.stack([np.sin(2 * X[:, 0]), X[:, 1] * X[:, 2]], axis=1)
    data = tmp_path / "reg.csv"
    np.savetxt(data, np.hstack([X, Y]), delimiter=",", header="a,b,c,y1,y2", comments="")
    model = tmp_path / "m.st"
    subprocess.run([cli, "train", str(data), "--targets", "2", "--loss", "mse", "--output", "linear",
                    "--epochs", "30", "--save", str(model), "-q"], check=True, capture_output=True)
    path, proto, _ = export(cli, model, tmp_path)
    assert [o.name for o in proto.graph.output] == ["outputs"]
    rows = predict(cli, model, data, tmp_path)
    columns = ["y0", "y1"]
    cli_out = np.array([[np.float32(r[c]) for c in columns] for r in rows])
    np.testing.assert_allclose(run_onnx(path, X)["outputs"], cli_out, rtol=1e-5, atol=1e-6)


def test_a_python_models_export_runs_the_same(tmp_path):
    X, y = digits_features()
    names = np.array(list("abcdefghij"))[y]
    clf = bp_par.MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0).fit(X, names)
    clf.export_onnx(tmp_path / "py.onnx")
    onnx.checker.check_model(onnx.load(str(tmp_path / "py.onnx")), full_check=True)
    out = run_onnx(tmp_path / "py.onnx", X)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert (clf.classes_[out["label"]] == clf.predict(X)).all()


def test_bad_models_are_refused_and_nothing_is_replaced(cli, tmp_path):
    keep = tmp_path / "keep.onnx"
    keep.write_bytes(b"an earlier export")
    checkpoint = tmp_path / "ck.st"
    subprocess.run([cli, "train", str(DIGITS), "--epochs", "1", "--checkpoint", str(checkpoint), "-q"],
                   check=True, capture_output=True)
    truncated = tmp_path / "cut.st"
    truncated.write_bytes(checkpoint.read_bytes()[:900])
    for bad, why in [(checkpoint, "is a checkpoint"), (truncated, "not a valid safetensors"), (DIGITS, "safetensors"),
                     (tmp_path / "none.st", "")]:
        run = subprocess.run([cli, "export", str(bad), "-o", str(keep)], capture_output=True, text=True)
        assert run.returncode == 1, run
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and str(bad.name) in lines[0] and why in lines[0], run.stderr
        assert keep.read_bytes() == b"an earlier export"


def test_the_readmes_onnx_runtime_example_runs_as_written(cli, tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    block = next(b for b in (c.split("```", 1)[0] for c in readme.split("```python\n")[1:]) if "onnxruntime" in b)
    subprocess.run([cli, "train", str(DIGITS), "--epochs", "3", "--save", str(tmp_path / "model.safetensors"), "-q"],
                   check=True, capture_output=True)
    subprocess.run([cli, "export", str(tmp_path / "model.safetensors"), "-o", str(tmp_path / "model.onnx"), "-q"],
                   check=True)
    (tmp_path / "datasets").symlink_to(ROOT / "datasets")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    rows = predict(cli, tmp_path / "model.safetensors", DIGITS, tmp_path)
    assert printed.strip() == str(np.array([int(r["prediction"]) for r in rows[:10]]))
