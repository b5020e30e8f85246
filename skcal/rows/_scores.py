"""Turning what users pass (scores, probabilities, classifiers) into logit matrices
(their labels and weights are checked in :mod:`skcal.rows._labels`).

Every calibration map in skcal works on one representation: a float matrix of
logits of shape (n_samples, n_classes), float32 or float64. Binary problems given
one score per sample become the two columns ``[0, s]``, so that
``softmax([0, s]) = [1 - sigmoid(s), sigmoid(s)]`` and the score stays one logit.
"""

import numpy as np
from sklearn.utils import check_array

from . import _device_kernels as device
from ._namespaces import is_device_array
from ..utils._reuse import Key, reused
from ..utils._warnings import warn

SCORE_TYPES = ("auto", "logits", "probabilities")

# Row sums of probabilities may be off by rounding; float32 softmax outputs over
# a thousand classes are off by ~1e-5. Values written with few decimals may be
# off by more (see written_decimals_allowance).
_SIMPLEX_ATOL = 1e-3


def probability_floor(dtype):
    """Smallest probability skcal takes the log of: the dtype's smallest normal."""
    return np.finfo(dtype).tiny


def as_float_array(X, *, name="X"):
    """Validate a 1-D or 2-D score array: finite, float32 or float64, non-empty."""
    try:
        X = check_array(
            X,
            dtype=(np.float64, np.float32),
            ensure_2d=False,
            ensure_all_finite=False,
            input_name=name,
        )
    except ValueError as exc:  # its first line: some messages go on with the whole array
        raise ValueError(
            f"{name} must be a non-empty 1-D or 2-D numeric array of scores: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    check_finite_block(X, 0, name)
    return X


def check_finite_block(X, start, name):
    """Raise when ``X`` (rows ``start`` onwards of an input) holds NaN or infinity."""
    if is_device_array(X):
        found = device.first_non_finite(X)
        if found is None:
            return
        bad, value = found
    # a float64 sum is finite exactly when every value is (short of ~1e300 values),
    # and unlike np.isfinite(X) it allocates no array as large as X
    elif np.isfinite(X.sum(dtype=np.float64)) or np.isfinite(X).all():
        return
    else:
        bad = np.argwhere(~np.isfinite(X))[0]
        value = X[tuple(bad)]
    where = f"row {start + bad[0]}" + (f", column {bad[1]}" if X.ndim == 2 else "")
    raise ValueError(
        f"{name} contains a non-finite score ({value} at {where}). "
        "Calibration needs finite logits or probabilities: remove or repair "
        "such rows (for probabilities, exact zeros are fine; NaN or inf are not)."
    )


def _not_probabilities(P, name, start=0):
    """Why ``P`` is not a matrix of probabilities (values in [0, 1], rows summing
    to 1; any value in [0, 1] for one column), or None when it is. ``start`` is
    the number of the first row of ``P`` in the whole input."""
    if P.shape[0] == 0 or (P.ndim == 2 and P.shape[1] == 0):
        return None
    low, high, worst, worst_sum = _simplex_facts(P)
    if low < 0 or high > 1:
        return (
            f"{name} has values outside [0, 1] (min {low:.4g}, max {high:.4g}), so "
            "they are not probabilities."
        )
    gap = None if worst is None else abs(worst_sum - 1.0)
    # the decimal grid is looked for only where the plain tolerance is passed
    if gap is not None and gap > _SIMPLEX_ATOL and gap > written_decimals_allowance(P):
        return (
            f"The rows of {name} must sum to 1, but row {start + worst} sums to "
            f"{worst_sum:.6g}; pass complete probability vectors "
            "(one column per class)."
        )
    return None


def written_decimals_allowance(P):
    """How far from 1 rows of probabilities written with few decimals (a CSV
    log's ``0.333, 0.333, 0.334``) may sum: half a unit of the last decimal per
    column, where every value lies on that decimal grid (to the dtype's
    rounding); 0 otherwise, and where the allowance would be within
    ``_SIMPLEX_ATOL`` anyway.

    Examples
    --------
    >>> import numpy as np
    >>> written_decimals_allowance(np.array([[0.333, 0.333, 0.333], [0.5, 0.25, 0.25]]))
    0.0015000015
    >>> written_decimals_allowance(np.array([[0.3333, 0.6667]]))  # 1e-4 is within 1e-3
    0.0
    >>> written_decimals_allowance(np.array([[0.1234567, 0.8]]))
    0.0
    """
    if is_device_array(P) or P.ndim != 2 or P.dtype.kind != "f":
        return 0.0
    rounding = 4 * np.finfo(P.dtype).eps
    for decimals in range(1, 7):
        allowance = 0.5 * P.shape[1] * 10.0 ** -decimals
        if allowance <= _SIMPLEX_ATOL:
            return 0.0
        scaled = P * 10.0 ** decimals
        if np.all(np.abs(scaled - np.rint(scaled)) <= rounding * 10.0 ** decimals):
            return allowance * (1 + 1e-6)  # and the float64 row sum's own rounding
    return 0.0


def _simplex_facts(P):
    """(min, max, row whose sum is furthest from 1, that sum); no row for one column."""
    if is_device_array(P):
        return device.simplex_facts(P)
    low, high = P.min(), P.max()
    if P.ndim != 2 or P.shape[1] == 1:
        return low, high, None, None
    row_sums = P.sum(axis=1, dtype=np.float64)
    worst = int(np.argmax(np.abs(row_sums - 1.0)))
    return low, high, worst, row_sums[worst]


def _looks_like_probabilities(X):
    """True when every row lies in the probability simplex (or [0, 1] for 1-D)."""
    return _not_probabilities(X, "X") is None


class ColumnBesideProbabilities(ValueError):
    """Scores that are probabilities but for one column, ``column`` (its
    position), that is not a class's (a row maximum, a flag), which 'auto' would
    read as logits. The message names the scores (``name``), the column (in
    full, ``described``, then ``short``) and what to leave it out of (``scores``)."""

    def __init__(self, column, name, described, short, scores="the scores"):
        super().__init__(
            f"Every score of {name} lies in [0, 1], and without {described} every row sums "
            f"to 1: the others are probabilities, and {short} is not a class's (a maximum, "
            f"a flag?). Leave it out of {scores}, or pass score_type='logits' if all are "
            "logits.")
        self.column = column


def row_sum_tolerance(P):
    """How far from 1 the rows of probabilities ``P`` may sum: 1e-3, or more for
    values written with few decimals (:func:`written_decimals_allowance`)."""
    return max(_SIMPLEX_ATOL, written_decimals_allowance(P))


def column_beside_probabilities(X):
    """The one column of ``X`` (values in [0, 1], rows not summing to 1) without
    which every row sums to 1, or None."""
    if X.ndim != 2 or X.shape[1] < 3:
        return None
    row_sums = X.sum(axis=1, dtype=np.float64)
    tolerance = row_sum_tolerance(X)
    # a candidate holds each row's excess over 1; the first row names the candidates
    for column in np.flatnonzero(np.abs(X[0] - (row_sums[0] - 1.0)) <= tolerance):
        if np.all(np.abs(row_sums - X[:, column] - 1.0) <= tolerance):
            return int(column)
    return None


# rows a reading of scores as counts or votes needs
_EVIDENCE_ROWS = 20


def counts_or_votes(X):
    """How scores that are not probabilities, all non-negative, read as counts
    or votes (``'every row sums to 50'``, ``'every score is a whole number'``),
    or None. A tree model's raw predictions are such (a random forest's sum its
    trees' probabilities, a decision tree's count its leaf's rows; Spark ML's
    ``rawPrediction``), and so are probabilities in percent: read as logits,
    each row's softmax would be another ranking's.

    Examples
    --------
    >>> counts_or_votes(np.array([[30.0, 20.0], [45.0, 5.0]] * 10))
    'every row sums to 50'
    >>> counts_or_votes(np.array([[3.0, 0.0], [1.0, 7.0]] * 10))
    'every score is a whole number'
    >>> counts_or_votes(np.array([[1.5, -0.5], [0.2, 2.0]] * 10)) is None
    True
    """
    # evidence from a few rows is coincidence (toy logits such as [[2, 0], [0, 1]]);
    # uniform rows (every score of a row equal) are logits of uniform predictions
    if X.ndim != 2 or X.shape[1] < 2 or X.shape[0] < _EVIDENCE_ROWS or X.min() < 0 \
            or np.ptp(X, axis=1).max() == 0:
        return None
    row_sums = X.sum(axis=1, dtype=np.float64)
    total = float(row_sums[0])
    # float32 sums of a few hundred terms: far inside a relative 1e-4; a sum near 1
    # is a probability's (two trees' votes sum to 2)
    if total > 1.5 and np.all(np.abs(row_sums - total) <= 1e-4 * total):
        return f"every row sums to {total:.6g}"
    if X.max() > 1 and all(np.all(block == np.rint(block))  # a block's temporaries
                           for block in _row_blocks(X)):
        return "every score is a whole number"
    return None


def _row_blocks(X, values=2**20):
    """``X`` in blocks of rows of about ``values`` values, lazily."""
    step = max(1, values // X.shape[1])
    return (X[start:start + step] for start in range(0, X.shape[0], step))


def refuse_counts_or_votes(how, name):
    """Refuse scores that :func:`counts_or_votes` read as ``how`` (not None)."""
    raise ValueError(
        f"Every score of {name} is non-negative and {how}: they look like counts or votes "
        "(a tree model's raw predictions, such as Spark ML's rawPrediction of a random "
        "forest) or probabilities in percent, not logits. Divide each row by its sum to "
        "read them as probabilities (Spark ML: the 'probability' column), or pass "
        "score_type='logits' if they are logits.")


def check_probabilities(P, *, name, hint="", start=0):
    """Raise unless ``P`` holds probabilities: values in [0, 1], rows summing to 1."""
    problem = _not_probabilities(P, name, start)
    if problem is not None:
        raise ValueError(problem + hint)


def resolve_score_type(X, score_type, name="X"):
    """Return 'logits' or 'probabilities' for validated scores ``X`` (``name`` in messages)."""
    if score_type == "auto":
        problem = _not_probabilities(X, name)
        if problem is None:
            return "probabilities"
        # every value in [0, 1], rows off 1, none all zeros and not every row
        # constant (both logits of uniform predictions)
        if "must sum to 1" in problem and not is_device_array(X) and (
                X.sum(axis=-1, dtype=np.float64).min() > 0 and np.ptp(X, axis=-1).max() > 0):
            extra = column_beside_probabilities(X)
            if extra is not None:
                raise ColumnBesideProbabilities(
                    extra, name, f"column {extra} (counting from 0, of {X.shape[1]})",
                    f"column {extra}")
            warn(f"Every score of {name} lies in [0, 1], but not every row sums to 1 "
                 f"({problem.split('but ')[1].split(';')[0]}), so they are read as logits. "
                 "If they are probabilities, each class needs its column and each row must "
                 "sum to 1 (one sigmoid per class does not give that); if they are logits, "
                 "pass score_type='logits'.")
        how = None if is_device_array(X) else counts_or_votes(X)
        if how is not None:
            refuse_counts_or_votes(how, name)
        return "logits"
    if score_type == "probabilities":
        check_probabilities(
            X,
            name=f"{name} (score_type='probabilities')",
            hint=" Pass score_type='logits' for unnormalised scores.",
        )
    return score_type


def check_score_columns(X, expected, *, name="X", fitted="the calibrator"):
    """Refuse scores whose number of columns differs from those seen in ``fit``."""
    shape = np.shape(X)
    n_columns = 1 if len(shape) == 1 else shape[1]
    if n_columns != expected:
        raise ValueError(
            f"{name} has {n_columns} score column(s) but {fitted} was fitted on "
            f"{expected}; pass scores of the same shape as in fit."
        )


def reading_floor(dtype, floor=None):
    """The probability that smaller ones (exact zeros) are read as: ``floor``, by
    default (and at least) the dtype's smallest normal."""
    smallest = probability_floor(dtype)
    return smallest if floor is None else max(float(floor), smallest)


def log_probabilities(P, floor=None):
    """``log(P)`` with probabilities below :func:`reading_floor` read as it."""
    if is_device_array(P):
        return device.log_probabilities(P, floor)
    return np.log(np.maximum(P, reading_floor(P.dtype, floor)))


def scores_to_logits(X, score_type, cache=None, floor=None):
    """Map validated scores of a resolved type to an (n, n_classes) logit matrix.

    1-D scores and single-column scores are one binary logit ``s`` (or one
    probability ``p`` of the positive class, with ``s = log p - log(1 - p)``)
    and become the columns ``[0, s]``. A probability below ``floor`` (an exact
    zero, see :mod:`skcal.rows._zero_probabilities`) is read as ``floor``. A
    comparison's candidates convert the same scores once (``cache``: a
    :class:`~skcal.utils._reuse.FoldCache`).
    """
    if is_device_array(X):
        return device.scores_to_logits(X, score_type, floor)
    if X.ndim == 2 and X.shape[1] > 1 and score_type != "probabilities":
        return X
    return reused(cache, Key.LOGITS, lambda: _host_scores_to_logits(X, score_type, floor),
                  same=(X,), options=(score_type, floor))


def _host_scores_to_logits(X, score_type, floor):
    if X.ndim == 2 and X.shape[1] > 1:
        return log_probabilities(X, floor)
    s = X.reshape(-1)
    if score_type == "probabilities":
        s = log_probabilities(s, floor) - log_probabilities(1 - s, floor)
    return binary_logits(s)


def binary_logits(s):
    """The two-column logit matrix ``[0, s]`` of one binary score per row."""
    return np.column_stack([np.zeros_like(s), s])


def flatten_leading(X, name="X"):
    """Scores of shape ``(..., n_classes)`` as ``(n, n_classes)``; 1-D and 2-D as they are.

    A contiguous array (or memory map) is reshaped as a view, a Dask array
    lazily; the leading shape is returned so outputs can be shaped back.
    """
    shape = tuple(np.shape(X)) if not hasattr(X, "shape") else tuple(X.shape)
    if len(shape) <= 2:
        return X, None
    if type(X).__module__.split(".")[0] == "zarr":
        raise ValueError(
            f"{name} is a Zarr array of shape {shape}; store the scores as 2-D rows "
            f"(n, {shape[-1]}), or pass dask.array.from_zarr(...).reshape(-1, {shape[-1]}), "
            "so that they are not read into memory whole."
        )
    if not hasattr(X, "reshape"):
        X = np.asarray(X)
    try:
        return X.reshape(-1, shape[-1]), shape[:-1]
    except (AttributeError, TypeError, NotImplementedError) as exc:
        raise ValueError(
            f"{name} has shape {shape} and cannot be reshaped to (n, {shape[-1]}) here; "
            "pass it as a 2-D array of one row per token or sample."
        ) from exc


def flatten_like(values, leading, name):
    """Labels or weights of shape ``leading`` (or already flat) as one entry per row."""
    if values is None or leading is None:
        return values
    values = np.asarray(values)
    n_rows = int(np.prod(leading))
    if values.shape == tuple(leading) or values.shape == (n_rows,):
        return values.reshape(-1)
    raise ValueError(
        f"{name} has shape {values.shape} but the scores have leading shape "
        f"{tuple(leading)}; pass one {name} per row of scores, shaped {tuple(leading)}."
    )


