"""The statistics of calibration monitoring: additive chunk summaries and alarm thresholds.

A chunk is summarised by sums over its rows of quantities computed from each
row's log-probabilities and label, so that summaries of parts of a chunk add up
(rows may arrive in any batches, labels late) and a chunk's rows need never be
kept. The recalibration estimate is one of these sums too: the gradient,
gradient outer products and Hessian, at the identity, of the NLL of a
temperature with class offsets (``softmax(beta * log p + b)``, the map that
fixes over- and under-confidence and label shift), from which the NLL a
recalibration would remove is estimated without in-sample optimism.
"""

import numpy as np

from ..rows._scores import probability_floor
from ..rows._scratch import Scratch

# ECE bins of the chunk table (top-label, equal width)
ECE_BINS = 15
# more classes than this: the recalibration is a temperature only (the offsets'
# Hessian has K^2 entries per chunk)
MAX_OFFSET_CLASSES = 50
# inverse temperatures at which the recalibration terms are kept: the best of them
# and a Newton step from it find the recalibration, however far it is
BETA_GRID = 2.0 ** np.arange(-1.0, 1.01, 1.0)
_IDENTITY = int(np.flatnonzero(BETA_GRID == 1.0)[0])


def n_recalibration_parameters(n_classes):
    """Temperature, plus one offset per class but the last when there are few classes."""
    return 1 + (n_classes - 1 if n_classes <= MAX_OFFSET_CLASSES else 0)


def empty_summary(n_classes):
    """The summary of no rows."""
    d = n_recalibration_parameters(n_classes)
    return {
        "n": 0,
        "n_labelled": 0,
        "entropy": 0.0,
        "nll": 0.0,
        "nll_sq": 0.0,
        "correct": 0.0,
        "brier": 0.0,
        "bin_count": np.zeros(ECE_BINS),
        "bin_confidence": np.zeros(ECE_BINS),
        "bin_correct": np.zeros(ECE_BINS),
        "loss": np.zeros(BETA_GRID.shape[0]),
        "grad": np.zeros((BETA_GRID.shape[0], d)),
        "grad_outer": np.zeros((BETA_GRID.shape[0], d, d)),
        "hessian": np.zeros((BETA_GRID.shape[0], d, d)),
    }


def add_summaries(a, b):
    """The summary of the rows of two summaries."""
    return {key: a[key] + b[key] for key in a}


def labelled_summary(log_proba, y_index):
    """Sums over labelled rows: NLL, accuracy, Brier, ECE bins and recalibration terms.

    ``log_proba`` is (n, K) in float64; ``y_index`` the column of each true class.
    """
    (summary,) = labelled_summaries(log_proba, y_index, [slice(0, log_proba.shape[0])])
    return summary


def labelled_summaries(log_proba, y_index, groups, proba=None, top=None, scratch=None):
    """:func:`labelled_summary` of each group of consecutive rows (slices), the
    per-row work done once for all of them.

    ``log_proba`` is (n, K), float32 or float64 (``proba``, its exponential,
    and ``top``, each row's most probable class, if known already): the
    per-row arithmetic runs in its dtype, sums over rows are float64 in the
    end. The (n, K) temporaries are taken from ``scratch`` (a
    :class:`~skcal.rows._scratch.Scratch` kept from batch to batch), if given:
    fresh arrays of that size come as new pages from the system each time. The recalibration terms at the inverse temperatures
    of :data:`BETA_GRID` (1/2, 1, 2) need no exponential beyond ``p``:
    ``p ** beta`` is ``sqrt(p)``, ``p`` or ``p * p``, and
    ``log softmax(beta log p) = beta log p - log sum p ** beta``. Sums of the
    normalised ``p ** beta`` are taken through weighted group-membership
    matrices, so that no (n, K) array is divided by its row sums.
    """
    n, k = log_proba.shape
    summaries = [empty_summary(k) for _ in groups]
    if n == 0:
        return summaries
    dtype = log_proba.dtype
    rows = np.arange(n)
    starts = np.array([g.start for g in groups])
    filled = np.array([g.stop > g.start for g in groups])
    scratch = scratch if scratch is not None else Scratch()
    ones = np.ones(k, dtype=dtype)  # row sums as matrix-vector products (3x faster)
    floor = dtype.type(np.log(probability_floor(dtype)))
    z = log_proba if log_proba.min() >= floor else np.maximum(
        log_proba, floor, out=scratch("z", (n, k), dtype))
    p = np.exp(z) if proba is None else proba
    z_true = z[rows, y_index]
    p_true = p[rows, y_index]
    top = p.argmax(axis=1) if top is None else top
    confidence = p[rows, top]
    correct = top == y_index
    offsets = n_recalibration_parameters(k) > 1
    n_betas = BETA_GRID.shape[0]
    group_of_row = np.repeat(np.arange(len(groups)), [g.stop - g.start for g in groups])
    # the per-row numbers summed per group, one column each, in float64
    columns = scratch("columns", (n, 4 + 4 * n_betas))
    columns[:, 0] = -z_true
    np.square(columns[:, 0], out=columns[:, 1])
    columns[:, 2] = correct
    if offsets:
        one_hot = scratch("one_hot", (n, k), dtype)
        one_hot[...] = 0
        one_hot[rows, y_index] = 1
        counts = np.bincount(group_of_row * k + y_index, minlength=len(groups) * k
                             ).reshape(len(groups), k).astype(np.float64)
    per_beta = []
    for j, beta in enumerate(BETA_GRID):
        if beta == 1.0:
            q = p
        else:
            q = (np.sqrt if beta == 0.5 else np.square)(p, out=scratch("q", (n, k), dtype))
        qz = np.multiply(q, z, out=scratch("qz", (n, k), dtype))
        mean_z = qz @ ones
        second = np.multiply(qz, z, out=scratch("qz2", (n, k), dtype)) @ ones
        if beta == 1.0:  # p is normalised already
            inverse, log_total = None, np.zeros(n, dtype=dtype)
        else:
            total = q @ ones
            if beta == 2.0:  # sum p^2, the Brier score's first term
                columns[:, 3] = total - 2 * p_true + 1
            inverse, log_total = 1 / total, np.log(total)
            mean_z *= inverse
            second *= inverse
        grad_beta = mean_z - z_true
        base = 4 + 4 * j
        columns[:, base] = log_total - dtype.type(beta) * z_true
        columns[:, base + 1] = grad_beta
        np.square(columns[:, base + 1], out=columns[:, base + 2])
        columns[:, base + 3] = second - mean_z * mean_z
        if offsets:
            per_beta.append(_offset_terms(_offset_sums(
                q, qz, inverse, mean_z, grad_beta, y_index, group_of_row, groups, one_hot,
                scratch), counts))
        else:
            per_beta.append(None)
    sums = _group_sums(columns, starts, filled)
    bins = np.minimum((confidence * ECE_BINS).astype(np.intp), ECE_BINS - 1)
    cells = group_of_row * ECE_BINS + bins
    size = len(groups) * ECE_BINS
    bin_count = np.bincount(cells, minlength=size).reshape(-1, ECE_BINS)
    bin_confidence = np.bincount(cells, weights=confidence, minlength=size).reshape(-1, ECE_BINS)
    bin_correct = np.bincount(cells, weights=correct, minlength=size).reshape(-1, ECE_BINS)
    # every group's recalibration terms as arrays over the groups, then handed out
    n_groups, d = len(groups), n_recalibration_parameters(k)
    loss = sums[:, 4::4]
    grad = np.zeros((n_groups, n_betas, d))
    outer = np.zeros((n_groups, n_betas, d, d))
    hessian = np.zeros((n_groups, n_betas, d, d))
    grad[:, :, 0], outer[:, :, 0, 0], hessian[:, :, 0, 0] = (
        sums[:, 5::4], sums[:, 6::4], sums[:, 7::4])
    for j, terms in enumerate(per_beta):
        if offsets:
            grad_b, outer_cross, outer_b, hessian_cross, hessian_b = terms
            grad[:, j, 1:] = grad_b
            outer[:, j, 0, 1:] = outer[:, j, 1:, 0] = outer_cross
            outer[:, j, 1:, 1:] = outer_b
            hessian[:, j, 0, 1:] = hessian[:, j, 1:, 0] = hessian_cross
            hessian[:, j, 1:, 1:] = hessian_b
    for i, (summary, group) in enumerate(zip(summaries, groups)):
        nll, nll_sq, n_correct, brier = sums[i, :4].tolist()
        summary.update(n_labelled=group.stop - group.start, nll=nll, nll_sq=nll_sq,
                       correct=n_correct, brier=brier, bin_count=bin_count[i].astype(np.float64),
                       bin_confidence=bin_confidence[i], bin_correct=bin_correct[i],
                       loss=loss[i].copy(), grad=grad[i], grad_outer=outer[i],
                       hessian=hessian[i])
    return summaries


def _offset_sums(q, qz, inverse, mean_z, grad_beta, y_index, group_of_row, groups, one_hot,
                 scratch):
    """Per group, in float64, the sums the class offsets' terms are made of, for
    the normalised ``r = q * inverse`` (``q`` itself where ``inverse`` is None):
    ``sum r r'``, ``sum e_y r'`` (``e_y`` the one-hot label), ``sum g_beta r``
    with ``sum g_beta e_y``, ``sum r z`` and ``sum (mean z) r``."""
    k = q.shape[1]
    r = q if inverse is None else np.multiply(q, inverse[:, None], out=scratch("r", q.shape,
                                                                            q.dtype))
    qz_weights = np.ones(q.shape[0], dtype=q.dtype) if inverse is None else inverse
    beta_e = np.bincount(group_of_row * k + y_index, weights=grad_beta,
                         minlength=len(groups) * k).reshape(len(groups), k)
    sums = (_group_grams(r, r, groups), _group_grams(one_hot, r, groups),
            np.concatenate([_weighted_group_sums(grad_beta, r, groups), beta_e], axis=1),
            _weighted_group_sums(qz_weights, qz, groups),
            _weighted_group_sums(mean_z, r, groups))
    return tuple(np.asarray(part, dtype=np.float64) for part in sums)


def _weighted_group_sums(weights, values, groups):
    """``weights[group] @ values[group]`` for each group of rows."""
    return _group_grams(weights[:, None], values, groups)[:, 0]


def _offset_terms(offset_sums, counts):
    """The class offsets' parts of every group's gradient, gradient outer products
    and Hessian (the last class's offset fixed at 0; the gradient in ``b_k`` is
    ``sum (q_k - e_yk)``), as arrays over the groups."""
    gram, label_gram, beta_sums, qz_sums, mean_z_sums = offset_sums
    k = gram.shape[1]
    mass = gram.sum(axis=2)  # sum over rows of q_k (each row of q sums to 1)
    residual_outer = gram - label_gram - np.swapaxes(label_gram, 1, 2)
    residual_outer[:, np.arange(k), np.arange(k)] += counts
    hessian_block = -gram[:, :-1, :-1]
    hessian_block[:, np.arange(k - 1), np.arange(k - 1)] += mass[:, :-1]
    return ((mass - counts)[:, :-1], (beta_sums[:, :k] - beta_sums[:, k:])[:, :-1],
            residual_outer[:, :-1, :-1], (qz_sums - mean_z_sums)[:, :-1], hessian_block)


def _group_grams(a, b, groups):
    """``a[group].T @ b[group]`` for each group of rows: one batched product when
    the groups are consecutive blocks of one size (the usual batch), else a loop."""
    sizes = {g.stop - g.start for g in groups}
    if len(sizes) == 1 and groups[0].start == 0 and groups[-1].stop == a.shape[0]:
        m = sizes.pop()
        if m:
            g = len(groups)
            return np.matmul(a.reshape(g, m, -1).transpose(0, 2, 1), b.reshape(g, m, -1))
    return np.array([a[group].T @ b[group] for group in groups]).reshape(
        len(groups), a.shape[1], b.shape[1])


def _group_sums(values, starts, filled):
    """Float64 column sums of ``values`` over each group of consecutive rows that
    begins at ``starts`` (zero for an empty group)."""
    values = np.asarray(values, dtype=np.float64)
    sums = np.zeros((starts.shape[0], values.shape[1]))
    if filled.any():
        sums[filled] = np.add.reduceat(values, starts[filled], axis=0)
    return sums


def derived(summary, n_classes, calibration=None):
    """The chunk table's numbers from a summary (NaN where there are no labels);
    ``calibration`` is its :func:`recalibration_gain`, if computed already."""
    n = summary["n_labelled"]
    out = {
        "n": summary["n"],
        "n_labelled": n,
        "expected_nll": summary["entropy"] / summary["n"] if summary["n"] else np.nan,
    }
    if n == 0:
        out.update(accuracy=np.nan, nll=np.nan, nll_se=np.nan, brier=np.nan, ece=np.nan,
                   nll_calibration=np.nan, nll_refinement=np.nan)
        return out
    mean = summary["nll"] / n
    variance = max(summary["nll_sq"] / n - mean * mean, 0.0) * n / max(n - 1, 1)
    filled = summary["bin_count"] > 0
    gaps = np.abs(summary["bin_correct"][filled] - summary["bin_confidence"][filled])
    if calibration is None:
        calibration = recalibration_gain(summary)
    out.update(
        accuracy=summary["correct"] / n,
        nll=mean,
        nll_se=float(np.sqrt(variance / n)),
        brier=summary["brier"] / n / (2.0 if n_classes == 2 else 1.0),
        ece=float(gaps.sum() / n),
        nll_calibration=float(calibration),
        nll_refinement=float(mean - calibration),
    )
    return out


def derive_missing(chunks, n_classes):
    """Give every chunk that has a summary but no table numbers its numbers, the
    recalibration gains of all of them in one batched computation."""
    missing = [chunk for chunk in chunks if chunk.get("derived") is None]
    gains = recalibration_gains([chunk["summary"] for chunk in missing])
    for chunk, gain in zip(missing, gains):
        chunk["derived"] = derived(chunk["summary"], n_classes, gain)


def recalibration_gain(summary):
    """The NLL per row a recalibration fitted on this chunk would remove on new rows
    like it, estimated without in-sample optimism.

    The recalibration ``softmax(beta * log p + b)`` is found from the kept terms:
    the best inverse temperature of the grid, then a Newton step in
    ``(beta, b)`` from it (``g' H^-1 g / 2`` with ``g`` the mean gradient and
    ``H`` the mean Hessian there). The in-sample gain of fitting ``d``
    parameters has expectation ``tr(H^-1 V) / (2 n)`` without any
    miscalibration (``V`` the covariance of the per-row gradients), which is
    subtracted. Can be slightly negative.
    """
    (gain,) = recalibration_gains([summary])
    return gain


def recalibration_gains(summaries):
    """:func:`recalibration_gain` of several summaries, their small linear algebra
    done in one batched call (a chunk's 10 x 10 pseudo-inverse costs more in
    Python overhead than in arithmetic)."""
    gains = np.full(len(summaries), np.nan)
    tested = [i for i, s in enumerate(summaries) if s["n_labelled"] >= 2]
    if not tested:
        return gains
    n = np.array([summaries[i]["n_labelled"] for i in tested], dtype=np.float64)
    losses = np.array([summaries[i]["loss"] for i in tested]) / n[:, None]
    best = np.argmin(losses, axis=1)
    pick = np.arange(len(tested))
    g = np.array([summaries[i]["grad"][b] for i, b in zip(tested, best)]) / n[:, None]
    hessian = np.array([summaries[i]["hessian"][b] for i, b in zip(tested, best)]) / n[:, None, None]
    outer = np.array([summaries[i]["grad_outer"][b] for i, b in zip(tested, best)]) / n[:, None, None]
    covariance = outer - g[:, :, None] * g[:, None, :]
    inverse = _pseudo_inverses(hessian)
    newton = 0.5 * np.einsum("ci,cij,cj->c", g, inverse, g)
    optimism = 0.5 * np.einsum("cij,cji->c", inverse, covariance) / n
    gains[tested] = losses[pick, _IDENTITY] - losses[pick, best] + newton - optimism
    return gains


def _pseudo_inverses(matrices):
    """Moore-Penrose inverses of symmetric matrices (as ``numpy.linalg.pinv`` with
    ``hermitian=True``: eigenvalues below 1e-15 of the largest count as 0)."""
    w, v = np.linalg.eigh(matrices)
    cutoff = 1e-15 * np.abs(w).max(axis=-1, keepdims=True)
    inverse_w = np.divide(1.0, w, out=np.zeros_like(w), where=np.abs(w) > cutoff)
    return (v * inverse_w[..., None, :]) @ np.swapaxes(v, -1, -2)


def log_proba_of(logits, scratch=None):
    """``(log softmax, softmax, top class)`` of logit rows in their dtype, from one
    exponential per value (into ``scratch``'s arrays, if given: then they are
    overwritten by the next call)."""
    logits = np.asarray(logits)
    scratch = scratch if scratch is not None else Scratch()
    top = logits.argmax(axis=1)
    shifted = np.subtract(logits, logits[np.arange(logits.shape[0]), top][:, None],
                          out=scratch("log_proba", logits.shape, logits.dtype))
    proba = np.exp(shifted, out=scratch("proba", logits.shape, logits.dtype))
    total = proba @ np.ones(logits.shape[1], dtype=proba.dtype)
    shifted -= np.log(total)[:, None]
    proba /= total[:, None]
    return shifted, proba, top


def batch_summaries(log_proba, y_index, labelled, chunk_ids, proba=None, top=None,
                    scratch=None):
    """(chunk, rows, summary) of each chunk of a batch, rows sorted by chunk; the
    per-row work is done once for the whole batch (``proba``, the exponential of
    ``log_proba``, and ``top``, the rows' most probable classes, if known already)."""
    chunks, first = np.unique(chunk_ids, return_index=True)
    bounds = list(first) + [chunk_ids.shape[0]]
    proba = np.exp(log_proba) if proba is None else proba
    entropy = -(np.multiply(proba, log_proba, out=_entropy_scratch(scratch, proba))
                @ np.ones(proba.shape[1], dtype=proba.dtype))
    labelled_rows = np.flatnonzero(labelled)
    cuts = np.searchsorted(labelled_rows, bounds)
    groups = [slice(cuts[i], cuts[i + 1]) for i in range(len(chunks))]
    if labelled_rows.shape[0] == log_proba.shape[0]:  # every row labelled: no copies
        summaries = labelled_summaries(log_proba, y_index, groups, proba, top, scratch)
    else:
        summaries = labelled_summaries(log_proba[labelled_rows], y_index[labelled_rows],
                                       groups, proba[labelled_rows],
                                       None if top is None else top[labelled_rows], scratch)
    for i, chunk in enumerate(chunks):
        rows = slice(bounds[i], bounds[i + 1])
        summary = summaries[i]
        summary["n"] = rows.stop - rows.start
        summary["entropy"] = float(entropy[rows].sum())
        yield int(chunk), rows, summary


def _entropy_scratch(scratch, proba):
    return None if scratch is None else scratch("entropy", proba.shape, proba.dtype)
