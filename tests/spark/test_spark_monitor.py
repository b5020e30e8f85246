"""A CalibrationMonitor fed from Spark DataFrames: the same table as the
in-memory update of the same rows, late labels joined by id, repeated batches
skipped, bad batches changing nothing."""

import copy

import numpy as np
import pandas as pd
import pytest
from frames import frame

import skcal.spark
from skcal import CalibrationMonitor

K = 3


def stream(rng, n, sharpen=1.0):
    logits = rng.normal(scale=2.0, size=(n, K))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits * sharpen, y


def assert_same_tables(a, b):
    ta, tb = a.to_frame(), b.to_frame()
    assert list(ta.columns) == list(tb.columns) and len(ta) == len(tb) > 0
    for column in ta.columns:
        if ta[column].dtype.kind == "f":
            # the same sums added in another grouping: equal to rounding
            np.testing.assert_allclose(ta[column], tb[column], rtol=1e-10, atol=1e-12,
                                       err_msg=column)
        else:
            assert list(ta[column]) == list(tb[column]), column


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(3)
    return CalibrationMonitor(chunk_size=400, min_labels=50, random_state=0).fit(
        *stream(rng, 3000))


def test_the_table_of_an_in_memory_update(spark, fitted):
    rng = np.random.default_rng(4)
    logits, y = stream(rng, 3000, sharpen=2.5)
    y = y.astype(float)
    y[rng.random(3000) < 0.2] = np.nan  # a fifth of the rows wait for their labels
    on_spark, in_memory = copy.deepcopy(fitted), copy.deepcopy(fitted)
    ids = np.array([f"r{i}" for i in range(3000)], dtype=object)
    df = frame(spark, {"logits": logits, "y": y, "id": ids})
    skcal.spark.update(on_spark, df, scores="logits", y="y", ids="id", batch_id="day1")
    in_memory.update(logits, y, ids=ids, batch_id="day1")
    assert_same_tables(on_spark, in_memory)
    assert on_spark.n_rows_ == in_memory.n_rows_ == 3000
    # late labels joined by id reach the same chunks on both
    waiting = np.flatnonzero(np.isnan(y))[:200]
    labels = rng.integers(K, size=200)
    on_spark.add_labels(ids=ids[waiting], y=labels)
    in_memory.add_labels(ids=ids[waiting], y=labels)
    assert_same_tables(on_spark, in_memory)
    with pytest.warns(UserWarning, match="'day1' was added already"):
        skcal.spark.update(on_spark, df, scores="logits", y="y", ids="id", batch_id="day1")
    assert on_spark.n_rows_ == 3000


def test_periods_grouped_in_any_row_order(spark):
    rng = np.random.default_rng(5)
    monitor = CalibrationMonitor(chunk_size=200, chunk_period="6h", min_labels=50,
                                 random_state=0).fit(*stream(rng, 3000))
    logits, y = stream(rng, 1500, sharpen=2.0)
    times = pd.Timestamp("2026-03-01") + pd.to_timedelta(np.arange(1500), unit="min")
    in_memory = copy.deepcopy(monitor).update(logits, y, times.to_numpy())
    shuffled = rng.permutation(1500)  # rows out of time order across partitions
    df = frame(spark, {"logits": logits[shuffled], "y": y[shuffled],
                       "ts": times.to_numpy()[shuffled]})
    on_spark = skcal.spark.update(copy.deepcopy(monitor), df, scores="logits", y="y",
                                  timestamp="ts")
    assert_same_tables(on_spark, in_memory)
    assert on_spark._last_time == in_memory._last_time
    # again: the rows of the four complete periods are refused, and nothing changes
    before = on_spark.to_dict()
    with pytest.raises(ValueError, match=r"1440 row\(s\) of the DataFrame fall in periods "
                                         "whose chunks are complete"):
        skcal.spark.update(on_spark, df, scores="logits", y="y", timestamp="ts")
    assert on_spark.to_dict() == before
    # the open period's rows again, after rows of the next period that completes
    # it: added to it as in memory
    open_rows = np.flatnonzero(times >= pd.Timestamp("2026-03-02"))
    next_times = np.datetime64("2026-03-02T06:30") + np.arange(10) * np.timedelta64(1, "m")
    later = (np.r_[logits[:10], logits[open_rows]], np.r_[y[:10], y[open_rows]],
             np.r_[next_times, times.to_numpy()[open_rows]])
    skcal.spark.update(on_spark, frame(spark, dict(zip(("logits", "y", "ts"), later))),
                       scores="logits", y="y", timestamp="ts")
    in_memory.update(*later)
    assert len(on_spark.to_frame()) == 5
    assert_same_tables(on_spark, in_memory)


def test_a_bad_batch_changes_nothing(spark, fitted):
    logits, y = stream(np.random.default_rng(6), 1000)
    logits[700, 2] = np.inf
    monitor = copy.deepcopy(fitted)
    df = frame(spark, {"logits": logits, "y": y})
    with pytest.raises(ValueError, match="the score column 'logits' contains a non-finite "
                                         r"score \(inf at row 700"):
        skcal.spark.update(monitor, df, scores="logits", y="y")
    assert monitor.n_rows_ == 0 and monitor.to_dict() == fitted.to_dict()
    with pytest.raises(ValueError, match="timestamp= is needed with chunk_period"):
        skcal.spark.update(monitor, df, scores="logits", y="y", timestamp="y")
