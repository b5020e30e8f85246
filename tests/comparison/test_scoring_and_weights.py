"""compare_calibrators' scoring= (more metrics per fold, named as scikit-learn names
them) and sample_weight= (rows of weight 0 count for nothing, whatever their label)."""

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


def test_rows_of_weight_0_may_have_no_label_as_in_a_calibrator_fit(overconfident_logits):
    logits, y = overconfident_logits
    weights = np.ones(y.shape[0])
    weights[[3, 10]] = 0.0
    labelled = compare_calibrators(logits, y, sample_weight=weights,
                                   calibrators=[TemperatureScaling()])
    unlabelled = y.astype(float)
    unlabelled[3], unlabelled[10] = np.nan, 7  # missing, and a class of no column
    # was "y is missing at 1 of 2000 rows ... or give them sample_weight 0", which
    # did not help: a calibrator's fit took them so, the comparison did not
    comparison = compare_calibrators(logits, unlabelled, sample_weight=weights,
                                     calibrators=[TemperatureScaling()])
    # the folds may deal those two rows elsewhere; weighing 0, they change no sum
    np.testing.assert_allclose(comparison.cv_results_["mean_test_nll"],
                               labelled.cv_results_["mean_test_nll"], rtol=1e-9)
    np.testing.assert_allclose(comparison.best_calibrator_.temperature_,
                               labelled.best_calibrator_.temperature_, rtol=1e-9)


def test_a_classifier_comparison_refuses_rows_without_a_label():
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(300, random_state=0)
    y = y.astype(float)
    y[3] = np.nan
    # NaN was taken as a third class: "The training part of fold 4 has no sample of
    # class(es) [2]"
    with pytest.raises(ValueError, match=r"^y is missing at 1 of 300 rows \(None or NaN, "
                                         r"the first at row 3\); the classifier and every "
                                         r"method need each row's label\."):
        compare_calibrators(X, y, estimator=LogisticRegression(),
                            calibrators=[TemperatureScaling()])

