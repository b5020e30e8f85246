"""States written before version 6 kept each open chunk's recalibration terms at
three inverse temperatures (1/2, 1 and 2) and no square of the NLL there: they are
read, their chunks go on from where they were, and the chunks they began are
estimated from the three points they have."""

import json

import numpy as np
import pytest

from skcal import CalibrationMonitor
from skcal.monitoring._statistics import BETA_GRID, OLD_BETA_GRID
from test_monitor import stream

TERMS = ("loss", "grad", "grad_outer", "hessian")


def _as_before_version_6(state):
    """``state`` as skcal wrote it before version 6: the open chunk's terms at the
    three old points only, no ``loss_sq``."""
    old = json.loads(json.dumps(state))
    points = np.searchsorted(BETA_GRID, OLD_BETA_GRID)
    summary = old["open"]["summary"]
    for key in TERMS:
        summary[key] = np.asarray(summary[key], dtype=np.float64)[points].tolist()
    del summary["loss_sq"]
    old["version"] = 3
    return old


def test_an_open_chunk_of_an_older_state_completes_from_its_three_points():
    rng = np.random.default_rng(0)
    first, rest = stream(rng, 2500, sharpen=1.5), stream(rng, 1000, sharpen=1.5)
    monitor = CalibrationMonitor(chunk_size=1000).fit(*stream(rng, 5000))
    monitor.update(*first)
    state = monitor.to_dict()
    assert state["version"] == 6 and state["open"] is not None
    restored = CalibrationMonitor.from_dict(_as_before_version_6(state))
    kept = restored._open["summary"]
    assert np.isnan(kept["loss"]).sum() == BETA_GRID.shape[0] - OLD_BETA_GRID.shape[0]
    restored.update(*rest)
    monitor.update(*rest)
    before, after = monitor.to_dict()["chunks"][2], restored.to_dict()["chunks"][2]
    # the chunk's own sums are the same (JSON keeps float64 exactly, and the rows
    # are added in the same order: 1e-12 allows the last bits of a different BLAS
    # summation); only its recalibration is estimated from fewer points (0.02 nats
    # on this calibrated stream), and its refinement's error is the NLL's
    for key in ("n", "n_labelled", "nll", "nll_se", "accuracy", "brier", "ece"):
        assert after[key] == pytest.approx(before[key], rel=1e-12), key
    assert after["nll_refinement"] == pytest.approx(before["nll_refinement"], abs=0.02)
    assert after["verdict"] == before["verdict"]
    derived = restored._chunks[2]["derived"]
    assert derived["nll_refinement_se"] == derived["nll_se"]
    assert json.loads(json.dumps(restored.to_dict()))["version"] == 6


def test_terms_at_another_number_of_points_are_refused_by_name():
    rng = np.random.default_rng(1)
    monitor = CalibrationMonitor(chunk_size=1000).fit(*stream(rng, 5000))
    monitor.update(*stream(rng, 500))
    state = json.loads(json.dumps(monitor.to_dict()))
    state["open"]["summary"]["loss"] = state["open"]["summary"]["loss"][:5]
    with pytest.raises(ValueError, match=r"'loss' has shape \(5,\), not \(7,\)"):
        CalibrationMonitor.from_dict(state)
