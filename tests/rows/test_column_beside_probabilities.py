"""Probabilities beside one column that is not a class's (a log's ``proba_max``
that the monitor's default pattern ``proba_*`` also takes) are refused, naming
the column. Before, ``score_type='auto'`` read all of them as logits with a
warning and went on: the monitor judged a calibrated model at 1.23 nats
instead of 0.60 and saved that reference."""

import json
import warnings

import numpy as np
import pytest

from skcal import CalibrationMonitor, TemperatureScaling
from skcal.cli import main

pd = pytest.importorskip("pandas", reason="the logs are tables")


def log_with_maximum(n, seed, decimals=None):
    """A calibrated 3-class model's probabilities, a column of each row's
    maximum among them, and labels drawn from the probabilities."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array(["cat", "dog", "bird"])[(proba.cumsum(axis=1) > rng.random((n, 1))).argmax(1)]
    frame = pd.DataFrame(proba, columns=["proba_cat", "proba_dog", "proba_bird"])
    frame.insert(1, "proba_max", proba.max(axis=1))
    if decimals is not None:
        frame = frame.round(decimals)
    return frame, y


@pytest.mark.parametrize("decimals", [None, 3], ids=["full", "written with 3 decimals"])
def test_probabilities_beside_a_column_that_is_no_class_are_refused(decimals):
    frame, y = log_with_maximum(2000, 0, decimals)
    with pytest.raises(ValueError, match=r"without column 1 \(counting from 0, of 4\) every "
                                         "row sums to 1"):
        TemperatureScaling().fit(frame, y)
    with pytest.raises(ValueError, match="column 1 is not a class's"):
        CalibrationMonitor(chunk_size=500).fit(frame, y)
    # without it, the model is read as the calibrated model it is
    monitor = CalibrationMonitor(chunk_size=500).fit(frame.drop(columns="proba_max"), y)
    assert monitor.reference_["nll"] == pytest.approx(0.60, abs=0.05)


def test_logits_in_zero_one_are_still_taken_when_said_to_be_logits():
    frame, y = log_with_maximum(2000, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TemperatureScaling(score_type="logits").fit(frame, y)


def test_one_sigmoid_per_class_is_read_as_logits_with_the_warning_as_before():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(500, 4))
    sigmoids = 1.0 / (1.0 + np.exp(-logits))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    with pytest.warns(UserWarning, match="not every row sums to 1"):
        TemperatureScaling().fit(sigmoids, y)


def test_the_monitor_command_names_the_column_and_writes_nothing(tmp_path, capsys):
    for name, seed in (("reference", 3), ("day", 4)):
        frame, y = log_with_maximum(3000, seed)
        frame.assign(label=y).to_csv(tmp_path / f"{name}.csv", index=False)
    state = tmp_path / "state.json"
    status = main(["monitor", str(tmp_path / "reference.csv"), str(tmp_path / "day.csv"),
                   "--state", str(state)])
    assert status == 2
    error = capsys.readouterr().err
    assert "--scores 'proba_*' takes the columns proba_cat, proba_max, proba_dog" in error
    assert "without proba_max every row sums to 1" in error
    assert not state.exists()
    # the columns the message gives, as --scores names them
    assert "--scores proba_cat,proba_dog,proba_bird" in error
    assert main(["monitor", str(tmp_path / "reference.csv"), str(tmp_path / "day.csv"),
                 "--state", str(state), "--scores", "proba_cat,proba_dog,proba_bird",
                 "--json", str(tmp_path / "monitor.json")]) in (0, 1)
    saved = json.loads((tmp_path / "monitor.json").read_text())
    assert saved["reference"]["nll"] == pytest.approx(0.60, abs=0.05)  # calibrated


def test_update_takes_the_score_columns_as_a_list():
    frame, y = log_with_maximum(3000, 5)
    columns = ["proba_cat", "proba_dog", "proba_bird"]
    monitor = CalibrationMonitor(chunk_size=500).fit(frame[columns], y)
    day, day_y = log_with_maximum(1000, 6)
    monitor.update(day.assign(label=day_y), scores=columns, y="label")
    assert monitor.n_rows_ == 1000
    with pytest.raises(ValueError, match=r"scores names \['proba_eel'\], not among"):
        monitor.update(day.assign(label=day_y), scores=columns[:2] + ["proba_eel"], y="label")
    with pytest.raises(ValueError, match="names a column twice"):
        monitor.update(day.assign(label=day_y), scores=columns + ["proba_cat"], y="label")
