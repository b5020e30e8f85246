"""compare_calibrators on Dask arrays of scores: the same comparison as on the
array they hold, whichever method is best (the baseline, isotonic calibration
and histogram binning need every row at once), and a Dask test set scored."""

import numpy as np
import pytest

from skcal import compare_calibrators

da = pytest.importorskip("dask.array", reason="Dask arrays are an optional input")


def _scores(scale, n=3000, k=4, seed=0):
    """Logits of a model ``scale`` times too confident, and labels."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    return scale * logits, y


@pytest.mark.parametrize("scale, methods, best", [
    # a calibrated model: the baseline is best (its final fit refused a Dask array)
    (1.0, ["temperature"], "Uncalibrated"),
    # isotonic calibration best among those given (also refused)
    (3.0, ["isotonic", "histogram"], "IsotonicCalibration"),
    (3.0, ["temperature", "vector"], "TemperatureScaling"),
])
def test_a_dask_array_compares_as_the_array_it_holds(scale, methods, best):
    logits, y = _scores(scale)
    expected = compare_calibrators(logits, y, calibrators=methods, cv=3)
    comparison = compare_calibrators(da.from_array(logits, chunks=(700, 4)), y,
                                     calibrators=methods, cv=3)
    assert type(comparison.best_calibrator_).__name__ == best
    # the Dask array is read into the same numpy values, which go through the same
    # computation: equal to the last bit, on any CPU
    assert comparison.ranking_ == expected.ranking_
    np.testing.assert_array_equal(comparison.cv_results_["mean_test_nll"],
                                  expected.cv_results_["mean_test_nll"])
    np.testing.assert_array_equal(comparison.best_calibrator_.predict_proba(logits[:20]),
                                  expected.best_calibrator_.predict_proba(logits[:20]))


def test_a_dask_test_set_is_scored():
    # its probabilities stayed lazy and failed inside Dask ("nd fancy indexing")
    logits, y = _scores(3.0)
    test_logits, test_y = _scores(3.0, n=1000, seed=1)
    methods = ["isotonic", "temperature"]
    expected = compare_calibrators(logits, y, calibrators=methods, cv=3,
                                   X_test=test_logits, y_test=test_y)
    comparison = compare_calibrators(logits, y, calibrators=methods, cv=3,
                                     X_test=da.from_array(test_logits, chunks=(300, 4)),
                                     y_test=test_y)
    assert comparison.test_results_ == expected.test_results_
