"""Probabilities written with few decimals (a CSV log's ``0.333, 0.333, 0.334``)
are probabilities: their rows may sum to 1 only within half a unit of the last
decimal per column. Before, rows off by more than 1e-3 were read as logits by
``score_type='auto'`` (the monitor judged a calibrated model at 0.83 nats
instead of 0.58, with 'recalibration would win back 0.20'), and refused when
said to be probabilities."""

import warnings

import numpy as np
import pytest

from skcal import CalibrationMonitor, TemperatureScaling
from skcal.rows._scores import resolve_score_type


def calibrated(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return proba, y


@pytest.mark.parametrize("k, decimals", [(3, 3), (10, 3), (10, 2), (100, 4)])
def test_rounded_probabilities_are_read_as_probabilities(k, decimals):
    proba, y = calibrated(3000, k, 0)
    rounded = proba.round(decimals)
    assert np.abs(rounded.sum(axis=1) - 1).max() > 1e-3  # beyond the plain tolerance
    assert resolve_score_type(rounded, "auto") == "probabilities"
    assert resolve_score_type(rounded, "probabilities") == "probabilities"  # not refused
    fitted = TemperatureScaling().fit(rounded, y)
    exact = TemperatureScaling().fit(proba, y)
    assert fitted.score_type_ == "probabilities"
    # rounding moves each probability by at most half a unit of its last decimal,
    # and makes the smallest ones 0 (read at half a unit): within 5 % at 2 decimals
    assert fitted.temperature_ == pytest.approx(exact.temperature_, rel=0.05)


def test_rounded_float32_probabilities_too():
    proba, _ = calibrated(2000, 3, 1)
    assert resolve_score_type(proba.round(3).astype(np.float32), "auto") == "probabilities"


def test_what_is_not_rounded_probabilities_stays_refused():
    proba, _ = calibrated(2000, 3, 2)
    top_two = np.sort(proba, axis=1)[:, 1:].round(2)  # a class's column missing
    with pytest.warns(UserWarning, match="each class needs its column"):
        assert resolve_score_type(top_two, "auto") == "logits"
    with pytest.raises(ValueError, match="must sum to 1"):
        resolve_score_type(top_two, "probabilities")
    unrounded_off = proba * 1.002  # off by more than 1e-3, on no decimal grid
    with warnings.catch_warnings():  # the warning for scores in [0, 1]: not this test's
        warnings.simplefilter("ignore")
        assert resolve_score_type(unrounded_off, "auto") == "logits"


def test_monitor_reads_rounded_probabilities_as_probabilities():
    reference, reference_y = calibrated(3000, 3, 3)
    batch, batch_y = calibrated(2000, 3, 4)
    exact = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    exact.update(batch, batch_y)
    rounded = CalibrationMonitor(chunk_size=1000).fit(reference.round(3), reference_y)
    rounded.update(batch.round(3), batch_y)
    assert rounded.score_type_ == "probabilities"
    # probabilities moved by at most 5e-4 each; the floor of exact zeros (5e-4)
    # costs little in these NLLs (the rows with a label rounded to 0 are few)
    np.testing.assert_allclose(rounded.to_frame()["nll"], exact.to_frame()["nll"], atol=0.02)
