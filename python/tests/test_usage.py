"""The package as scikit-learn users use it: DataFrames, pipelines and searches, labels of
every kind, bad input, Ctrl-C, progress, warm starts and partial fits."""

import os
import pathlib
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import bp_par


@pytest.fixture(scope="module")
def small(digits):
    """1,000 of the digits, every class, pixels scaled to [0, 1]."""
    X, y = digits
    rows = np.random.default_rng(0).permutation(len(X))[:1000]
    return X[rows] / 255.0, y[rows]


def test_cross_val_score_and_grid_search_over_a_pipeline(small):
    X, y = small
    scores = cross_val_score(bp_par.MLPClassifier(hidden_layer_sizes=(32,), max_iter=40, random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", bp_par.MLPClassifier(max_iter=30, random_state=0, normalize="none"))])
    grid = {"mlp__hidden_layer_sizes": [(16,), (48,)], "mlp__alpha": [1e-4, 1e-1]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert search.best_score_ > 0.8
    assert search.best_estimator_.score(X, y) > 0.9
    assert set(search.cv_results_["param_mlp__alpha"]) == {1e-4, 1e-1}


def test_a_dataframe_keeps_its_feature_names_and_checks_them(small, tmp_path):
    X, y = small
    df = pd.DataFrame(X[:, :20], columns=[f"px{j}" for j in range(20)])
    clf = bp_par.MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(df, y)
    assert clf.feature_names_in_.tolist() == list(df.columns)
    assert np.array_equal(clf.predict(df), clf.predict(df.to_numpy()))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[df.columns[::-1]])
    clf.save(tmp_path / "m.st")
    assert bp_par.load(tmp_path / "m.st").feature_names_in_.tolist() == list(df.columns)


def test_string_labels_are_classes(small):
    X, y = small
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = bp_par.MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, random_state=0).fit(X, names[y])
    assert sorted(clf.classes_.tolist()) == sorted(names.tolist())
    assert set(clf.predict(X)) <= set(names)
    assert clf.score(X, names[y]) > 0.9
    # pandas' categorical labels too.
    assert bp_par.MLPClassifier(max_iter=5, random_state=0).fit(X, pd.Series(names[y], dtype="category")).score(X, names[y]) > 0.5


def test_float32_c_arrays_are_read_without_a_copy(small):
    X, y = small
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    clf = bp_par.MLPClassifier(max_iter=2, random_state=0)
    checked, _ = clf._validate_X(X32, y)
    assert np.shares_memory(checked, X32)
    # float64 and uint8 too: the core converts them as it copies them, to the same model as
    # the float32 array of the same numbers. Other dtypes and orders are converted once.
    pixels = np.ascontiguousarray(np.round(X32 * 255).astype(np.uint8))
    same = bp_par.MLPClassifier(max_iter=2, random_state=0).fit(pixels.astype(np.float32), y).model_.to_bytes()
    for other in (pixels, pixels.astype(np.float64), np.asfortranarray(pixels.astype(np.float32)),
                  pixels.astype(np.int64), pixels.astype(np.float16)):
        checked, _ = clf._validate_X(other, y)
        assert np.shares_memory(checked, other) == (other.dtype in (np.uint8, np.float64)), other.dtype
        assert bp_par.MLPClassifier(max_iter=2, random_state=0).fit(other, y).model_.to_bytes() == same, other.dtype
    # The regressor's targets beside float64 and uint8 features, the same way.
    target = y.astype(np.float64) / 3
    reg = bp_par.MLPRegressor(max_iter=2, random_state=0)
    same = reg.fit(pixels.astype(np.float32), target).model_.to_bytes()
    for other in (pixels, pixels.astype(np.float64)):
        assert bp_par.MLPRegressor(max_iter=2, random_state=0).fit(other, target).model_.to_bytes() == same


def test_nan_and_infinity_are_refused_naming_the_row_and_column(small):
    X, y = small
    bad = X.copy()
    bad[7, 13] = np.nan
    with pytest.raises(ValueError, match=r"^X: row 7, feature 13 .*NaN"):
        bp_par.MLPClassifier(max_iter=2).fit(bad, y)
    bad[7, 13] = np.inf
    with pytest.raises(ValueError, match=r"^X: row 7, feature 13: the value is inf"):
        bp_par.MLPClassifier(max_iter=2).fit(bad, y)
    fitted = bp_par.MLPClassifier(max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"^X: row 7, feature 13: the value is inf"):
        fitted.predict(bad)
    # With a missing-value policy, NaN is filled (training means, kept in the model).
    holes = X.copy()
    holes[::5, 3] = np.nan
    filled = bp_par.MLPClassifier(max_iter=5, random_state=0, missing="mean").fit(holes, y)
    assert np.isfinite(filled.predict_proba(holes)).all()


def test_sparse_input_is_refused_as_scikit_learn_does(small):
    X, y = small
    with pytest.raises(TypeError, match="[Ss]parse"):
        bp_par.MLPClassifier(max_iter=2).fit(scipy.sparse.csr_matrix(X), y)


def test_unfitted_and_bad_parameters(small):
    X, y = small
    with pytest.raises(NotFittedError):
        bp_par.MLPClassifier().predict(X)
    with pytest.raises(ValueError, match="solver"):
        bp_par.MLPClassifier(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="identity"):
        bp_par.MLPClassifier(activation="identity").fit(X, y)
    # A diverging fit names the estimator's parameter, not the library's field.
    with pytest.raises(ValueError, match="learning_rate_init"):
        bp_par.MLPRegressor(solver="sgd", learning_rate_init=1e6, normalize="none", max_iter=50).fit(X * 1e3, y * 1e3)


def test_ctrl_c_stops_a_fit_after_the_current_mini_batch_and_the_estimator_stays_usable(digits):
    X, y = digits
    clf = bp_par.MLPClassifier(hidden_layer_sizes=(256,), max_iter=100000, tol=0, n_iter_no_change=100000,
                               random_state=0, n_jobs=1)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert time.monotonic() - start < 10
    assert 0 < clf.n_iter_ < 100000 or clf.loss_curve_ == []
    assert clf.predict(X[:10]).shape == (10,)
    # And it fits again.
    clf.set_params(max_iter=2, hidden_layer_sizes=(16,))
    assert clf.fit(X, y).n_iter_ == 2


def test_verbose_shows_the_epochs_on_stderr(small, capsys):
    X, y = small
    bp_par.MLPClassifier(max_iter=3, verbose=True, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "epoch   1/3 loss" in err and "epoch   3/3 loss" in err


def test_warm_start_and_partial_fit_continue_the_network(small):
    X, y = small
    clf = bp_par.MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
    first = clf.coefs_[0].copy()
    clf.fit(X, y)
    # (scikit-learn's counts: the curve runs on, n_iter_ is this fit's.)
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 10
    assert not np.array_equal(first, clf.coefs_[0])
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    stream = bp_par.MLPClassifier(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=0.1, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        stream.partial_fit(X[:100], y[:100])
    scores = []
    for _ in range(5):
        for start in range(0, 1000, 250):
            stream.partial_fit(X[start:start + 250], y[start:start + 250], classes=np.arange(10))
        scores.append(stream.score(X, y))
    # (Mini-batches of 200: two steps a call, forty in all.)
    assert stream.n_iter_ == 1 and len(stream.loss_curve_) == 20
    assert scores[-1] > 0.75 and scores[-1] > scores[0] + 0.2
    with pytest.raises(ValueError, match="not the same as on last call"):
        stream.partial_fit(X[:10], y[:10], classes=np.arange(11))
    with pytest.raises(ValueError, match="not in the classes"):
        stream.partial_fit(X[:10], y[:10] + 100)
    with pytest.raises(AttributeError, match="partial_fit"):
        bp_par.MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=np.arange(10))
    assert not hasattr(bp_par.MLPRegressor(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="early_stopping"):
        bp_par.MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.arange(10))


def test_adaptive_divides_the_rate_where_constant_stops(small):
    X, y = small
    kw = dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.1, max_iter=400, random_state=0)
    constant = bp_par.MLPClassifier(learning_rate="constant", **kw).fit(X, y)
    adaptive = bp_par.MLPClassifier(learning_rate="adaptive", **kw).fit(X, y)
    assert "tol=" in constant.stopped_ and constant.n_iter_ < 400
    assert adaptive.n_iter_ > constant.n_iter_
    assert "learning rate fell" in adaptive.stopped_ or adaptive.n_iter_ == 400


def test_a_column_y_is_a_vector_with_scikit_learns_warning(small):
    X, y = small
    from sklearn.exceptions import DataConversionWarning
    with pytest.warns(DataConversionWarning, match="column-vector"):
        reg = bp_par.MLPRegressor(max_iter=5, random_state=0).fit(X, y.reshape(-1, 1).astype(float))
    assert reg.predict(X[:3]).shape == (3,)


def test_early_stopping_and_the_other_solvers(small):
    X, y = small
    clf = bp_par.MLPClassifier(early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0).fit(X, y)
    assert clf.n_iter_ < 200 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.8
    for solver in ("lbfgs", "cg", "rprop", "sgd"):
        est = bp_par.MLPClassifier(solver=solver, hidden_layer_sizes=(32,), max_iter=60, random_state=0,
                                   learning_rate_init=0.05)
        assert est.fit(X, y).score(X, y) > 0.85, solver
    reg = bp_par.MLPRegressor(early_stopping=True, max_iter=100, random_state=0).fit(X, y.astype(float))
    assert len(reg.validation_scores_) == reg.n_iter_ and reg.best_validation_score_ > 0.5


def test_the_readmes_python_example_runs_as_written(tmp_path, monkeypatch, capsys):
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in (c.split("```", 1)[0] for c in readme.split("```python\n")[1:]) if "MLPClassifier" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    assert float(capsys.readouterr().out) > 0.95
    assert bp_par.load(tmp_path / "digits.st").n_features_in_ == 64


def test_the_gil_is_released_while_the_core_fits(digits):
    X, y = digits
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    ticks, done = [], threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.002)

    ticker = threading.Thread(target=tick)
    ticker.start()
    start = time.monotonic()
    bp_par.MLPClassifier(hidden_layer_sizes=(256,), max_iter=40, tol=0, random_state=0, n_jobs=1).fit(X32, y)
    end = time.monotonic()
    done.set()
    ticker.join()
    during = [t for t in ticks if start <= t <= end]
    # A held GIL would stop the ticker for the whole fit (well over a second).
    assert end - start > 0.5
    assert max(np.diff([start, *during, end])) < 0.3


def test_scikit_learns_signatures_max_fun_and_the_regressors_loss(small):
    import inspect
    from sklearn.neural_network import MLPClassifier as SkC, MLPRegressor as SkR
    for ours, theirs in ((bp_par.MLPClassifier, SkC), (bp_par.MLPRegressor, SkR)):
        names = list(inspect.signature(theirs.__init__).parameters)
        assert list(inspect.signature(ours.__init__).parameters)[:len(names)] == names
        assert list(inspect.signature(ours.partial_fit).parameters)[:3] == ["self", "X", "y"]
    X, y = small
    with pytest.warns(Warning, match="max_fun"):
        clf = bp_par.MLPClassifier(solver="lbfgs", max_fun=20, max_iter=500, random_state=0).fit(X, y)
    assert "max_fun=20" in clf.stopped_ and clf.n_iter_ < 500
    with pytest.raises(ValueError, match="squared_error"):
        bp_par.MLPRegressor(loss="poisson").fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        bp_par.MLPClassifier().partial_fit(X, y, np.ones(len(y)))
