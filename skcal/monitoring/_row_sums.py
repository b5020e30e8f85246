"""The per-row work of the monitor: a batch's rows summed into chunk summaries.

Each row's log-probabilities and label give the quantities of
:func:`~skcal.monitoring._statistics.empty_summary`; they are computed for
all rows of a batch at once and summed per chunk (a group of consecutive
rows).

The arithmetic runs on arrays laid out class by row, ``(K, n)``: a row's
sum over its classes is then a sum of K contiguous vectors, which numpy
vectorises, where the same sum over a short contiguous axis of an ``(n, K)``
array runs row by row (3 to 5 times slower at K = 10, as do ``max`` and
``argmax``).
"""

import numpy as np

from ..metrics._row_metrics import brier_from_parts
from ..rows._scores import probability_floor
from ..rows._scratch import Scratch
from ._point_columns import (
    HIGH_POINTS_FROM,
    LOW_POINTS_FROM,
    PER_POINT,
    SLOT,
    group_sums,
    point_columns,
    point_sums,
    powers,
    slope_at,
)
from ._statistics import (
    BETA_GRID,
    ECE_BINS,
    HIGH_POINTS_ABOVE,
    empty_summary,
    n_recalibration_parameters,
)


def labelled_summary(log_proba, y_index):
    """Sums over labelled rows: NLL, accuracy, Brier, ECE bins and recalibration terms.

    ``log_proba`` is (n, K) in float64; ``y_index`` the column of each true class.
    """
    (summary,) = labelled_summaries(log_proba, y_index, [slice(0, log_proba.shape[0])])
    return summary


def labelled_summaries(log_proba, y_index, groups, proba=None, best=None, scratch=None):
    """:func:`labelled_summary` of each group of consecutive rows (slices), the
    per-row work done once for all of them.

    ``log_proba`` is (n, K), float32 or float64 (``proba``, its exponential,
    and ``best``, each row's largest log-probability, if known already): the
    per-row arithmetic runs in its dtype, sums over rows are float64 in the
    end. Arrays that are transposes of C-ordered ``(K, n)`` arrays (as
    :func:`log_proba_of` returns) are used without a copy. The temporaries
    are taken from ``scratch`` (a :class:`~skcal.rows._scratch.Scratch` kept
    from batch to batch), if given: fresh arrays of that size come as new
    pages from the system each time.

    The recalibration terms at the inverse temperatures of :data:`BETA_GRID`
    (0, 1/128, 1/64, ..., 1/2, 1, 2, 4, 8, 16, 32, 64) need no exponential
    beyond ``p`` up to 8: ``p ** beta`` is 1, a square root of the one above it
    (below 1), ``p``, or the square of the one below it (2 to 8), and ``log
    softmax(beta log p) = beta log p - log sum p ** beta`` (where some ``p``
    underflowed, the powers below 1 are exponentials, as are those above 8).
    The points below :data:`~._statistics.LOW_POINTS_BELOW` are kept only if the NLL of all
    the rows, summed, still falls toward lower inverse temperatures there, and
    those above :data:`~._statistics.HIGH_POINTS_ABOVE` only if it falls toward higher ones
    there (NaN otherwise).
    """
    n, k = log_proba.shape
    if n == 0:
        return [empty_summary(k) for _ in groups]
    zt = np.ascontiguousarray(log_proba.T)
    pt = np.exp(zt) if proba is None else np.ascontiguousarray(proba.T)
    return _summaries(zt, pt, y_index, groups, best, scratch or Scratch())


def _summaries(zt, pt, y_index, groups, best, scratch):
    """:func:`labelled_summaries` of the (K, n) log-probabilities ``zt`` and
    probabilities ``pt`` (C-ordered)."""
    k, n = zt.shape
    dtype = zt.dtype
    starts = np.array([g.start for g in groups])
    filled = np.array([g.stop > g.start for g in groups])
    # log-probabilities below the dtype's smallest normal number: their
    # probabilities have underflowed (to subnormals or 0), which the powers below
    # 1 taken as square roots would keep; they are taken as exponentials instead
    lowest = zt.min()
    log_tiny = dtype.type(np.log(probability_floor(dtype)))
    underflowed = zt if lowest < log_tiny else None
    if np.isneginf(lowest):  # exact zero probabilities: their log-probability at the floor
        zt = np.maximum(zt, log_tiny, out=scratch("z", (k, n), dtype))
    true_entry = y_index * n + np.arange(n)  # in the flattened (K, n) arrays
    z_true = zt.reshape(-1)[true_entry]
    p_true = pt.reshape(-1)[true_entry]
    best = zt.max(axis=0) if best is None else best
    confidence = np.exp(best)
    correct = _is_first_max(zt, best, z_true, y_index)  # the argmax is the label
    offsets = n_recalibration_parameters(k) > 1
    n_betas = BETA_GRID.shape[0]
    group_of_row = np.repeat(np.arange(len(groups)), [g.stop - g.start for g in groups])
    # the per-row numbers summed per group, one row of ``columns`` each, in float64
    columns = scratch("columns", (4 + PER_POINT * n_betas, n))
    np.negative(z_true, out=columns[0])
    np.square(columns[0], out=columns[1])
    columns[2] = correct
    if offsets:
        # the left factors of the offsets' products: r, the one-hot labels, g_beta,
        # mean z and z (the labels and z kept from one inverse temperature to the next)
        factors = scratch("factors", (3 * k + 2, n), dtype)
        factors[k : 2 * k] = 0
        factors[k : 2 * k].reshape(-1)[true_entry] = 1
        factors[2 * k + 2 :] = zt
        label_cell = group_of_row * k + y_index
        counts = _label_sums(label_cell, None, groups, k).astype(np.float64)
    per_beta = [None] * n_betas
    kept = []
    for j, q in powers(pt, scratch("q", (k, n), dtype), underflowed,
                        lambda: slope_at(columns, LOW_POINTS_FROM) > 0.0,
                        (zt, best, lambda: slope_at(columns, HIGH_POINTS_FROM) < 0.0)):
        kept.append(j)
        beta = BETA_GRID[j]
        if q is None:  # beta = 0: every class equally likely, whatever the scores
            mean_z = zt.mean(axis=0)
            second = np.square(zt, out=scratch("qz2", (k, n), dtype)).mean(axis=0)
            grad_beta = mean_z - z_true
            point_columns(columns, j, np.log(dtype.type(k)), z_true, grad_beta,
                          second - mean_z * mean_z)
            if offsets:
                per_beta[j] = _uniform_offset_sums(zt, mean_z, grad_beta, label_cell,
                                                   groups, counts, starts, filled, scratch)
            continue
        qz = np.multiply(q, zt, out=scratch("qz", (k, n), dtype))
        mean_z = qz.sum(axis=0)
        second = np.einsum("kn,kn->n", qz, zt)
        if beta == 1.0:  # p is normalised already
            inverse, log_total = None, np.zeros(n, dtype=dtype)
        else:
            total = q.sum(axis=0)
            if beta == 2.0:  # sum p^2, the Brier score's first term
                columns[3] = brier_from_parts(total, p_true)
            inverse, log_total = 1 / total, np.log(total)
            if beta > HIGH_POINTS_ABOVE:  # q is p ** beta over its row's largest
                log_total += dtype.type(beta) * best
            mean_z *= inverse
            second *= inverse
        grad_beta = mean_z - z_true
        point_columns(columns, j, log_total - dtype.type(beta) * z_true, z_true, grad_beta,
                      second - mean_z * mean_z)
        if offsets:
            per_beta[j] = _offset_sums(q, inverse, mean_z, grad_beta, label_cell, groups,
                                       factors)
    sums = point_sums(columns, kept, starts, filled)
    for j in sorted(set(range(n_betas)) - set(kept)) if offsets else ():
        per_beta[j] = tuple(np.full_like(part, np.nan) for part in per_beta[kept[0]])
    bins = np.minimum((confidence * ECE_BINS).astype(np.intp), ECE_BINS - 1)
    cells = group_of_row * ECE_BINS + bins
    size = len(groups) * ECE_BINS
    bin_count = np.bincount(cells, minlength=size).reshape(-1, ECE_BINS).astype(np.float64)
    bin_confidence = np.bincount(cells, weights=confidence, minlength=size).reshape(-1, ECE_BINS)
    bin_correct = np.bincount(cells, weights=correct, minlength=size).reshape(-1, ECE_BINS)
    # every group's recalibration terms as arrays over the groups, then handed out
    n_groups, d = len(groups), n_recalibration_parameters(k)
    # the per-point numbers in the grid's order
    loss, loss_sq = sums[:, 4::PER_POINT][:, SLOT], sums[:, 8::PER_POINT][:, SLOT]
    grad = np.zeros((n_groups, n_betas, d))
    outer = np.zeros((n_groups, n_betas, d, d))
    hessian = np.zeros((n_groups, n_betas, d, d))
    grad[:, :, 0], outer[:, :, 0, 0], hessian[:, :, 0, 0] = (
        sums[:, 5::PER_POINT][:, SLOT], sums[:, 6::PER_POINT][:, SLOT],
        sums[:, 7::PER_POINT][:, SLOT])
    if offsets:  # the offsets' terms at every inverse temperature at once
        grad_b, outer_cross, outer_b, hessian_cross, hessian_b = _offset_terms(
            [np.stack(parts, axis=1) for parts in zip(*per_beta)], counts)
        grad[:, :, 1:] = grad_b
        outer[:, :, 0, 1:] = outer[:, :, 1:, 0] = outer_cross
        outer[:, :, 1:, 1:] = outer_b
        hessian[:, :, 0, 1:] = hessian[:, :, 1:, 0] = hessian_cross
        hessian[:, :, 1:, 1:] = hessian_b
    firsts = sums[:, :4].tolist()
    return [
        {"n": 0, "n_labelled": group.stop - group.start, "entropy": 0.0, "nll": nll,
         "nll_sq": nll_sq, "correct": n_correct, "brier": brier, "bin_count": bin_count[i],
         "bin_confidence": bin_confidence[i], "bin_correct": bin_correct[i], "loss": loss[i],
         "loss_sq": loss_sq[i], "grad": grad[i], "grad_outer": outer[i], "hessian": hessian[i]}
        for i, (group, (nll, nll_sq, n_correct, brier)) in enumerate(zip(groups, firsts))]


def _uniform_offset_sums(zt, mean_z, grad_beta, label_cell, groups, counts, starts, filled,
                         scratch):
    """:func:`_offset_sums` at ``beta = 0``, where ``r = 1/K`` in every row: from
    the groups' sizes and label counts and the sums of ``z`` and of the per-row
    numbers, with no product of rows."""
    k, n = zt.shape
    sizes = np.array([g.stop - g.start for g in groups], dtype=np.float64)
    rows = scratch("uniform_rows", (k + 2, n))  # g_beta, mean z and z, in float64
    rows[0], rows[1], rows[2:] = grad_beta, mean_z, zt
    sums = group_sums(rows, starts, filled) / k
    ones = np.ones(k)
    return (sizes[:, None, None] / k**2 * np.ones((k, k)), counts[:, :, None] / k * ones,
            np.concatenate([sums[:, :1] * ones, _label_sums(label_cell, grad_beta, groups, k)],
                           axis=1), sums[:, 2:], sums[:, 1:2] * ones)


def _label_sums(label_cell, values, groups, k):
    """Per group, the sums of ``values`` (None: counts) over its rows of each label
    (``label_cell`` each row's ``group * K + label``), as a (groups, K) array."""
    return np.bincount(label_cell, weights=values, minlength=len(groups) * k
                       ).reshape(len(groups), k)


def _is_first_max(zt, best, z_true, y_index):
    """Whether each row's label is its first most probable class (as
    ``argmax == y``): its log-probability is the row's largest, and no earlier
    class ties with it (looked for only when some row has a tie)."""
    matches = z_true == best
    if np.count_nonzero(zt == best) > zt.shape[1]:
        tied = np.flatnonzero(matches)
        matches[tied] = zt[:, tied].argmax(axis=0) == y_index[tied]
    return matches


def _offset_sums(q, inverse, mean_z, grad_beta, label_cell, groups, factors):
    """Per group, in float64, the sums the class offsets' terms are made of, for
    the normalised ``r = q * inverse`` (``q`` itself where ``inverse`` is None;
    all (K, n)): ``sum r r'``, ``sum e_y r'`` (``e_y`` the one-hot label),
    ``sum g_beta r`` with ``sum g_beta e_y``, ``sum r z`` and ``sum (mean z) r``.
    ``label_cell`` is each row's ``group * K + label``; ``factors`` a
    (3K + 2, n) array whose rows K to 2K - 1 hold the one-hot labels and its
    last K rows ``z``: every product with ``r`` is one call, which at a few
    classes costs more than its arithmetic."""
    k = q.shape[0]
    r = factors[:k]
    if inverse is None:
        r[...] = q
    else:
        np.multiply(q, inverse, out=r)
    factors[2 * k], factors[2 * k + 1] = grad_beta, mean_z
    products = _group_grams(factors, r, groups)
    rz = np.diagonal(products[:, 2 * k + 2 :], axis1=1, axis2=2)  # sum z_k r_k
    sums = (products[:, :k], products[:, k : 2 * k],
            np.concatenate([products[:, 2 * k], _label_sums(label_cell, grad_beta, groups, k)],
                           axis=1), rz, products[:, 2 * k + 1])
    return tuple(np.asarray(part, dtype=np.float64) for part in sums)


def _offset_terms(offset_sums, counts):
    """The class offsets' parts of every group's gradient, gradient outer products
    and Hessian (the last class's offset fixed at 0; the gradient in ``b_k`` is
    ``sum (q_k - e_yk)``), as arrays over the groups and inverse temperatures
    (the sums of :func:`_offset_sums` stacked on axis 1; ``counts`` per group)."""
    gram, label_gram, beta_sums, qz_sums, mean_z_sums = offset_sums
    k = gram.shape[-1]
    counts = counts[:, None, :]
    mass = gram.sum(axis=-1)  # sum over rows of q_k (each row of q sums to 1)
    residual_outer = gram - label_gram - np.swapaxes(label_gram, -1, -2)
    residual_outer[..., np.arange(k), np.arange(k)] += counts
    hessian_block = -gram[..., :-1, :-1]
    hessian_block[..., np.arange(k - 1), np.arange(k - 1)] += mass[..., :-1]
    return ((mass - counts)[..., :-1], (beta_sums[..., :k] - beta_sums[..., k:])[..., :-1],
            residual_outer[..., :-1, :-1], (qz_sums - mean_z_sums)[..., :-1], hessian_block)


def _group_grams(a, b, groups):
    """``a[:, group] @ b[:, group].T`` for each group of columns (rows of data) of
    the (., n) arrays ``a`` and ``b``, as an array (groups, rows of a, rows of b):
    one batched product when the groups are consecutive blocks of one size (the
    usual batch), else a loop."""
    sizes = {g.stop - g.start for g in groups}
    if len(sizes) == 1 and groups[0].start == 0 and groups[-1].stop == a.shape[1] \
            and sizes.pop() > 0:
        g = len(groups)
        return np.matmul(a.reshape(a.shape[0], g, -1).transpose(1, 0, 2),
                         b.reshape(b.shape[0], g, -1).transpose(1, 2, 0))
    return np.array([a[:, group] @ b[:, group].T for group in groups]).reshape(
        len(groups), a.shape[0], b.shape[0])


def log_proba_of(logits, scratch=None):
    """``(log softmax, softmax, largest log softmax)`` of logit rows in their dtype,
    from one exponential per value. The two (n, K) arrays are transposes of
    C-ordered (K, n) arrays, taken from ``scratch``, if given (then they are
    overwritten by the next call)."""
    logits = np.asarray(logits)
    scratch = scratch if scratch is not None else Scratch()
    n, k = logits.shape
    shifted = scratch("log_proba", (k, n), logits.dtype)
    shifted[...] = logits.T
    best = shifted.max(axis=0)
    shifted -= best
    proba = np.exp(shifted, out=scratch("proba", (k, n), logits.dtype))
    total = proba.sum(axis=0)
    log_total = np.log(total)
    shifted -= log_total
    proba /= total
    return shifted.T, proba.T, np.negative(log_total, out=best)


def batch_summaries(log_proba, y_index, labelled, chunk_ids, proba=None, best=None,
                    scratch=None):
    """(chunk, rows, summary) of each chunk of a batch, rows sorted by chunk; the
    per-row work is done once for the whole batch (``proba``, the exponential of
    ``log_proba``, and ``best``, the rows' largest log-probabilities, if known
    already; the arrays as for :func:`labelled_summaries`)."""
    scratch = scratch if scratch is not None else Scratch()
    chunks, first = np.unique(chunk_ids, return_index=True)
    bounds = list(first) + [chunk_ids.shape[0]]
    zt = np.ascontiguousarray(log_proba.T)
    pt = np.exp(zt) if proba is None else np.ascontiguousarray(proba.T)
    entropy = -np.multiply(pt, zt, out=scratch("entropy", zt.shape, zt.dtype)).sum(axis=0)
    labelled_rows = np.flatnonzero(labelled)
    cuts = np.searchsorted(labelled_rows, bounds)
    groups = [slice(cuts[i], cuts[i + 1]) for i in range(len(chunks))]
    if labelled_rows.shape[0] == zt.shape[1]:  # every row labelled: no copies
        summaries = _summaries(zt, pt, y_index, groups, best, scratch)
    elif labelled_rows.shape[0] == 0:
        summaries = [empty_summary(zt.shape[0]) for _ in groups]
    else:
        summaries = _summaries(zt[:, labelled_rows], pt[:, labelled_rows],
                               y_index[labelled_rows], groups,
                               None if best is None else best[labelled_rows], scratch)
    for i, chunk in enumerate(chunks):
        rows = slice(bounds[i], bounds[i + 1])
        summary = summaries[i]
        summary["n"] = rows.stop - rows.start
        summary["entropy"] = float(entropy[rows].sum())
        yield int(chunk), rows, summary
