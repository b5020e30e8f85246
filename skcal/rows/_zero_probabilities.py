"""Exact zeros among probabilities, and the probability a calibrator reads them as.

A random forest's vote fractions, a nearest-neighbour vote or a naive Bayes
model's underflow give probabilities of exactly 0. Their log is ``-inf``; read
at the dtype's smallest normal number, a zero's log-probability is -708 (float64),
far below every other score (-4.6 for the smallest vote of 100 trees), and a
scaling map fitted by NLL (temperature, vector, matrix, Platt, beta) bends to
those few rows: on random-forest probabilities its held-out NLL was up to twice
scikit-learn's sigmoid calibration's. So a calibrator fitted on probabilities
that hold an exact zero reads every probability below half the smallest
positive probability of its calibration data as that value, at fit and at
predict alike (its fitted ``probability_floor_``): a zero is "less than anything
the model said in calibration", by the same margin whatever its dtype.
Probabilities without an exact zero are read as before (``probability_floor_``
is None).
"""

from functools import partial

import numpy as np

from ._blocks import Rows
from ._namespaces import device_of, namespace


def _smallest_positive_and_zeros(block, binary):
    """(smallest positive probability, number of exact zeros) of one block; for
    one probability ``p`` of the positive class, of ``p`` and ``1 - p``."""
    xp = namespace(block)
    values = xp.concat([block, 1 - block]) if binary else block
    positive = values > 0
    infinity = xp.asarray(xp.inf, dtype=values.dtype, device=device_of(values))
    smallest = xp.min(xp.where(positive, values, infinity))
    zeros = xp.sum(xp.astype(~positive, xp.int64))
    return np.array([float(smallest), float(zeros)])


def combine_extremes(first, second):
    """Two parts' (smallest positive probability, number of zeros) as one."""
    return np.array([min(first[0], second[0]), first[1] + second[1]])


def floor_of_extremes(extremes):
    """Half the smallest positive probability when there is a zero, else None."""
    smallest, zeros = extremes
    return 0.5 * float(smallest) if zeros and np.isfinite(smallest) else None


def zero_probability_floor(X):
    """Half the smallest positive probability of ``X`` when ``X`` holds an exact
    zero, else None. ``X``: validated probabilities anywhere :class:`Rows` reads
    (in memory, a memory map, Zarr, Dask, a device), or such Rows of probability
    matrices; one pass over them.

    Examples
    --------
    >>> import numpy as np
    >>> zero_probability_floor(np.array([[0.75, 0.25, 0.0], [0.5, 0.3, 0.2]]))
    0.1
    >>> zero_probability_floor(np.array([[0.75, 0.25], [0.5, 0.5]])) is None
    True
    >>> zero_probability_floor(np.array([1.0, 0.75, 0.5]))  # 1 - p is 0 in the first row
    0.125
    """
    return floor_of_extremes(probability_extremes(X))


def probability_extremes(X):
    """(smallest positive probability, number of exact zeros) of ``X`` (as for
    :func:`zero_probability_floor`), in one pass."""
    if isinstance(X, Rows):  # rows of probability matrices, read as they are
        rows, binary = X, False
    else:
        binary = X.ndim == 1 or X.shape[1] == 1
        rows = Rows(X)
        if binary and X.ndim == 2:
            rows = rows.then(lambda block: block[:, 0], n_columns=1)
    return rows.reduce(partial(_smallest_positive_and_zeros, binary=binary),
                       combine=combine_extremes)
