"""The statistics of calibration monitoring: additive chunk summaries and their table numbers.

A chunk is summarised by sums over its rows of quantities computed from each
row's log-probabilities and label, so that summaries of parts of a chunk add up
(rows may arrive in any batches, labels late) and a chunk's rows need never be
kept (the rows are summed in :mod:`._row_sums`). The recalibration estimate is
one of these sums too: the gradient,
gradient outer products and Hessian, at the identity, of the NLL of a
temperature with class offsets (``softmax(beta * log p + b)``, the map that
fixes over- and under-confidence and label shift), from which the NLL a
recalibration would remove is estimated without in-sample optimism.
"""

import numpy as np

from ..metrics._row_metrics import brier_scale

# ECE bins of the chunk table (top-label, equal width)
ECE_BINS = 15
# more classes than this: the recalibration is a temperature only (the offsets'
# Hessian has K^2 entries per chunk)
MAX_OFFSET_CLASSES = 50
# inverse temperatures at which the recalibration terms are kept. A Newton step
# from the nearest of them finds the recalibration; from a point far from it, the
# quadratic model of the NLL is wrong by more than the NLL itself. With 1/2, 1 and 2
# only (states before version 6), a model 6 times too confident had a negative
# refinement part, and one 3 times too confident with 40 % of its labels random was
# told "recalibrate" where no recalibration helps; with 2 the largest (states of
# version 6), models 5 and 8 times too little confident were told "retrain" on 172
# of 240 chunks in alarm; with 1/16 to 8 (states of version 7), models 30 to 100
# times too confident on 107 of 144, and 25 to 50 times too little confident on 88
# of 96 (benchmarks/bench_monitor_verdicts.py, four seeds).
# 0 is the model that ignores the scores (a label-prior fit); each positive
# value below 1 is half the next, a square root of its probabilities, and each
# above 1 twice the one before, a square
BETA_GRID = np.array([0.0, 1 / 128, 1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0,
                      4.0, 8.0, 16.0, 32.0, 64.0])
# the points below the first of these, and above the second, are kept only for
# the batches of rows whose NLL, summed, still falls toward them there (a model
# more than about 16 times too confident, or 8 times too little), and are missing
# (NaN) for the others: they would cost half of every update
LOW_POINTS_BELOW, HIGH_POINTS_ABOVE = 1 / 16, 8.0
# the grids of older states (before version 6; version 6; version 7), whose
# summaries are read with their other points missing (NaN)
OLD_BETA_GRIDS = (np.array([0.5, 1.0, 2.0]),
                  np.array([0.0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0]),
                  np.array([0.0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0]))


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
        "loss_sq": np.zeros(BETA_GRID.shape[0]),
        "grad": np.zeros((BETA_GRID.shape[0], d)),
        "grad_outer": np.zeros((BETA_GRID.shape[0], d, d)),
        "hessian": np.zeros((BETA_GRID.shape[0], d, d)),
    }


def on_grid(values):
    """Recalibration terms kept on one of :data:`OLD_BETA_GRIDS` (a state before
    version 7: one row per point) on :data:`BETA_GRID`, NaN at the points they
    lack."""
    values = np.asarray(values, dtype=np.float64)
    for grid in OLD_BETA_GRIDS:
        if values.shape[:1] == grid.shape:
            spread = np.full(BETA_GRID.shape + values.shape[1:], np.nan)
            spread[np.searchsorted(BETA_GRID, grid)] = values
            return spread
    return values


def add_summaries(a, b):
    """The summary of the rows of two summaries."""
    return {key: a[key] + b[key] for key in a}


def derived(summary, n_classes):
    """The chunk table's numbers from a summary (NaN where there are no labels),
    and its top-label reliability ``bins``: per bin of :data:`ECE_BINS`, the
    labelled rows, their summed confidence and their summed correct
    predictions (three lists), kept for reliability diagrams."""
    (numbers,) = derived_many([summary], n_classes)
    return numbers


def derived_many(summaries, n_classes):
    """:func:`derived` of several summaries, computed as arrays over them (a chunk
    at a time costs more in Python than in arithmetic)."""
    if not summaries:
        return []
    n = np.array([s["n"] for s in summaries])
    n_labelled = np.array([s["n_labelled"] for s in summaries])
    totals = np.array([[s["entropy"], s["nll"], s["nll_sq"], s["correct"], s["brier"]]
                       for s in summaries], dtype=np.float64)
    gaps = np.abs(np.array([s["bin_correct"] - s["bin_confidence"] for s in summaries]))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(n > 0, totals[:, 0] / n, np.nan)
        labelled = np.where(n_labelled > 0, n_labelled, np.nan)
        mean = totals[:, 1] / labelled
        variance = (np.maximum(totals[:, 2] / labelled - mean * mean, 0.0)
                    * labelled / np.maximum(labelled - 1, 1))
        nll_se = np.sqrt(variance / labelled)
        calibration, refinement_se = recalibration_gains(summaries)
        columns = {
            "accuracy": totals[:, 3] / labelled,
            "nll": mean,
            "nll_se": nll_se,
            "brier": totals[:, 4] / labelled * brier_scale(n_classes),
            "ece": gaps.sum(axis=1) / labelled,  # empty bins add 0
            "nll_calibration": calibration,
            "nll_refinement": mean - calibration,
            # chunks of states before version 6 have no spread of the recalibrated NLL
            "nll_refinement_se": np.where(np.isfinite(refinement_se), refinement_se, nll_se),
        }
    names = list(columns)
    rows = np.column_stack([columns[name] for name in names]).tolist()
    bins = [np.stack([s["bin_count"], s["bin_confidence"], s["bin_correct"]]).tolist()
            for s in summaries]
    return [{"n": int(n_i), "n_labelled": int(m_i), "expected_nll": float(e_i),
             **dict(zip(names, row)), "bins": bins_i}
            for n_i, m_i, e_i, row, bins_i in zip(n.tolist(), n_labelled.tolist(),
                                                  expected.tolist(), rows, bins)]


def derive_missing(chunks, n_classes):
    """Give every chunk that has a summary but no table numbers its numbers."""
    missing = [chunk for chunk in chunks if chunk.get("derived") is None]
    for chunk, numbers in zip(missing, derived_many([c["summary"] for c in missing],
                                                    n_classes)):
        chunk["derived"] = numbers


def recalibration_gain(summary):
    """The NLL per row a recalibration fitted on this chunk would remove on new rows
    like it, estimated without in-sample optimism.

    The recalibration ``softmax(beta * log p + b)`` is found from the kept terms:
    a Newton step in ``(beta, b)`` from each inverse temperature of the grid
    (its estimate of the lowest NLL is the NLL there minus ``g' H^-1 g / 2``,
    ``g`` the mean gradient and ``H`` the mean Hessian there). A step is
    trusted when its ``beta`` stays between the grid's neighbours of its
    start (the quadratic model holds near its start, not across the grid) and
    its estimate is not negative, which no NLL is. The
    estimate is the lowest of the trusted steps' (or, with none trusted, of
    the grid's lowest NLL's step), and never below 0. The
    in-sample gain of fitting ``d`` parameters has expectation
    ``tr(H^-1 V) / (2 n)`` without any miscalibration (``V`` the covariance of
    the per-row gradients), which is subtracted. Can be slightly negative.
    """
    (gain,), _ = recalibration_gains([summary])
    return gain


def recalibration_gains(summaries):
    """:func:`recalibration_gain` of several summaries, their small linear algebra
    done in one batched call (a chunk's 10 x 10 pseudo-inverse costs more in
    Python overhead than in arithmetic); and the standard error of the
    recalibrated NLL: that of the mean NLL at the recalibration's inverse
    temperature, the rows' NLL variance interpolated between the kept points
    around it (at the point the estimate starts from, where no step is
    trusted). A model far too confident has a few rows of huge NLL, which
    recalibration shrinks: the raw NLL's standard error would be many times
    too wide for the part that recalibration leaves; and the error at the
    point the estimate starts from, away from the recalibration, was 1.21
    times the recalibrated rows' own for a model 2.5 times too confident and
    0.83 times for one 2.5 times too little confident (0.98 and 1.01 now;
    ``tests/monitoring/test_verdicts.py``)."""
    gains = np.full(len(summaries), np.nan)
    spread = np.full(len(summaries), np.nan)
    tested = [i for i, s in enumerate(summaries) if s["n_labelled"] >= 2]
    if not tested:
        return gains, spread
    n = np.array([summaries[i]["n_labelled"] for i in tested], dtype=np.float64)
    losses = np.array([summaries[i]["loss"] for i in tested]) / n[:, None]
    # the points some summary keeps (missing: points of older grids, extra points not needed)
    points = np.flatnonzero(np.isfinite(losses).any(axis=0))
    grid, losses = BETA_GRID[points], losses[:, points]
    kept = np.isfinite(losses)
    g = np.array([summaries[i]["grad"][points] for i in tested]) / n[:, None, None]
    hessian = np.array([summaries[i]["hessian"][points] for i in tested]
                       ) / n[:, None, None, None]
    outer = np.array([summaries[i]["grad_outer"][points] for i in tested]
                     ) / n[:, None, None, None]
    missing = ~kept[..., None, None]  # a point not kept: H = I, g = 0, no step
    g = np.where(kept[..., None], g, 0.0)
    hessian = np.where(missing, np.eye(hessian.shape[-1]), hessian)
    step = -_solved(hessian, g[..., None])[..., 0]
    lowest = losses + 0.5 * np.einsum("cgi,cgi->cg", g, step)  # losses - g'H^-1 g / 2
    # a step is trusted where it lands near its start, and predicts an NLL that
    # can be (none is negative: from a Hessian nearly singular, at a model far
    # too confident, a step went to 8e5 and predicted -1.6e11)
    trusted = kept & _trusted(grid, grid + step[..., 0], kept) & (lowest >= 0.0)
    lowest = np.where(trusted, lowest, np.inf)
    none = ~np.isfinite(lowest).any(axis=1)
    pick = np.where(none, np.argmin(np.where(kept, losses, np.inf), axis=1),
                    np.argmin(lowest, axis=1))
    rows = np.arange(len(tested))
    g, hessian, outer = g[rows, pick], hessian[rows, pick], outer[rows, pick]
    estimate = np.maximum(losses[rows, pick] + 0.5 * np.einsum(
        "ci,ci->c", g, step[rows, pick]), 0.0)
    covariance = outer - g[:, :, None] * g[:, None, :]
    optimism = 0.5 * np.trace(_solved(hessian, covariance), axis1=-2, axis2=-1) / n
    gains[tested] = losses[:, np.flatnonzero(grid == 1.0)[0]] - estimate - optimism
    squares = np.array([summaries[i]["loss_sq"][points] for i in tested]) / n[:, None]
    variances = np.maximum(squares - losses**2, 0.0) * (n / (n - 1))[:, None]
    variance = variances[rows, pick]
    landing = grid[pick] + step[rows, pick, 0]
    for c in np.flatnonzero(~none):  # at the recalibration, between the points around it
        around = kept[c] & np.isfinite(variances[c])
        if around.any():
            variance[c] = np.interp(landing[c], grid[around], variances[c, around])
    spread[tested] = np.sqrt(variance / n)
    return gains, spread


def _trusted(grid, landing, kept):
    """Whether each Newton step's ``beta`` (``landing``, per summary and point
    of ``grid``) lies between the kept points on either side of its start; above
    the largest kept point, up to twice it (where the grid's next point would
    be)."""
    trusted = np.zeros(landing.shape, dtype=bool)
    top = np.where(kept, grid, -np.inf).max(axis=1, initial=-np.inf)
    for j in range(grid.shape[0]):
        below = np.where(kept[:, :j], grid[:j], -np.inf).max(axis=1, initial=-np.inf)
        above = np.where(kept[:, j + 1:], grid[j + 1:], np.inf).min(axis=1, initial=np.inf)
        above = np.minimum(above, 2.0 * top)
        trusted[:, j] = (below <= landing[:, j]) & (landing[:, j] <= above)
    return trusted


def _solved(matrices, right):
    """``pinv(M) @ R`` for each symmetric positive semi-definite ``M`` of
    ``matrices`` (the Hessians of the NLL): by a solve where every ``M`` is
    positive definite with Cholesky pivots within a factor 1e12 of each other
    (then the two agree to rounding), by :func:`_pseudo_inverses` otherwise (a
    class of no probability mass). An eigen-decomposition of each of seven
    50 x 50 Hessians a chunk took a third of an update at 50 classes."""
    try:
        pivots = np.square(np.diagonal(np.linalg.cholesky(matrices), axis1=-2, axis2=-1))
        if (pivots.min(axis=-1) > 1e-12 * pivots.max(axis=-1)).all():
            return np.linalg.solve(matrices, right)
    except np.linalg.LinAlgError:
        pass
    return _pseudo_inverses(matrices) @ right


def _pseudo_inverses(matrices):
    """Moore-Penrose inverses of symmetric matrices (as ``numpy.linalg.pinv`` with
    ``hermitian=True``: eigenvalues below 1e-15 of the largest count as 0)."""
    w, v = np.linalg.eigh(matrices)
    cutoff = 1e-15 * np.abs(w).max(axis=-1, keepdims=True)
    inverse_w = np.divide(1.0, w, out=np.zeros_like(w), where=np.abs(w) > cutoff)
    return (v * inverse_w[..., None, :]) @ np.swapaxes(v, -1, -2)


