"""States written before version 8 kept each open chunk's recalibration terms at
fewer inverse temperatures: before version 6 at three (1/2, 1 and 2) and no square
of the NLL there, in version 6 at seven (0, then 1/16 to 2), in version 7 at nine
(0, then 1/16 to 8). They are read, their chunks go on from where they were, and the
chunks they began are estimated from the points they have."""

import json

import numpy as np
import pytest

from skcal import CalibrationMonitor
from skcal.monitoring._statistics import BETA_GRID, OLD_BETA_GRIDS
from test_monitor import stream

TERMS = ("loss", "loss_sq", "grad", "grad_outer", "hessian")
# a state's version: the points it kept
GRIDS = {3: OLD_BETA_GRIDS[0], 6: OLD_BETA_GRIDS[1], 7: OLD_BETA_GRIDS[2]}


def _as_version(state, version):
    """``state`` as skcal wrote it in ``version``: the open chunk's terms at that
    version's points only, and before version 6 no ``loss_sq``."""
    old = json.loads(json.dumps(state))
    points = np.searchsorted(BETA_GRID, GRIDS[version])
    summary = old["open"]["summary"]
    for key in TERMS:
        summary[key] = np.asarray(summary[key], dtype=np.float64)[points].tolist()
    if version < 6:
        del summary["loss_sq"]
    old["version"] = version
    return old


@pytest.mark.parametrize("version", GRIDS)
def test_an_open_chunk_of_an_older_state_completes_from_its_points(version):
    rng = np.random.default_rng(0)
    first, rest = stream(rng, 2500, sharpen=1.5), stream(rng, 1000, sharpen=1.5)
    monitor = CalibrationMonitor(chunk_size=1000).fit(*stream(rng, 5000))
    monitor.update(*first)
    state = monitor.to_dict()
    assert state["version"] == 8 and state["open"] is not None
    restored = CalibrationMonitor.from_dict(_as_version(state, version))
    kept = restored._open["summary"]
    assert np.isnan(kept["loss"]).sum() == BETA_GRID.shape[0] - GRIDS[version].shape[0]
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
    if version < 6:  # no square of the NLL at the points: the NLL's error
        derived = restored._chunks[2]["derived"]
        assert derived["nll_refinement_se"] == derived["nll_se"]
    assert json.loads(json.dumps(restored.to_dict()))["version"] == 8


def test_terms_at_another_number_of_points_are_refused_by_name():
    rng = np.random.default_rng(1)
    monitor = CalibrationMonitor(chunk_size=1000).fit(*stream(rng, 5000))
    monitor.update(*stream(rng, 500))
    state = json.loads(json.dumps(monitor.to_dict()))
    state["open"]["summary"]["loss"] = state["open"]["summary"]["loss"][:5]
    with pytest.raises(ValueError, match=r"'loss' has shape \(5,\), not \(15,\)"):
        CalibrationMonitor.from_dict(state)
