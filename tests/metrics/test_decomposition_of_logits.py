"""nll_decomposition of logits: the split of their softmax's NLL, read from the
logits as they are (a memory map of float16 token logits too)."""

import numpy as np
import pytest
from scipy.special import log_softmax

from skcal import TemperatureScaling
from skcal.metrics import nll_decomposition


def overconfident(rng, n, k):
    logits = rng.normal(scale=4.0, size=(n, k))
    return logits, np.argmax(logits / 2 + rng.gumbel(size=(n, k)), axis=1)


@pytest.mark.parametrize("method", ["temperature", "isotonic", TemperatureScaling()],
                         ids=["temperature", "isotonic", "calibrator"])
def test_the_split_of_logits_is_that_of_their_probabilities(method):
    logits, y = overconfident(np.random.default_rng(0), 3000, 5)
    weights = np.random.default_rng(1).uniform(0.5, 1.5, size=3000)
    proba = np.exp(log_softmax(logits, axis=1))
    # was "TypeError: got an unexpected keyword argument 'logits'"
    of_logits = nll_decomposition(y, logits=logits, method=method, sample_weight=weights)
    of_proba = nll_decomposition(y, proba, method=method, sample_weight=weights)
    # a temperature scales logits and log-probabilities alike, isotonic regression
    # sees the same order: equal up to the rounding of log(softmax) (1e-12 relative)
    # and the fits' tolerance (1e-9 relative on the NLL)
    np.testing.assert_allclose(of_logits, of_proba, rtol=1e-9)
    assert of_logits.calibration > 0.1  # twice too confident: much to win back


def test_binary_logits_are_one_column_as_the_calibrators_read_them():
    rng = np.random.default_rng(2)
    score = rng.normal(scale=3.0, size=2000)
    y = (score / 3 + rng.logistic(size=2000) > 0).astype(int)
    of_logits = nll_decomposition(y, logits=score)
    of_proba = nll_decomposition(y, 1 / (1 + np.exp(-score)))
    np.testing.assert_allclose(of_logits, of_proba, rtol=1e-9)


def test_float16_logits_in_a_memory_map_are_split_in_row_blocks(tmp_path):
    logits, y = overconfident(np.random.default_rng(3), 20000, 64)
    path = tmp_path / "logits.npy"
    np.save(path, logits.astype(np.float16))
    mapped = np.load(path, mmap_mode="r")
    in_memory = nll_decomposition(y, logits=np.asarray(mapped, dtype=np.float32))
    # float16 blocks are computed in float32, as the array read whole
    np.testing.assert_allclose(nll_decomposition(y, logits=mapped), in_memory, rtol=1e-6)


def test_one_of_probabilities_and_logits():
    logits, y = overconfident(np.random.default_rng(4), 300, 3)
    with pytest.raises(ValueError, match="^Give exactly one of y_prob and logits.$"):
        nll_decomposition(y)
    with pytest.raises(ValueError, match="^Give exactly one of y_prob and logits.$"):
        nll_decomposition(y, np.exp(log_softmax(logits, axis=1)), logits=logits)
    with pytest.raises(ValueError, match=r"as logits= to .*nll_decomposition"):
        nll_decomposition(y, logits)  # logits given as probabilities: the way out named
