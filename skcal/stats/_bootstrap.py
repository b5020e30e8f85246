"""``bootstrap``: a confidence interval for any calibration metric.

Rows are resampled with replacement. For the additive metrics (NLL, Brier)
the per-row losses are computed once and each resample is a gather and a
sum, all resamples of a chunk at once; any other metric is recomputed on each
resample. The intervals are the percentile and the BCa ones of Efron.
"""

import functools
from numbers import Integral, Real

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..metrics import expected_calibration_error, get_scorer
from ..metrics._curve import top_label
from ..metrics._checks import check_prediction
from ..metrics._row_metrics import row_metric_of
from ..metrics._scorer import metric_of_short_name, short_metric_names
from ..rows._namespaces import to_numpy
from ._bootstrap_statistics import (
    AdditiveStatistic,
    BinnedECEStatistic,
    RecomputedStatistic,
    unit_codes,
)
from ._consistency import accepts, random_generator
from ._results import BootstrapResult, ConfidenceInterval

# rows x resamples of one chunk of resampled indices
_CHUNK_VALUES = 2**22


def _resolve_metric(metric):
    """(function, sign, keywords): a scorer's function with its sign and keywords.
    A skcal scorer's name without its ``neg_`` ('nll') is the metric itself."""
    if isinstance(metric, str):
        short = metric_of_short_name(metric)
        if short is not None:
            return short[0], 1, short[1]
        try:
            metric = get_scorer(metric)
        except ValueError as exc:  # the names bootstrap takes beyond get_scorer's
            raise ValueError(f"{exc} bootstrap also takes skcal's metrics by name: "
                             f"{', '.join(short_metric_names())}.") from exc
    if hasattr(metric, "_score_func") and hasattr(metric, "_sign"):
        return metric._score_func, metric._sign, dict(metric._kwargs)
    if isinstance(metric, functools.partial) and not metric.args:
        return metric.func, 1, dict(metric.keywords)
    if callable(metric):
        return metric, 1, {}
    raise ValueError(
        f"metric must be a skcal metric, a scorer or a scorer's name; got {metric!r}."
    )


def _resampled_indices(n_units, n_resamples, rng):
    """Chunks of (size, n_units) unit indices drawn with replacement."""
    size = max(1, _CHUNK_VALUES // n_units)
    for start in range(0, n_resamples, size):
        yield rng.integers(0, n_units, size=(min(size, n_resamples - start), n_units))


# keywords of expected_calibration_error that the binned fast path computes
_ECE_DEFAULTS = {"strategy": "uniform", "kind": "top_label", "norm": 1, "debiased": False,
                 "logits": None}
# keywords the fast paths read themselves, beside a metric's own options
_READ_KEYWORDS = {"labels", "ignore_index"}


def _checked_rows(keywords, y_true, y_prob, sample_weight, labels, groups, kind="y_prob"):
    """(y_index, rows, sample_weight, units) of the fast paths: the labels'
    rows flattened (tokens of shape (batch, length) as batch x length rows),
    those labelled the metric's ``ignore_index`` of weight 0, and each row's
    unit of resampling (:func:`~skcal.stats._bootstrap_statistics.unit_codes`)."""
    y_index, rows, _, sample_weight = check_prediction(
        y_true, y_prob, labels=keywords.get("labels", labels), sample_weight=sample_weight,
        kind=kind, ignore_index=keywords.get("ignore_index"))
    units = unit_codes(groups, np.shape(y_true)[0], rows.n_rows)
    return y_index, rows, sample_weight, units


def _binned_ece(keywords, sign, y_true, y_prob, sample_weight, labels, groups):
    """The fast ECE statistic, or None when the keywords ask for another variant."""
    if any(keywords.get(name, value) != value for name, value in _ECE_DEFAULTS.items()):
        return None
    if set(keywords) - set(_ECE_DEFAULTS) - _READ_KEYWORDS - {"n_bins"}:
        return None
    y_index, rows, sample_weight, units = _checked_rows(keywords, y_true, y_prob,
                                                        sample_weight, labels, groups)
    confidence, correct = top_label(y_index, rows)
    return BinnedECEStatistic(confidence, correct.astype(np.float64), sample_weight,
                              keywords.get("n_bins", 15), sign, units)


def _statistic(metric, y_true, y_prob, sample_weight, labels, groups):
    function, sign, keywords = _resolve_metric(metric)
    if function is expected_calibration_error:
        fast = _binned_ece(keywords, sign, y_true, y_prob, sample_weight, labels, groups)
        if fast is not None:
            return fast
    additive = row_metric_of(function)  # resampled by its per-row values
    if additive is not None and set(keywords) <= additive.options | _READ_KEYWORDS:
        y_index, rows, sample_weight, units = _checked_rows(
            keywords, y_true, y_prob, sample_weight, labels, groups, kind=additive.scores)
        losses = to_numpy(rows.map_rows(additive.per_row, y_index))
        options = {name: keywords[name] for name in additive.options if name in keywords}
        scale = sign * additive.scale(rows.n_columns, **options)
        return AdditiveStatistic(losses, sample_weight, scale, units)
    if sample_weight is not None and not accepts(function, "sample_weight"):
        raise ValueError(
            f"sample_weight was given but the metric {function.__name__} takes none; "
            "pass a metric with a sample_weight parameter, or no weights."
        )
    if labels is not None or accepts(function, "labels"):
        if not accepts(function, "labels"):
            raise ValueError(f"labels was given but the metric {function.__name__} takes none.")
        if labels is None:  # the columns' classes, whatever the scores hold
            _, _, labels, _ = check_prediction(y_true, y_prob, sample_weight=sample_weight,
                                               kind="logits",
                                               ignore_index=keywords.get("ignore_index"))
        keywords.setdefault("labels", labels)
    y_true, y_prob = np.asarray(y_true), np.asarray(y_prob)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    return RecomputedStatistic(function, sign, keywords, y_true, y_prob, sample_weight,
                               groups)


def _percentile_of_score(values, score):
    """Share of values below ``score``, ties counted half (as ``scipy.stats.bootstrap``)."""
    return ((values < score).mean() + (values <= score).mean()) / 2


def _bca_levels(distribution, observed, jackknife, alpha):
    """Efron's bias-corrected and accelerated quantile levels for the two ends."""
    z0 = ndtri(_percentile_of_score(distribution, observed))
    centred = jackknife.mean() - jackknife
    denominator = 6 * (centred @ centred) ** 1.5
    acceleration = (centred**3).sum() / denominator if denominator > 0 else 0.0
    z = ndtri(np.array([alpha / 2, 1 - alpha / 2]))
    return ndtr(z0 + (z0 + z) / (1 - acceleration * (z0 + z)))


@validate_params(
    {
        "metric": [str, callable],
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "n_resamples": [Interval(Integral, 2, None, closed="left")],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "method": [StrOptions({"percentile", "bca"})],
        "sample_weight": ["array-like", None],
        "labels": ["array-like", None],
        "groups": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def bootstrap(metric, y_true, y_prob, *, n_resamples=1000, confidence_level=0.95,
              method="percentile", sample_weight=None, labels=None, groups=None,
              random_state=None):
    """Bootstrap confidence interval of a calibration metric.

    The rows (label, prediction and weight together) are resampled with
    replacement ``n_resamples`` times and the metric recomputed on each
    resample. A row is one of ``y_true``'s first axis: for the tokens of
    sequences, labels of shape ``(batch, length)`` with scores of shape
    ``(batch, length, n_classes)``, each draw takes a whole sequence. With
    ``groups``, each draw takes a whole group (the cluster bootstrap): rows
    of one document or one patient are not independent, and resampling them
    one by one gives an interval too narrow. For :func:`skcal.metrics.nll`, :func:`~skcal.metrics.nll_from_logits`
    and :func:`~skcal.metrics.brier_score` (and their scorers) the per-row
    losses are computed once and each resample is a weighted sum, all resamples
    at once: thousands of resamples of a million rows take seconds. The
    top-label :func:`~skcal.metrics.expected_calibration_error` on equal-width
    bins (its default) is resampled as per-bin sums the same way. Other
    metrics are called once per resample.

    Parameters
    ----------
    metric : callable or str
        A metric ``metric(y_true, y_prob, **kwargs)`` such as
        :func:`skcal.metrics.expected_calibration_error` (bind options with
        ``functools.partial``), a scorer made by ``make_scorer``, a scorer's
        name (``'neg_nll'``: the interval is then of the negated metric), or
        the name of a skcal scorer's metric (``'nll'``, ``'nll_bits'``,
        ``'brier'``, ``'ece'``, ``'classwise_ece'``, ``'nll_calibration'``: of
        the metric itself, with the scorer's options).

    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities (logits for ``nll_from_logits``).

    n_resamples : int, default=1000
        Number of resamples.

    confidence_level : float, default=0.95
        Coverage of the interval.

    method : {'percentile', 'bca'}, default='percentile'
        The quantiles of the bootstrap distribution, or Efron's bias-corrected
        and accelerated ones (better coverage for a skewed or biased
        statistic, such as a binned ECE; the acceleration needs the metric on
        each leave-one-out sample, computed exactly and fast for the additive
        metrics and by ``n_samples`` calls for the others).

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, passed to the metric; each resampled row keeps its
        weight.

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_prob``; by default found from the data
        as by the metric, and passed to every call so that a resample missing
        a class is scored against all the columns.

    groups : array-like of shape (n_samples,), default=None
        The group (a document, a patient) of each row of ``y_true``'s first
        axis; groups are drawn whole, and ``bca``'s acceleration leaves one
        group out at a time. The interval then rests on the number of groups:
        with few of them (about 20 or fewer) it is too narrow, however many
        rows they hold. Rows labelled the metric's ``ignore_index`` (bound
        with ``functools.partial``) and rows of weight 0 count for nothing,
        and a group or sequence of them alone is never drawn.

    random_state : int, RandomState instance or None, default=None
        Seed of the resampling.

    Returns
    -------
    result : BootstrapResult
        ``confidence_interval`` (``low``, ``high``), ``bootstrap_distribution``,
        ``standard_error`` and ``statistic``.

    See Also
    --------
    calibration_test : Whether the predictions are calibrated at all.
    scipy.stats.bootstrap : The general-purpose bootstrap of SciPy.

    References
    ----------
    B. Efron, "Better Bootstrap Confidence Intervals", Journal of the American
    Statistical Association 82, 1987.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import nll
    >>> from skcal.stats import bootstrap
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, size=2000)
    >>> y = rng.uniform(size=2000) < p
    >>> result = bootstrap(nll, y, p, random_state=0)
    >>> low, high = result.confidence_interval
    >>> round(result.statistic, 3), round(low, 3), round(high, 3)
    (0.545, 0.524, 0.567)
    >>> bootstrap("nll", y, p, random_state=0).confidence_interval == (low, high)
    True

    The tokens of 50 documents, whose difficulty varies from one document to
    the next: drawing whole documents widens the interval.

    >>> from scipy.special import softmax
    >>> documents = np.repeat(np.arange(50), 40)
    >>> logits = rng.normal(size=(2000, 5)) * rng.uniform(0.5, 3.0, size=50)[documents, None]
    >>> tokens = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    >>> proba = softmax(logits / 2, axis=1)
    >>> by_token = bootstrap("nll", tokens, proba, random_state=0).standard_error
    >>> by_document = bootstrap("nll", tokens, proba, groups=documents,
    ...                         random_state=0).standard_error
    >>> bool(by_document > 1.5 * by_token)
    True
    """
    rng = random_generator(random_state)
    statistic = _statistic(metric, y_true, y_prob, sample_weight, labels, groups)
    observed = statistic.observed()
    distribution = np.concatenate([
        statistic.resampled(draws)
        for draws in _resampled_indices(statistic.n_units, n_resamples, rng)
    ])
    alpha = 1 - confidence_level
    if method == "bca" and np.ptp(distribution) > 0:
        levels = _bca_levels(distribution, observed, statistic.jackknife(), alpha)
    else:
        levels = np.array([alpha / 2, 1 - alpha / 2])
    low, high = np.quantile(distribution, levels)
    return BootstrapResult(
        confidence_interval=ConfidenceInterval(float(low), float(high)),
        bootstrap_distribution=distribution,
        standard_error=float(distribution.std(ddof=1)),
        statistic=observed,
    )
