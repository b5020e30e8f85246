"""The Brier score."""

from sklearn.utils._param_validation import validate_params

from ._checks import check_probabilities_or_logits
from ._row_metrics import BRIER, defines


@defines(BRIER)
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
def brier_score(y_true, y_prob=None, *, logits=None, sample_weight=None, labels=None,
                ignore_index=None):
    """Brier score: mean squared distance between probabilities and one-hot labels.

    For ``K > 2`` classes, ``mean_i sum_k (p_ik - 1[y_i = k])^2``, in [0, 2]. For
    a binary problem, the customary ``mean_i (p_i - y_i)^2`` of the positive
    class, in [0, 1], which is half the two-class sum. Both equal
    :func:`sklearn.metrics.brier_score_loss`. The Brier score is proper but,
    unlike the NLL, bounded: it punishes a confident mistake by at most 2.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Predicted probabilities; for a binary problem, 1-D probabilities of
        the second class are accepted too. A memory map, Zarr or Dask array
        is read in row blocks.

    logits : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Logits instead of ``y_prob`` (give exactly one); their ``softmax`` is
        computed block by block.

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
    score : float

    Examples
    --------
    >>> from skcal.metrics import brier_score
    >>> round(brier_score([0, 1, 2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]]), 4)
    0.2467
    >>> round(brier_score([0, 1], [0.1, 0.8]), 4)  # binary: (0.1^2 + 0.2^2) / 2
    0.025
    """
    y_index, y_prob, _, sample_weight = check_probabilities_or_logits(
        y_true, y_prob, logits, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index,
    )
    return BRIER.mean(y_prob, y_index, sample_weight)
