"""calibration_test with sample_weight: the consistency test's statistic is the
weighted metric, its null draws one label per row from the row's
probabilities, and it keeps its level under calibration with weights that
vary (seeded simulations: 200 data sets, the rejection rate at the 5 % level
within 5 binomial standard errors, 1.5 % each, of 5 %); Spiegelhalter's Z
weighs each row's term; the tests defined without weights refuse them."""

import functools

import numpy as np
import pytest

from conftest import sample_labels, softmax
from skcal.metrics import brier_score, expected_calibration_error, nll
from skcal.stats import calibration_test


def calibrated(rng, n=400, k=3, scale=2.0):
    proba = softmax(scale * rng.normal(size=(n, k)))
    return sample_labels(proba, rng), proba


CLASSWISE = functools.partial(expected_calibration_error, kind="classwise")


@pytest.mark.parametrize("metric, function, strategy", [
    ("ece", expected_calibration_error, None),
    ("ece", expected_calibration_error, "quantile"),
    ("classwise_ece", CLASSWISE, None),
    ("classwise_ece", CLASSWISE, "quantile"),
    ("nll", nll, None),
    ("brier", brier_score, None),
])
def test_the_statistic_is_the_weighted_metric(metric, function, strategy):
    rng = np.random.default_rng(0)
    y, proba = calibrated(rng)
    weight = rng.exponential(size=y.shape[0])
    weight[:20] = 0.0
    result = calibration_test(y, proba, metric=metric, strategy=strategy,
                              sample_weight=weight, n_resamples=50, random_state=0)
    options = {"strategy": strategy} if strategy else {}
    expected = function(y, proba, sample_weight=weight, **options)
    # the same sums in another order: equal to a few roundings of the metric
    assert result.statistic == pytest.approx(expected, rel=1e-10, abs=1e-14)
    unweighted = calibration_test(y, proba, metric=metric, strategy=strategy,
                                  n_resamples=50, random_state=0)
    assert unweighted.statistic != pytest.approx(result.statistic, rel=1e-6)


@pytest.mark.parametrize("method, metric", [("consistency", "ece"),
                                            ("consistency", "nll"),
                                            ("spiegelhalter", None)])
def test_weighted_tests_keep_their_level_and_see_overconfidence(method, metric):
    rng = np.random.default_rng(1)
    options = {"metric": metric, "n_resamples": 200} if metric else {}
    rejected, overconfident_rejected = 0, 0
    for _ in range(200):
        y, proba = calibrated(rng, n=300, k=2)
        weight = rng.exponential(size=300)
        seed = int(rng.integers(2**31))
        if method == "consistency":
            options["random_state"] = seed
        rejected += calibration_test(y, proba, method=method, sample_weight=weight,
                                     **options).pvalue <= 0.05
        sharp = softmax(3.0 * np.log(proba))  # the same labels, a model too confident
        overconfident_rejected += calibration_test(y, sharp, method=method,
                                                   sample_weight=weight,
                                                   **options).pvalue <= 0.05
    assert 0.05 - 5 * 0.0154 <= rejected / 200 <= 0.05 + 5 * 0.0154
    assert overconfident_rejected / 200 > 0.8


def test_spiegelhalter_weighs_each_rows_term():
    rng = np.random.default_rng(2)
    y, proba = calibrated(rng, n=500, k=2)
    weight = rng.integers(1, 4, size=500).astype(float)
    p, outcome = proba[:, 1], (y == 1).astype(float)
    z = (np.sum(weight * (outcome - p) * (1 - 2 * p))
         / np.sqrt(np.sum(weight**2 * (1 - 2 * p) ** 2 * p * (1 - p))))
    result = calibration_test(y, proba, method="spiegelhalter", sample_weight=weight)
    assert result.statistic == pytest.approx(z, rel=1e-12)
    unit = calibration_test(y, proba, method="spiegelhalter", sample_weight=np.ones(500))
    assert unit.statistic == pytest.approx(
        calibration_test(y, proba, method="spiegelhalter").statistic, rel=1e-12)


def test_tests_without_weights_and_metrics_without_weights_refuse_them():
    rng = np.random.default_rng(3)
    y, proba = calibrated(rng, n=100, k=2)
    weight = np.ones(100)
    for method in ("skce", "hosmer_lemeshow"):
        with pytest.raises(ValueError, match=f"method='{method}' takes no sample_weight; use "
                                             "method='consistency' or 'spiegelhalter'"):
            calibration_test(y, proba, method=method, sample_weight=weight)
    with pytest.raises(ValueError, match="sample_weight was given, but the metric takes none"):
        calibration_test(y, proba, metric=lambda y_true, y_prob: 0.0, sample_weight=weight)
    with pytest.raises(ValueError, match="sample_weight"):
        calibration_test(y, proba, sample_weight=-weight)
    # a metric that takes weights is handed them
    seen = []

    def weighted_metric(y_true, y_prob, sample_weight=None):
        seen.append(sample_weight)
        return float(np.mean(y_true))

    calibration_test(y, proba, metric=weighted_metric, sample_weight=2 * weight,
                     n_resamples=3, random_state=0)
    assert len(seen) == 4 and all(np.array_equal(w, 2 * weight) for w in seen)
