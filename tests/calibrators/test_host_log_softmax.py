"""The calibrated log-probabilities of in-memory scores: skcal's log-softmax is
scipy's, value for value."""

import numpy as np
import pytest
from scipy.special import log_softmax

from skcal.calibrators._outputs import host_log_softmax


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 2), (2000, 100), (7, 3001)])
def test_host_log_softmax_is_scipys_bit_for_bit(dtype, shape):
    """The same operations in the same order: equal values, not close ones,
    also with exact zeros of probability (-inf logits) and logits far from 0."""
    rng = np.random.default_rng(sum(shape))
    logits = rng.normal(scale=30.0, size=shape).astype(dtype)
    logits[0, 0] = -np.inf
    logits[-1, -1] = 5e3
    got = host_log_softmax(logits)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, log_softmax(logits, axis=1))
