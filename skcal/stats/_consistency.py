"""Consistency resampling (Bröcker and Smith 2007): labels drawn from the predictions.

Were the model calibrated, each label would be a draw from its row's predicted
distribution. Drawing labels that way many times shows how far a calibrated
model's statistic strays by chance alone. The draws are made in chunks of
rows x resamples, and the binned statistics are matrix products, so no Python
loop runs per resample (except for a metric given as a function).
"""

import inspect

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state

from ..utils._binning import bin_edges, bin_index
from ..rows._blocks import Rows
from ..metrics._curve import top_label
from ..metrics._row_metrics import BRIER, NLL

# values of one chunk of draws (resamples x rows x classes)
_CHUNK_VALUES = 2**22
# the statistics computed from their per-row values, by name
_ROW_METRICS = {metric.name: metric for metric in (NLL, BRIER)}


def random_generator(random_state):
    """A numpy Generator seeded from scikit-learn's ``random_state`` (None, an int or
    a RandomState instance), so that an int gives the same draws every call."""
    return np.random.default_rng(check_random_state(random_state).randint(2**31))


def _chunks(n_resamples, values_per_resample):
    size = max(1, _CHUNK_VALUES // max(values_per_resample, 1))
    for start in range(0, n_resamples, size):
        yield min(size, n_resamples - start)


def bin_indicator(confidence, edges):
    """Sparse (n_samples, n_bins) matrix: 1 where a row falls in a bin."""
    n_samples, n_bins = confidence.shape[0], edges.shape[0] - 1
    return sparse.csr_matrix(
        (np.ones(n_samples), (np.arange(n_samples), bin_index(confidence, edges))),
        shape=(n_samples, n_bins),
    )


def resampled_bin_sums(confidence, indicator, sample_weight, n_resamples, rng):
    """Per-bin weighted sums of outcomes drawn as Bernoulli(confidence), the bins
    given by their :func:`bin_indicator`.

    Returns
    -------
    sums : ndarray of shape (n_resamples, n_bins)
    """
    if sample_weight is not None:
        indicator = sparse.diags(sample_weight) @ indicator
    pieces = []
    for size in _chunks(n_resamples, confidence.shape[0]):
        outcome = (rng.random((size, confidence.shape[0])) < confidence).astype(np.float64)
        pieces.append(np.asarray(outcome @ indicator))
    return np.concatenate(pieces)


def consistency_band(confidence, edges, sample_weight, confidence_level, n_resamples, rng):
    """Per non-empty bin, the interval of observed frequencies a calibrated model
    would give with probability ``confidence_level`` (central quantiles).

    Returns
    -------
    low, high : ndarray of shape (n_filled_bins,)
    """
    weight = np.ones_like(confidence) if sample_weight is None else sample_weight
    indicator = bin_indicator(confidence, edges)
    bin_weight = weight @ indicator
    filled = bin_weight > 0
    sums = resampled_bin_sums(confidence, indicator, sample_weight, n_resamples, rng)
    frequency = sums[:, filled] / bin_weight[filled]
    tail = (1 - confidence_level) / 2
    low, high = np.quantile(frequency, [tail, 1 - tail], axis=0)
    return low, high


def _binned_error(outcome_sums, indicator, confidence, sample_weight=None):
    """``sum_b |sum_{i in b} w_i (o_i - c_i)| / sum_i w_i`` for each row of
    (weighted) outcome sums."""
    if sample_weight is None:
        return (np.abs(outcome_sums - confidence @ indicator).sum(axis=-1)
                / confidence.shape[0])
    confidence_sums = (sample_weight * confidence) @ indicator
    return np.abs(outcome_sums - confidence_sums).sum(axis=-1) / sample_weight.sum()


class _TopLabelECE:
    """Top-label ECE with bins fixed by the confidences (and the weights, for
    equal-mass bins)."""

    def __init__(self, y_index, proba, n_bins, strategy, sample_weight=None):
        self.confidence, correct = top_label(y_index, Rows(proba))
        self.weight = sample_weight
        self.indicator = bin_indicator(
            self.confidence, bin_edges(self.confidence, sample_weight, n_bins, strategy)
        )
        self.observed_outcome = correct.astype(np.float64)
        if sample_weight is not None:
            self.observed_outcome *= sample_weight

    def observed(self):
        return float(_binned_error(self.observed_outcome @ self.indicator, self.indicator,
                                   self.confidence, self.weight))

    def resampled(self, n_resamples, rng):
        # the drawn label is the top class with probability confidence
        sums = resampled_bin_sums(self.confidence, self.indicator, self.weight, n_resamples,
                                  rng)
        return _binned_error(sums, self.indicator, self.confidence, self.weight)


def draw_labels(cumulative, size, rng):
    """``size`` label vectors, each row's label drawn from its probabilities.

    ``cumulative`` holds each row's cumulative probabilities, last column 1.
    """
    uniform = rng.random((size, cumulative.shape[0], 1))
    return (uniform >= cumulative[None, :, :-1]).sum(axis=2)


class _LabelStatistic:
    """Statistics of whole drawn label vectors: classwise ECE, Brier, NLL, any metric."""

    def __init__(self, y_index, proba, metric, n_bins, strategy, labels, sample_weight=None):
        self.y_index, self.proba, self.metric, self.labels = y_index, proba, metric, labels
        self.weight = sample_weight
        cumulative = np.cumsum(proba, axis=1)
        self.cumulative = cumulative / cumulative[:, -1:]
        if metric == "classwise_ece":
            self.indicators = [
                bin_indicator(proba[:, k], bin_edges(proba[:, k], sample_weight, n_bins,
                                                     strategy))
                for k in range(proba.shape[1])
            ]

    def _values(self, y):
        """The statistic of label vectors ``y`` of shape (size, n_samples)."""
        weight = self.weight
        # the metrics' own per-row terms, broadcast over the (size, n) labels
        if self.metric in _ROW_METRICS:
            metric = _ROW_METRICS[self.metric]
            terms = metric.per_row(self.proba, y)
            mean = terms.mean(axis=1) if weight is None else terms @ weight / weight.sum()
            return mean * metric.scale(self.proba.shape[1])
        if self.metric == "classwise_ece":
            errors = []
            for k, indicator in enumerate(self.indicators):
                outcome = (y == k).astype(np.float64)
                if weight is not None:
                    outcome *= weight
                errors.append(_binned_error(np.asarray(outcome @ indicator), indicator,
                                            self.proba[:, k], weight))
            return np.mean(errors, axis=0)
        if weight is None:
            return np.array([self.metric(self.labels[row], self.proba) for row in y])
        return np.array([self.metric(self.labels[row], self.proba, sample_weight=weight)
                         for row in y])

    def observed(self):
        return float(self._values(self.y_index[None, :])[0])

    def resampled(self, n_resamples, rng):
        n_values = self.proba.shape[0] * self.proba.shape[1]
        return np.concatenate([
            self._values(draw_labels(self.cumulative, size, rng))
            for size in _chunks(n_resamples, n_values)
        ])


def accepts(function, name):
    """Whether ``function`` takes the keyword ``name`` (by name or ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def consistency_statistic(y_index, proba, metric, n_bins, strategy, labels, sample_weight=None):
    """The statistic of the consistency test, able to resample itself; with
    ``sample_weight``, each row's term weighted (each row one drawn label)."""
    if metric == "ece":
        return _TopLabelECE(y_index, proba, n_bins, strategy, sample_weight)
    return _LabelStatistic(y_index, proba, metric, n_bins, strategy, labels, sample_weight)


def resampling_pvalue(statistic, null_distribution, two_sided=False):
    """``(1 + #{null >= statistic}) / (1 + n_resamples)``: the Monte Carlo p-value,
    valid (never below the level under the null) for any number of resamples.
    Two-sided: twice the smaller tail, at most 1."""
    tolerance = 1e-12 * max(1.0, abs(statistic))
    n_resamples = null_distribution.shape[0]
    upper = (1 + np.count_nonzero(null_distribution >= statistic - tolerance)) / (1 + n_resamples)
    if not two_sided:
        return float(upper)
    lower = (1 + np.count_nonzero(null_distribution <= statistic + tolerance)) / (1 + n_resamples)
    return float(min(1.0, 2 * min(upper, lower)))
