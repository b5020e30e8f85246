"""What compare_calibrators recommends, beyond the simplest method within two
standard errors of the best."""

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

from skcal import TemperatureScaling, VectorScaling, compare_calibrators


def test_a_method_that_gives_an_observed_label_zero_probability_is_not_recommended():
    # a random forest gave two observed labels a probability of 0: their NLL, clipped
    # at 708 nats, made the standard error of its difference so large (0.33 of a
    # difference of 0.59) that "no calibration" was recommended
    X, y = make_classification(6000, n_features=20, n_informative=8, n_classes=4,
                               random_state=0)
    forest = RandomForestClassifier(100, random_state=0).fit(X[:3000], y[:3000])
    comparison = compare_calibrators(forest.predict_proba(X[3000:]), y[3000:], cv=5)
    results = comparison.cv_results_
    row = {name: i for i, name in enumerate(results["method"])}["uncalibrated"]
    assert results["n_zero_probability"][row] == 2
    # within two standard errors, as a finite difference would be tied
    assert abs(results["nll_diff_to_best"][row]) <= 2 * results["nll_diff_se"][row]
    assert not results["tied_with_best"][row]
    assert comparison.recommended_ == "TemperatureScaling"
    others = [n for name, n in zip(results["method"], results["n_zero_probability"])
              if name != "uncalibrated"]
    assert others == [0] * 7
    assert ("Not recommended whatever the standard error, its held-out NLL being infinite "
            "(clipped in the table): uncalibrated gave 2 observed label(s) a probability "
            "of 0.") in str(comparison)


def test_the_recommended_method_is_fitted_on_all_the_data_beside_the_best():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=4.0, size=(3000, 4))
    # a temperature and a small shift of class 0, which vector scaling fits (by 0.00115
    # nats, 0.85 standard errors, far beyond any rounding): the best is not recommended
    y = np.argmax(logits / 2 + np.r_[0.25, 0, 0, 0] + rng.gumbel(size=logits.shape), axis=1)
    comparison = compare_calibrators(logits, y, calibrators=["temperature", "vector"])
    assert comparison.ranking_[0] == "VectorScaling"
    assert comparison.recommended_ == "TemperatureScaling"
    recommended = comparison.recommended_calibrator_  # was AttributeError
    assert isinstance(recommended, TemperatureScaling)
    assert isinstance(comparison.best_calibrator_, VectorScaling)
    # fitted on every row: the temperature of a fit alone, to its Newton tolerance
    alone = TemperatureScaling().fit(logits, y)
    np.testing.assert_allclose(recommended.temperature_, alone.temperature_, rtol=1e-8)
    np.testing.assert_allclose(recommended.predict_proba(logits[:5]),
                               alone.predict_proba(logits[:5]), rtol=1e-7)


def test_the_best_recommended_is_one_fitted_calibrator():
    rng = np.random.default_rng(5)
    logits = rng.normal(scale=4.0, size=(3000, 10))
    # a temperature alone: vector scaling is 0.0033 nats behind it
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    comparison = compare_calibrators(logits, y, calibrators=["temperature", "vector"],
                                     X_test=logits[:500], y_test=y[:500])
    assert comparison.recommended_ == comparison.ranking_[0] == "TemperatureScaling"
    assert comparison.recommended_calibrator_ is comparison.best_calibrator_
