"""Expected and maximum calibration error, and the reliability-diagram points."""

from collections import namedtuple
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._binning import bin_edges, binned_sums
from ..rows import _device_kernels as device
from ..rows._blocks import total_weight
from ..rows._namespaces import is_device_array, to_numpy
from ._checks import check_probabilities_or_logits

# Values per group of columns read at once for classwise errors: 256 MiB of float64.
_COLUMN_GROUP_ELEMENTS = 2**25

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


def _binary_problems(y_index, y_prob, kind):
    """(confidence, outcome) pairs: one for top-label, one per class for classwise.

    Classwise columns are read in groups that keep each group's float64 copy
    under ``_COLUMN_GROUP_ELEMENTS`` values (all at once for most inputs).
    """
    if kind == "top_label":
        yield top_label(y_index, y_prob)
        return
    n_classes = y_prob.n_columns
    group = max(1, min(n_classes, _COLUMN_GROUP_ELEMENTS // max(1, y_prob.n_rows)))
    for first in range(0, n_classes, group):
        columns = range(first, min(first + group, n_classes))
        values = class_columns(y_prob, list(columns))
        for j, k in enumerate(columns):
            yield values[:, j], y_index == k


def _calibration_gaps(y_true, y_prob, logits, sample_weight, labels, n_bins, strategy, kind,
                      ignore_index):
    """For each binary problem: bin weights (normalised) and |frequency - confidence|."""
    y_index, y_prob, _, sample_weight = check_probabilities_or_logits(
        y_true, y_prob, logits, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index,
    )
    total = total_weight(y_index.shape[0], sample_weight)
    for confidence, outcome in _binary_problems(y_index, y_prob, kind):
        edges = bin_edges(confidence, sample_weight, n_bins, strategy)
        weight, sum_conf, sum_outcome = binned_sums(confidence, outcome, sample_weight, edges)
        filled = weight > 0
        frequency = sum_outcome[filled] / weight[filled]
        gap = np.abs(frequency - sum_conf[filled] / weight[filled])
        yield weight[filled] / total, gap, frequency, weight[filled]


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


_BINNING_PARAMS = {
    "y_true": ["array-like"],
    "y_prob": ["array-like", None],
    "logits": ["array-like", None],
    "n_bins": [Interval(Integral, 1, None, closed="left")],
    "strategy": [StrOptions({"uniform", "quantile"})],
    "kind": [StrOptions({"top_label", "classwise"})],
    "sample_weight": ["array-like", None],
    "labels": ["array-like", None],
    "ignore_index": "no_validation",
}


@validate_params(
    {
        **_BINNING_PARAMS,
        "norm": [Interval(Integral, 1, 2, closed="both")],
        "debiased": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def expected_calibration_error(
    y_true,
    y_prob=None,
    *,
    logits=None,
    n_bins=15,
    strategy="uniform",
    kind="top_label",
    norm=1,
    debiased=False,
    sample_weight=None,
    labels=None,
    ignore_index=None,
):
    """Expected calibration error (ECE): the binned gap between confidence and accuracy.

    Probabilities are grouped into bins; in each bin the gap between the
    observed frequency and the mean predicted probability is weighted by the
    bin's share of the samples:
    ``ECE = (sum_b w_b |freq_b - conf_b|^norm)^(1 / norm)``.

    - ``kind='top_label'`` (Guo et al. 2017): the confidence of the predicted
      class against whether the prediction is right.
    - ``kind='classwise'`` (Kull et al. 2019; the marginal calibration error
      of Kumar et al. 2019): each class's probability against the event
      ``y = k``, the ``norm``-th powers averaged over classes.

    Bins are ``(lo, hi]`` (the first one also holds 0). ECE depends on the
    binning and is not a proper scoring rule: a low ECE with a poor NLL is
    possible (predicting the base rate is perfectly calibrated). Use it beside
    the NLL, not instead of it.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Predicted probabilities; for a binary problem, 1-D probabilities of
        the second class are accepted too. A memory map, Zarr or Dask array
        is read in row blocks: memory grows with one float per row (and class,
        for ``kind='classwise'``, up to 256 MiB at a time), never with a copy
        of the whole matrix.

    logits : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Logits instead of ``y_prob`` (give exactly one): the probabilities are
        their ``softmax``, computed block by block, so a file of logits (for
        example a language model's token logits) is never copied whole.

    n_bins : int, default=15
        Number of bins.

    strategy : {'uniform', 'quantile'}, default='uniform'
        Equal-width bins on [0, 1], or bins of equal (weighted) mass.

    kind : {'top_label', 'classwise'}, default='top_label'
        Which probabilities are binned (see above).

    norm : {1, 2}, default=1
        1 gives the usual ECE; 2 the root-mean-square (L2) calibration error.

    debiased : bool, default=False
        With ``norm=2``, subtract each bin's sampling variance
        ``freq_b (1 - freq_b) / (n_b - 1)`` from its squared gap, the debiased
        estimator of Kumar et al. 2019 (negative totals are reported as 0).
        Weights count as frequencies (``n_b`` is the bin's total weight).

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
    ece : float
        In probability units, between 0 and 1.

    See Also
    --------
    maximum_calibration_error : The largest gap over bins.
    calibration_curve : The binned points themselves.

    References
    ----------
    C. Guo et al., "On Calibration of Modern Neural Networks", ICML 2017.
    M. Kull et al., "Beyond temperature scaling: Obtaining well-calibrated
    multi-class probabilities with Dirichlet calibration", NeurIPS 2019.
    A. Kumar, P. Liang, T. Ma, "Verified Uncertainty Calibration", NeurIPS 2019.

    Examples
    --------
    >>> from skcal.metrics import expected_calibration_error
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]
    >>> round(expected_calibration_error([0, 1, 1, 1], y_prob, n_bins=5), 4)
    0.3
    >>> round(expected_calibration_error([0, 1, 1, 1], y_prob, kind="classwise", n_bins=5), 4)
    0.425
    >>> round(expected_calibration_error([0, 1], logits=[[2.0, 0.0], [0.0, 1.0]]), 4)
    0.1941
    """
    if debiased and norm != 2:
        raise ValueError("debiased=True is defined for norm=2 (the L2 calibration error).")
    total = 0.0
    n_problems = 0
    for share, gap, frequency, weight in _calibration_gaps(
        y_true, y_prob, logits, sample_weight, labels, n_bins, strategy, kind, ignore_index
    ):
        terms = gap**norm
        if debiased:
            many = weight > 1
            terms[many] -= frequency[many] * (1 - frequency[many]) / (weight[many] - 1)
            terms[~many] = 0.0
        total += float(share @ terms)
        n_problems += 1
    return max(total / n_problems, 0.0) ** (1.0 / norm)


@validate_params(_BINNING_PARAMS, prefer_skip_nested_validation=True)
def maximum_calibration_error(
    y_true,
    y_prob=None,
    *,
    logits=None,
    n_bins=15,
    strategy="uniform",
    kind="top_label",
    sample_weight=None,
    labels=None,
    ignore_index=None,
):
    """Maximum calibration error (MCE): the largest gap over non-empty bins.

    The worst-case counterpart of :func:`expected_calibration_error`, with the
    same binning; for ``kind='classwise'`` the largest over classes and bins.
    Sensitive to bins with few samples.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Predicted probabilities.

    logits : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Logits instead of ``y_prob`` (give exactly one): the probabilities are
        their ``softmax``, computed block by block, so a file of logits (for
        example a language model's token logits) is never copied whole.

    n_bins : int, default=15
        Number of bins.

    strategy : {'uniform', 'quantile'}, default='uniform'
        Equal-width or equal-mass bins.

    kind : {'top_label', 'classwise'}, default='top_label'
        Which probabilities are binned.

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
    mce : float

    Examples
    --------
    >>> from skcal.metrics import maximum_calibration_error
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]
    >>> round(maximum_calibration_error([0, 1, 1, 1], y_prob, n_bins=5), 4)
    0.6
    """
    return max(
        float(gap.max())
        for _, gap, _, _ in _calibration_gaps(
            y_true, y_prob, logits, sample_weight, labels, n_bins, strategy, kind,
            ignore_index,
        )
    )


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
    confidence, outcome, sample_weight = curve_points(
        y_true, y_prob, logits=logits, kind=kind, class_label=class_label, labels=labels,
        sample_weight=sample_weight, ignore_index=ignore_index,
    )
    return curve_from_points(confidence, outcome, sample_weight, n_bins, strategy)


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
