"""scikit-learn's MLP estimators on bp-par's core.

The estimators hold the parameters, turn arrays into C-contiguous float32 (no copy when they
are already), encode the class labels, and hand everything to ``bp_par._bp_par.fit``, which
runs the library's front door (normalisation, validation split, network, optimiser) with the
GIL released. What differs from scikit-learn is written where it happens and in
docs/PYTHON.md.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import _bp_par

_SOLVERS = ("sgd", "adam", "lbfgs", "cg", "rprop")
_ACTIVATIONS = {"logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu"}
_SCHEDULES = ("constant", "invscaling", "adaptive")
_NORMALIZE = ("auto", "none", "scale", "zscore")
_MISSING = ("error", "mean", "zero")


# The dtypes the core reads in place; others become float32 (the first).
_READ_IN_PLACE = (np.float32, np.float64, np.uint8)

# `y` not given (predict): None is a y that fit refuses.
_NO_Y = object()


def _stochastic(estimator):
    """partial_fit is there for the mini-batch solvers (scikit-learn's `available_if`)."""
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {estimator.solver} is not stochastic."
        )
    return True


def _no_sample_weight(sample_weight):
    if sample_weight is not None:
        raise ValueError(
            "bp-par does not weight samples (sample_weight): pass classes= by name to partial_fit, "
            "or weigh the rows by repeating them"
        )


def _no_early_stopping(estimator):
    if estimator.early_stopping:
        raise ValueError("partial_fit does not support early_stopping=True")


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, checks, the fit."""

    _task = None

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        normalize="auto",
        missing="error",
        n_jobs=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.normalize = normalize
        self.missing = missing
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing != "error"
        tags.target_tags.multi_output = self._task == "regress"
        return tags

    # -- parameters ----------------------------------------------------------------------

    def _hidden(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = [sizes]
        sizes = list(sizes)
        if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes}")
        return [int(s) for s in sizes]

    def _check_params(self):
        def need(ok, message):
            if not ok:
                raise ValueError(message)

        need(self.solver in _SOLVERS, f"solver must be one of {_SOLVERS}, got {self.solver!r}")
        need(
            self.activation in _ACTIVATIONS,
            f"activation must be 'logistic', 'tanh' or 'relu', got {self.activation!r}"
            + (" (bp-par has no identity hidden units)" if self.activation == "identity" else ""),
        )
        need(self.learning_rate in _SCHEDULES, f"learning_rate must be one of {_SCHEDULES}, got {self.learning_rate!r}")
        need(self.normalize in _NORMALIZE, f"normalize must be one of {_NORMALIZE}, got {self.normalize!r}")
        need(self.missing in _MISSING, f"missing must be one of {_MISSING}, got {self.missing!r}")
        for name in ("shuffle", "verbose", "warm_start", "nesterovs_momentum", "early_stopping"):
            value = getattr(self, name)
            need(isinstance(value, (bool, np.bool_)), f"{name} must be True or False, got {value!r}")
        for name in ("alpha", "learning_rate_init", "tol", "momentum", "validation_fraction", "beta_1", "beta_2",
                     "epsilon", "power_t"):
            value = getattr(self, name)
            need(isinstance(value, numbers.Real) and not isinstance(value, bool),
                 f"{name} must be a number, got {value!r}")
        real = (numbers.Real,)
        need(isinstance(self.alpha, real) and self.alpha >= 0, f"alpha must be >= 0, got {self.alpha}")
        need(
            isinstance(self.learning_rate_init, real) and self.learning_rate_init > 0,
            f"learning_rate_init must be > 0, got {self.learning_rate_init}",
        )
        need(
            isinstance(self.max_iter, numbers.Integral) and self.max_iter >= 1,
            f"max_iter must be >= 1, got {self.max_iter}",
        )
        need(isinstance(self.tol, real) and self.tol >= 0, f"tol must be >= 0, got {self.tol}")
        need(0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}")
        need(0 <= self.validation_fraction < 1, f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        need(not self.early_stopping or self.validation_fraction > 0,
             "validation_fraction must be above 0 with early_stopping=True")
        need(0 <= self.beta_1 < 1, f"beta_1 must be in [0, 1), got {self.beta_1}")
        need(0 <= self.beta_2 < 1, f"beta_2 must be in [0, 1), got {self.beta_2}")
        need(self.epsilon > 0, f"epsilon must be > 0, got {self.epsilon}")
        need(self.power_t >= 0, f"power_t must be >= 0, got {self.power_t}")
        need(
            isinstance(self.max_fun, numbers.Integral) and self.max_fun >= 1,
            f"max_fun must be >= 1, got {self.max_fun!r}",
        )
        need(
            isinstance(self.n_iter_no_change, numbers.Integral) and self.n_iter_no_change >= 1,
            f"n_iter_no_change must be >= 1, got {self.n_iter_no_change}",
        )
        need(
            self.batch_size == "auto" or (isinstance(self.batch_size, numbers.Integral) and self.batch_size >= 1),
            f"batch_size must be 'auto' or a positive integer, got {self.batch_size!r}",
        )
        need(
            self.n_jobs is None
            or (isinstance(self.n_jobs, numbers.Integral) and not isinstance(self.n_jobs, bool) and self.n_jobs != 0),
            f"n_jobs must be None (every core), a positive count, or negative (-1: every core, -2: all but one), "
            f"got {self.n_jobs!r}",
        )

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and 0 <= rs < 2**64:
            return int(rs)
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _batch(self, n_samples):
        if self.batch_size == "auto":
            return max(1, min(200, n_samples))
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` larger than sample size. It is going to be clipped")
            return max(1, n_samples)
        return int(self.batch_size)

    def _settings(self, n_samples, epochs=None, seed=None, early_stopping=None):
        return {
            "task": self._task,
            "hidden": self._hidden(),
            "activation": _ACTIVATIONS[self.activation],
            "solver": self.solver,
            "alpha": float(self.alpha),
            "batch": self._batch(n_samples),
            "lr": float(self.learning_rate_init),
            "schedule": self.learning_rate,
            "power_t": float(self.power_t),
            "momentum": float(self.momentum),
            "nesterov": bool(self.nesterovs_momentum),
            "epochs": int(self.max_iter if epochs is None else epochs),
            "seed": self._seed() if seed is None else seed,
            "shuffle": bool(self.shuffle),
            "beta_1": float(self.beta_1),
            "beta_2": float(self.beta_2),
            "epsilon": float(self.epsilon),
            "early_stopping": bool(self.early_stopping if early_stopping is None else early_stopping),
            "validation_fraction": float(self.validation_fraction),
            "n_iter_no_change": int(self.n_iter_no_change),
            "tol": float(self.tol),
            "max_fun": int(self.max_fun),
            "normalize": self.normalize,
            "missing": self.missing,
            "n_jobs": self.n_jobs,
            "verbose": bool(self.verbose),
        }

    # -- arrays --------------------------------------------------------------------------

    def _validate_X(self, X, y=_NO_Y, reset=True):
        """X as a C-contiguous float32, float64 or uint8 array (copied only when it is not:
        the core reads these in place and converts them to float32 as it copies them), checked;
        with y, both."""
        params = dict(accept_sparse=False, dtype=_READ_IN_PLACE, order="C", ensure_all_finite=False)
        if y is _NO_Y:
            X = validate_data(self, X, reset=reset, **params)
        else:
            if self._task == "regress":
                params.update(multi_output=True, y_numeric=True)
            X, y = validate_data(self, X, y, reset=reset, **params)
        # (NaN and infinity are refused by the core, naming the row and column: no second scan here.)
        return X, y

    def _outputs(self, X):
        check_is_fitted(self, "model_")
        X, _ = self._validate_X(X, reset=False)
        # (float32 from the network, exactly; float64 as scikit-learn's predictions are.)
        return self.model_.outputs(X, n_jobs=self.n_jobs).astype(np.float64)

    # -- the fit -------------------------------------------------------------------------

    def _continues(self, incremental):
        return (incremental or self.warm_start) and hasattr(self, "model_")

    def _run(self, X, targets, incremental, epochs=None, seed=None):
        """One call to the core; keeps what it returns; raises KeyboardInterrupt after Ctrl-C
        (the estimator keeps the model trained until then)."""
        continues = self._continues(incremental)
        if continues:
            hidden = self.model_.layers[1:-1]
            if hidden != self._hidden():
                raise ValueError(
                    f"warm_start/partial_fit continue the fitted network of hidden layers {tuple(hidden)}, "
                    f"but hidden_layer_sizes is {self.hidden_layer_sizes}: refit with warm_start=False"
                )
        early = False if incremental else None
        settings = self._settings(X.shape[0], epochs=epochs, seed=seed, early_stopping=early)
        names = getattr(self, "feature_names_in_", None)
        result = _bp_par.fit(
            X,
            settings,
            feature_names=None if names is None else [str(n) for n in names],
            init=self.model_ if continues else None,
            **targets,
        )
        self._keep(result, continues, settings)
        if result.interrupted:
            raise KeyboardInterrupt("bp-par: the fit was interrupted; the estimator keeps the model trained so far")
        if not incremental and result.budget_spent:
            warnings.warn(f"{self.solver} failed to converge: {result.stopped}; raise max_fun", ConvergenceWarning)
        elif not incremental and not result.converged and len(result.loss_curve) == self.max_iter:
            if self.solver in ("sgd", "adam"):
                message = (f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                           "optimization hasn't converged yet.")
            else:
                message = f"{self.solver} failed to converge after {self.max_iter} iteration(s): raise max_iter"
            warnings.warn(message, ConvergenceWarning)
        return self

    def _keep(self, result, continues, settings):
        model = result.model
        self.model_ = model
        curve = list(result.loss_curve)
        # As scikit-learn: `loss_curve_` and `t_` run on over warm starts and partial fits,
        # `n_iter_` counts this call's epochs.
        if continues and hasattr(self, "loss_curve_"):
            self.loss_curve_ = self.loss_curve_ + curve
            self.t_ += result.n_train * len(curve)
        else:
            self.loss_curve_ = curve
            self.t_ = result.n_train * len(curve)
        self.n_iter_ = len(curve)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        if settings["early_stopping"] and settings["solver"] in ("sgd", "adam"):
            self.validation_scores_ = self._validation_scores(result)
            self.best_validation_score_ = max(self.validation_scores_) if self.validation_scores_ else None
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self.coefs_ = model.coefs()
        self.intercepts_ = model.intercepts()
        self.n_layers_ = len(model.layers)
        self.n_outputs_ = model.layers[-1]
        self.out_activation_ = {"softmax": "softmax", "sigmoid": "logistic", "linear": "identity"}[model.output]
        self.stopped_ = result.stopped

    def export_onnx(self, path):
        """Writes the model as ONNX (opset 13; input ``features`` float32 [N, d], outputs
        ``probabilities`` and ``label`` (the index into ``classes_``), or ``outputs``), the
        graph ``bp-par export`` writes: ONNX Runtime gives ``predict_proba``'s numbers."""
        check_is_fitted(self, "model_")
        self.model_.save_onnx(str(path))

    def save(self, path):
        """Writes the model file `bp-par train --save` writes (safetensors): `bp-par eval`,
        `bp-par predict` and `bp_par.load` read it."""
        check_is_fitted(self, "model_")
        self.model_.save(str(path))


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on bp-par's core.

    The parameters are scikit-learn's, with its defaults, plus:

    n_jobs : int or None
        Threads of the fit and of the predictions (None or -1: every core). The model is the
        same, bit for bit, for every count.
    normalize : {'auto', 'none', 'scale', 'zscore'}
        How the features are normalised before the network (fitted on the training rows, kept
        in the model, applied to the rows it predicts): 'auto' scales pictures by their range
        and z-scores other columns, as ``bp-par train`` does.
    missing : {'error', 'mean', 'zero'}
        What a NaN feature is: refused (ValueError naming it), or filled with the training
        means or zeros (the fills are kept in the model).
    solver : also 'cg' (conjugate gradient) and 'rprop' (iRprop-), full-batch like 'lbfgs'.

    Differences from scikit-learn, by design: the output layer is softmax for two classes too
    (two output units, ``coefs_[-1]`` has two columns); ``learning_rate='invscaling'`` divides
    by (epoch)^power_t, not by the samples seen; 'adaptive' divides the rate by 5 after two
    epochs without a new lowest loss; early stopping keeps the best epoch's weights and counts
    any improvement (``tol`` applies to the training-loss rule).
    """

    _task = "classify"

    def fit(self, X, y):
        """Fits the network to X (rows x features) and the class labels y; returns self."""
        self._check_params()
        continues = self._continues(False)
        X, y = self._validate_X(X, y, reset=not continues)
        return self._fit_classes(X, y, incremental=False, classes=None)

    def _fit_classes(self, X, y, incremental, classes, epochs=None, seed=None):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if type_of_target(y) == "multilabel-indicator":
            raise ValueError("bp-par's MLPClassifier takes one label per row (not multilabel targets)")
        continues = self._continues(incremental)
        if continues or classes is not None:
            known = self.classes_ if continues else np.unique(np.asarray(classes))
            unseen = np.setdiff1d(np.unique(y), known)
            if unseen.size:
                what = "the classes of the first call" if incremental else "the classes of the previous fit"
                raise ValueError(
                    f"y has classes {unseen.tolist()} not in {what} {known.tolist()} "
                    "(warm_start and partial_fit continue a network with those outputs)"
                )
            self.classes_ = known
        else:
            self.classes_ = np.unique(y)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(
                f"The number of classes has to be greater than one; got 1 class (every label is "
                f"{self.classes_[0]}): nothing to learn"
            )
        labels = np.searchsorted(self.classes_, y).astype(np.uint32)
        names = None
        if not (np.issubdtype(self.classes_.dtype, np.integer) and np.array_equal(self.classes_, np.arange(k))):
            names = [str(c) for c in self.classes_]
            if len(set(names)) != k or any(not n.strip() for n in names):
                names = None
        targets = dict(labels=labels, n_classes=k, class_names=names)
        return self._run(X, targets, incremental, epochs=epochs, seed=seed)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X and y, continuing the fitted network (the first call needs
        ``classes``, every class y may hold). sgd and adam only. The optimiser's state
        (velocity, Adam's moments) starts afresh each call; the weights continue.
        ``sample_weight`` is scikit-learn's place for weights, which bp-par does not take."""
        _no_sample_weight(sample_weight)
        self._check_params()
        _no_early_stopping(self)
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(self.classes_, np.unique(np.asarray(classes))):
            raise ValueError(
                f"`classes={np.unique(np.asarray(classes)).tolist()}` is not the same as on last call to "
                f"partial_fit, was: {self.classes_.tolist()}"
            )
        X, y = self._validate_X(X, y, reset=first)
        seed = self._seed() + len(getattr(self, "loss_curve_", ()))
        return self._fit_classes(X, y, incremental=True, classes=classes if first else None, epochs=1, seed=seed)

    def predict_proba(self, X):
        """Class probabilities, rows x classes (in ``classes_`` order)."""
        return self._outputs(X)

    def predict_log_proba(self, X):
        """The logarithms of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The predicted class of every row (from ``classes_``)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def _validation_scores(self, result):
        return list(result.val_accuracy)


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on bp-par's core.

    The parameters are scikit-learn's, with its defaults, plus ``n_jobs``, ``normalize``,
    ``missing`` and the solvers 'cg' and 'rprop' (see ``MLPClassifier``). The outputs are
    linear, the loss the squared error (one half of it, as scikit-learn's); with early
    stopping ``validation_scores_`` are the held-out R² (variance-weighted over outputs).
    """

    _task = "regress"

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        normalize="auto",
        missing="error",
        n_jobs=None,
    ):
        # (scikit-learn's signature: `loss` first.)
        self.loss = loss
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            normalize=normalize, missing=missing, n_jobs=n_jobs,
        )

    def _check_params(self):
        if self.loss != "squared_error":
            raise ValueError(f"loss must be 'squared_error' (bp-par has no Poisson loss), got {self.loss!r}")
        super()._check_params()

    def fit(self, X, y):
        """Fits the network to X (rows x features) and the targets y; returns self."""
        self._check_params()
        continues = self._continues(False)
        X, y = self._validate_X(X, y, reset=not continues)
        return self._fit_values(X, y, incremental=False)

    def _fit_values(self, X, y, incremental, epochs=None, seed=None):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the shape of y to "
                "(n_samples, ), for example using ravel().",
                DataConversionWarning,
            )
            y = y.ravel()
        if not self._continues(incremental):
            # (The first fit's y decides the shape of the predictions.)
            self._y_1d = y.ndim == 1
        targets = np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float32)
        if not np.isfinite(targets).all():
            row, col = np.argwhere(~np.isfinite(targets))[0]
            raise ValueError(f"Input y contains a value that is not finite in float32 at row {row}, output {col}")
        return self._run(X, dict(targets=targets), incremental, epochs=epochs, seed=seed)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X and y, continuing the fitted network. sgd and adam only. The
        optimiser's state starts afresh each call; the weights continue."""
        _no_sample_weight(sample_weight)
        self._check_params()
        _no_early_stopping(self)
        first = not hasattr(self, "model_")
        X, y = self._validate_X(X, y, reset=first)
        seed = self._seed() + len(getattr(self, "loss_curve_", ()))
        return self._fit_values(X, y, incremental=True, epochs=1, seed=seed)

    def predict(self, X):
        """The predicted targets: (rows,) when y was one column, else (rows, outputs)."""
        out = self._outputs(X)
        return out.ravel() if getattr(self, "_y_1d", False) and out.shape[1] == 1 else out

    def _validation_scores(self, result):
        variance = result.val_target_variance
        if not variance:
            return list(-np.asarray(result.val_loss))
        return [1.0 - 2.0 * loss / variance for loss in result.val_loss]


def _classes_from_names(names, k):
    """A model file's classes: its names (as int when every name is an int's own text, as
    an estimator writes int labels), else 0..k-1."""
    if names is None:
        return np.arange(k)
    try:
        ints = [int(n) for n in names]
    except ValueError:
        return np.asarray(names, dtype=object)
    return np.asarray(ints) if [str(i) for i in ints] == list(names) else np.asarray(names, dtype=object)


def load(path):
    """A fitted estimator from a model file (``bp-par train --save``, or ``save``): an
    ``MLPClassifier`` or ``MLPRegressor`` whose ``predict`` gives what ``bp-par predict``
    gives. Its parameters describe the network; ``loss_curve_`` is not in the file."""
    model = _bp_par.load(str(path))
    hidden = tuple(model.layers[1:-1])
    activation = {"sigmoid": "logistic"}.get(model.activation, model.activation)
    if model.task == "classify":
        est = MLPClassifier(hidden_layer_sizes=hidden, activation=activation)
        est.classes_ = _classes_from_names(model.class_names, model.layers[-1])
    else:
        est = MLPRegressor(hidden_layer_sizes=hidden, activation=activation)
        est._y_1d = model.layers[-1] == 1
    fill = model.missing_fill
    est.set_params(normalize=model.normalization,
                   missing="error" if fill is None else ("zero" if not any(fill) else "mean"))
    est.model_ = model
    est.n_features_in_ = model.layers[0]
    if model.feature_names is not None:
        est.feature_names_in_ = np.asarray(model.feature_names, dtype=object)
    est.coefs_ = model.coefs()
    est.intercepts_ = model.intercepts()
    est.n_layers_ = len(model.layers)
    est.n_outputs_ = model.layers[-1]
    est.out_activation_ = {"softmax": "softmax", "sigmoid": "logistic", "linear": "identity"}[model.output]
    return est
