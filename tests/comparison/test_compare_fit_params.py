"""compare_calibrators(fit_params=...): the classifier's own fit parameters,
taken on the rows of each of its fits (the inner and outer folds, the final
fits), as a calibrator wrapping it passes them."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

from skcal import compare_calibrators

# the same fits on the same rows in both runs: equal but for BLAS summation order
SAME_FITS = 1e-10
METHODS = ["temperature", "vector"]
FITS = []  # (rows, shrink, weighted) of each fit of RowCheckingClassifier


class RowCheckingClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on the columns of X after the first, whose fit
    needs ``row_id``, one value per row that must equal X's first column (a
    row taken out of line fails the fit), and ``shrink``, its ``C``."""

    def fit(self, X, y, row_id=None, shrink=None, sample_weight=None):
        if row_id is None or shrink is None:
            raise TypeError("RowCheckingClassifier.fit needs row_id and shrink")
        if not np.array_equal(np.asarray(row_id), X[:, 0]):
            raise AssertionError("row_id does not hold the ids of the rows fitted on")
        FITS.append((X.shape[0], shrink, sample_weight is not None))
        self.model_ = LogisticRegression(C=shrink).fit(X[:, 1:], y,
                                                       sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def decision_function(self, X):
        return self.model_.decision_function(X[:, 1:])

    def predict_proba(self, X):
        return self.model_.predict_proba(X[:, 1:])


@pytest.fixture
def data():
    features, y = make_classification(n_samples=300, n_features=5, n_informative=3,
                                      n_classes=3, random_state=0)
    ids = np.arange(y.shape[0], dtype=np.float64) * 7.0  # an id column, not a feature
    FITS.clear()
    return np.column_stack([ids, features]), y, ids


def _nll(comparison):
    return comparison.cv_results_["mean_test_nll"]


def _uncalibrated_nll(comparison):
    return _nll(comparison)[list(comparison.cv_results_["method"]).index("uncalibrated")]


def test_fit_params_reach_every_fit_on_its_own_rows_as_a_configured_classifier_would(data):
    X, y, ids = data
    given = compare_calibrators(X, y, estimator=RowCheckingClassifier(), cv=3,
                                calibrators=METHODS,
                                fit_params={"row_id": ids, "shrink": 0.05})
    # every fit got both (the row check inside it would have failed otherwise), the
    # outer training parts, their inner folds and the final fits on every row
    sizes = {rows for rows, _, _ in FITS}
    assert {shrink for _, shrink, _ in FITS} == {0.05}
    assert {200, 300} <= sizes and min(sizes) == 160
    configured = compare_calibrators(X[:, 1:], y, estimator=LogisticRegression(C=0.05), cv=3,
                                     calibrators=METHODS)
    assert_allclose(_nll(given), _nll(configured), rtol=SAME_FITS)
    assert_allclose(given.recommended_calibrator_.predict_proba(X),
                    configured.recommended_calibrator_.predict_proba(X[:, 1:]), rtol=SAME_FITS)
    # the parameter made a difference: C=1 is another classifier (0.570 against 0.596)
    other = compare_calibrators(X, y, estimator=RowCheckingClassifier(), cv=3,
                                calibrators=METHODS, fit_params={"row_id": ids, "shrink": 1.0})
    assert abs(_uncalibrated_nll(other) - _uncalibrated_nll(given)) > 0.01


def test_fit_params_are_taken_on_the_rows_kept_with_weights_groups_and_a_test_set(data):
    X, y, ids = data
    y = np.where(np.arange(y.shape[0]) % 10 == 3, -100, y)  # 30 rows left out
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=y.shape[0])
    groups = np.arange(y.shape[0]) // 4
    kept = y != -100
    arguments = dict(cv=3, calibrators=METHODS, ignore_index=-100, groups=groups,
                     sample_weight=weights, X_test=X[:60], y_test=np.abs(y[:60]) % 3)
    given = compare_calibrators(X, y, estimator=RowCheckingClassifier(),
                                fit_params={"row_id": ids, "shrink": 0.05}, **arguments)
    assert all(weighted for _, _, weighted in FITS)
    assert max(rows for rows, _, _ in FITS) == np.count_nonzero(kept)
    configured = compare_calibrators(X[:, 1:], y, estimator=LogisticRegression(C=0.05),
                                     **{**arguments, "X_test": X[:60, 1:]})
    assert_allclose(_nll(given), _nll(configured), rtol=SAME_FITS)
    for name in ("TemperatureScaling", "VectorScaling"):
        assert_allclose(given.test_results_[name]["nll"], configured.test_results_[name]["nll"],
                        rtol=SAME_FITS)


def test_routed_fit_params_go_where_requested_and_are_refused_otherwise(data):
    X, y, ids = data
    params = {"row_id": ids, "shrink": 0.05}
    unrouted = compare_calibrators(X, y, estimator=RowCheckingClassifier(), cv=3,
                                   calibrators=METHODS, fit_params=params)
    with sklearn.config_context(enable_metadata_routing=True):
        requested = RowCheckingClassifier().set_fit_request(row_id=True, shrink=True)
        routed = compare_calibrators(X, y, estimator=requested, cv=3, calibrators=METHODS,
                                     fit_params=params)
        assert_allclose(_nll(routed), _nll(unrouted), rtol=SAME_FITS)
        declined = RowCheckingClassifier().set_fit_request(row_id=True, shrink=False)
        with pytest.raises(TypeError, match=r"compare_calibrators.fit got unexpected "
                                            r"argument\(s\) \{'shrink'\}"):
            compare_calibrators(X, y, estimator=declined, cv=3, calibrators=METHODS,
                                fit_params=params)
        undecided = RowCheckingClassifier().set_fit_request(row_id=True)
        with pytest.raises(UnsetMetadataPassedError, match=r"\[shrink\] are passed but are not"):
            compare_calibrators(X, y, estimator=undecided, cv=3, calibrators=METHODS,
                                fit_params=params)


def test_fit_params_refused_without_a_classifier_to_fit_as_weights_or_not_as_a_dict(data):
    X, y, ids = data
    with pytest.raises(TypeError, match=r"fit_params \['shrink'\].*estimator="):
        compare_calibrators(X[:, 1:], y, calibrators=METHODS, fit_params={"shrink": 0.5})
    frozen = FrozenEstimator(RowCheckingClassifier().fit(X, y, row_id=ids, shrink=0.05))
    FITS.clear()
    # before any fold (a frozen classifier's fit takes anything and does nothing)
    with pytest.raises(TypeError, match=r"compare_calibrators got fit_params \['shrink'\].*"
                                        r"FrozenEstimator is not fitted again"):
        compare_calibrators(X, y, estimator=frozen, calibrators=METHODS,
                            fit_params={"shrink": 0.5})
    with pytest.raises(ValueError, match=r"compare_calibrators\(sample_weight=\.\.\.\)"):
        compare_calibrators(X, y, estimator=RowCheckingClassifier(), calibrators=METHODS,
                            fit_params={"sample_weight": np.ones(y.shape[0])})
    with pytest.raises(TypeError, match=r"fit_params must be a dict.*got list"):
        compare_calibrators(X, y, estimator=RowCheckingClassifier(), calibrators=METHODS,
                            fit_params=[("shrink", 0.5)])
    assert FITS == []  # refused before any fit
