"""Spark DataFrames for the tests, in partitions of uneven sizes."""

import numpy as np
import pandas as pd


def frame(spark, columns, n_partitions=3):
    """A cached DataFrame of ``columns`` (name -> 1-D array, or 2-D for an array
    column) in ``n_partitions`` partitions of uneven sizes, rows in order."""
    data = {name: list(values) if np.ndim(values) == 2 else values
            for name, values in columns.items()}
    n = len(next(iter(data.values())))
    frame = pd.DataFrame(data)
    # uneven partitions, in row order: cut points at 10% and 60% of the rows
    cuts = [0, n // 10, (6 * n) // 10, n][: n_partitions + 1]
    parts = [spark.createDataFrame(frame.iloc[a:b]).coalesce(1) for a, b in zip(cuts, cuts[1:])]
    df = parts[0]
    for part in parts[1:]:
        df = df.union(part)
    return df.cache()
