"""The tokens of sequences as the rows of a comparison: scores of shape
``(batch, length, n_classes)`` with labels of shape ``(batch, length)`` read as
``batch * length`` rows, each sequence a group unless ``groups`` says more,
and rows labelled ``ignore_index`` (padding) left out."""

import numpy as np
from sklearn.utils import _safe_indexing

from ._paired_errors import units_of


def as_token_rows(X, y, groups, sample_weight, ignore_index, *, names=("X", "y")):
    """(X, y, groups, sample_weight) with token scores flattened to rows, each
    sequence its own group by default (its tokens share its topic and its
    difficulty, and a fold holds it whole), and rows labelled ``ignore_index``
    left out. Inputs of one row per sample pass through unchanged but for
    those rows.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.zeros((2, 3, 4)), np.array([[0, 1, -100], [2, 3, 1]])
    >>> X, y, groups, _ = as_token_rows(X, y, None, None, -100)
    >>> X.shape, y.tolist(), groups.tolist()
    ((5, 4), [0, 1, 2, 3, 1], [0, 0, 1, 1, 1])
    """
    scores_name, labels_name = names
    if getattr(X, "ndim", 2) > 2:
        X, y, groups, sample_weight = _flattened(X, y, groups, sample_weight, scores_name,
                                                 labels_name)
    if ignore_index is None:
        return X, y, groups, sample_weight
    y = np.asarray(y)
    kept = np.broadcast_to(y != ignore_index, y.shape)
    if not kept.any():
        raise ValueError(f"Every row of {labels_name} is labelled ignore_index="
                         f"{ignore_index!r}; nothing is left to compare on.")
    if kept.all():
        return X, y, groups, sample_weight
    rows = np.flatnonzero(kept)
    return (_safe_indexing(X, rows), y[rows],
            None if groups is None else np.asarray(groups)[rows],
            None if sample_weight is None else np.asarray(sample_weight)[rows])


def token_inputs(X, y, groups, sample_weight, X_test, y_test, ignore_index, calibration_test):
    """:func:`as_token_rows` of the comparison's data and of its test set; a
    calibration test of token scores is refused (it takes rows as independent)."""
    if getattr(X, "ndim", 2) > 2 and calibration_test is not None:
        raise ValueError(
            "calibration_test= takes the rows as independent, and the tokens of one "
            "sequence are not (its p-values would be too small); leave it out, or test a "
            "sample of one token per sequence with skcal.stats.calibration_test.")
    X, y, groups, sample_weight = as_token_rows(X, y, groups, sample_weight, ignore_index)
    if X_test is not None and y_test is not None:
        X_test, y_test, _, _ = as_token_rows(X_test, y_test, None, None, ignore_index,
                                             names=("X_test", "y_test"))
    return X, y, groups, sample_weight, X_test, y_test


def _flattened(X, y, groups, sample_weight, scores_name, labels_name):
    X = np.asarray(X) if not hasattr(X, "reshape") else X
    leading = tuple(X.shape[:-1])
    n_rows = int(np.prod(leading))
    y = np.asarray(y)
    if y.shape not in (leading, (n_rows,)):
        raise ValueError(
            f"{scores_name} holds token scores of shape {tuple(X.shape)}, so {labels_name} "
            f"must have shape {leading} (one label per token); got {y.shape}.")
    if groups is not None and np.shape(groups) not in (leading[:1], leading, (n_rows,)):
        raise ValueError(
            f"groups has shape {np.shape(groups)} for token scores of shape "
            f"{tuple(X.shape)}; pass one group per sequence, shape {leading[:1]}, or "
            f"per token, shape {leading}.")
    groups = units_of(groups, n_rows, leading)  # each sequence a group by default
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if sample_weight.shape not in (leading, (n_rows,)):
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape} for token scores of shape "
                f"{tuple(X.shape)}; pass one weight per token, shape {leading}.")
        sample_weight = sample_weight.reshape(-1)
    return X.reshape(n_rows, X.shape[-1]), y.reshape(-1), groups, sample_weight
