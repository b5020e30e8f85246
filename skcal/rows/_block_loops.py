"""The block loop over rows held here: a reduction or a row-wise map of an
in-memory (or memory-mapped) array, one block of rows at a time.

:class:`~skcal.rows._blocks.Rows` runs it on its own array; the Dask engine
(:mod:`skcal.rows._dask_rows`) runs it on each chunk in a task, and the Spark
table (:mod:`skcal.spark._table`) on each partition's block, so the three read
blocks alike.
"""

import numpy as np


def reduce_local(reader, data, offset, func, vectors, combine, block_elements):
    """Combine ``func(block, *vector_blocks)`` over the row blocks of ``data``
    (its first row is row ``offset`` of ``reader``, a
    :class:`~skcal.rows._blocks.Rows` that prepares the blocks)."""
    result = None
    for rows, block in reader._local_blocks(data, offset, block_elements):
        partial = func(block, *[None if v is None else v[rows] for v in vectors])
        result = partial if result is None else combine(result, partial)
    return result


def map_local(reader, data, offset, func, vectors, block_elements):
    """``func(block, *vector_blocks)`` of every row block of ``data``, concatenated
    over rows."""
    out = None
    for rows, block in reader._local_blocks(data, offset, block_elements):
        values = np.asarray(func(block, *[None if v is None else v[rows] for v in vectors]))
        if out is None:
            out = np.empty((data.shape[0],) + values.shape[1:], dtype=values.dtype)
        out[rows] = values
    return out
