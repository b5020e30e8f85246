"""Input handling shared by every metric."""

import numpy as np

from .._blocks import total_weight, weighted_sum
from .._scores import (
    as_float_array,
    check_probabilities,
    check_sample_weight,
    encode_labels,
)


def check_prediction(y_true, y_pred, *, labels=None, sample_weight=None, kind="y_prob"):
    """Validate labels, predictions and weights for a metric.

    ``y_pred`` is (n_samples, n_classes) or, for a binary problem, 1-D (the
    positive class, the second label). With ``kind='y_prob'`` it must hold
    probabilities; with ``kind='logits'`` any finite scores.

    Returns
    -------
    y_index : ndarray of shape (n_samples,)
        Column index of each sample's true class.
    y_pred : ndarray of shape (n_samples, n_classes)
        Binary 1-D input is expanded to two columns (``[1 - p, p]`` for
        probabilities, ``[0, s]`` for logits).
    labels : ndarray of shape (n_classes,)
    sample_weight : ndarray of shape (n_samples,) or None
    """
    y_pred = as_float_array(y_pred, name=kind)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred[:, 0]
    if kind == "y_prob":
        check_probabilities(y_pred, name=kind)
    if y_pred.ndim == 1:
        first = 1 - y_pred if kind == "y_prob" else np.zeros_like(y_pred)
        y_pred = np.column_stack([first, y_pred])
    n_samples = np.shape(y_true)[0] if np.ndim(y_true) else 0
    if n_samples != y_pred.shape[0]:
        raise ValueError(
            f"y_true has {n_samples} samples but {kind} has {y_pred.shape[0]}; pass "
            "one row of predictions per label."
        )
    labels, y_index = encode_labels(y_true, y_pred.shape[1], labels=labels, min_classes=1)
    sample_weight = check_sample_weight(sample_weight, n_samples)
    return y_index, y_pred, labels, sample_weight


def weighted_mean(values, sample_weight):
    """Mean of ``values`` (float64), weighted when ``sample_weight`` is given."""
    return weighted_sum(values, sample_weight) / total_weight(len(values), sample_weight)
