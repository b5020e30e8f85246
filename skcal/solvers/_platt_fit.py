"""Platt scaling's fit: ``sigmoid(a_k * s_k + b_k)`` for every one-vs-rest problem
at once, by Newton's method with the exact 2 x 2 Hessians (beta calibration's
fit, which starts from it, is in :mod:`skcal.solvers._beta_fit`)."""

import numpy as np
from scipy.special import expit

from ..rows import _device_kernels as device
from ..rows._blocks import column_sums, product_column_sums, total_weight
from ..rows._remote import class_totals
from ..rows._one_vs_rest import log_sigmoid
from ..utils._reuse import Key, offer_start, plain_array, reused, start_of
from ._logistic import (
    block_moments_of,
    feature_moments,
    logistic_terms,
    sums_against_targets,
)
from ._projected_newton import projected_newton


class ParameterRows:
    """Each parameter of every problem repeated down a block's rows: products
    with a block's columns (C-contiguous, also when a pass reads some columns
    only) are then between contiguous arrays, which numpy computes 2-3 times
    faster than against a broadcast row (same values)."""

    def __init__(self, params):
        self.params = params
        self.rows = [np.empty((0, params.shape[0]))] * params.shape[1]

    def __call__(self, n_rows):
        if self.params.shape[0] == 1:  # one problem: a scalar each, fast as it is
            return list(self.params[0])
        if self.rows[0].shape[0] < n_rows:
            self.rows = [np.tile(column, (n_rows, 1)) for column in self.params.T]
        return [rows[:n_rows] for rows in self.rows]


def _platt_block(s, y, w, params):
    """One block's sums at ``params`` (a :class:`ParameterRows`), before the
    targets: ``softplus(u)``, ``p s``, ``p`` and the Hessian's ``c s^2``,
    ``c s``, ``c`` (``u = a s + b``, ``p = sigmoid(u)``, ``c = p (1 - p)``),
    weighted and summed per problem."""
    a, b = params(s.shape[0])
    u = s * a
    u += b
    softplus_sums, p, c = logistic_terms(u, w)
    cs = c * s
    return (
        softplus_sums,
        np.stack([product_column_sums(p, s, w, out=u), column_sums(p, w)], axis=1),
        np.stack([product_column_sums(cs, s, w, out=u), column_sums(cs, w),
                  column_sums(c, w)], axis=1),
    )


def column_subset(which, n_problems):
    """None when ``which`` is every problem (read all columns, no copy), else ``which``."""
    return None if which.shape[0] == n_problems else which


def _platt_pass(score_rows, y, w, params, positives, targets, target_sums, which):
    """The problems ``which``: their columns only, for scores on the host.

    ``target_sums`` are ``sum w t s`` and ``sum w t`` per problem (see
    :func:`sums_against_targets`), which turn the blocks' sums into the loss
    ``sum w (softplus(u) - t u)`` and its gradient ``sum w (p - t) (s, 1)``.
    """
    if score_rows.xp is not None:  # device blocks: every column, targets on the device
        loss, grad, moments = score_rows.reduce(
            lambda s, y, w: device.platt_block(s, y, w, params, positives, targets), y, w)
        return loss[which], grad[which], _platt_hessians(moments[which])
    columns = column_subset(which, positives.shape[0])
    if columns is not None:
        params = params[columns]
        score_rows = score_rows.then(lambda s: np.take(s, columns, axis=1),
                                     n_columns=columns.shape[0])
    rows = ParameterRows(params)
    sums = score_rows.reduce(lambda s, y, w: _platt_block(s, y, w, rows), y, w)
    return _platt_evaluation(sums, params, [t[which] for t in target_sums])


def _platt_evaluation(sums, params, target_sums):
    """The loss, gradient and Hessian of every problem from the sums of
    :func:`_platt_block` at ``params`` and the ``target_sums`` of those problems."""
    softplus, p_sums, moments = sums
    ts, t1 = target_sums
    loss = softplus - params[:, 0] * ts - params[:, 1] * t1
    return loss, p_sums - np.column_stack([ts, t1]), _platt_hessians(moments)


def _platt_hessians(moments):
    """Each problem's 2 x 2 Hessian from its sums of ``c s^2``, ``c s`` and ``c``."""
    hess = np.empty((moments.shape[0], 2, 2))
    hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1] = moments.T
    hess[:, 1, 0] = hess[:, 0, 1]
    return hess


def _moments_and_start(score_rows, y, w, positives, start):
    """The scores' moments (:func:`feature_moments` of ``s`` and ``s^2``) and the
    sums of :func:`_platt_block` at ``start`` for every problem, in one pass."""
    block_moments, rows = block_moments_of(y, positives), ParameterRows(start)
    return score_rows.reduce(
        lambda s, y, w: (block_moments(s, s * s, y, w), _platt_block(s, y, w, rows)), y, w)


def fit_platt(score_rows, positives, y, sample_weight, targets, *, tol, max_iter,
              slope=None, start=None):
    """Minimise each problem's NLL of ``sigmoid(a * s + b)`` against its targets.

    :func:`projected_newton` (without bounds) with the exact 2 x 2 Hessian of
    every problem, all problems in one pass per iteration. Each problem starts
    at the better (lower NLL) of two maps: the constant ``a = 0``, ``b`` the
    log-odds of the mean target (its sums come from the scores' moments,
    without a pass), and, given ``slope`` (the inverse temperature of the
    logits, a positive float), ``a = slope``, ``b = 0`` (one pass). From the
    constant, Newton's first steps are poor wherever the scores carry
    information (the curvature at ``a = 0`` is that of one probability for
    every row): on the CIFAR models of ``shared/data`` the slope start halves
    the passes (7-8 to 3.5-4), though a temperature fit just for it would
    cost as much as it saves. Given ``start`` (an earlier fit's parameters of
    the same problems, such as another fold's), it takes the slope's place.
    The scores' moments are summed in the pass that evaluates that start.

    Returns
    -------
    params : ndarray of shape (n_problems, 2)
        ``(a, b)`` of each problem.
    n_iter : ndarray of int
    converged : ndarray of bool
    """
    n_total = total_weight(y.shape[0], sample_weight)
    n_problems = positives.shape[0]
    t_pos, t_neg = targets
    counts = class_totals(y, sample_weight, int(positives.max()) + 1)
    mean_target = (counts[positives] * t_pos + (n_total - counts[positives]) * t_neg) / n_total
    mean_target = np.clip(mean_target, 1e-12, 1 - 1e-12)
    given, start = start, np.column_stack([np.zeros(n_problems),
                                           np.log(mean_target / (1 - mean_target))])

    if given is None and slope is not None and np.isfinite(slope) and slope > 0:
        given = np.column_stack([np.full(n_problems, float(slope)), np.zeros(n_problems)])
    target_sums = start_evaluation = given_evaluation = None
    if score_rows.xp is None:
        # the moments, and the sums at the given start in the same pass
        if given is None:
            moments = feature_moments(
                lambda f: score_rows.reduce(lambda s, y, w: f(s, s * s, y, w), y,
                                            sample_weight), y, positives)
        else:
            moments, given_sums = _moments_and_start(score_rows, y, sample_weight,
                                                     positives, given)
        target_sums = sums_against_targets(moments[:1], n_total, counts[positives], targets)
        start_evaluation = _platt_at_constant(start[:, 1], n_total, moments[0][0],
                                              moments[1][0], target_sums)
        if given is not None:
            given_evaluation = _platt_evaluation(given_sums, given, target_sums)

    def evaluate(at, which):
        return _platt_pass(score_rows, y, sample_weight, at, positives, targets,
                           target_sums, which)

    if given is not None:
        everything = np.arange(n_problems)
        if start_evaluation is None:
            start_evaluation = evaluate(start, everything)
        if given_evaluation is None:
            given_evaluation = evaluate(given, everything)
        start, start_evaluation = _lower_start(start, start_evaluation, given,
                                               given_evaluation)
    return projected_newton(evaluate, start, np.full(2, -np.inf), n_total,
                            tol=tol, max_iter=max_iter, start_evaluation=start_evaluation)


def _lower_start(start, evaluation, other, other_evaluation):
    """Per problem, the start (and its ``(loss, grad, hess)``) of lower loss."""
    loss, other_loss = np.asarray(evaluation[0]), np.asarray(other_evaluation[0])
    pick = other_loss < loss
    start = np.where(pick[:, None], other, start)
    evaluation = tuple(
        np.where(pick.reshape((-1,) + (1,) * (np.ndim(a) - 1)), b, a)
        for a, b in zip(evaluation, other_evaluation)
    )
    return start, evaluation


def platt_fit_key(score_rows, positives, y, sample_weight, targets, tol, max_iter):
    """The inputs that key a Platt fit in a :class:`~skcal.utils._reuse.FoldCache`,
    or None for scores that are not a plain in-memory array."""
    scores = plain_array(score_rows)
    if scores is None:
        return None
    return {"same": (scores,), "equal": (y, sample_weight, positives, *targets),
            "options": (tol, max_iter)}


def shared_platt_fit(score_rows, positives, y, sample_weight, targets, *, tol, max_iter,
                     slope, cache=None):
    """:func:`fit_platt`, kept in a comparison's ``cache`` for beta calibration's
    start (:func:`platt_start_of_beta`), and offered as the other folds' start
    (:func:`~skcal.utils._reuse.offer_start`). ``slope`` is the inverse
    temperature of the logits that the scores come from, so the scores (by
    identity) key it too."""
    match = tuple(int(k) for k in positives)

    def compute():
        fit = fit_platt(score_rows, positives, y, sample_weight, targets, tol=tol,
                        max_iter=max_iter, slope=slope,
                        start=start_of(cache, Key.PLATT_FIT, match))
        offer_start(cache, Key.PLATT_FIT, match, fit[0])
        return fit

    def kept():
        params, n_iter, converged = compute()
        params.setflags(write=False)  # shared: copy before writing
        return params, n_iter, converged

    key = platt_fit_key(score_rows, positives, y, sample_weight, targets, tol, max_iter)
    return compute() if key is None else reused(cache, Key.PLATT_FIT, kept, **key)


def _platt_at_constant(b, n_total, score_sums, square_sums, target_sums):
    """:func:`_platt_pass` at ``a = 0`` for every problem, without a pass: every
    row's prediction is then ``sigmoid(b)``, so the sums come from the scores'
    moments (``score_sums``, ``square_sums``: the weighted sums of ``s`` and
    ``s^2``)."""
    ts, t1 = target_sums
    p, q = expit(b), expit(-b)
    c = p * q
    loss = -n_total * log_sigmoid(-b) - b * t1  # softplus(b) = -log sigmoid(-b)
    grad = np.column_stack([p * score_sums - ts, p * n_total - t1])
    hess = np.empty((b.shape[0], 2, 2))
    hess[:, 0, 0], hess[:, 1, 1] = c * square_sums, c * n_total
    hess[:, 0, 1] = hess[:, 1, 0] = c * score_sums
    return loss, grad, hess
