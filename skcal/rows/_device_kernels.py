"""The block kernels of the numpy path, written in the array API for blocks on a device.

Each function here computes on one block of an array of another library (a
PyTorch tensor, a CuPy array: see :mod:`skcal.rows._namespaces`) what its numpy
namesake computes on a numpy block, with the same arguments and results of the
same structure; the numpy kernels hand such blocks over at their first line.
Elementwise work stays in the block's dtype (float32 for float16/bfloat16 and
float32 input); sums over rows accumulate in float64 where the device has it.
Per-row labels and weights arrive on the block's device; parameters arrive as
numpy and are sent to the device (a few numbers per pass).
"""

import math

from ._namespaces import device_of, like, namespace, sum_dtype


def wide(x):
    xp = namespace(x)
    return xp.astype(x, sum_dtype(xp, device_of(x)))


def weighted_sum(values, w):
    """``sum(values)`` or ``w @ values`` in float64, a 0-d array on the device."""
    xp = namespace(values)
    values = wide(values)
    return xp.sum(values) if w is None else xp.sum(values * xp.astype(w, values.dtype))


def _column_sums(values, w):
    """Weighted column sums of ``values`` (n, P)."""
    xp = namespace(values)
    return xp.sum(values if w is None else values * w[:, None], axis=0)


def true_class(values, y):
    """``values[i, y_i]``."""
    xp = namespace(values)
    return xp.take_along_axis(values, y[:, None], axis=1)[:, 0]


def logsumexp_rows(z):
    xp = namespace(z)
    top = xp.max(z, axis=1, keepdims=True)
    return top[:, 0] + xp.log(xp.sum(xp.exp(z - top), axis=1))


def log_softmax(z):
    """Row-wise ``log softmax`` of one block."""
    return z - logsumexp_rows(z)[:, None]


def softmax(z):
    """Row-wise ``softmax`` of one block."""
    xp = namespace(z)
    return xp.exp(log_softmax(z))


def exp(z):
    return namespace(z).exp(z)


# ------------------------------------------------------------- input checks
def first_non_finite(X):
    """Index (a tuple) and value of the first NaN or infinity of ``X``, or None."""
    xp = namespace(X)
    finite = xp.isfinite(X)
    if bool(xp.all(finite)):
        return None
    bad = tuple(int(index[0]) for index in xp.nonzero(xp.logical_not(finite)))
    return bad, float(X[bad])


def simplex_facts(P):
    """(min, max, row whose sum is furthest from 1, that sum) of a block; the row
    is None for one column."""
    xp = namespace(P)
    low, high = float(xp.min(P)), float(xp.max(P))
    if P.ndim != 2 or P.shape[1] == 1:
        return low, high, None, None
    row_sums = xp.sum(wide(P), axis=1)
    worst = int(xp.argmax(xp.abs(row_sums - 1.0)))
    return low, high, worst, float(row_sums[worst])


def log_probabilities(P, floor=None):
    """See :func:`skcal.rows._scores.log_probabilities`."""
    xp = namespace(P)
    smallest = float(xp.finfo(P.dtype).smallest_normal)
    return xp.log(xp.clip(P, min=smallest if floor is None else max(float(floor), smallest)))


def binary_logits(s):
    """One binary logit ``s`` per row as the columns ``[0, s]``."""
    xp = namespace(s)
    return xp.stack([xp.zeros_like(s), s], axis=1)


def scores_to_logits(X, score_type, floor=None):
    """See :func:`skcal.rows._scores.scores_to_logits`."""
    xp = namespace(X)
    if X.ndim == 2 and X.shape[1] > 1:
        return log_probabilities(X, floor) if score_type == "probabilities" else X
    s = xp.reshape(X, (-1,))
    if score_type == "probabilities":
        s = log_probabilities(s, floor) - log_probabilities(1 - s, floor)
    return binary_logits(s)


def expand_binary(block, is_probability):
    """1-D binary predictions as two columns: ``[1 - p, p]`` or ``[0, s]``."""
    xp = namespace(block)
    first = 1 - block if is_probability else xp.zeros_like(block)
    return xp.stack([first, block], axis=1)


# ----------------------------------------------------------------- metrics
def top_label_block(block, y_index):
    """(confidence, correct) of each row's top class, as two float columns."""
    xp = namespace(block)
    top = xp.argmax(block, axis=1)
    confidence = wide(true_class(block, top))
    return xp.stack([confidence, xp.astype(top == y_index, confidence.dtype)], axis=1)


def class_columns(block, columns):
    """Some classes' probabilities, wide."""
    xp = namespace(block)
    return wide(xp.take(block, like(columns, block, dtype=xp.int64), axis=1))


# ------------------------------------------------------ temperature scaling
def temperature_block(z, y, w, beta, with_facts):
    """See :func:`skcal.solvers._temperature_fit._temperature_block`."""
    xp = namespace(z)
    top = xp.max(z, axis=1, keepdims=True)
    shifted = z - top
    true_shifted = wide(true_class(shifted, y))
    e = xp.exp(shifted if beta == 1.0 else shifted * beta)
    s0 = wide(xp.sum(e, axis=1))
    e *= shifted  # in place (the array API's in-place operators): no new temporaries
    s1 = wide(xp.sum(e, axis=1))
    e *= shifted
    s2 = wide(xp.sum(e, axis=1))
    mean = s1 / s0
    sums = (
        weighted_sum(xp.log(s0) - beta * true_shifted, w),
        weighted_sum(mean - true_shifted, w),
        weighted_sum(xp.clip(s2 / s0 - mean * mean, min=0.0), w),
        -weighted_sum(mean, w),
    )
    if not with_facts:
        return sums
    row_mean = wide(xp.sum(shifted, axis=1)) / z.shape[1]
    weighted = xp.ones(z.shape[0], dtype=xp.bool, device=device_of(z)) if w is None else w > 0
    off_top = xp.logical_and(true_shifted < 0, weighted)
    n_off_top = xp.sum(xp.astype(off_top, xp.int64))
    if int(n_off_top) == 0:  # every true class is a row maximum: is it the only one?
        n_tops = xp.sum(xp.astype(shifted == 0, xp.int64), axis=1)
        n_off_top = xp.sum(xp.astype(xp.logical_and(n_tops > 1, weighted), xp.int64))
    return sums + (weighted_sum(row_mean - true_shifted, w), n_off_top)


# ----------------------------------------------------------- vector scaling
def vector_block(z, y, w, a, b, curvature=False):
    """See :func:`skcal.solvers._vector_fit._vector_block`."""
    xp = namespace(z)
    z = wide(z)
    log_p = log_softmax(z * like(a, z) + like(b, z))
    loss = -weighted_sum(true_class(log_p, y), w)
    proba = xp.exp(log_p)
    sums = ()
    if curvature:
        spread = proba - proba * proba
        along_z = proba * (z - xp.sum(proba * z, axis=1)[:, None])
        sums = (_column_sums(spread * z * z, w), _column_sums(spread * z, w),
                _column_sums(spread, w), _column_sums(along_z * z, w), _column_sums(along_z, w))
    classes = xp.arange(z.shape[1], device=device_of(z))
    residual = proba - xp.astype(y[:, None] == classes, log_p.dtype)
    if w is not None:
        residual = residual * xp.astype(w, residual.dtype)[:, None]
    return (loss, xp.sum(residual * z, axis=0), xp.sum(residual, axis=0)) + sums


# -------------------------------------------------------- one-vs-rest maps
def class_scores(logits):
    """See :func:`skcal.rows._one_vs_rest.class_scores` (the scores only)."""
    xp = namespace(logits)
    Z = wide(logits)
    n_classes = Z.shape[1]
    if n_classes == 2:
        return (Z[:, 1] - Z[:, 0])[:, None]
    top = xp.argmax(Z, axis=1)
    shifted = Z - true_class(Z, top)[:, None]
    is_top = xp.arange(n_classes, device=device_of(Z))[None, :] == top[:, None]
    e = xp.where(is_top, xp.zeros_like(shifted), xp.exp(shifted))
    rest = xp.sum(e, axis=1)  # sum over j != argmax
    others = xp.where(is_top, xp.log(rest)[:, None], xp.log1p(rest[:, None] - e))
    floor = math.log(xp.finfo(Z.dtype).smallest_normal)
    return shifted - xp.clip(others, min=floor)


def logits_from_class_log_odds(log_odds):
    """See :func:`skcal.rows._one_vs_rest.logits_from_class_log_odds`."""
    xp = namespace(log_odds)
    if log_odds.shape[1] == 1:
        return binary_logits(log_odds[:, 0])
    return -xp.logaddexp(xp.zeros_like(log_odds), -log_odds)


def separation_block(s, y, w, positives):
    """See :func:`skcal.solvers._logistic._separation_block`."""
    xp = namespace(s)
    is_positive = y[:, None] == like(positives, s, dtype=y.dtype)
    is_negative = xp.logical_not(is_positive)
    if w is not None:
        keep = (w > 0)[:, None]
        is_positive = xp.logical_and(is_positive, keep)
        is_negative = xp.logical_and(is_negative, keep)
    low = xp.full_like(s, -math.inf)
    high = xp.full_like(s, math.inf)
    return (
        xp.max(xp.where(is_positive, s, low), axis=0),
        xp.min(xp.where(is_positive, s, high), axis=0),
        xp.max(xp.where(is_negative, s, low), axis=0),
        xp.min(xp.where(is_negative, s, high), axis=0),
    )


def combine_extremes(a, b):
    xp = namespace(a[0])
    return (xp.maximum(a[0], b[0]), xp.minimum(a[1], b[1]),
            xp.maximum(a[2], b[2]), xp.minimum(a[3], b[3]))


def platt_block(s, y, w, params, positives, targets):
    """See :func:`skcal.solvers._platt_fit._platt_block`."""
    xp = namespace(s)
    is_positive = y[:, None] == like(positives, s, dtype=y.dtype)
    t = xp.where(is_positive, like(targets[0], s), like(targets[1], s))
    u = s * like(params[:, 0], s) + like(params[:, 1], s)
    e = xp.exp(-xp.abs(u))
    loss = xp.log1p(e) + xp.clip(u, min=0.0) - t * u
    p = xp.where(u >= 0, xp.ones_like(e), e) / (1.0 + e)
    residual = p - t
    curvature = p * (1.0 - p)
    cs = curvature * s
    if w is not None:
        w = xp.astype(w, s.dtype)
    return (
        _column_sums(loss, w),
        xp.stack([_column_sums(residual * s, w), _column_sums(residual, w)], axis=1),
        xp.stack([_column_sums(cs * s, w), _column_sums(cs, w), _column_sums(curvature, w)],
                 axis=1),
    )


# ----------------------------------------------------------------- ties
def separate_ties(proba, uncalibrated):
    """See :func:`skcal.calibrators._ties.separate_ties`: each exact tie for a row's maximum
    goes to the largest uncalibrated score, the others lowered by one ulp."""
    xp = namespace(proba)
    tied = proba == xp.max(proba, axis=1, keepdims=True)
    if not bool(xp.any(xp.sum(xp.astype(tied, xp.int64), axis=1) > 1)):
        return proba
    key = xp.where(tied, xp.astype(uncalibrated, proba.dtype), xp.full_like(proba, -math.inf))
    winner = xp.argmax(key, axis=1)
    columns = xp.arange(proba.shape[1], device=device_of(proba))
    losers = xp.logical_and(tied, columns[None, :] != winner[:, None])
    lowered = xp.nextafter(proba, xp.full_like(proba, -math.inf))
    return xp.where(losers, lowered, proba)
