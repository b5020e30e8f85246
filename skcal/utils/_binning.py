"""Binning of probabilities, shared by the ECE metrics and histogram binning."""

import numpy as np


def bin_edges(confidence, sample_weight, n_bins, strategy):
    """``n_bins + 1`` edges on [0, 1]: equal width, or equal (weighted) mass.

    Equal-mass edges are the lower weighted quantiles of the confidences (the
    smallest value whose cumulative weight reaches each level), so integer
    weights and repeated rows give the same bins. The order among tied
    confidences does not move an edge (a tie's cumulative weight before and
    after it is the same in any order), so the sort need not be stable.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile" and sample_weight is None and confidence.shape[0] > 0:
        edges[1:-1] = np.sort(confidence)[equal_mass_ranks(confidence.shape[0], n_bins)]
    elif strategy == "quantile":
        order = np.argsort(confidence)
        weight = np.ones_like(confidence) if sample_weight is None else sample_weight
        cumulative = np.cumsum(weight[order])
        position = np.searchsorted(cumulative, edges[1:-1] * cumulative[-1], side="left")
        edges[1:-1] = confidence[order][np.minimum(position, order.shape[0] - 1)]
    return edges


def equal_mass_ranks(n, n_bins):
    """The ranks (in increasing order) of the ``n_bins - 1`` inner equal-mass
    edges of ``n`` unweighted values: with unit weights the cumulative weight
    is the rank, so :func:`bin_edges` needs no index array.

    Examples
    --------
    >>> equal_mass_ranks(10, 4).tolist()
    [2, 4, 7]
    """
    levels = np.linspace(0.0, 1.0, n_bins + 1)[1:-1] * n
    return np.minimum(np.searchsorted(np.arange(1, n + 1), levels, side="left"), n - 1)


# For up to this many bins and values (contiguous, so that each pass over them
# stays in cache), counting the inner edges below each confidence (one
# comparison per edge) is faster than a binary search per confidence; for a
# strided column of a wide matrix it was 3.5 times slower. Below _SEARCHED_VALUES
# values the comparisons' calls cost more than the search (16 values, two per row
# of a block of 8 rows of a language model's scores: 16.7 microseconds counted).
_COUNTED_BINS = 16
_COUNTED_VALUES = 2**17
_SEARCHED_VALUES = 256


def bin_index(confidence, edges):
    """The bin of each confidence: bin ``b`` holds ``(edges[b], edges[b + 1]]`` (the
    first bin also its lower edge)."""
    inner = edges[1:-1]
    confidence = np.asarray(confidence)
    if (inner.shape[0] >= _COUNTED_BINS or confidence.size > _COUNTED_VALUES
            or confidence.size < _SEARCHED_VALUES or not confidence.flags.c_contiguous):
        return np.searchsorted(inner, confidence, side="left")
    index = np.zeros(np.shape(confidence), dtype=np.intp)
    for edge in inner:  # the number of inner edges below each confidence
        index += confidence > edge
    return index


def binned_sums(confidence, outcome, sample_weight, edges):
    """Per-bin total weight, weighted sum of confidences and of outcomes."""
    n_bins = edges.shape[0] - 1
    index = bin_index(confidence, edges)
    weight = np.ones_like(confidence) if sample_weight is None else sample_weight
    return (
        np.bincount(index, weights=weight, minlength=n_bins),
        np.bincount(index, weights=weight * confidence, minlength=n_bins),
        np.bincount(index, weights=weight * outcome, minlength=n_bins),
    )
