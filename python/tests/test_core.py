"""The package against the command line: the same bits for the same settings on any thread
count, models both ways, pickle and joblib."""

import csv
import json
import pickle
import subprocess

import joblib
import numpy as np
import pytest

import bp_par

# One setting, two spellings: the command line's flags and scikit-learn's parameters.
FLAGS = ["--hidden", "32", "--epochs", "3", "--batch", "64", "--lr", "0.05", "--momentum", "0.9",
         "--optimizer", "sgd", "--lr-schedule", "constant", "--val-split", "0", "--seed", "7"]
PARAMS = dict(hidden_layer_sizes=(32,), max_iter=3, batch_size=64, learning_rate_init=0.05, momentum=0.9,
              solver="sgd", learning_rate="constant", nesterovs_momentum=False, random_state=7)


def l2_of(alpha, n, batch):
    """bp-par's λ for scikit-learn's alpha (per mini-batch of `batch` among `n` rows), as the
    package converts it: α·n/B in f64, then f32."""
    return np.float32(float(np.float32(alpha)) * n / batch)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_fit_saves_the_command_lines_model_byte_for_byte(digits, cli, tmp_path, n_jobs):
    X, y = digits
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    alpha = 1e-3
    l2 = repr(float(l2_of(alpha, len(X), 64)))
    subprocess.run([cli, "train", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"), *FLAGS,
                    "--l2", l2, "--threads", "2", "--save", str(tmp_path / "cli.st"), "-q"], check=True)
    clf = bp_par.MLPClassifier(alpha=alpha, n_jobs=n_jobs, **PARAMS).fit(X, y)
    clf.save(tmp_path / "py.st")
    assert (tmp_path / "py.st").read_bytes() == (tmp_path / "cli.st").read_bytes()


def test_n_jobs_1_and_2_give_identical_coefs(digits):
    X, y = digits
    a = bp_par.MLPClassifier(hidden_layer_sizes=(48, 24), max_iter=4, random_state=3, n_jobs=1).fit(X, y)
    b = bp_par.MLPClassifier(hidden_layer_sizes=(48, 24), max_iter=4, random_state=3, n_jobs=2).fit(X, y)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert wa.tobytes() == wb.tobytes()
    assert a.loss_curve_ == b.loss_curve_
    assert a.model_.to_bytes() == b.model_.to_bytes()


def read_predictions(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows


def test_a_command_line_model_predicts_the_same_in_python(digits, cli, tmp_path):
    X, y = digits
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    subprocess.run([cli, "train", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"), *FLAGS,
                    "--save", str(tmp_path / "m.st"), "-q"], check=True)
    subprocess.run([cli, "predict", "--model", str(tmp_path / "m.st"), str(tmp_path / "x.npy"),
                    "-o", str(tmp_path / "p.csv")], check=True, capture_output=True)
    rows = read_predictions(tmp_path / "p.csv")
    clf = bp_par.load(tmp_path / "m.st")
    assert isinstance(clf, bp_par.MLPClassifier)
    assert clf.predict(X).tolist() == [int(r["prediction"]) for r in rows]
    proba = clf.predict_proba(X)
    # The command line writes each probability's shortest text: read back, the same float32.
    cli_proba = np.array([[np.float32(r[f"p{k}"]) for k in range(10)] for r in rows])
    assert np.array_equal(proba.astype(np.float32), cli_proba)
    assert clf.hidden_layer_sizes == (32,) and clf.n_features_in_ == 400


def test_a_python_model_is_evaluated_the_same_by_the_command_line(digits, cli, tmp_path):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = bp_par.MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0).fit(X, names[y])
    clf.save(tmp_path / "m.st")
    np.save(tmp_path / "x.npy", X)
    out = subprocess.run([cli, "predict", "--model", str(tmp_path / "m.st"), str(tmp_path / "x.npy"),
                          "-o", str(tmp_path / "p.csv")], check=True, capture_output=True, text=True)
    assert out.returncode == 0
    predicted = [r["prediction"] for r in read_predictions(tmp_path / "p.csv")]
    assert predicted == clf.predict(X).tolist()
    # A CSV whose labels are the names, as a user would write it.
    with open(tmp_path / "named.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label"] + [f"p{j}" for j in range(X.shape[1])])
        w.writerows([name, *map(int, row)] for name, row in zip(names[y], X))
    report = subprocess.run([cli, "eval", "--model", str(tmp_path / "m.st"), str(tmp_path / "named.csv"), "--json"],
                            check=True, capture_output=True, text=True)
    assert json.loads(report.stdout)["accuracy"] == pytest.approx(clf.score(X, names[y]), abs=1e-12)


def test_int_labels_that_are_not_0_to_k_round_trip_through_the_file(digits, tmp_path):
    X, y = digits
    labels = (y + 1) * 10
    clf = bp_par.MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(X, labels)
    clf.save(tmp_path / "m.st")
    back = bp_par.load(tmp_path / "m.st")
    assert back.classes_.tolist() == clf.classes_.tolist() == list(range(10, 101, 10))
    assert np.array_equal(back.predict(X), clf.predict(X))


def test_pickle_and_joblib_keep_a_fitted_model(digits, tmp_path):
    X, y = digits
    clf = bp_par.MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.model_.to_bytes() == clf.model_.to_bytes()
    assert again.loss_curve_ == clf.loss_curve_
    joblib.dump(clf, tmp_path / "clf.joblib")
    loaded = joblib.load(tmp_path / "clf.joblib")
    assert np.array_equal(loaded.predict(X), clf.predict(X))
    # A pickled, unfitted estimator stays unfitted; a refit of the copy leaves the original.
    loaded.fit(X[::10], y[::10])
    assert np.array_equal(clf.predict(X), again.predict(X))


def test_a_regression_model_goes_both_ways(cli, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(800, 3)).astype(np.float32)
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    reg = bp_par.MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.9
    assert reg.predict(X).shape == (800,)
    reg.save(tmp_path / "r.st")
    back = bp_par.load(tmp_path / "r.st")
    assert isinstance(back, bp_par.MLPRegressor)
    assert np.array_equal(back.predict(X), reg.predict(X))
    np.save(tmp_path / "x.npy", X)
    subprocess.run([cli, "predict", "--model", str(tmp_path / "r.st"), str(tmp_path / "x.npy"),
                    "-o", str(tmp_path / "p.csv")], check=True, capture_output=True)
    rows = read_predictions(tmp_path / "p.csv")
    column = [k for k in rows[0] if k.startswith("prediction") or k.startswith("y")][0]
    assert np.array_equal(np.array([np.float32(r[column]) for r in rows]), reg.predict(X).astype(np.float32))
