"""scikit-learn's own estimator checks, every one, for both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from bp_par import MLPClassifier, MLPRegressor

# scikit-learn runs its own MLPs through these checks with max_iter=100
# (sklearn/utils/_test_common/instance_generator.py); bp-par's are held to the same.
ESTIMATORS = [MLPClassifier(max_iter=100, random_state=0), MLPRegressor(max_iter=100, random_state=0)]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
