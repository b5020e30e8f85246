"""The monitor's per-row sums against the same sums written out row by row.

The expected values come from scipy's log_softmax and numpy's argmax, row by
row per chunk, not from the monitor's code. The per-row arithmetic runs in the
input's dtype, so float32 rows agree to float32 rounding accumulated over the
rows of a chunk (a relative 1e-5 allows a few hundred rows' worth).
"""

import numpy as np
import pytest
from scipy.special import log_softmax

from skcal.monitoring._row_sums import batch_summaries, labelled_summaries, log_proba_of
from skcal.monitoring._statistics import (BETA_GRID, ECE_BINS, HIGH_POINTS_ABOVE,
                                          LOW_POINTS_BELOW)

RTOL = {np.float32: 1e-5, np.float64: 1e-10}


def written_out(log_proba, y):
    """The sums of one group, row by row."""
    log_proba = log_proba.astype(np.float64)
    proba = np.exp(log_proba)
    top = log_proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    rows = np.arange(y.shape[0])
    one_hot = np.eye(log_proba.shape[1])[y]
    return {
        "nll": -log_proba[rows, y].sum(),
        "nll_sq": (log_proba[rows, y] ** 2).sum(),
        "correct": float((top == y).sum()),
        "brier": ((proba - one_hot) ** 2).sum(),
        "bin_count": np.bincount(bins, minlength=ECE_BINS).astype(float),
        "bin_confidence": np.bincount(bins, weights=confidence, minlength=ECE_BINS),
        **recalibration_terms(log_proba, y),
    }


def recalibration_terms(log_proba, y):
    """At each inverse temperature of the grid, the NLL of ``softmax(beta * log p + b)``
    at ``b = 0`` and the sums of its square, of its gradient in ``(beta, b)`` (the
    last class's offset fixed at 0), of the gradients' outer products and of its
    Hessian, row by row."""
    rows = np.arange(y.shape[0])
    one_hot = np.eye(log_proba.shape[1])[y]
    terms = {"loss": [], "loss_sq": [], "grad": [], "grad_outer": [], "hessian": []}
    for beta in BETA_GRID:
        log_q = log_softmax(beta * log_proba, axis=1)
        q = np.exp(log_q)
        mean_z = (q * log_proba).sum(axis=1)
        gradients = np.column_stack([mean_z - log_proba[rows, y], (q - one_hot)[:, :-1]])
        hessian = np.zeros(2 * (log_proba.shape[1],))
        for z_row, q_row, mean in zip(log_proba, q, mean_z):
            # each class's features: its log-probability and its offset's indicator
            features = np.column_stack([z_row, np.eye(len(q_row))[:, :-1]])
            centred = features - q_row @ features  # each class's features minus their mean
            hessian += (centred * q_row[:, None]).T @ centred
        terms["loss"].append(-log_q[rows, y].sum())
        terms["loss_sq"].append((log_q[rows, y] ** 2).sum())
        terms["grad"].append(gradients.sum(axis=0))
        terms["grad_outer"].append(gradients.T @ gradients)
        terms["hessian"].append(hessian)
    return {key: np.array(values) for key, values in terms.items()}


def scores(dtype, n=700, k=6, seed=0, scale=2.0, informative=False):
    """Logits of scale ``scale`` and random labels, or (``informative``) labels
    drawn from the logits of scale 2 that these are a multiple of."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(n, k)).astype(dtype)
    logits[::7, 1] = logits[::7, 3] = logits[::7].max(axis=1) + 1  # ties for the top class
    y = rng.integers(0, k, n)
    if informative:
        truth = np.exp(log_softmax(logits.astype(np.float64) * (2.0 / scale), axis=1))
        y = (truth.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    y[::14] = 3  # a tie where the label is the later of the two tied classes
    return logits, y


# the points kept only where the NLL summed over the batch still falls toward them
LOW_POINTS = (BETA_GRID > 0.0) & (BETA_GRID < LOW_POINTS_BELOW)
HIGH_POINTS = BETA_GRID > HIGH_POINTS_ABOVE
# (scale of the logits, labels drawn from them at scale 2, the extra points kept).
# At scale 80 the log-probabilities go down to about -600, below float32's
# smallest normal (-87.3), whose probabilities underflow; the labels are random,
# so the NLL falls toward beta = 0. At scale 1/20 the labels follow logits 40
# times larger, so the NLL falls toward beta = 40, and the rows' p ** 64 underflow.
CASES = {"as drawn": (2.0, False, None), "far too confident": (80.0, False, LOW_POINTS),
         "far too little confident": (0.05, True, HIGH_POINTS)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_sums_per_group_equal_the_rows_written_out(dtype, case):
    scale, informative, extra = CASES[case]
    logits, y = scores(dtype, scale=scale, informative=informative)
    log_proba, proba, best = log_proba_of(logits)
    groups = [slice(0, 250), slice(250, 250), slice(250, 700)]  # uneven, one empty
    got = labelled_summaries(log_proba, y, groups, proba, best)
    exact = log_softmax(logits.astype(np.float64), axis=1)
    assert (exact.min() < np.log(np.finfo(np.float32).tiny)) == (scale == 80.0)
    # the batch's NLL derivative in beta at the last points always kept
    slopes = recalibration_terms(exact, y)["grad"][:, 0]
    assert (slopes[BETA_GRID == LOW_POINTS_BELOW][0] > 0) == (extra is LOW_POINTS)
    assert (slopes[BETA_GRID == HIGH_POINTS_ABOVE][0] < 0) == (extra is HIGH_POINTS)
    missing = (LOW_POINTS | HIGH_POINTS) & ~(np.zeros_like(LOW_POINTS) if extra is None
                                            else extra)
    for group, summary in zip(groups, got):
        assert summary["n_labelled"] == group.stop - group.start
        if group.stop == group.start:
            assert summary["nll"] == 0.0 and summary["bin_count"].sum() == 0
            continue
        expected = written_out(exact[group], y[group])
        for key in ("loss", "loss_sq", "grad", "grad_outer", "hessian"):
            expected[key][missing] = np.nan
        # a gradient's entries are sums of terms of either sign, which cancel: in
        # float32 each row's term is rounded by about 1e-7 of its size (at most 15
        # at scale 2, 1200 at scale 80, 64 x 2 at scale 1/20), so such a sum is off
        # by up to a few 1e-6 of that a row, relative or not
        size = {2.0: 15.0, 80.0: 1200.0, 0.05: 130.0}[scale]
        atol = 1e-9 * size if dtype == np.float64 else 1e-5 * size * (group.stop - group.start)
        for key, value in expected.items():
            np.testing.assert_allclose(summary[key], value, rtol=RTOL[dtype], atol=atol,
                                       err_msg=key)


def test_ties_count_as_correct_only_for_the_first_tied_class():
    logits, y = scores(np.float64)
    (summary,) = labelled_summaries(log_softmax(logits, axis=1), y, [slice(0, 700)])
    assert summary["correct"] == (logits.argmax(axis=1) == y).sum()
    assert ((logits[:, 1] == logits[:, 3]) & (y == 3)).any()  # the case is present


def test_unlabelled_rows_count_in_the_entropy_only():
    logits, y = scores(np.float32, n=300)
    labelled = np.arange(300) % 3 != 0
    chunk_ids = np.repeat([4, 5, 6], 100)
    log_proba, proba, best = log_proba_of(logits)
    out = list(batch_summaries(log_proba, y, labelled, chunk_ids, proba, best))
    assert [chunk for chunk, _, _ in out] == [4, 5, 6]
    for chunk, rows, summary in out:
        keep = labelled[rows]
        exact = log_softmax(logits[rows].astype(np.float64), axis=1)
        assert summary["n"] == 100 and summary["n_labelled"] == keep.sum()
        np.testing.assert_allclose(summary["entropy"], -(np.exp(exact) * exact).sum(),
                                   rtol=1e-5)
        np.testing.assert_allclose(summary["nll"], written_out(exact[keep], y[rows][keep])["nll"],
                                   rtol=1e-5)


def test_newton_steps_use_the_pseudo_inverse_of_a_singular_hessian():
    """A class that no row gives probability leaves the Hessian singular: the
    steps are then numpy's pseudo-inverse's, as for a regular one its solve's."""
    from skcal.monitoring._statistics import _solved

    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 4, 6))
    regular = a @ np.swapaxes(a, 1, 2)  # positive definite
    singular = regular.copy()
    singular[1, 3, :] = singular[1, :, 3] = 0.0  # the last class's mass is 0
    right = rng.normal(size=(2, 4, 3))
    # rounding of solves of 4 x 4 systems of condition below 1e4
    np.testing.assert_allclose(_solved(regular, right), np.linalg.solve(regular, right),
                               rtol=1e-10)
    np.testing.assert_allclose(_solved(singular, right),
                               np.linalg.pinv(singular, hermitian=True) @ right,
                               rtol=1e-10, atol=1e-12)
