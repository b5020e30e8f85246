"""Reductions along the rows of a score block (numpy, C order), fast for the
few columns of most classifiers' scores.

``values.max(axis=1)`` and ``values.sum(axis=1)`` walk each row separately, which
costs far more than the arithmetic when a row holds ten values; a loop over the
columns and a matrix-vector product do the same work in a few vector passes.
"""

import numpy as np

# Rows of at most this many columns take the column-wise maximum; their sums of
# same-signed terms, taken in any order (a BLAS product), are then rounded
# within (K - 1) eps relative, inside the 4 eps log2(K + 1) that a pairwise sum
# is allowed (the temperature solver's rounding level).
FEW_COLUMNS = 16


def row_max(values):
    """``values.max(axis=1)``, as a loop over the columns when they are few
    (NaN propagates either way).

    Examples
    --------
    >>> import numpy as np
    >>> row_max(np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 0.0]]))
    array([3. , 0.5])
    """
    n_columns = values.shape[1]
    if n_columns == 0 or n_columns > FEW_COLUMNS:
        return values.max(axis=1)
    top = values[:, 0].copy()
    for column in range(1, n_columns):
        np.maximum(top, values[:, column], out=top)
    return top


def row_sums(values):
    """``values.sum(axis=1)`` as a matrix-vector product (three to eight times
    faster; summed in BLAS's order).

    Examples
    --------
    >>> import numpy as np
    >>> row_sums(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([3., 7.])
    """
    return values @ np.ones(values.shape[1], dtype=values.dtype)


def row_sums_of_one_sign(values):
    """Sums of rows whose values share a sign, rounded within what a pairwise sum
    allows: by :func:`row_sums` for at most ``FEW_COLUMNS`` columns, pairwise
    (``values.sum(axis=1)``) for more.

    Examples
    --------
    >>> import numpy as np
    >>> row_sums_of_one_sign(np.full((2, 40), 0.5))
    array([20., 20.])
    """
    if values.shape[1] <= FEW_COLUMNS:
        return row_sums(values)
    return values.sum(axis=1)


def row_dots(left, right):
    """Each row's dot product of ``left`` and ``right`` (same shape), without a
    temporary.

    Examples
    --------
    >>> import numpy as np
    >>> row_dots(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]))
    array([11.])
    """
    return np.einsum("ij,ij->i", left, right)
