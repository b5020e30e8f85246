"""Input handling shared by every metric."""

import numpy as np

from .._blocks import total_weight, weighted_sum
from .._score_rows import as_vector, prediction_rows
from .._scores import check_sample_weight, encode_labels


def check_prediction(y_true, y_pred, *, labels=None, sample_weight=None, kind="y_prob"):
    """Validate labels, predictions and weights for a metric.

    ``y_pred`` is (n_samples, n_classes) or, for a binary problem, 1-D (the
    positive class, the second label). With ``kind='y_prob'`` it must hold
    probabilities; with ``kind='logits'`` any finite scores. An array in memory
    is checked whole here; a memory map, Zarr or Dask array is checked block by
    block as the metric reads it.

    Returns
    -------
    y_index : ndarray of shape (n_samples,)
        Column index of each sample's true class.
    y_pred : Rows
        Row blocks of shape (n_samples, n_classes): binary 1-D input is expanded
        to two columns (``[1 - p, p]`` for probabilities, ``[0, s]`` for logits).
    labels : ndarray of shape (n_classes,)
    sample_weight : ndarray of shape (n_samples,) or None
    """
    rows = prediction_rows(y_pred, kind=kind, name=kind)
    y_true, sample_weight = as_vector(y_true), as_vector(sample_weight)
    n_samples = np.shape(y_true)[0] if np.ndim(y_true) else 0
    if n_samples != rows.n_rows:
        raise ValueError(
            f"y_true has {n_samples} samples but {kind} has {rows.n_rows}; pass "
            "one row of predictions per label."
        )
    labels, y_index = encode_labels(y_true, rows.n_columns, labels=labels, min_classes=1)
    sample_weight = check_sample_weight(sample_weight, n_samples)
    return y_index, rows, labels, sample_weight


def weighted_mean(values, sample_weight):
    """Mean of ``values`` (float64), weighted when ``sample_weight`` is given."""
    return weighted_sum(values, sample_weight) / total_weight(len(values), sample_weight)


def weighted_row_mean(rows, per_row, y_index, sample_weight):
    """Weighted mean over all rows of ``per_row(block, y_block)``, one pass."""
    total = rows.reduce(
        lambda block, y, w: weighted_sum(per_row(block, y), w), y_index, sample_weight
    )
    return total / total_weight(rows.n_rows, sample_weight)
