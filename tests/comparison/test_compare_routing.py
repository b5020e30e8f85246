"""compare_calibrators with a classifier under scikit-learn's metadata routing:
the classifier's weights go where it requests them, in every fold as in the
final fits."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression

from skcal import compare_calibrators

# the same fits on the same rows in both runs: equal but for BLAS summation order
SAME_FITS = 1e-10


class LogisticWithoutWeights(LogisticRegression):
    """A logistic regression whose fit takes no weights (then a calibrator
    passes it none, outside routing)."""

    def fit(self, X, y):
        return super().fit(X, y)


@pytest.fixture
def data():
    X, y = make_classification(n_samples=400, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    weights = np.random.default_rng(0).uniform(0.0, 3.0, size=y.shape[0])
    return X, y, weights


def _compared(X, y, weights, classifier):
    return compare_calibrators(X, y, estimator=classifier, sample_weight=weights, cv=3,
                               calibrators=["temperature", "vector"])


def test_routed_weights_reach_the_classifier_in_every_fold_only_when_requested(data):
    X, y, weights = data
    weighted = _compared(X, y, weights, LogisticRegression())
    # the warning names the fix a comparison can take: routing
    with pytest.warns(UserWarning, match=r"does not accept sample_weight.*metadata routing"):
        unweighted = _compared(X, y, weights, LogisticWithoutWeights())
    with sklearn.config_context(enable_metadata_routing=True):
        requested = _compared(X, y, weights,
                              LogisticRegression().set_fit_request(sample_weight=True))
        declined = _compared(X, y, weights,
                             LogisticRegression().set_fit_request(sample_weight=False))
    assert_allclose(requested.cv_results_["mean_test_nll"],
                    weighted.cv_results_["mean_test_nll"], rtol=SAME_FITS)
    assert_allclose(declined.cv_results_["mean_test_nll"],
                    unweighted.cv_results_["mean_test_nll"], rtol=SAME_FITS)
    assert not np.allclose(weighted.cv_results_["mean_test_nll"],
                           unweighted.cv_results_["mean_test_nll"], rtol=1e-4)
    assert_allclose(declined.recommended_calibrator_.estimator_.coef_,
                    LogisticRegression().fit(X, y).coef_, rtol=SAME_FITS)


def test_routed_weights_the_classifier_did_not_decide_on_are_refused_before_any_fold(data):
    X, y, weights = data
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(UnsetMetadataPassedError,
                           match=r"LogisticRegression.fit, which is used within "
                                 r"compare_calibrators"):
            _compared(X, y, weights, LogisticRegression())
