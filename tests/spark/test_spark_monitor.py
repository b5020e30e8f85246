"""A CalibrationMonitor fed from Spark DataFrames: the same table as the
in-memory update of the same rows, late labels joined by id (given in memory, or
joined on Spark from a label table), repeated batches skipped, bad batches
changing nothing."""

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


def test_weekly_periods_start_on_monday_as_in_memory(spark):
    rng = np.random.default_rng(11)
    monitor = CalibrationMonitor(chunk_period="W", min_labels=50).fit(*stream(rng, 3000))
    logits, y = stream(rng, 2000)
    times = pd.Timestamp("2026-11-02") + pd.to_timedelta(np.arange(2000) * 10, unit="min")
    in_memory = copy.deepcopy(monitor).update(logits, y, times.to_numpy())
    df = frame(spark, {"logits": logits, "y": y, "ts": times.to_numpy()})
    on_spark = skcal.spark.update(copy.deepcopy(monitor), df, scores="logits", y="y",
                                  timestamp="ts")
    assert_same_tables(on_spark, in_memory)
    assert list(on_spark.to_frame()["start"]) == [pd.Timestamp("2026-11-02")]


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


def test_late_rows_dropped_where_they_live_as_in_memory(spark):
    rng = np.random.default_rng(12)
    monitor = CalibrationMonitor(chunk_period="6h", min_labels=50).fit(*stream(rng, 3000))
    logits, y = stream(rng, 1500)
    times = (pd.Timestamp("2026-03-01") + pd.to_timedelta(np.arange(1500), unit="min")
             ).to_numpy()
    first = slice(0, 1000)  # periods 0-6 h, 6-12 h complete, 12-18 h open
    on_spark = skcal.spark.update(
        copy.deepcopy(monitor), frame(spark, {"logits": logits[first], "y": y[first],
                                              "ts": times[first]}),
        scores="logits", y="y", timestamp="ts")
    in_memory = copy.deepcopy(monitor).update(logits[first], y[first], times[first])
    # the rest, and 30 stragglers of the first period, some waiting for a label
    rows = np.r_[np.arange(1000, 1500), np.arange(30)]
    labels = np.where(np.arange(rows.shape[0]) % 4 == 0, -1, y[rows])
    ids = np.array([f"r{i}" for i in rows], dtype=object)
    df = frame(spark, {"logits": logits[rows], "y": labels, "ts": times[rows], "id": ids})
    skcal.spark.update(on_spark, df, scores="logits", y="y", timestamp="ts", ids="id",
                       late_rows="drop")
    in_memory.update(logits[rows], labels, times[rows], ids=ids, late_rows="drop")
    assert on_spark.n_rows_late_ == in_memory.n_rows_late_ == 30
    assert on_spark.n_rows_ == in_memory.n_rows_ == 1530
    assert_same_tables(on_spark, in_memory)
    assert np.array_equal(on_spark._pending.rows, in_memory._pending.rows)


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
    # were "DataFrame[...] is not an estimator instance." and an AttributeError
    with pytest.raises(TypeError, match=r"^monitor must be a fitted CalibrationMonitor; got "
                                        r"DataFrame \(the monitor comes first: "
                                        r"skcal.spark.update\(monitor, df, \.\.\.\)\)\.$"):
        skcal.spark.update(df, monitor, scores="logits", y="y")
    with pytest.raises(TypeError, match=r"^df must be a Spark DataFrame"):
        skcal.spark.add_labels(monitor, logits, ids="id", y="y")


def test_probabilities_given_to_a_monitor_of_logits_change_nothing(spark, fitted):
    logits, y = stream(np.random.default_rng(7), 1000)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    monitor = copy.deepcopy(fitted)
    with pytest.raises(ValueError, match=r"lies in \[0, 1\] and sums to 1: they look like "
                                         r"probabilities, but CalibrationMonitor read"):
        skcal.spark.update(monitor, frame(spark, {"proba": proba, "y": y}), scores="proba",
                           y="y")
    assert monitor.n_rows_ == 0 and monitor.to_dict() == fitted.to_dict()


def test_late_labels_in_a_spark_table_are_joined_where_they_live(spark, fitted):
    # labels that arrived in a Spark table had to be collected whole to the driver
    rng = np.random.default_rng(9)
    logits, y = stream(rng, 2000, sharpen=2.0)
    given = y.astype(float)
    waiting = rng.permutation(2000)[:500]
    given[waiting] = np.nan
    ids = 10_000 + np.arange(2000)  # integer ids; the label table names them as text
    on_spark, in_memory = copy.deepcopy(fitted), copy.deepcopy(fitted)
    day = frame(spark, {"logits": logits, "y": given, "id": ids})
    skcal.spark.update(on_spark, day, scores="logits", y="y", ids="id")
    in_memory.update(logits, given, ids=ids)
    arrived = waiting[:300]  # the others are still unlabelled
    other_ids = 90_000 + np.arange(700)  # every labelled event, not only those waiting
    table = pd.DataFrame({
        "request": [str(i) for i in np.r_[ids[arrived], other_ids, ids[waiting[300:]]]],
        "clicked": np.r_[y[arrived], rng.integers(K, size=700),
                         np.full(200, np.nan)]})
    labels = spark.createDataFrame(table.sample(frac=1.0, random_state=0)).withColumn(
        "clicked", pd_int("clicked"))
    skcal.spark.add_labels(on_spark, labels, ids="request", y="clicked")
    in_memory.add_labels(ids=ids[arrived], y=y[arrived])
    # the waiting rows keep float32 log-probabilities, whose terms the join adds
    # in another order: the sums agree to float32 rounding
    ta, tb = on_spark.to_frame(), in_memory.to_frame()
    assert list(ta["n_labelled"]) == list(tb["n_labelled"]) and len(ta) == 5
    for column in ("nll", "accuracy", "brier", "nll_calibration", "cusum"):
        np.testing.assert_allclose(ta[column], tb[column], rtol=1e-6, err_msg=column)
    assert on_spark._pending.ids.shape[0] == 200
    assert on_spark.n_labels_unmatched_ == in_memory.n_labels_unmatched_ == 0
    before = on_spark.to_dict()
    twice = spark.createDataFrame(pd.DataFrame({"request": [str(ids[waiting[300]])] * 2,
                                                "clicked": [1, 2]}))
    with pytest.raises(ValueError, match="repeat"):
        skcal.spark.add_labels(on_spark, twice, ids="request", y="clicked")
    assert on_spark.to_dict() == before
    with pytest.raises(ValueError, match="ids='id' is not a column"):
        skcal.spark.add_labels(on_spark, twice, ids="id", y="clicked")


def test_whole_number_ids_in_double_columns_join_ids_given_as_integers(spark, fitted):
    # a double id column was joined as "1.0": no label matched a row added as 1; and
    # a NaN id, which Spark casts to 0, must not name the row 0
    rng = np.random.default_rng(12)
    logits, y = stream(rng, 600)
    ids = np.arange(600)
    given = y.astype(float)
    given[:300] = np.nan
    on_spark, in_memory = copy.deepcopy(fitted), copy.deepcopy(fitted)
    skcal.spark.update(on_spark, frame(spark, {"logits": logits, "y": given, "id": ids}),
                       scores="logits", y="y", ids="id")
    in_memory.update(logits, given, ids=ids.astype(float))  # floats added, integers joined
    rows = [(float(i), int(label)) for i, label in zip(ids[:300], y[:300])]
    labels = spark.createDataFrame(rows + [(float("nan"), 1)], "request double, clicked long")
    skcal.spark.add_labels(on_spark, labels, ids="request", y="clicked")
    in_memory.add_labels(ids=ids[:300], y=y[:300])
    assert on_spark.n_labels_unmatched_ == in_memory.n_labels_unmatched_ == 0
    assert list(on_spark.to_frame()["n_labelled"]) == list(in_memory.to_frame()["n_labelled"])
    assert on_spark._pending.ids.shape[0] == in_memory._pending.ids.shape[0] == 0


def test_late_labels_for_rows_added_without_ids_are_refused(spark, fitted):
    # add_labels returned the monitor unchanged, as if no row waited
    logits, _ = stream(np.random.default_rng(10), 500)
    monitor = copy.deepcopy(fitted)
    skcal.spark.update(monitor, frame(spark, {"logits": logits}), scores="logits")
    labels = spark.createDataFrame(pd.DataFrame({"request": ["0"], "clicked": [1]}))
    before = monitor.to_dict()
    with pytest.raises(ValueError, match="500 rows wait for a label, but none was added"):
        skcal.spark.add_labels(monitor, labels, ids="request", y="clicked")
    assert monitor.to_dict() == before


def pd_int(name):
    """A double column of whole numbers (NaN: null) as Spark long labels."""
    from pyspark.sql import functions as F

    return F.when(~F.isnan(name), F.col(name).cast("long"))
