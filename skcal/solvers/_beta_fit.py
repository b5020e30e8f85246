"""Beta calibration's one-vs-rest fit: ``sigmoid(a log p - b log(1 - p) + c)``
with ``a, b >= 0`` for every class at once, by projected Newton (the passes
as Platt scaling's, :mod:`skcal.solvers._logistic`, with the features ``log p`` and
``-log(1 - p)``)."""

import numpy as np

from ..rows._blocks import (
    BLOCK_ELEMENTS,
    Rows,
    column_sums,
    product_column_sums,
    total_weight,
)
from ._logistic import block_moments_of, in_host_memory, logistic_terms, sums_against_targets
from ._platt_fit import ParameterRows, column_subset, platt_fit_key
from ..rows._remote import class_totals
from ..rows._one_vs_rest import log_sigmoid_pair
from ._projected_newton import projected_newton
from ..utils._reuse import Key, held


def platt_start_of_beta(score_rows, positives, y, sample_weight, targets, *, tol, max_iter,
                        cache=None):
    """Beta calibration's start from Platt scaling's fit on the same problems, when
    a comparison's ``cache`` holds it (else None: nothing is fitted here).

    Beta's maps with ``a = b`` are Platt's (``log p - log(1 - p)`` is the score
    itself), so Platt's optimum ``(a, b)`` gives ``(a, a, b)``, the best start
    among them, the identity included. Problems whose Platt slope is not
    positive (outside beta's bounds) start at the identity.
    """
    key = platt_fit_key(score_rows, positives, y, sample_weight, targets, tol, max_iter)
    found = None if key is None else held(cache, Key.PLATT_FIT, **key)
    if found is None:
        return None
    slope, intercept = found[0].T
    start = np.tile([1.0, 1.0, 0.0], (slope.shape[0], 1))
    inside = slope > 0
    start[inside] = np.column_stack([slope, slope, intercept])[inside]
    return start


def beta_features(scores):
    """``log p`` and ``-log(1 - p)`` of ``p = sigmoid(score)``, without overflow."""
    log_p, log_q = log_sigmoid_pair(scores)
    return log_p, np.negative(log_q, out=log_q)


# the beta features of in-memory scores are computed once when they take at most
# this many values (128 MiB of float64); beyond, block by block at every pass
_CACHED_FEATURE_VALUES = 2**24


class BetaFeatures:
    """Where a beta fit reads each problem's features ``log p`` and
    ``-log(1 - p)``: computed once for in-memory scores of modest size (two
    float64 arrays, each feature's block contiguous, which every Newton pass
    then reads), else from the scores in each block, for the problems still
    searching only (bounded memory)."""

    def __init__(self, score_rows):
        n, n_problems = score_rows.n_rows, score_rows.n_columns
        self.extra = ()
        self.rows = score_rows
        if in_host_memory(score_rows) and 2 * n_problems * n <= _CACHED_FEATURE_VALUES:
            log_p, minus_log_q = np.empty((n, n_problems)), np.empty((n, n_problems))
            for rows, block in score_rows.blocks():
                log_p[rows], minus_log_q[rows] = beta_features(block)
            self.rows, self.extra = Rows(log_p), (minus_log_q,)

    def reduce(self, func, columns, y, w):
        """``func(log_p, minus_log_q, y, w)`` summed over the row blocks, for the
        problems ``columns`` (all if None)."""
        def pick(block):
            return block if columns is None else np.take(block, columns, axis=1)

        if self.extra:  # two features a row and problem: blocks of half as many rows
            return self.rows.reduce(lambda lp, mq, y, w: func(pick(lp), pick(mq), y, w),
                                    *self.extra, y, w, block_elements=BLOCK_ELEMENTS // 2)
        return self.rows.reduce(lambda s, y, w: func(*beta_features(pick(s)), y, w), y, w)


def _beta_block(log_p, minus_log_q, y, w, params):
    """One block's sums at ``params`` (a :class:`ParameterRows`), before the
    targets (as :func:`_platt_block`, with the features ``log p``,
    ``-log(1 - p)`` and 1)."""
    a, b, c0 = params(log_p.shape[0])
    u = log_p * a
    v = minus_log_q * b
    u += v
    u += c0
    softplus_sums, p, c = logistic_terms(u, w)
    c_lp, c_mq = c * log_p, c * minus_log_q
    # u and v are free again: weighted products go there
    p_sums = [product_column_sums(p, log_p, w, out=u),
              product_column_sums(p, minus_log_q, w, out=v), column_sums(p, w)]
    return (
        softplus_sums,
        np.stack(p_sums, axis=1),
        np.stack([product_column_sums(c_lp, log_p, w, out=u),
                  product_column_sums(c_lp, minus_log_q, w, out=v),
                  column_sums(c_lp, w), product_column_sums(c_mq, minus_log_q, w, out=p),
                  column_sums(c_mq, w), column_sums(c, w)], axis=1),
    )


def _beta_pass(features, y, w, params, target_sums, which):
    """The problems ``which``: their columns only, read from ``features`` (a
    :class:`BetaFeatures`); ``target_sums`` as in :func:`_platt_pass`."""
    columns = column_subset(which, params.shape[0])
    if columns is not None:
        params = params[columns]
    rows = ParameterRows(params)
    sums = features.reduce(lambda lp, mq, y, w: _beta_block(lp, mq, y, w, rows), columns, y, w)
    return _beta_evaluation(sums, params, [t[which] for t in target_sums])


def _beta_evaluation(sums, params, target_sums):
    """The loss, gradient and Hessian of every problem from the sums of
    :func:`_beta_block` at ``params`` and the ``target_sums`` of those problems."""
    softplus, p_sums, moments = sums
    t_lp, t_mq, t1 = target_sums
    loss = softplus - params[:, 0] * t_lp - params[:, 1] * t_mq - params[:, 2] * t1
    grad = p_sums - np.column_stack([t_lp, t_mq, t1])
    aa, ab, ac, bb, bc, cc = moments.T
    hess = np.stack([np.stack([aa, ab, ac], axis=1), np.stack([ab, bb, bc], axis=1),
                     np.stack([ac, bc, cc], axis=1)], axis=1)
    return loss, grad, hess


def _one_sided_at_their_minimum(start, n_positive, n_total, targets):
    """``start`` with each problem whose rows are all negative (a class absent
    from the data) or all positive at its minimum: every row has the same target
    ``t`` there, and ``(a, b, c) = (0, 0, logit(t))`` gives every row exactly
    ``t``. From the identity, Newton's steps toward it were halved again and
    again (on 666 x 32000 token logits, about 100 passes per group of classes
    where the others needed 20).

    Examples
    --------
    >>> start = np.tile([1.0, 1.0, 0.0], (3, 1))
    >>> targets = (np.full(3, 0.9), np.full(3, 0.1))
    >>> _one_sided_at_their_minimum(start, np.array([0.0, 5.0, 10.0]), 10.0, targets).round(3)
    array([[ 0.   ,  0.   , -2.197],
           [ 1.   ,  1.   ,  0.   ],
           [ 0.   ,  0.   ,  2.197]])
    """
    t_pos, t_neg = targets
    absent, everything = n_positive <= 0, n_positive >= n_total
    target = np.where(everything, t_pos, t_neg)
    one_sided = (absent | everything) & (target > 0) & (target < 1)
    if not one_sided.any():
        return start
    start = np.array(start, dtype=np.float64)
    start[one_sided] = 0.0
    start[one_sided, 2] = np.log(target[one_sided]) - np.log1p(-target[one_sided])
    return start


def fit_beta(score_rows, positives, y, sample_weight, targets, *, tol, max_iter, start=None):
    """Minimise each problem's NLL of its beta map under ``a, b >= 0``.

    :func:`projected_newton` with the exact 3 x 3 Hessian of every problem, all
    problems in one pass per iteration, each started at ``start`` (by default
    the identity ``(a, b, c) = (1, 1, 0)``). The features ``log p`` and ``-log(1 - p)`` are
    computed once when the scores are in memory (see :class:`BetaFeatures`);
    their moments, which the targets' sums come from, are summed in the pass
    that evaluates the start (the same sums as in a pass of their own).

    Returns
    -------
    params : ndarray of shape (n_problems, 3)
    n_iter : ndarray of int
    converged : ndarray of bool
    """
    n_total = total_weight(y.shape[0], sample_weight)
    if start is None:
        start = np.tile([1.0, 1.0, 0.0], (len(positives), 1))
    counts = class_totals(y, sample_weight, int(positives.max()) + 1)
    start = _one_sided_at_their_minimum(start, counts[positives], n_total, targets)

    lower = np.array([0.0, 0.0, -np.inf])
    start = np.maximum(start, lower)
    features = BetaFeatures(score_rows)
    # the features' moments, and the sums at the start in the same pass
    block_moments, rows = block_moments_of(y, positives), ParameterRows(start)
    moments, start_sums = features.reduce(
        lambda lp, mq, y, w: (block_moments(lp, mq, y, w), _beta_block(lp, mq, y, w, rows)),
        None, y, sample_weight)
    target_sums = sums_against_targets(moments, n_total, counts[positives], targets)

    def evaluate(at, which):
        return _beta_pass(features, y, sample_weight, at, target_sums, which)

    return projected_newton(evaluate, start, lower, n_total, tol=tol, max_iter=max_iter,
                            start_evaluation=_beta_evaluation(start_sums, start, target_sums))
