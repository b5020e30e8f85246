"""The predictive NLL of a posterior, of MC-dropout samples or of an ensemble.

The predictive distribution of ``S`` samples is the mean of their probabilities,
``p(y) = mean_s p_s(y)``; its NLL is ``-mean_i log mean_s p_s(y_i)``, a
log-mean-exp over samples of each row's log-likelihood. It is not the mean of
the members' NLLs (the expected log-likelihood term of an ELBO), which by
Jensen's inequality is never smaller; nor the NLL of averaged logits.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ..rows._blocks import total_weight
from ..rows._score_rows import starting_rows
from ..rows._scores import SCORE_TYPES, resolve_score_type
from ._checks import check_prediction
from ._row_metrics import log_base, true_class_log_proba, true_class_log_softmax


def row_log_likelihood(y_true, scores, *, score_type="auto", labels=None, sample_weight=None,
                       ignore_index=None, names=None):
    """Each row's ``log p(y)`` in float64 (one pass over the rows of ``scores``,
    logits or probabilities, of shape ``(n, K)`` or ``(..., K)``), with the
    checked weights (0 for rows labelled ``ignore_index``; None without
    weights), the labels of the columns and each row's column. ``names`` as in
    :func:`~skcal.metrics._checks.check_prediction`."""
    if score_type not in SCORE_TYPES:
        raise ValueError(f"score_type must be one of {SCORE_TYPES}; got {score_type!r}.")
    hint = " Pass score_type='logits' if they are logits."
    if score_type == "auto":
        score_type = _score_type_of(scores)
        hint = (" The first rows looked like probabilities; pass score_type='logits' if "
                "the scores are logits.")
    kind = "logits" if score_type == "logits" else "y_prob"
    y_index, rows, labels, sample_weight = check_prediction(
        y_true, scores, labels=labels, sample_weight=sample_weight, kind=kind,
        ignore_index=ignore_index, names=names, hint=hint)
    per_row = true_class_log_softmax if kind == "logits" else true_class_log_proba
    log_p = np.asarray(rows.map_rows(lambda block, y: per_row(y, block), y_index),
                       dtype=np.float64)
    if sample_weight is not None:  # ignored rows may hold any score
        log_p[sample_weight == 0] = 0.0
    return log_p, sample_weight, labels, y_index


def _n_samples(samples):
    """How many samples there are (at least one), read from shapes alone: a
    list's or tuple's members (one array per member, as an ensemble's files
    are opened) are not stacked into one array, which would hold every member
    in memory at once; they must share one shape of at least two dimensions."""
    if isinstance(samples, (list, tuple)) and samples:
        shapes = [np.shape(member) for member in samples]
        for s, shape in enumerate(shapes):
            if len(shape) < 2 or shape != shapes[0]:
                raise ValueError(
                    f"samples[{s}] has shape {shape} and samples[0] {shapes[0]}; every "
                    "sample (member) needs the same shape, (n_rows, n_classes) or (..., "
                    "n_classes): one score per row and class, the rows in the same order.")
        return len(samples)
    if np.ndim(samples) < 3 or np.shape(samples)[0] < 1:
        raise ValueError(f"samples has shape {np.shape(samples)}; pass (n_samples, n_rows, "
                         "n_classes) (or (n_samples, ..., n_classes)), one score array per "
                         "sample or member.")
    return np.shape(samples)[0]


def _as_rows(scores):
    shape = np.shape(scores)
    return scores.reshape(-1, shape[-1])


@dataclass(frozen=True)
class EnsembleNLL:
    """The NLLs of an ensemble (see :func:`ensemble_nll`).

    Attributes
    ----------
    predictive_nll : float
        NLL of the mean of the members' probabilities.
    members_nll : float
        Mean of the members' NLLs: the expected log-likelihood term of an
        ELBO, never below ``predictive_nll``.
    gain : float
        ``members_nll - predictive_nll``, what averaging wins (at least 0).
    member_nlls : ndarray of shape (n_samples,)
        Each member's NLL.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import ensemble_nll
    >>> rng = np.random.default_rng(0)
    >>> members = rng.normal(size=(5, 200, 3))  # five members' logits
    >>> result = ensemble_nll(rng.integers(3, size=200), members)
    >>> bool(result.gain >= 0), result.member_nlls.shape
    (True, (5,))
    """

    predictive_nll: float
    members_nll: float
    gain: float
    member_nlls: np.ndarray


def ensemble_nll(y_true, samples, *, score_type="auto", sample_weight=None, labels=None,
                 ignore_index=None, base=None):
    """The predictive NLL of samples or ensemble members, their mean NLL, and the gap.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (...)
        True labels.

    samples : array-like of shape (n_samples, n_rows, n_classes) or (n_samples, ..., n_classes)
        Each sample's (member's) logits, log-probabilities or probabilities,
        stacked, or a list of one array per member (for example each member's
        ``.npy`` file opened with ``mmap_mode="r"``). A memory map, Zarr or Dask
        array is read one sample at a time, in row blocks: memory is O(rows)
        beyond one sample's rows, never O(samples).

    score_type : {'auto', 'logits', 'probabilities'}, default='auto'
        How the scores are read (log-probabilities are logits); 'auto' decides
        on the first sample's first rows.

    sample_weight : array-like of shape (n_rows,), default=None
        Non-negative row weights.

    labels : array-like of shape (n_classes,), default=None
        The class of each column, as in :func:`nll`.

    ignore_index : label, default=None
        Rows with this label (``-100`` for padding) are left out.

    base : float, default=None
        Base of the logarithm: ``None`` gives nats, ``2`` bits.

    Returns
    -------
    result : EnsembleNLL

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import ensemble_nll
    >>> members = np.log([[[0.9, 0.1]], [[0.2, 0.8]]])  # two members, one row
    >>> result = ensemble_nll([0], members)
    >>> round(result.predictive_nll, 4), round(result.members_nll, 4)  # -log 0.55
    (0.5978, 0.8574)
    """
    n_samples = _n_samples(samples)
    resolved = score_type
    total, member_sums, weight = None, [], None
    for s in range(n_samples):
        log_p, weight, labels_s, _ = row_log_likelihood(
            y_true, samples[s], score_type=resolved, labels=labels,
            sample_weight=sample_weight, ignore_index=ignore_index,
            names=("y_true", f"samples[{s}]"))
        if s == 0:  # every sample read as the first one was
            labels = labels_s
            resolved = score_type if score_type != "auto" else _score_type_of(samples[0])
        member_sums.append(float(log_p.sum() if weight is None else weight @ log_p))
        total = log_p if total is None else np.logaddexp(total, log_p)
    n = total_weight(total.shape[0], weight)
    mean_log = total - math.log(n_samples)
    predictive = -float(mean_log.sum() if weight is None else weight @ mean_log) / n
    scale = log_base(base)
    members = -np.asarray(member_sums) / n / scale
    predictive /= scale
    return EnsembleNLL(predictive_nll=predictive, members_nll=float(members.mean()),
                       gain=float(members.mean() - predictive), member_nlls=members)


def _score_type_of(scores):
    """'logits' or 'probabilities', decided on the first rows (non-finite rows are
    read as logits, so that the check of the scores names the problem)."""
    head = np.asarray(starting_rows(scores if np.ndim(scores) <= 2 else _as_rows(scores)))
    return resolve_score_type(head, "auto") if np.isfinite(head).all() else "logits"


def predictive_nll(y_true, samples, *, score_type="auto", sample_weight=None, labels=None,
                   ignore_index=None, base=None):
    """NLL of the predictive distribution of samples: ``-mean log mean_s p_s(y)``.

    The samples of a posterior, of MC dropout, or the members of a deep
    ensemble; the log-mean-exp over samples is taken row by row, streamed over
    samples and row blocks. See :func:`ensemble_nll` for the parameters, and
    for the members' mean NLL beside it.

    Returns
    -------
    loss : float

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import predictive_nll
    >>> rng = np.random.default_rng(0)
    >>> samples = rng.normal(size=(20, 100, 3))  # 20 samples' logits of 100 rows
    >>> y = rng.integers(3, size=100)
    >>> ours = predictive_nll(y, samples)
    >>> log_p = samples - np.log(np.exp(samples).sum(axis=2, keepdims=True))
    >>> direct = -np.mean(np.log(np.exp(log_p[:, np.arange(100), y]).mean(axis=0)))
    >>> bool(abs(ours - direct) < 1e-12)
    True
    """
    return ensemble_nll(y_true, samples, score_type=score_type, sample_weight=sample_weight,
                        labels=labels, ignore_index=ignore_index, base=base).predictive_nll


def predictive_perplexity(y_true, samples, *, score_type="auto", sample_weight=None,
                          labels=None, ignore_index=None):
    """Perplexity of the predictive distribution of samples (``exp`` of
    :func:`predictive_nll` in nats), for language-model samples over tokens.

    Returns
    -------
    perplexity : float

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import predictive_perplexity
    >>> uniform = np.zeros((3, 5, 4))  # three samples, uniform over 4 tokens
    >>> round(predictive_perplexity([0, 1, 2, 3, 0], uniform), 6)
    4.0
    """
    return math.exp(predictive_nll(y_true, samples, score_type=score_type,
                                   sample_weight=sample_weight, labels=labels,
                                   ignore_index=ignore_index))


def predictive_log_proba(samples, *, score_type="auto"):
    """Log of the mean of the samples' probabilities, ``log mean_s p_s``, row by
    row: the ensemble's predictive distribution as log-probabilities, which any
    calibrator takes as logits (``TemperatureScaling().fit(..)``).

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_rows, n_classes)
        Stacked, or a list of one array per member, as for :func:`ensemble_nll`.

    score_type : {'auto', 'logits', 'probabilities'}, default='auto'

    Returns
    -------
    log_proba : ndarray of shape (n_rows, n_classes), float64

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import predictive_log_proba
    >>> members = np.log([[[0.9, 0.1]], [[0.2, 0.8]]])
    >>> np.exp(predictive_log_proba(members)).round(3)
    array([[0.55, 0.45]])
    """
    total, n_samples = None, _n_samples(samples)
    for s in range(n_samples):
        block = np.asarray(samples[s], dtype=np.float64)
        block = block.reshape(-1, block.shape[-1])
        if not np.isfinite(block).all():
            raise ValueError(f"samples[{s}] has NaN or infinite scores; pass finite scores.")
        kind = score_type if score_type != "auto" else resolve_score_type(block[:1000], "auto")
        log_p = (block - logsumexp(block, axis=1, keepdims=True) if kind == "logits"
                 else np.log(np.maximum(block, np.finfo(np.float64).tiny)))
        total = log_p if total is None else np.logaddexp(total, log_p)
    return total - math.log(n_samples)
