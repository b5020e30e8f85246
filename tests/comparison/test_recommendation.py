"""What compare_calibrators recommends, beyond the simplest method within two
standard errors of the best."""

from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

from skcal import compare_calibrators


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
