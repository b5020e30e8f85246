"""A fold's held-out probabilities: a candidate's from outside skcal checked,
each scored by the built-in metrics, and predicted again when the pooled
out-of-fold predictions are read."""

from functools import partial

import numpy as np

from ..calibrators._base import BaseCalibrator
from ..calibrators._sharing import predict_proba_sharing
from ..metrics._checks import weighted_mean
from ..metrics._ece import checked_top_label_ece
from ..metrics._row_metrics import COMPARED, NLL
from ..rows._scores import check_probabilities


def fold_metrics(y_index, proba, sample_weight):
    """Per-sample log-probabilities of the true class, and the built-in metrics:
    the row-wise ones of :data:`~skcal.metrics._row_metrics.COMPARED` from their
    per-row values, the ECE and the accuracy.

    Accuracy is that of ``argmax(proba)``: skcal calibrators separate exact ties
    in ``predict_proba`` by the uncalibrated scores, so this is their ``predict``.
    """
    per_row = {metric.name: metric.per_row(proba, y_index) for metric in COMPARED}
    metrics = {metric.name: weighted_mean(per_row[metric.name], sample_weight)
               * metric.scale(proba.shape[1]) for metric in COMPARED}
    metrics["ece"] = checked_top_label_ece(y_index, proba, sample_weight)
    metrics["accuracy"] = weighted_mean(proba.argmax(axis=1) == y_index, sample_weight)
    return -per_row[NLL.name], metrics


def held_scores(X, test, scores):
    """The function that returns a fold's held-out scores: ``scores``, or ``X``'s
    ``test`` rows (read again when the predictions are); it pickles.

    Examples
    --------
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> held_scores(X, np.array([2, 0]), None)().tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    """
    return partial(_rows_of, X, test) if scores is None else partial(_rows_of, scores, None)


def _rows_of(scores, rows):
    return scores if rows is None else scores[rows]


def fold_proba(name, fitted, scores):
    """A method's probabilities on a fold's held-out scores, as the fold computed them."""
    proba = predict_proba_sharing(fitted, scores, None)
    if not isinstance(fitted, BaseCalibrator):  # checked in the fold already
        proba = checked_candidate_proba(name, proba, scores.shape[0], proba.shape[1])
    return proba


def checked_candidate_proba(name, proba, n_rows, n_classes):
    """The predictions of a candidate from outside skcal, refused unless they are
    finite probabilities of shape ``(n_rows, n_classes)``, in float."""
    proba = np.asarray(proba)
    hint = (f" A candidate's predict_proba must return probabilities of shape "
            f"({n_rows}, {n_classes}): one row per row of scores, one column per class "
            "of y in sorted order.")
    if proba.shape != (n_rows, n_classes) or proba.dtype.kind not in "fiu":
        raise ValueError(f"Candidate {name!r} predicted an array of shape {proba.shape} "
                         f"and dtype {proba.dtype}." + hint)
    proba = proba if proba.dtype.kind == "f" else proba.astype(np.float64)
    if not np.isfinite(proba).all():
        row, column = np.argwhere(~np.isfinite(proba))[0]
        raise ValueError(f"Candidate {name!r} predicted {proba[row, column]} at row {row}, "
                         f"column {column}." + hint)
    check_probabilities(proba, name=f"the predict_proba of candidate {name!r}", hint=hint)
    return proba
