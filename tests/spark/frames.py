"""Spark DataFrames for the tests, in partitions of uneven sizes, and what the
tests measure of a call on them (its Spark jobs; its parameters against arrays')."""

import uuid

import numpy as np
import pandas as pd


def frame(spark, columns, n_partitions=3):
    """A cached DataFrame of ``columns`` (name -> 1-D array, or 2-D for an array
    column), rows in order, in ``n_partitions`` partitions cut at 10% and 60% of
    the rows (the first holds a tenth of them)."""
    data = {name: list(values) if np.ndim(values) == 2 else values
            for name, values in columns.items()}
    table = pd.DataFrame(data)
    n = len(table)
    cuts = [0, n // 10, (6 * n) // 10, n][: n_partitions] + [n]
    records = [[_plain(row) for row in table.iloc[a:b].itertuples(index=False)]
               for a, b in zip(cuts, cuts[1:])]
    # the types read from the first row as plain values (pyspark 3.5 reads no
    # numpy array, and its reading of a pandas frame calls pandas 2's deprecated API)
    schema = spark.createDataFrame([records[0][0]], list(table.columns)).schema
    rdd = spark.sparkContext.parallelize(range(len(records)), len(records)).flatMap(
        lambda i: records[i])
    df = spark.createDataFrame(rdd, schema)
    # before cache(): on pyspark 3.5, df.rdd of a cached frame computes its cache,
    # and the tests of what a call does on a cache not computed need it so
    assert df.rdd.getNumPartitions() == len(records)
    return df.cache()


def _plain(row):
    """A row as plain Python values (arrays as lists, NaN kept as NaN)."""
    return tuple(value.tolist() if isinstance(value, np.ndarray)
                 else value.to_pydatetime() if isinstance(value, pd.Timestamp)
                 else value.item() if isinstance(value, np.generic) else value
                 for value in row)


def max_relative_difference(a, b):
    """The largest ``|a - b| / max(|b|, 1e-3)``, elementwise."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3)))


def jobs_of(spark, call):
    """``(call(), the number of Spark jobs it ran)``, counted by job group with
    ``SparkContext.statusTracker``."""
    tracker, group = spark.sparkContext.statusTracker(), f"skcal-counted-{uuid.uuid4()}"
    spark.sparkContext.setJobGroup(group, "a counted call")
    try:
        result = call()
        jobs = tracker.getJobIdsForGroup(group)
    finally:
        spark.sparkContext.setJobGroup("skcal-tests", "after the counted call")
    return result, len(jobs)


def counted_surveys(monkeypatch):
    """The full surveys run from now on (a list of their calls), counted by
    replacing ``skcal.spark._table.survey_of`` through ``monkeypatch``."""
    from skcal.spark import _table

    calls, survey_of = [], _table.survey_of

    def counted(*args, **kwargs):
        calls.append(args)
        return survey_of(*args, **kwargs)

    monkeypatch.setattr(_table, "survey_of", counted)
    return calls
