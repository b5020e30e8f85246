"""Tables whose scores are one array column (a model's probability vector, as
Spark and Arrow write it) are monitored as tables of one column per class."""

import json

import numpy as np
import pytest

from skcal import CalibrationMonitor
from skcal.cli import main

pd = pytest.importorskip("pandas", reason="tables need pandas")
pytest.importorskip("pyarrow", reason="Parquet files need pyarrow (in the tests extra)")
K = 3


def _table(rng, n, start):
    logits = rng.normal(scale=2.0, size=(n, K))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(p, columns=[f"proba_{k}" for k in range(K)])
    frame["label"] = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    frame["ts"] = pd.date_range(start, periods=n, freq="min", tz="UTC")
    return frame


def _as_array_column(frame):
    columns = [f"proba_{k}" for k in range(K)]
    return frame.drop(columns=columns).assign(probability=list(frame[columns].to_numpy()))


def test_an_array_column_of_scores_gives_the_table_of_one_column_per_class(tmp_path, capsys):
    # the command stopped at numpy's "setting an array element with a sequence"
    rng = np.random.default_rng(40)
    reference, day = _table(rng, 3000, "2026-11-01"), _table(rng, 1440, "2026-11-05")
    reference.to_parquet(tmp_path / "reference.parquet")
    day.to_parquet(tmp_path / "day.parquet")
    _as_array_column(reference).to_parquet(tmp_path / "reference_arrays.parquet")
    _as_array_column(day).to_parquet(tmp_path / "day_arrays.parquet")
    tables = []
    for suffix, scores in (("", "proba_*"), ("_arrays", "probability")):
        state = tmp_path / f"state{suffix}.json"
        assert main(["monitor", str(tmp_path / f"reference{suffix}.parquet"),
                     str(tmp_path / f"day{suffix}.parquet"), "--scores", scores,
                     "--timestamp", "ts", "--chunk-period", "6h", "--state", str(state)]) == 0
        tables.append(json.loads(state.read_text())["chunks"])
    assert len(tables[0]) == 3
    for by_columns, by_array in zip(*tables):
        for key in ("n", "n_labelled", "nll", "brier", "ece", "cusum"):
            assert by_array[key] == pytest.approx(by_columns[key], rel=1e-12), key


def test_an_array_column_with_a_missing_or_short_row_is_named(tmp_path):
    rng = np.random.default_rng(41)
    frame = _as_array_column(_table(rng, 3000, "2026-11-01"))
    monitor = CalibrationMonitor(chunk_size=500).fit(
        np.stack(frame["probability"]), frame["label"])
    day = frame.iloc[:600].copy()
    day.at[day.index[4], "probability"] = None
    with pytest.raises(ValueError, match="The score column 'probability' holds None at row "
                                         "4, not an array of scores"):
        monitor.update(day, scores="probability", y="label")
    day.at[day.index[4], "probability"] = [0.5, 0.5]
    with pytest.raises(ValueError, match=r"holds arrays of 3 scores \(row 0\) and of 2 "
                                         r"\(row 4\)"):
        monitor.update(day, scores="probability", y="label")
    assert monitor.n_rows_ == 0
