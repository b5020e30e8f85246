"""A monitor of a model whose probabilities hold exact zeros (vote fractions)."""

import json

import numpy as np
import pytest

from skcal import CalibrationMonitor, TemperatureScaling

K = 4


def votes(rng, n, sharpen=1.0, trees=20):
    """Vote fractions of ``trees`` trees for softmax(sharpen * z), exact zeros among
    them, and labels drawn from softmax(z)."""
    z = rng.normal(scale=1.5, size=(n, K))
    truth = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    model = np.exp(sharpen * z) / np.exp(sharpen * z).sum(axis=1, keepdims=True)
    y = (truth.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return np.array([rng.multinomial(trees, row) for row in model]) / trees, y


def test_a_forest_is_monitored_on_nlls_of_its_calibration_not_of_its_zeros():
    # a zero read at -708 nats: the observed labels a forest gave 0 made the
    # reference's per-row deviation 117 nats and a steady chunk's NLL 16 to 22 nats
    # (against 1.0 read at the floor), whose ups and downs counted zeros
    rng = np.random.default_rng(0)
    reference, y = votes(rng, 5000)
    assert (reference[np.arange(5000), y] == 0).sum() > 0
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference, y)
    assert monitor.probability_floor_ == pytest.approx(0.025, rel=1e-12)  # half of 1/20
    assert monitor.reference_["nll_sd"] < 2.0
    for sharpen in [1.0] * 4 + [4.0] * 4:
        monitor.update(*votes(rng, 1000, sharpen))
    chunks = monitor.to_dict()["chunks"]
    assert all(abs(row["nll"] - monitor.reference_["nll"]) < 0.1 for row in chunks[:4])
    alarms = [row["alarm"] for row in chunks]
    assert not any(alarms[:4]) and sum(alarms[4:]) >= 3


def test_the_floor_is_kept_in_the_state_and_a_monitor_without_one_writes_version_2():
    rng = np.random.default_rng(1)
    monitor = CalibrationMonitor(chunk_size=500).fit(*votes(rng, 3000))
    state = json.loads(json.dumps(monitor.to_dict()))
    assert (state["version"], state["probability_floor"]) == (3, monitor.probability_floor_)
    batch = votes(rng, 700)
    restored = CalibrationMonitor.from_dict(state).update(*batch)
    assert json.dumps(restored.to_dict()) == json.dumps(monitor.update(*batch).to_dict())
    logits = rng.normal(size=(3000, K))
    on_logits = CalibrationMonitor(chunk_size=500).fit(logits, rng.integers(K, size=3000))
    assert on_logits.probability_floor_ is None
    assert on_logits.to_dict()["version"] == 2


def test_an_installed_calibrator_reads_the_zeros_at_its_own_floor():
    rng = np.random.default_rng(2)
    reference, y = votes(rng, 3000)
    monitor = CalibrationMonitor(chunk_size=500).fit(reference, y)
    calibrator = TemperatureScaling().fit(*votes(rng, 2000, sharpen=2.0))
    monitor.recalibrate(calibrator)
    monitor.update(*votes(rng, 1000, sharpen=2.0))
    assert calibrator.probability_floor_ == pytest.approx(0.025, rel=1e-12)
    assert all(np.isfinite(row["nll"]) and row["nll"] < 3.0
               for row in monitor.to_dict()["chunks"])
