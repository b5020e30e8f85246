"""Reliability-diagram points: each row's confidence and outcome (top-label or
one class), and the binned curve of them."""

from collections import namedtuple
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..rows import _device_kernels as device
from ..rows._namespaces import is_device_array, to_numpy
from ..rows._remote import is_remote
from ..utils._binning import bin_edges, binned_sums
from ._checks import check_probabilities_or_logits


CalibrationCurve = namedtuple(
    "CalibrationCurve", ["prob_true", "prob_pred", "bin_weight", "bin_edges"]
)
CalibrationCurve.__doc__ = """The binned points of a reliability diagram.

prob_true : ndarray
    Observed frequency of the event in each non-empty bin (accuracy for
    top-label curves).
prob_pred : ndarray
    Mean predicted probability in each non-empty bin (confidence).
bin_weight : ndarray
    Total sample weight (count, when unweighted) of each non-empty bin.
bin_edges : ndarray of shape (n_bins + 1,)
    Edges of all bins; bin ``b`` holds the probabilities in
    ``(bin_edges[b], bin_edges[b + 1]]`` (the first bin also holds its lower edge).
"""


def _top_label_block(block, y_index):
    if is_device_array(block):
        return device.top_label_block(block, y_index)
    top = block.argmax(axis=1)
    confidence = block[np.arange(top.shape[0]), top].astype(np.float64)
    return np.column_stack([confidence, top == y_index])


def top_label(y_index, y_prob):
    """Confidence (largest probability) and correctness of each row's top class.

    ``y_prob`` is Rows of probabilities; one pass, two per-row vectors (on the
    host: scores on a device are reduced there to these two numbers per row).
    """
    pairs = to_numpy(y_prob.map_rows(_top_label_block, y_index))
    return pairs[:, 0], pairs[:, 1] > 0


def class_columns(y_prob, columns):
    """The float64 probabilities of some classes, one column each, in one pass."""
    columns = np.asarray(columns)
    return to_numpy(y_prob.map_rows(lambda block: _class_columns_block(block, columns)))


def _class_columns_block(block, columns):
    if is_device_array(block):
        return device.class_columns(block, columns)
    return block[:, columns].astype(np.float64)


def binned_problem_sums(y_index, y_prob, sample_weight, columns, n_bins):
    """Per binary problem, the bin weights and weighted sums of confidence and
    outcome over equal-width bins, summed block by block in one pass: the same
    sums as :func:`~skcal.utils._binning.binned_sums` of the points, without
    holding a value per row (for scores in a remote table). ``columns`` is None
    for the top label, else the class columns, one problem each.

    Returns
    -------
    sums : ndarray of shape (n_problems, 3, n_bins)
    """
    edges = bin_edges(np.empty(0), None, n_bins, "uniform")

    def block_sums(block, y, w):
        if columns is None:
            pairs = [_top_label_block(block, y).T]
        else:
            pairs = [(block[:, k].astype(np.float64), y == k) for k in columns]
        return np.stack([binned_sums(confidence, outcome, w, edges)
                         for confidence, outcome in pairs])

    return y_prob.reduce(block_sums, y_index, sample_weight)


def refuse_quantile_bins(y_prob, strategy):
    """Quantile bins need every confidence in one place: refused for scores in a
    remote table, where only sums come back."""
    if strategy == "quantile" and y_prob.is_remote:
        raise ValueError(
            "strategy='quantile' needs every row's confidence in one place, and these "
            "scores live in a remote table; use strategy='uniform' (its bins are "
            "summed where the rows are)."
        )


# the parameters that choose a reliability curve's points
_CURVE_POINT_PARAMS = {
    "y_true": ["array-like"],
    "y_prob": ["array-like", None],
    "logits": ["array-like", None],
    "kind": [StrOptions({"top_label", "class"})],
    "class_label": "no_validation",
    "labels": ["array-like", None],
    "sample_weight": ["array-like", None],
    "ignore_index": "no_validation",
}


@validate_params(_CURVE_POINT_PARAMS, prefer_skip_nested_validation=True)
def curve_points(y_true, y_prob, *, logits=None, kind="top_label", class_label=None,
                 labels=None, sample_weight=None, ignore_index=None):
    """The (confidence, outcome) of each row that a reliability curve bins, and the
    validated weights: top-label confidence and correctness, or one class's
    probability and occurrence (the last column's unless ``class_label``)."""
    y_index, y_prob, labels, sample_weight = check_probabilities_or_logits(
        y_true, y_prob, logits, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index,
    )
    if kind == "top_label":
        if class_label is not None:
            raise ValueError("class_label is used with kind='class' only.")
        confidence, outcome = top_label(y_index, y_prob)
    else:
        column = y_prob.n_columns - 1
        if class_label is not None:
            matches = np.flatnonzero(labels == class_label)
            if matches.shape[0] == 0:
                raise ValueError(
                    f"class_label={class_label!r} is not one of the labels {labels.tolist()}."
                )
            column = matches[0]
        confidence = class_columns(y_prob, [column])[:, 0]
        outcome = y_index == column
    return confidence, outcome, sample_weight


@validate_params(
    {
        **_CURVE_POINT_PARAMS,
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"uniform", "quantile"})],
    },
    prefer_skip_nested_validation=True,
)
def calibration_curve(
    y_true,
    y_prob=None,
    *,
    logits=None,
    kind="top_label",
    class_label=None,
    n_bins=15,
    strategy="uniform",
    sample_weight=None,
    labels=None,
    ignore_index=None,
):
    """The binned points of a reliability diagram, multiclass and weighted.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Predicted probabilities; for a binary problem, 1-D probabilities of
        the second class are accepted too.

    logits : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Logits instead of ``y_prob`` (give exactly one): the probabilities are
        their ``softmax``, computed block by block, so a file of logits (for
        example a language model's token logits) is never copied whole.

    kind : {'top_label', 'class'}, default='top_label'
        ``'top_label'``: confidence of the predicted class against accuracy.
        ``'class'``: the probability of ``class_label`` against its frequency.

    class_label : label, default=None
        With ``kind='class'``, the class whose probabilities are binned;
        ``None`` takes the last column (the positive class of a binary problem).

    n_bins : int, default=15
        Number of bins.

    strategy : {'uniform', 'quantile'}, default='uniform'
        Equal-width or equal-mass bins.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_prob``, as in :func:`nll`.

    ignore_index : label, default=None
        Rows whose label is ``ignore_index`` (the padding label ``-100`` of
        language-model batches, say) are left out, as with weight 0. A row of
        weight 0 may hold any label.

    Returns
    -------
    curve : CalibrationCurve
        Named tuple ``(prob_true, prob_pred, bin_weight, bin_edges)``; the
        first three describe the non-empty bins only.

    Examples
    --------
    >>> from skcal.metrics import calibration_curve
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]
    >>> curve = calibration_curve([0, 1, 1, 1], y_prob, n_bins=5)
    >>> curve.prob_true, curve.prob_pred, curve.bin_weight
    (array([0. , 0.5, 1. ]), array([0.6 , 0.75, 0.9 ]), array([1., 2., 1.]))
    """
    if is_remote(logits if y_prob is None else y_prob):
        return _remote_curve(y_true, y_prob, logits, kind, class_label, labels, sample_weight,
                             ignore_index, n_bins, strategy)
    confidence, outcome, sample_weight = curve_points(
        y_true, y_prob, logits=logits, kind=kind, class_label=class_label, labels=labels,
        sample_weight=sample_weight, ignore_index=ignore_index,
    )
    return curve_from_points(confidence, outcome, sample_weight, n_bins, strategy)


def _remote_curve(y_true, y_prob, logits, kind, class_label, labels, sample_weight,
                  ignore_index, n_bins, strategy):
    """:func:`calibration_curve` of scores in a remote table: its bins summed where
    the rows are."""
    y_index, rows, labels, sample_weight = check_probabilities_or_logits(
        y_true, y_prob, logits, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index,
    )
    refuse_quantile_bins(rows, strategy)
    columns = None
    if kind == "class":
        column = rows.n_columns - 1 if class_label is None else np.flatnonzero(
            labels == class_label)
        if np.size(column) == 0:
            raise ValueError(
                f"class_label={class_label!r} is not one of the labels {labels.tolist()}.")
        columns = [int(np.ravel(column)[0])]
    elif class_label is not None:
        raise ValueError("class_label is used with kind='class' only.")
    ((weight, sum_conf, sum_outcome),) = binned_problem_sums(y_index, rows, sample_weight,
                                                             columns, n_bins)
    filled = weight > 0
    return CalibrationCurve(sum_outcome[filled] / weight[filled],
                            sum_conf[filled] / weight[filled], weight[filled],
                            bin_edges(np.empty(0), None, n_bins, "uniform"))


@validate_params(
    {
        "confidence": ["array-like"],
        "outcome": ["array-like"],
        "sample_weight": ["array-like", None],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"uniform", "quantile"})],
    },
    prefer_skip_nested_validation=True,
)
def curve_from_points(confidence, outcome, sample_weight, n_bins, strategy):
    """The :class:`CalibrationCurve` of points from :func:`curve_points`."""
    edges = bin_edges(confidence, sample_weight, n_bins, strategy)
    weight, sum_conf, sum_outcome = binned_sums(confidence, outcome, sample_weight, edges)
    filled = weight > 0
    return CalibrationCurve(
        sum_outcome[filled] / weight[filled],
        sum_conf[filled] / weight[filled],
        weight[filled],
        edges,
    )
