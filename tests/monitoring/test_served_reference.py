"""A monitor of a model served through a calibrator from the start: its reference is
measured through that calibrator, as every batch is."""

import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skcal import CalibrationMonitor, TemperatureScaling, save_calibrator
from skcal.cli import main
from skcal.metrics import nll


def overconfident(seed, n, k=3):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=4.0, size=(n, k))
    return logits, np.argmax(logits / 2 + rng.gumbel(size=(n, k)), axis=1)


def test_the_reference_of_a_served_calibrator_is_what_the_system_serves():
    calibrator = TemperatureScaling().fit(*overconfident(0, 3000))
    logits, y = overconfident(1, 4000)
    monitor = CalibrationMonitor(chunk_size=500).fit(logits, y, calibrator=calibrator)
    served = calibrator.predict_proba(logits)
    # was the raw scores' NLL (here 0.15 nats higher) whatever the system served
    assert monitor.reference_["nll"] == pytest.approx(nll(y, served), rel=1e-9)
    assert nll(y, served) < nll(y, np.exp(logits) / np.exp(logits).sum(1, keepdims=True)) - 0.1
    assert monitor.calibrator_ is not None and monitor.calibrator_version_ == 1
    batch, labels = overconfident(2, 1000)
    monitor.update(batch, labels)
    table = monitor.to_frame()
    assert table["calibrator"].tolist() == [1, 1]
    assert table["nll"].iloc[0] == pytest.approx(
        nll(labels[:500], calibrator.predict_proba(batch[:500])), rel=1e-9)
    restored = CalibrationMonitor.from_dict(json.loads(json.dumps(monitor.to_dict())))
    assert restored.to_dict() == monitor.to_dict()


def test_a_served_calibrator_is_a_fitted_one():
    logits, y = overconfident(3, 1000)
    with pytest.raises(TypeError, match="^calibrator= takes a calibrator fitted on the raw"):
        CalibrationMonitor().fit(logits, y, calibrator="temperature")
    with pytest.raises(NotFittedError):
        CalibrationMonitor().fit(logits, y, calibrator=TemperatureScaling())


def test_the_first_run_with_a_calibrator_file_measures_the_reference_through_it(
        tmp_path, capsys):
    path = tmp_path / "calibrator.json"
    save_calibrator(TemperatureScaling().fit(*overconfident(0, 3000)), path)
    for name, seed in (("reference", 1), ("day", 2)):
        logits, y = overconfident(seed, 3000)
        np.savez(tmp_path / f"{name}.npz", scores=logits, labels=y)
    status = main(["monitor", str(tmp_path / "reference.npz"), str(tmp_path / "day.npz"),
                   "--chunk-size", "1000", "--state", str(tmp_path / "state.json"),
                   "--calibrator", str(path)])
    out = capsys.readouterr().out
    assert status == 0
    state = json.loads((tmp_path / "state.json").read_text())
    logits, y = overconfident(1, 3000)
    served = TemperatureScaling().fit(*overconfident(0, 3000)).predict_proba(logits)
    assert state["reference"]["nll"] == pytest.approx(nll(y, served), rel=1e-9)
    assert "Applying the calibrator" not in out  # served from the reference on
    assert {row["calibrator"] for row in state["chunks"]} == {1}
