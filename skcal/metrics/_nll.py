"""Negative log-likelihood and perplexity."""

import math
from numbers import Real

from sklearn.utils._param_validation import Interval, validate_params

from ._checks import check_prediction
from ._row_metrics import NLL, NLL_FROM_LOGITS, defines


_PARAMS = {
    "y_true": ["array-like"],
    "sample_weight": ["array-like", None],
    "labels": ["array-like", None],
    "ignore_index": "no_validation",
    "base": [Interval(Real, 0, None, closed="neither"), None],
}


@defines(NLL)
@validate_params({**_PARAMS, "y_prob": ["array-like"]}, prefer_skip_nested_validation=True)
def nll(y_true, y_prob, *, sample_weight=None, labels=None, base=None, ignore_index=None):
    """Mean negative log-likelihood (log loss) of predicted probabilities.

    ``-mean(log y_prob[i, y_i])``: a strictly proper scoring rule, lowest when
    the probabilities are the true ones. A probability of exactly 0 for the
    true class is clipped at the dtype's smallest normal number (``2.2e-308``
    for float64, ``1.2e-38`` for float32), so one such sample costs about 708
    (float64) or 87 (float32) nats instead of infinity. Use
    :func:`nll_from_logits` when logits are at hand: it is exact for extreme
    logits and never forms probabilities.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, rows summing to 1; for a binary problem, 1-D
        probabilities of the second class. A memory map, Zarr or Dask array is
        read in row blocks (float16 computed in float32).

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_prob``, in column order. By default,
        a DataFrame's columns named after the classes (``proba_dog,
        proba_cat``) are the classes they name; otherwise integer labels
        ``0..n_classes - 1`` index the columns, and other labels are sorted
        and must be as many as the columns.

    ignore_index : label, default=None
        Rows whose label is ``ignore_index`` (the padding label ``-100`` of
        language-model batches, say) are left out, as with weight 0. A row of
        weight 0 may hold any label.

    base : float, default=None
        Base of the logarithm: ``None`` gives nats (natural log), ``2`` bits.

    Returns
    -------
    loss : float

    See Also
    --------
    nll_from_logits : The same from logits, without forming probabilities.
    perplexity : ``exp`` of the mean NLL in nats.

    Examples
    --------
    >>> from skcal.metrics import nll
    >>> y_prob = [[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]]
    >>> round(nll([0, 1, 1], y_prob), 4)
    0.4243
    >>> round(nll([0, 1, 1], y_prob, base=2), 4)
    0.6122
    >>> round(nll(["no", "yes"], [0.2, 0.7]), 4)  # binary, 1-D positive class
    0.2899
    """
    y_index, y_prob, _, sample_weight = check_prediction(
        y_true, y_prob, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index,
    )
    return NLL.mean(y_prob, y_index, sample_weight, base=base)


@defines(NLL_FROM_LOGITS)
@validate_params({**_PARAMS, "logits": ["array-like"]}, prefer_skip_nested_validation=True)
def nll_from_logits(y_true, logits, *, sample_weight=None, labels=None, base=None,
                    ignore_index=None):
    """Mean negative log-likelihood of ``softmax(logits)``, computed from the logits.

    ``mean(logsumexp(z_i) - z_i[y_i])``, in row blocks (float32 logits are
    exponentiated in float32, sums accumulate in float64). Exact for extreme
    logits, where the probabilities would underflow to 0.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    logits : array-like of shape (n_samples, n_classes) or (n_samples,)
        Unnormalised log-probabilities; for a binary problem, 1-D logits of
        the second class (``sigmoid(s)`` is its probability). A memory map,
        Zarr or Dask array is read in row blocks (float16 computed in float32).
        First rows (at least 20) that all lie in the probability simplex get a
        warning: probabilities go to :func:`nll`.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    labels : array-like of shape (n_classes,), default=None
        The class of each column, as in :func:`nll`.

    ignore_index : label, default=None
        Rows whose label is ``ignore_index`` (the padding label ``-100`` of
        language-model batches, say) are left out, as with weight 0. A row of
        weight 0 may hold any label.

    base : float, default=None
        Base of the logarithm: ``None`` gives nats, ``2`` bits.

    Returns
    -------
    loss : float

    Examples
    --------
    >>> from skcal.metrics import nll_from_logits
    >>> round(nll_from_logits([0, 1], [[2.0, 0.0], [0.0, 1000.0]]), 4)
    0.0635
    >>> nll_from_logits([1], [[0.0, -1000.0]])  # probabilities would underflow
    1000.0
    """
    y_index, logits, _, sample_weight = check_prediction(
        y_true, logits, labels=labels, sample_weight=sample_weight, kind="logits",
        ignore_index=ignore_index, warn_of_probabilities=True,
    )
    return NLL_FROM_LOGITS.mean(logits, y_index, sample_weight, base=base)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like", None],
        "logits": ["array-like", None],
        "sample_weight": ["array-like", None],
        "labels": ["array-like", None],
        "ignore_index": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def perplexity(y_true, y_prob=None, *, logits=None, sample_weight=None, labels=None,
               ignore_index=None):
    """Perplexity, ``exp`` of the mean NLL in nats, from probabilities or logits.

    The usual summary of a language model over tokens: the number of equally
    likely choices that would give the same NLL. Inputs of shape
    (n_tokens, vocabulary_size) are read in row blocks with no full-size
    temporary, so a float32 matrix of several GB costs little extra memory.

    Parameters
    ----------
    y_true : array-like of shape (n_tokens,)
        True tokens (column indices) or labels.

    y_prob : array-like of shape (n_tokens, n_classes), default=None
        Predicted probabilities. Give exactly one of ``y_prob`` and ``logits``.

    logits : array-like of shape (n_tokens, n_classes), default=None
        Logits; the NLL is computed as in :func:`nll_from_logits`.

    sample_weight : array-like of shape (n_tokens,), default=None
        Non-negative weights (for example a mask of padding tokens).

    labels : array-like of shape (n_classes,), default=None
        The class of each column, as in :func:`nll`.

    ignore_index : label, default=None
        Rows whose label is ``ignore_index`` (the padding label ``-100`` of
        language-model batches, say) are left out, as with weight 0. A row of
        weight 0 may hold any label.

    Returns
    -------
    perplexity : float

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import perplexity
    >>> perplexity([0, 1, 2, 3], np.full((4, 4), 0.25))  # uniform over 4 tokens
    4.0
    >>> round(perplexity([0, 0], logits=[[0.0, 0.0], [2.0, 0.0]]), 4)
    1.5069
    """
    if (y_prob is None) == (logits is None):
        raise ValueError("Give exactly one of y_prob and logits.")
    if logits is not None:
        loss = nll_from_logits(y_true, logits, sample_weight=sample_weight, labels=labels,
                               ignore_index=ignore_index)
    else:
        loss = nll(y_true, y_prob, sample_weight=sample_weight, labels=labels,
                   ignore_index=ignore_index)
    return math.exp(loss)
