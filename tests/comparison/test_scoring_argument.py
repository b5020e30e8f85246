"""compare_calibrators' scoring=: more metrics per fold, named as scikit-learn names them."""

import numpy as np
import pytest

from conftest import sample_labels, softmax
from skcal import TemperatureScaling, compare_calibrators


@pytest.fixture
def overconfident_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(2000, 4))
    return logits, sample_labels(softmax(logits / 2), rng)


def test_scoring_and_weights(overconfident_logits):
    logits, y = overconfident_logits
    weights = np.random.default_rng(1).integers(1, 3, size=y.shape[0])
    comparison = compare_calibrators(
        logits, y, sample_weight=weights, scoring=["neg_classwise_ece"],
        calibrators=[TemperatureScaling()],
    )
    assert "mean_test_neg_classwise_ece" in comparison.cv_results_
    assert np.all(comparison.cv_results_["mean_test_neg_classwise_ece"] <= 0)
    with pytest.raises(ValueError, match="always reported"):
        compare_calibrators(logits, y, scoring=["nll"])


def test_scoring_takes_one_name_or_one_scorer_as_scikit_learn_does(overconfident_logits):
    logits, y = overconfident_logits
    listed = compare_calibrators(logits, y, scoring=["neg_classwise_ece"],
                                 calibrators=[TemperatureScaling()]).cv_results_
    # a name alone was read letter by letter: "'n' is not a scorer name"
    named = compare_calibrators(logits, y, scoring="neg_classwise_ece",
                                calibrators=[TemperatureScaling()]).cv_results_
    np.testing.assert_array_equal(named["mean_test_neg_classwise_ece"],
                                  listed["mean_test_neg_classwise_ece"])

    def accuracy(calibrator, scores, y_index):
        return float(np.mean(calibrator.predict(scores) == y_index))

    called = compare_calibrators(logits, y, scoring=accuracy,
                                 calibrators=[TemperatureScaling()]).cv_results_
    # the folds' mean of the scorer is the accuracy the comparison reports itself
    np.testing.assert_allclose(called["mean_test_score"], called["mean_test_accuracy"],
                               rtol=1e-12)
    with pytest.raises(ValueError, match=r"^scoring lists scorer names; got <function"):
        compare_calibrators(logits, y, scoring=[accuracy])
    with pytest.raises(ValueError, match=r"^scoring takes a scorer name, .* got int\.$"):
        compare_calibrators(logits, y, scoring=3)

