"""Input handling shared by every metric."""

import numpy as np

from sklearn.utils.validation import _get_feature_names

from ..rows import _device_kernels as device
from ..rows._blocks import total_weight, weighted_sum
from ..rows._namespaces import is_device_array, to_numpy
from ..rows._labels import check_labels_and_weights
from ..rows._row_order import check_row_order
from ..rows._score_rows import prediction_rows
from ..rows._scores import flatten_leading


def check_prediction(y_true, y_pred, *, labels=None, sample_weight=None, kind="y_prob",
                     ignore_index=None, names=None, hint=None, warn_of_probabilities=False):
    """Validate labels, predictions and weights for a metric.

    ``y_pred`` is (n_samples, n_classes) or, for a binary problem, 1-D (the
    positive class, the second label). With ``kind='y_prob'`` it must hold
    probabilities; with ``kind='logits'`` any finite scores. An array in memory
    is checked whole here; a memory map, Zarr or Dask array is checked block by
    block as the metric reads it. Predictions of shape ``(..., n_classes)``
    are read as ``(n, n_classes)`` with labels and weights of shape ``(...)``.
    Rows labelled ``ignore_index`` get weight 0, and rows of weight 0 may hold
    any label. Messages name the labels and the predictions by ``names``, the
    caller's parameters (default ``('y_true', kind)``); ``hint`` ends the message
    for probabilities that are not (default: how to pass logits to the metrics).
    With ``warn_of_probabilities`` (the metrics of logits a user gives), logits
    whose first rows all lie in the probability simplex get a warning.

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
    labels_name, scores_name = names or ("y_true", kind)
    check_row_order(**{scores_name: y_pred, labels_name: y_true, "sample_weight": sample_weight})
    # a DataFrame's columns named after the classes say which column is which
    column_names = _column_names(y_pred)
    y_pred, leading = flatten_leading(y_pred, scores_name)
    rows = prediction_rows(y_pred, kind=kind, name=scores_name, hint=hint,
                           warn_of_probabilities=warn_of_probabilities)
    labels, y_index, sample_weight = check_labels_and_weights(
        y_true, sample_weight, rows.n_rows, leading=leading, n_columns=rows.n_columns,
        labels=labels, column_names=column_names, ignore_index=ignore_index, min_classes=1,
        length_error=f"{labels_name} has {{n_labels}} samples but {scores_name} has "
                     "{n_rows}; pass one row of predictions per label.",
    )
    return y_index, rows, labels, sample_weight


def _column_names(y_pred):
    """A 2-D table's column names where they are text (as scikit-learn's
    ``feature_names_in_``), else None."""
    if not hasattr(y_pred, "columns") or len(getattr(y_pred, "shape", ())) != 2:
        return None
    try:
        return _get_feature_names(y_pred)
    except TypeError:  # names of mixed types: not class names
        return None


def check_given_prediction(y_true, y_prob, logits, *, labels=None, sample_weight=None,
                           ignore_index=None):
    """:func:`check_prediction` of whichever of ``y_prob`` and ``logits`` is given
    (exactly one must be), and its kind, ``'y_prob'`` or ``'logits'``."""
    if (y_prob is None) == (logits is None):
        raise ValueError("Give exactly one of y_prob and logits.")
    kind = "y_prob" if logits is None else "logits"
    return check_prediction(y_true, y_prob if logits is None else logits, labels=labels,
                            sample_weight=sample_weight, ignore_index=ignore_index,
                            kind=kind, warn_of_probabilities=logits is not None) + (kind,)


def check_probabilities_or_logits(y_true, y_prob, logits, *, labels=None, sample_weight=None,
                                  ignore_index=None):
    """:func:`check_prediction` for metrics of probabilities that also take
    ``logits=``: exactly one is given; logits are turned into probabilities
    (``softmax``) block by block, so a file of logits is never copied."""
    y_index, rows, labels, sample_weight, kind = check_given_prediction(
        y_true, y_prob, logits, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index)
    if kind == "logits":
        rows = rows.then(_softmax)
    return y_index, rows, labels, sample_weight


def probability_matrix(y_true, y_prob, *, labels=None, sample_weight=None):
    """:func:`check_prediction`, with the probabilities read whole into one float64
    array on the host, for the metrics and tests that need every row at once.

    Returns
    -------
    y_index, proba, labels, sample_weight
    """
    y_index, rows, labels, sample_weight = check_prediction(
        y_true, y_prob, labels=labels, sample_weight=sample_weight
    )
    proba = to_numpy(rows.map_rows(lambda block: to_numpy(block).astype(np.float64)))
    return y_index, proba, labels, sample_weight


def _softmax(block):
    """Row-wise softmax of a block, in its dtype: one new array, exponentiated and
    normalised in place, the same values as ``scipy.special.softmax``, which makes
    three. With scipy's, the top-label ECE of 200000 x 32000 float16 logits took
    1.95x a plain pass over them, with this 1.33-1.42x
    (``benchmarks/bench_out_of_core.py``); on one block in a loop the two differ
    far less (1.1-1.2x): the extra arrays cost most as fresh memory."""
    if is_device_array(block):
        return device.softmax(block)
    e = block - block.max(axis=1, keepdims=True)  # new: the block may be the caller's array
    np.exp(e, out=e)
    e /= e.sum(axis=1, keepdims=True)
    return e


def weighted_mean(values, sample_weight):
    """Mean of ``values`` (float64), weighted when ``sample_weight`` is given."""
    return weighted_sum(values, sample_weight) / total_weight(len(values), sample_weight)


def weighted_row_mean(rows, per_row, y_index, sample_weight):
    """Weighted mean over all rows of ``per_row(block, y_block)``, one pass."""
    total = rows.reduce(
        lambda block, y, w: weighted_sum(per_row(block, y), w), y_index, sample_weight
    )
    return total / total_weight(rows.n_rows, sample_weight)
