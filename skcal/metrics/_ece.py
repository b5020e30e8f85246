"""Expected and maximum calibration error (the reliability-diagram points they
bin are in :mod:`skcal.metrics._curve`)."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._binning import bin_edges, binned_sums
from ..rows._blocks import Rows, total_weight
from ._checks import check_probabilities_or_logits
from ._curve import binned_problem_sums, class_columns, refuse_quantile_bins, top_label

# Values per group of columns read at once for classwise errors: 256 MiB of float64.
_COLUMN_GROUP_ELEMENTS = 2**25


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


def _binned(y_index, y_prob, sample_weight, kind, n_bins, strategy):
    """(bin weights, sums of confidence, sums of outcome) of each binary problem;
    summed where the rows are for scores in a remote table."""
    if y_prob.is_remote:
        refuse_quantile_bins(y_prob, strategy)
        columns = None if kind == "top_label" else list(range(y_prob.n_columns))
        yield from binned_problem_sums(y_index, y_prob, sample_weight, columns, n_bins)
        return
    for confidence, outcome in _binary_problems(y_index, y_prob, kind):
        edges = bin_edges(confidence, sample_weight, n_bins, strategy)
        yield binned_sums(confidence, outcome, sample_weight, edges)


def _calibration_gaps(y_true, y_prob, logits, sample_weight, labels, n_bins, strategy, kind,
                      ignore_index):
    """For each binary problem: bin weights (normalised) and |frequency - confidence|."""
    y_index, y_prob, _, sample_weight = check_probabilities_or_logits(
        y_true, y_prob, logits, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index,
    )
    yield from _checked_calibration_gaps(y_index, y_prob, sample_weight, n_bins, strategy,
                                         kind)


def _checked_calibration_gaps(y_index, y_prob, sample_weight, n_bins, strategy, kind):
    """:func:`_calibration_gaps` of checked input: column indices, probability
    ``Rows`` and weights (None or float64)."""
    total = total_weight(y_index.shape[0], sample_weight)
    for sums in _binned(y_index, y_prob, sample_weight, kind, n_bins, strategy):
        yield _gaps_of_sums(*sums, total)


def _gaps_of_sums(weight, sum_conf, sum_outcome, total):
    """Bin weights (as shares of ``total``), |frequency - confidence|, frequency
    and weight of the non-empty bins of one binary problem's binned sums."""
    filled = weight > 0
    frequency = sum_outcome[filled] / weight[filled]
    gap = np.abs(frequency - sum_conf[filled] / weight[filled])
    return weight[filled] / total, gap, frequency, weight[filled]


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
    return _error_of_gaps(_calibration_gaps(y_true, y_prob, logits, sample_weight, labels,
                                            n_bins, strategy, kind, ignore_index),
                          norm, debiased)


def checked_top_label_ece(y_index, proba, sample_weight):
    """:func:`expected_calibration_error` with its defaults (top-label, 15
    uniform bins) of checked input: each row's column index, the probabilities
    (an in-memory array, rows on the simplex) and the weights (None or float64),
    without checking them again (the comparison's metrics of its calibrators'
    predictions)."""
    gaps = _checked_calibration_gaps(y_index, Rows(proba), sample_weight, 15, "uniform",
                                     "top_label")
    return _error_of_gaps(gaps, 1, False)


def top_label_ece_of_sums(weight, sum_confidence, sum_correct):
    """:func:`expected_calibration_error` with its defaults (top-label, 15
    uniform bins) from the bins' sums, added up over row blocks: each bin's
    weight and weighted sums of the top-label confidence and of correctness
    (:func:`~skcal.utils._binning.binned_sums` with :data:`DEFAULT_EDGES`).

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.utils._binning import binned_sums
    >>> confidence, correct = np.array([0.9, 0.8, 0.7, 0.6]), np.array([1.0, 0, 1, 1])
    >>> sums = binned_sums(confidence, correct, None, DEFAULT_EDGES)
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]
    >>> bool(np.isclose(top_label_ece_of_sums(*sums),
    ...                 expected_calibration_error([0, 1, 1, 0], y_prob)))
    True
    """
    gaps = [_gaps_of_sums(weight, sum_confidence, sum_correct, weight.sum())]
    return _error_of_gaps(gaps, 1, False)


# the bins of expected_calibration_error's defaults: 15 of equal width on [0, 1]
DEFAULT_EDGES = np.linspace(0.0, 1.0, 16)


def _error_of_gaps(gaps, norm, debiased):
    """The error from :func:`_calibration_gaps`: the ``norm``-th powers of the
    gaps (less their debiasing term), weighted by bin and averaged over problems."""
    total = 0.0
    n_problems = 0
    for share, gap, frequency, weight in gaps:
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


