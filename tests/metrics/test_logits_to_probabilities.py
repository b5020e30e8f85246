"""The metrics of probabilities given ``logits=`` take the softmax block by block in
place of a fresh array: the values scipy's softmax gives, and the caller's logits
untouched (a block of an in-memory array of the compute dtype is a view of it)."""

import numpy as np
import pytest
from scipy.special import softmax

from skcal.metrics import brier_score, calibration_curve, expected_calibration_error


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_metrics_of_logits_equal_those_of_their_softmax_and_leave_them_unchanged(dtype):
    rng = np.random.default_rng(8)
    logits = (rng.normal(scale=4.0, size=(3000, 40))).astype(dtype)
    y = rng.integers(0, 40, size=3000)
    kept = logits.copy()
    proba = softmax(logits, axis=1)
    # the same arithmetic in the same dtype: equal to the last bit
    assert expected_calibration_error(y, logits=logits) == expected_calibration_error(y, proba)
    assert expected_calibration_error(y, logits=logits, kind="classwise") == \
        expected_calibration_error(y, proba, kind="classwise")
    assert brier_score(y, logits=logits) == brier_score(y, proba)
    from_logits, from_proba = (calibration_curve(y, logits=logits),
                               calibration_curve(y, proba))
    for got, expected in zip(from_logits, from_proba):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(logits, kept)
