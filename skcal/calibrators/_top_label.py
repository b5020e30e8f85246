"""Top-label histogram binning (Gupta and Ramdas, "Top-label calibration and
multiclass-to-binary reductions", ICLR 2022): the confidence of the predicted
class, binned per predicted class, replaced by the accuracy observed in its bin;
the rest of the mass spread over the other classes so that the prediction stays.
"""

import numpy as np
from scipy.special import softmax

from ..rows._blocks import weighted_sum
from ..rows._scores import probability_floor
from ..utils._binning import bin_edges, bin_index


def fit_top_label(logits, y, sample_weight, *, n_bins, strategy, prior_strength):
    """Per predicted class ``k``: bin edges of the top confidence of the rows that
    predict ``k``, and the smoothed accuracy of each bin (toward ``k``'s Laplace
    accuracy; the overall one where no row predicts ``k``)."""
    proba = softmax(np.asarray(logits, dtype=np.float64), axis=1)
    n, k = proba.shape
    top = proba.argmax(axis=1)
    confidence = proba[np.arange(n), top]
    correct = top == y
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    overall = (weighted_sum(correct, w) + 1.0) / (w.sum() + 2.0)
    edges = np.tile(np.linspace(1.0 / k, 1.0, n_bins + 1), (k, 1))
    edges[:, 0] = 0.0
    frequencies = np.full((k, n_bins), overall)
    for label in range(k):
        rows = np.flatnonzero((top == label) & (w > 0))
        if rows.shape[0] == 0:
            continue
        class_edges = bin_edges(confidence[rows], w[rows], n_bins, strategy)
        rate = (weighted_sum(correct[rows], w[rows]) + 1.0) / (w[rows].sum() + 2.0)
        index = bin_index(confidence[rows], class_edges)
        weight = np.bincount(index, weights=w[rows], minlength=n_bins)
        positive = np.bincount(index, weights=w[rows] * correct[rows], minlength=n_bins)
        m = prior_strength
        with np.errstate(invalid="ignore", divide="ignore"):
            frequency = (positive + m * rate) / (weight + m)
        edges[label] = class_edges
        frequencies[label] = np.where(weight + m > 0, frequency, rate)
    return edges, frequencies


def apply_top_label(logits, bin_edges_, bin_proba_):
    """Calibrated log-probabilities: the top class's confidence from its bin (at
    least ``1 / K``, so that it can stay the largest), the rest spread over the
    other classes in proportion to their probabilities, none above the top."""
    proba = softmax(np.asarray(logits, dtype=np.float64), axis=1)
    n, k = proba.shape
    rows = np.arange(n)
    top = proba.argmax(axis=1)
    confidence = proba[rows, top]
    calibrated_top = np.empty(n)
    for label in np.unique(top):
        chosen = np.flatnonzero(top == label)
        index = bin_index(confidence[chosen], bin_edges_[label])
        calibrated_top[chosen] = bin_proba_[label, index]
    calibrated_top = np.clip(calibrated_top, 1.0 / k, 1.0)
    others = proba.copy()
    others[rows, top] = 0.0
    out = spread(others, 1.0 - calibrated_top, calibrated_top)
    out[rows, top] = calibrated_top
    return np.log(np.maximum(out, probability_floor(np.float64)))


def spread(weights, mass, cap):
    """``mass`` (per row) spread over the columns in proportion to ``weights``,
    no entry above ``cap`` (per row): what a capped entry cannot take goes to the
    others, in proportion again (water-filling; ``mass <= cap * (columns with
    weight)`` is assumed, else the rest goes evenly to the uncapped columns)."""
    out = np.zeros_like(weights)
    free = weights > 0
    left = mass.copy()
    for _ in range(weights.shape[1]):
        share = np.where(free, weights, 0.0)
        total = share.sum(axis=1)
        empty = total <= 0
        share[empty] = free[empty]  # no weight left: evenly over the free columns
        total = np.maximum(share.sum(axis=1), np.finfo(np.float64).tiny)
        proposal = share * (left / total)[:, None]
        over = free & (out + proposal > cap[:, None])
        if not over.any():
            out += proposal
            break
        # capped columns take what they can; the rest waits for the next round
        taken = np.where(over, cap[:, None] - out, 0.0)
        out += taken
        left -= taken.sum(axis=1)
        free &= ~over
    return out
