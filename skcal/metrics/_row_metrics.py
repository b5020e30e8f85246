"""The row-wise metrics, each defined once.

A row-wise metric is a weighted mean over rows of a value of each row's
scores and label, times a factor that depends only on the number of classes
and the options (the base of the logarithm, Brier's binary half). Its
:class:`RowMetric` holds its per-row function (numpy, with its device twin
beside it), what the scores hold, its scale and its scorers. Everything that
computes such a metric reads it from here:

- the public functions :func:`~skcal.metrics.nll`,
  :func:`~skcal.metrics.nll_from_logits` and :func:`~skcal.metrics.brier_score`
  (:meth:`RowMetric.mean`);
- the scorers ``neg_nll``, ``neg_nll_bits`` and ``neg_brier`` (:attr:`RowMetric.scorers`);
- the bootstrap's fast path, which resamples the per-row values
  (:func:`row_metric_of`);
- the columns of :func:`~skcal.compare_calibrators` (:data:`COMPARED`);
- the monitor's chunk statistics (:func:`brier_from_parts` and the scales).
"""

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..rows._device_kernels import logsumexp_rows, true_class, wide
from ..rows._namespaces import is_device_array, namespace
from ..rows._row_reductions import row_dots, row_max, row_sums_of_one_sign
from ..rows._scores import probability_floor
from ._checks import weighted_row_mean


# ------------------------------------------------------------------ per row
def true_class_log_proba(y_index, y_prob):
    """``log y_prob[i, y_i]``, probabilities of 0 floored at the dtype's smallest normal."""
    if is_device_array(y_prob):
        return _device_true_class_log_proba(y_index, y_prob)
    p_true = y_prob[np.arange(y_prob.shape[0]), y_index]
    return np.log(np.maximum(p_true, probability_floor(y_prob.dtype)).astype(np.float64))


def _device_true_class_log_proba(y_index, y_prob):
    xp = namespace(y_prob)
    p_true = xp.clip(true_class(y_prob, y_index), min=xp.finfo(y_prob.dtype).smallest_normal)
    return xp.log(wide(p_true))


def true_class_log_softmax(y_index, logits):
    """``log softmax(logits)[i, y_i]`` of one block, exact for any finite logits."""
    return true_and_top_log_softmax(y_index, logits)[0]


def true_and_top_log_softmax(y_index, logits):
    """``log softmax(logits)[i, y_i]`` and the row's largest ``log softmax(logits)``
    (the log of its top-label confidence), in float64, and the row's largest
    logit, of one block, from one exponential of the logits."""
    if is_device_array(logits):
        log_norm = wide(logsumexp_rows(logits))
        top = namespace(logits).max(logits, axis=1)
        return wide(true_class(logits, y_index)) - log_norm, wide(top) - log_norm, top
    top = row_max(logits)
    shifted = logits - top[:, None]
    np.exp(shifted, out=shifted)
    log_norm = np.log(row_sums_of_one_sign(shifted).astype(np.float64))
    true = logits[np.arange(logits.shape[0]), y_index].astype(np.float64)
    return true - top - log_norm, -log_norm, top


def brier_from_parts(sum_of_squares, p_true):
    """``sum_k (p_k - 1[y = k])^2`` of rows whose ``sum_k p_k^2`` and true-class
    probability are known: ``sum_of_squares - 2 p_true + 1``."""
    return sum_of_squares - 2.0 * p_true + 1.0


def brier_rows(block, y_index):
    """``sum_k (p_k - 1[y = k])^2`` of each row of one block (numpy or device)."""
    if is_device_array(block):
        xp = namespace(block)
        return brier_from_parts(wide(xp.sum(block * block, axis=1)),
                                wide(true_class(block, y_index)))
    p_true = block[np.arange(block.shape[0]), y_index].astype(np.float64)
    return brier_from_parts(row_dots(block, block).astype(np.float64), p_true)


def _negative_log_proba(block, y_index):
    return -true_class_log_proba(y_index, block)


def _negative_log_softmax(block, y_index):
    return -true_class_log_softmax(y_index, block)


# ------------------------------------------------------------------ scales
def log_base(base):
    """``log(base)``, the divisor from nats to the unit of ``base`` (1 for None)."""
    if base is None:
        return 1.0
    if base <= 0 or base == 1:
        raise ValueError(f"base must be positive and not 1 (2 gives bits); got {base}.")
    return math.log(base)


def _nll_scale(n_columns, base=None):
    return 1.0 / log_base(base)


def brier_scale(n_columns):
    """The factor from the rows' ``sum_k`` to the Brier score: 1/2 for a binary
    problem (the positive class's squared error alone), 1 otherwise."""
    return 0.5 if n_columns == 2 else 1.0


# ------------------------------------------------------------------ definitions
@dataclass(frozen=True)
class RowMetric:
    """One row-wise metric: ``scale(K, **options) * weighted mean of per_row``.

    Attributes
    ----------
    name : str
        Its column in a comparison or a monitor's table.
    per_row : callable
        ``per_row(block, y_index)``: each row's value in float64, for a numpy or
        device block.
    scores : {'y_prob', 'logits'}
        What the blocks hold.
    scale : callable
        ``scale(n_columns, **options)``.
    options : frozenset of str
        The keyword arguments ``scale`` takes.
    scorers : dict
        Scorer name to the options it fixes (each scorer negates the metric).

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics._row_metrics import BRIER
    >>> block = np.array([[0.8, 0.2], [0.3, 0.7]])
    >>> BRIER.per_row(block, np.array([0, 1])).round(2)
    array([0.08, 0.18])
    >>> BRIER.scale(2)  # binary: the positive class's squared error alone
    0.5
    """

    name: str
    per_row: Callable
    scores: str
    scale: Callable
    options: frozenset = frozenset()
    scorers: dict = field(default_factory=dict)

    def mean(self, rows, y_index, sample_weight, **options):
        """The metric of checked :class:`~skcal.rows._blocks.Rows`, one pass."""
        return (weighted_row_mean(rows, self.per_row, y_index, sample_weight)
                * self.scale(rows.n_columns, **options))


NLL = RowMetric("nll", _negative_log_proba, "y_prob", _nll_scale, frozenset({"base"}),
                {"neg_nll": {}, "neg_nll_bits": {"base": 2}})
NLL_FROM_LOGITS = RowMetric("nll", _negative_log_softmax, "logits", _nll_scale,
                            frozenset({"base"}))
BRIER = RowMetric("brier", brier_rows, "y_prob", brier_scale, scorers={"neg_brier": {}})

ROW_METRICS = (NLL, NLL_FROM_LOGITS, BRIER)
# the row-wise columns of a comparison, from its predicted probabilities
COMPARED = (NLL, BRIER)

# the public function of each definition, filled in by :func:`defines`
_BY_FUNCTION = {}


def defines(definition):
    """Decorator: the public function computes ``definition``.

    Examples
    --------
    >>> from skcal.metrics import brier_score
    >>> row_metric_of(brier_score) is BRIER
    True
    """
    def register(function):
        _BY_FUNCTION[function] = definition
        return function

    return register


def row_metric_of(function):
    """The :class:`RowMetric` that ``function`` computes, or None."""
    try:
        return _BY_FUNCTION.get(function)
    except TypeError:  # unhashable
        return None


def public_functions():
    """(function, definition) of every public row-wise metric, in the order of
    :data:`ROW_METRICS`."""
    return sorted(_BY_FUNCTION.items(), key=lambda item: ROW_METRICS.index(item[1]))
