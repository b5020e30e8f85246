"""One-vs-rest problems of a logit matrix: each class's log-odds against the
others, the logits that the problems' predictions make again, and the
log-sigmoids both need.

Platt scaling, beta calibration, isotonic calibration and histogram binning fit
one binary problem per class on these scores (:mod:`skcal.solvers._logistic` and
:mod:`skcal.solvers._beta_fit` solve the first two). A binary logit matrix ``[0, s]`` is one problem on ``s``.
"""

import numpy as np
from scipy.special import expit

from . import _device_kernels as device
from ._blocks import Rows
from ._namespaces import is_device_array
from ..utils._reuse import Key, knows, reused, rows_in_all
from ._scores import binary_logits, probability_floor


def one_vs_rest_logits(Z):
    """Log-odds of each class against all others, ``log p_k - log(1 - p_k)``.

    Computed from the logits without forming ``1 - p_k`` (exact when ``p_k`` is
    within rounding of 1), in float64.

    Examples
    --------
    >>> import numpy as np
    >>> one_vs_rest_logits(np.array([[0.0, 2.0]]))
    array([[-2.,  2.]])
    """
    Z = np.asarray(Z, dtype=np.float64)
    n_classes = Z.shape[1]
    if n_classes == 2:
        s = Z[:, 1] - Z[:, 0]
        return np.column_stack([-s, s])
    return _one_vs_rest_columns(Z, np.arange(n_classes), _one_vs_rest_rows(Z))


def _one_vs_rest_rows(Z):
    """Per row: the top class, its logit, and ``sum_{j != top} exp(z_j - z_top)``.

    lse over ``j != k`` via a matrix with -inf on the diagonal would cost K passes;
    instead ``log(sum_j e^{z_j} - e^{z_k})`` is exact for every class but the row
    maximum, whose complement is summed directly.
    """
    top = np.argmax(Z, axis=1)
    rows = np.arange(Z.shape[0])
    top_logit = Z[rows, top].astype(np.float64)
    e = np.exp(np.asarray(Z, dtype=np.float64) - top_logit[:, None])
    e[rows, top] = 0.0
    return top, top_logit, e.sum(axis=1)


def _one_vs_rest_columns(Z, columns, row_facts):
    """The one-vs-rest log-odds of the classes ``columns`` (float64), from the rows'
    facts: elementwise the same arithmetic for any set of columns."""
    top, top_logit, rest = row_facts
    shifted = np.asarray(Z[:, columns], dtype=np.float64) - top_logit[:, None]
    # for k != argmax: sum_{j != k} e_j = 1 + rest - e_k, with 1 + (rest - e_k) >= 1
    others = np.exp(shifted)
    np.subtract(rest[:, None], others, out=others)
    with np.errstate(divide="ignore"):
        np.log1p(others, out=others)
        # the top class's complement is the rest, summed directly
        position = np.full(Z.shape[1], -1)
        position[columns] = np.arange(len(columns))
        at_top = position[top]
        rows = np.flatnonzero(at_top >= 0)
        others[rows, at_top[rows]] = np.log(rest[rows])
    np.maximum(others, np.log(probability_floor(np.float64)), out=others)
    return shifted - others


# float64 values of one group of score columns (8 MiB)
_SCORE_GROUP_VALUES = 2**20


# the one-vs-rest scores of in-memory logits are formed whole when they take at
# most this many values (64 MiB of float64)
WHOLE_SCORE_VALUES = 2**23


def class_score_matrix(logits, cache=None):
    """``class_scores(logits)[0]``, computed in row blocks (temporaries of one
    block) and, for the scores of a comparison's fold, once for all its
    candidates (``cache``, see :mod:`skcal.utils._reuse`)."""
    if not isinstance(logits, np.ndarray) or logits.shape[0] == 0:
        return class_scores(logits)[0]

    def compute():
        shared = _shared_rows(cache, logits)
        if shared is not None:  # the comparison's, computed once for every fold
            all_rows, rows = shared
            return _all_class_scores(all_rows)[rows]
        if logits.shape[1] == 2:  # one difference per row: no temporaries
            return class_scores(logits)[0]
        blocks = Rows(logits).then(lambda block: class_scores(block)[0],
                                   n_columns=logits.shape[1])
        return blocks.read()

    return reused(cache, Key.ONE_VS_REST_SCORES, compute, same=(logits,))


def _all_class_scores(all_rows):
    """The one-vs-rest scores of all the comparison's rows, computed once."""
    return all_rows.result(Key.ONE_VS_REST_SCORES, (),
                           lambda: class_score_matrix(all_rows.scores))


def _shared_rows(cache, logits):
    """``(AllRows, rows)`` of a fold's logits whose comparison forms all its rows'
    one-vs-rest scores (at most :data:`WHOLE_SCORE_VALUES`, as a fold does), or None."""
    shared = rows_in_all(cache, logits)
    if shared is None or shared[0].scores.size > WHOLE_SCORE_VALUES:
        return None
    return shared


def class_score_groups(logits, cache=None):
    """The one-vs-rest scores of an in-memory logit matrix, a group of classes at a
    time: yields ``(positives, scores)`` with ``scores`` of shape (n, group).

    Each group is computed from the logits and three numbers per row, so memory
    grows with one group (about 32 MiB), not with a float64 copy of the matrix;
    the values are those of :func:`class_scores`. A comparison's scores of
    modest size (:data:`WHOLE_SCORE_VALUES`) are formed whole instead, once
    for all its candidates (``cache``).
    """
    if logits.shape[1] == 2:
        yield [1], class_score_matrix(logits, cache)
        return
    n_classes = logits.shape[1]
    size = max(1, min(n_classes, _SCORE_GROUP_VALUES // max(1, logits.shape[0])))
    groups = [np.arange(first, min(first + size, n_classes))
              for first in range(0, n_classes, size)]
    if knows(cache, logits) and logits.size <= WHOLE_SCORE_VALUES:
        scores = class_score_matrix(logits, cache)
        for columns in groups:  # each class's scores contiguous, as computed below
            first, last = int(columns[0]), int(columns[-1]) + 1
            yield list(columns), reused(
                cache, Key.ONE_VS_REST_SCORES_BY_CLASS,
                lambda: np.asfortranarray(scores[:, first:last]),  # noqa: B023 (used now)
                same=(logits,), options=(first, last))
        return
    row_facts = _one_vs_rest_rows_blocked(logits)
    for columns in groups:
        yield list(columns), _one_vs_rest_columns(logits, columns, row_facts)


def class_probability_groups(logits):
    """Each class's one-vs-rest probability ``softmax(logits)_k``, a group of
    classes at a time: yields ``(positives, proba)`` with ``proba`` of shape
    (group, n), each class's values contiguous (for a binary problem, the one
    problem's ``sigmoid`` of its logit).

    These are :func:`~scipy.special.expit` of :func:`class_score_groups`'
    log-odds to a few ulps, from two exponentials a value instead of three
    and a logarithm; memory grows with one group, as there.
    """
    if logits.shape[1] == 2:
        yield [1], expit(class_score_matrix(logits).T)
        return
    n_rows, n_classes = logits.shape
    normalizer = _log_normalizers(logits)
    size = max(1, min(n_classes, _SCORE_GROUP_VALUES // max(1, n_rows)))
    for first in range(0, n_classes, size):
        columns = np.arange(first, min(first + size, n_classes))
        proba = np.empty((columns.shape[0], n_rows))
        np.subtract(np.asarray(logits[:, columns], dtype=np.float64).T, normalizer, out=proba)
        yield list(columns), np.exp(proba, out=proba)


def class_probability_matrix(logits):
    """The one-vs-rest probabilities of :func:`class_probability_groups`, shape
    (n_samples, n_problems)."""
    if logits.shape[1] == 2:
        return expit(class_score_matrix(logits))
    proba = np.asarray(logits, dtype=np.float64) - _log_normalizers(logits)[:, None]
    return np.exp(proba, out=proba)


def _log_normalizers(logits):
    """``logsumexp`` of each row, from :func:`_one_vs_rest_rows`' facts."""
    _, top_logit, rest = _one_vs_rest_rows_blocked(logits)
    return top_logit + np.log1p(rest)


def sorted_by_class(logits, columns, scores, cache=None):
    """``np.sort(scores.T, axis=1)``: the one-vs-rest scores of the classes
    ``columns`` (a group of :func:`class_score_groups`), one class per row in
    increasing order, sorted once for all the candidates of a comparison that
    need them (isotonic calibration and histogram binning), through ``cache``."""
    columns = tuple(int(c) for c in columns)

    def compute():
        shared = _shared_rows(cache, logits)
        if shared is None:
            return np.sort(np.ascontiguousarray(scores.T), axis=1)
        # the comparison's rows sorted once; a fold's are these in the same order
        all_rows, rows = shared
        ordered, order = all_rows.result(Key.SORTED_ONE_VS_REST_SCORES, columns,
                                         lambda: _sorted_with_order(all_rows, columns))
        in_fold = np.zeros(ordered.shape[1], dtype=bool)
        in_fold[rows] = True
        return ordered[in_fold[order]].reshape(len(columns), len(rows))

    return reused(cache, Key.SORTED_ONE_VS_REST_SCORES, compute, same=(logits,),
                  options=(columns,))


def _sorted_with_order(all_rows, columns):
    """The one-vs-rest scores of the classes ``columns`` on all the rows, each
    class's sorted, and the rows in that order."""
    by_class = np.ascontiguousarray(_all_class_scores(all_rows)[:, list(columns)].T)
    order = np.argsort(by_class, axis=1)
    return np.take_along_axis(by_class, order, axis=1), order


def _one_vs_rest_rows_blocked(logits):
    """:func:`_one_vs_rest_rows` over row blocks of ``_SCORE_GROUP_VALUES`` values."""
    n_rows = logits.shape[0]
    step = max(1, _SCORE_GROUP_VALUES // max(1, logits.shape[1]))
    pieces = [_one_vs_rest_rows(logits[start:start + step])
              for start in range(0, n_rows, step)]
    return tuple(np.concatenate(part) for part in zip(*pieces))


def class_scores(logits):
    """One score per binary problem of a one-vs-rest map, and the class of each.

    A binary problem is one problem (class 1 against class 0) on its logit;
    ``K > 2`` classes are ``K`` problems on each class's one-vs-rest log-odds.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_problems), float64
    positives : list of int
        The column index of the positive class of each problem.
    """
    if is_device_array(logits):
        n_classes = logits.shape[1]
        return device.class_scores(logits), [1] if n_classes == 2 else list(range(n_classes))
    if logits.shape[1] == 2:
        return (logits[:, 1].astype(np.float64) - logits[:, 0])[:, None], [1]
    return one_vs_rest_logits(logits), list(range(logits.shape[1]))


def _softplus_tail(t):
    """``log1p(exp(-|t|))``, the part of ``softplus(+-t)`` beyond ``max(+-t, 0)``."""
    tail = np.abs(t)
    np.negative(tail, out=tail)
    np.exp(tail, out=tail)
    return np.log1p(tail, out=tail)


def log_sigmoid(t):
    """``log sigmoid(t)`` elementwise, in float64.

    ``min(t, 0) - log1p(exp(-|t|))``: accurate to a few ulps for any ``t``
    and without overflow, like ``-np.logaddexp(0, -t)`` and
    :func:`scipy.special.log_expit`, which cost three to four times as much
    here (they are not vectorised).

    Examples
    --------
    >>> import numpy as np
    >>> log_sigmoid(np.array([-800.0, 0.0, 40.0])).tolist()
    [-800.0, -0.6931471805599453, -4.248354255291589e-18]
    """
    t = np.asarray(t, dtype=np.float64)
    result = np.minimum(t, 0.0)
    result -= _softplus_tail(t)
    return result


def log_sigmoid_pair(t):
    """``log sigmoid(t)`` and ``log sigmoid(-t)`` (float64), from one exponential
    (see :func:`log_sigmoid`)."""
    t = np.asarray(t, dtype=np.float64)
    tail = _softplus_tail(t)
    log_p = np.minimum(t, 0.0)
    log_p -= tail
    log_q = np.minimum(-t, 0.0)
    log_q -= tail
    return log_p, log_q


def logits_from_class_log_odds(log_odds):
    """Calibrated logits from the log-odds each one-vs-rest problem predicts.

    Binary: the logit ``[0, t]``. Otherwise ``log sigmoid(t_k)``, whose softmax
    renormalises the ``K`` one-vs-rest probabilities to sum to one.
    """
    if is_device_array(log_odds):
        return device.logits_from_class_log_odds(log_odds)
    if log_odds.shape[1] == 1:
        return binary_logits(log_odds[:, 0])
    return log_sigmoid(log_odds)


def logits_from_class_probabilities(proba):
    """Calibrated logits from the probability each one-vs-rest problem predicts:
    :func:`logits_from_class_log_odds` of their log-odds, which is ``log p``
    for ``K > 2`` classes (computed directly); ``p`` is clipped as in
    :func:`log_odds`."""
    if proba.shape[1] == 1:
        return binary_logits(log_odds(proba[:, 0]))
    return np.log(np.clip(proba, probability_floor(np.float64), np.nextafter(1.0, 0.0)))


def log_odds(p):
    """``log p - log(1 - p)``; 0 and 1 are clipped to the nearest representable
    probabilities (log-odds about -708 and 37), so the result is always finite."""
    p = np.clip(p, probability_floor(np.float64), np.nextafter(1.0, 0.0))
    return np.log(p) - np.log1p(-p)
