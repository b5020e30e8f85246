"""One-vs-rest logistic fits, all classes at once: the pieces Platt scaling and
beta calibration share (the scores, the targets, the logistic terms and
moments of a block). Their fits are in :mod:`skcal.solvers._platt_fit` and
:mod:`skcal.solvers._beta_fit`.

A one-vs-rest map fits one small logistic problem per class on that class's
score ``s_k`` (the binary logit, or the class's log-odds against the rest). The
problems share the data, so each pass over the rows evaluates all of them: the
scores of a block are computed from its logits, used, and dropped. The work is
then ``O(block)`` in memory whether the logits are in memory, in a file or on a
Dask cluster, and one Newton iteration is one pass for all classes
(:func:`~skcal.solvers._projected_newton.projected_newton`). In-memory logits
with too many scores to form whole are fitted a group of classes at a time
(:func:`fit_class_groups`), each group's scores formed once for all its
passes.
"""

import numpy as np

from ..rows import _device_kernels as device
from ..rows._blocks import (
    Rows,
    column_sums,
    is_streamed,
    total_weight,
)
from ..rows._remote import class_totals
from ..rows._one_vs_rest import (
    WHOLE_SCORE_VALUES,
    class_score_groups,
    class_score_matrix,
    class_scores,
)
from ..utils._reuse import Key, plain_array, reused
from ..utils._warnings import warn


def class_score_rows(logits, cache=None):
    """Rows of one-vs-rest scores, and the positive class of each problem.

    An in-memory logit matrix of modest size (:data:`WHOLE_SCORE_VALUES`
    one-vs-rest scores, 64 MiB of float64) gets its scores computed once;
    beyond, or for streamed logits, they are recomputed block by block at every
    pass, so that the fit's memory stays within a fraction of the input's.
    """
    rows = logits if isinstance(logits, Rows) else Rows(logits)
    n_problems = 1 if rows.n_columns == 2 else rows.n_columns
    positives = np.array([1] if rows.n_columns == 2 else list(range(rows.n_columns)))
    if in_host_memory(rows) and n_problems * rows.n_rows <= WHOLE_SCORE_VALUES:
        return Rows(class_score_matrix(rows.read(), cache)), positives
    return rows.then(lambda block: class_scores(block)[0], n_columns=n_problems), positives


def class_problem_groups(logits, cache=None):
    """The one-vs-rest problems of ``logits`` (an array or Rows) in groups of
    classes: yields ``(score_rows, positives)`` as :func:`class_score_rows` does.

    One group of every problem, except for in-memory logits whose scores are
    too many to form whole (:data:`WHOLE_SCORE_VALUES`): there, the groups of
    :func:`class_score_groups`, each group's scores formed once (about 8 MiB)
    for every pass of its fit instead of recomputed from the logits at each
    pass (the logarithm and two exponentials of the log-odds were most of a
    pass).
    """
    rows = logits if isinstance(logits, Rows) else Rows(logits)
    array = plain_array(rows)
    if array is None or rows.n_columns == 2 or rows.n_columns * rows.n_rows <= WHOLE_SCORE_VALUES:
        yield class_score_rows(rows, cache)
        return
    for positives, scores in class_score_groups(array, cache):
        yield Rows(scores), np.array(positives)


def fit_class_groups(logits, fit_group, cache=None):
    """``fit_group(score_rows, positives)`` on every group of
    :func:`class_problem_groups` (the scores shared through ``cache``); its
    results (a tuple of per-problem arrays and lists) joined in class order.

    Examples
    --------
    >>> import numpy as np
    >>> def first_scores(score_rows, positives):
    ...     return score_rows.read()[0], [int(k) for k in positives]
    >>> scores, classes = fit_class_groups(np.array([[0.0, 1.0, 2.0]]), first_scores)
    >>> scores.round(3).tolist(), classes
    ([-2.313, -1.127, 0.687], [0, 1, 2])
    """
    parts = [fit_group(score_rows, positives)
             for score_rows, positives in class_problem_groups(logits, cache)]
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(results) if isinstance(results[0], np.ndarray)
                 else [item for result in results for item in result]
                 for results in zip(*parts))


def in_host_memory(rows):
    """True for Rows over a numpy array held whole in memory (not a memory map,
    Zarr, Dask or device array, nor float16 read in float32 blocks)."""
    return not (rows.is_dask or rows.xp is not None or is_streamed(rows.data))


def _separation_block(s, y, w, positives):
    if not isinstance(s, np.ndarray):
        return device.separation_block(s, y, w, positives)
    is_positive = y[:, None] == positives
    if w is not None:
        keep = (w > 0)[:, None]
        positive, negative = is_positive & keep, ~is_positive & keep
    else:
        positive, negative = is_positive, ~is_positive
    return (
        np.where(positive, s, -np.inf).max(axis=0),
        np.where(positive, s, np.inf).min(axis=0),
        np.where(negative, s, -np.inf).max(axis=0),
        np.where(negative, s, np.inf).min(axis=0),
    )


def _combine_extremes(a, b):
    if not isinstance(a[0], np.ndarray):
        return device.combine_extremes(a, b)
    return (np.maximum(a[0], b[0]), np.minimum(a[1], b[1]),
            np.maximum(a[2], b[2]), np.minimum(a[3], b[3]))


def one_vs_rest_targets(score_rows, positives, y, sample_weight, smoothing, cache=None):
    """The 0/1 or smoothed targets of each problem, and the classes that needed smoothing.

    Raw 0/1 targets (or Platt's (1999) targets ``(N+ + 1) / (N+ + 2)`` and
    ``1 / (N- + 2)`` when ``smoothing``). A class that its scores separate
    perfectly (ties included), or that is absent or everything, has no finite
    NLL optimum and always gets the smoothed targets.

    Returns
    -------
    target_positive, target_negative : ndarray of shape (n_problems,)
    separated : list
        The classes whose targets were smoothed because of separation.
    """
    n_total = total_weight(y.shape[0], sample_weight)
    counts = class_totals(y, sample_weight, int(positives.max()) + 1)
    n_positive = counts[positives]
    n_negative = n_total - n_positive
    smooth = np.full(positives.shape[0], bool(smoothing))
    separated = []
    if not smoothing:
        max_pos, min_pos, max_neg, min_neg = _class_extremes(score_rows, positives, y,
                                                             sample_weight, cache)
        split = (max_neg <= min_pos) | (max_pos <= min_neg)  # also true for an empty side
        separated = [int(k) for k in positives[split]]
        smooth = split
    target_positive = np.where(smooth, (n_positive + 1.0) / (n_positive + 2.0), 1.0)
    target_negative = np.where(smooth, 1.0 / (n_negative + 2.0), 0.0)
    return target_positive, target_negative, separated


def _class_extremes(score_rows, positives, y, sample_weight, cache):
    """Each problem's largest and smallest score on its positive rows and on the
    others (rows of weight zero left out), once for all the candidates of a
    comparison (Platt and beta read the same scores)."""
    def compute():
        return score_rows.reduce(lambda s, y, w: _separation_block(s, y, w, positives),
                                 y, sample_weight, combine=_combine_extremes)

    scores = plain_array(score_rows)
    if scores is None:
        return compute()
    return reused(cache, Key.ONE_VS_REST_EXTREMES, compute, same=(scores,),
                  equal=(y, sample_weight, positives))


def warn_separated(separated, hint=""):
    """The warning for classes fitted on smoothed targets because of separation."""
    if separated:
        warn(
            f"The calibration scores separate class column(s) {separated} "
            "perfectly (or the class is absent), so the NLL has no finite optimum "
            f"there; those classes were fitted on Platt's smoothed targets.{hint}",
            UserWarning,
        )


# Rows whose factors 1 + exp(-|u|) (each in [1, 2]) are multiplied before one
# logarithm: their product stays below 2^1000, within float64's range (2^1024).
_PRODUCT_ROWS = 1000


def logistic_terms(u, w=None):
    """The column sums of ``softplus(u)`` (weighted by ``w`` when given) and,
    per element, ``sigmoid(u)`` and its derivative ``sigmoid(u) (1 - sigmoid(u))``,
    without overflow and without branches (``exp(-|u|)`` gives all three).

    ``softplus(u) = max(u, 0) + log(1 + exp(-|u|))``. Unweighted, the logarithms
    of each column are taken of products of up to ``_PRODUCT_ROWS`` factors
    ``1 + exp(-|u|)``, one logarithm for many elements (an elementwise
    ``log1p`` cost a third of a Platt pass); the sums agree to a few units in the
    last place of the total (the factors are rounded as ``1 + e`` is for the
    probabilities anyway).

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([[-800.0, 0.0], [0.0, 40.0], [3.0, -3.0]])
    >>> softplus_sums, p, c = logistic_terms(u)
    >>> exact = np.logaddexp(0.0, u).sum(axis=0)
    >>> bool(np.allclose(softplus_sums, exact, rtol=1e-15, atol=0))
    True
    >>> p[:, 0].tolist(), c[1].tolist()
    ([0.0, 0.5, 0.9525741268224334], [0.25, 4.248354255291589e-18])
    """
    e = np.abs(u)
    np.negative(e, out=e)
    np.exp(e, out=e)
    r = e + 1.0
    positive_part = column_sums(np.maximum(u, 0.0), w)
    if w is None:
        starts = np.arange(0, u.shape[0], _PRODUCT_ROWS)
        softplus_sums = positive_part + np.log(np.multiply.reduceat(r, starts, axis=0)).sum(axis=0)
    else:
        softplus_sums = positive_part + column_sums(np.log1p(e), w)
    np.reciprocal(r, out=r)  # sigmoid(|u|)
    p = np.maximum(e, u >= 0)  # the numerator: 1 where u >= 0, else exp(u)
    p *= r
    e *= r
    e *= r  # e / (1 + e)^2 = p (1 - p), exact also where p is close to 1
    return softplus_sums, p, e


def _positive_sums(x, y, w, problem_of_class):
    """``sum_i w_i x[i, k]`` over the rows whose class is problem ``k``'s positive."""
    problem = problem_of_class[y]
    rows = np.flatnonzero(problem >= 0)
    values = x[rows, problem[rows]]
    if w is not None:
        values = values * w[rows]
    return np.bincount(problem[rows], weights=values, minlength=x.shape[1])


def feature_moments(reduce, y, positives):
    """For each feature: its weighted column sums over all rows and over each
    problem's positive rows. ``reduce(f)`` sums ``f(*features, y, w)`` over the
    row blocks, each feature an (n, P) block."""
    return reduce(block_moments_of(y, positives))


def block_moments_of(y, positives):
    """The block function of :func:`feature_moments` (``f``), to sum in a pass
    that computes more (such as the first evaluation of a fit)."""
    problem_of_class = np.full(int(max(positives.max(), y.max())) + 1, -1)
    problem_of_class[positives] = np.arange(positives.shape[0])

    def block_moments(*blocks):
        *features, y, w = blocks
        return tuple((column_sums(x, w), _positive_sums(x, y, w, problem_of_class))
                     for x in features)

    return block_moments


def sums_against_targets(moments, total, positive_total, targets):
    """``sum_i w_i t_ik x_ik`` for each feature and ``sum_i w_i t_ik``, from the
    moments: the targets are ``t_neg`` everywhere but ``t_pos`` on the positives."""
    t_pos, t_neg = targets
    sums = [t_neg * everywhere + (t_pos - t_neg) * positive for everywhere, positive in moments]
    return sums + [t_neg * total + (t_pos - t_neg) * positive_total]


