"""bp-par for Python: multilayer perceptrons trained by backpropagation on every core.

``MLPClassifier`` and ``MLPRegressor`` follow scikit-learn's estimators of the same names
(parameters, fitted attributes, ``partial_fit``, ``warm_start``) and add ``n_jobs`` (threads:
the model is the same, bit for bit, for every count), bp-par's extra solvers (``cg``,
``rprop``), ``normalize`` and ``missing``. A fitted estimator saves the model file
``bp-par train --save`` writes (``save``); ``load`` reads one back, from Python or from the
command line.

    >>> from bp_par import MLPClassifier
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), random_state=1).fit(X, y)
    >>> clf.predict(X[:3])
"""

from ._bp_par import Model, __version__
from ._estimators import MLPClassifier, MLPRegressor, load

__all__ = ["MLPClassifier", "MLPRegressor", "Model", "load", "__version__"]
