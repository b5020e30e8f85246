"""A monitor warns when its chunks hold so many more labelled rows than the
``chunk_size`` its thresholds were simulated for that the reference's own
error, shared by every chunk, spreads their z far wider than the thresholds
allow for: chunks of ``chunk_period`` with the default ``chunk_size`` (a day of
20000 rows against thresholds for 1000) alarmed more often than ``alpha``
said, without a word."""

import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import sample_labels, softmax
from skcal import CalibrationMonitor


def calibrated_rows(rng, n, day=None):
    """Logits of a calibrated 3-class model, labels drawn from them, and times
    spread over ``day`` (a date) when given."""
    logits = rng.normal(scale=2.0, size=(n, 3))
    y = sample_labels(softmax(logits), rng)
    if day is None:
        return logits, y
    times = pd.Timestamp(day) + pd.to_timedelta(np.sort(rng.uniform(0, 86400, n)), unit="s")
    return logits, y, times.to_numpy()


def test_daily_chunks_far_beyond_chunk_size_are_warned_of():
    rng = np.random.default_rng(0)
    monitor = CalibrationMonitor(chunk_period="D", chunk_size=500).fit(
        *calibrated_rows(rng, 2000))
    monitor.update(*calibrated_rows(rng, 10000, "2026-11-01"))  # the day stays open
    with pytest.warns(UserWarning, match=r"A chunk holds \d+ labelled rows, and the monitor's "
                                         "thresholds were simulated for chunks of "
                                         "chunk_size=500: with a reference of 2000 rows"):
        monitor.update(*calibrated_rows(rng, 10000, "2026-11-02"))  # completes the 1st
    # spread: (1 + 10000 / 2000) / (1 + 500 / 2000) = 4.8 in variance, 2.2 in z
    with pytest.warns(UserWarning, match="spreads 2.2 times as wide"):
        CalibrationMonitor(chunk_period="D", chunk_size=500).fit(
            *calibrated_rows(rng, 2000)).update(
                *calibrated_rows(rng, 20000, "2026-11-01")[:2],
                np.repeat(np.array(["2026-11-01T12", "2026-11-02T12"], dtype="datetime64[ns]"),
                          10000))


@pytest.mark.parametrize("reference_rows, chunk_size", [(2000, 10000), (200000, 1000)],
                         ids=["chunk_size matches the chunks", "a reference far larger"])
def test_no_warning_where_the_thresholds_allow_for_the_chunks(reference_rows, chunk_size):
    rng = np.random.default_rng(1)
    reference = calibrated_rows(rng, reference_rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monitor = CalibrationMonitor(chunk_period="D", chunk_size=chunk_size).fit(*reference)
    # a reference of a fifth of a chunk: no false alarms, but a blind CUSUM, said at fit
    assert [str(w.message).startswith("The reference holds 2000 labelled rows, 0.2 chunks")
            for w in caught] == ([True] if reference_rows < chunk_size else [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
            monitor.update(*calibrated_rows(rng, 10000, day))
    assert len(monitor.to_frame()) == 2


@pytest.mark.filterwarnings("default::UserWarning")  # the command prints it
def test_the_command_line_takes_chunk_size_beside_chunk_period(tmp_path, capsys):
    from skcal.cli import main

    rng = np.random.default_rng(2)
    logits, y = calibrated_rows(rng, 2000)
    np.savez(tmp_path / "reference.npz", scores=logits, labels=y)
    for day in ("2026-11-01", "2026-11-02"):
        logits, y, times = calibrated_rows(rng, 10000, day)
        np.savez(tmp_path / f"{day}.npz", scores=logits, labels=y, timestamps=times)
    days = [str(tmp_path / f"{day}.npz") for day in ("2026-11-01", "2026-11-02")]
    reference, state = str(tmp_path / "reference.npz"), str(tmp_path / "state.json")
    # thresholds for the default 1000 rows: the day's chunk is warned of, with the fix
    assert main(["monitor", reference, *days, "--chunk-period", "D",
                 "--state", str(tmp_path / "default.json")]) in (0, 1)
    assert "chunk_size near the labelled rows of a chunk" in capsys.readouterr().err
    assert main(["monitor", reference, days[0], "--chunk-period", "D", "--chunk-size",
                 "10000", "--state", state]) == 0
    # what is left is the reference's size, a fifth of a chunk, said at fit
    assert "The reference holds 2000 labelled rows" in capsys.readouterr().err
    assert main(["monitor", reference, days[1], "--chunk-period", "D", "--chunk-size",
                 "10000", "--state", state]) in (0, 1)
    assert "warning" not in capsys.readouterr().err
    # a run that continues keeps the thresholds' size: another one is refused
    assert main(["monitor", reference, days[1], "--chunk-size", "700", "--state", state]) == 2
    assert ("--chunk-size 700 differs from the monitor in --state" in capsys.readouterr().err)
