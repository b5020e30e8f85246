"""Scores of a wrapped classifier: its response, in the calibrator's column order,
out of fold over cross-validation splits."""

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _check_method_params

from ..rows._labels import plain
from ..rows._scores import (as_float_array, binary_logits, probability_floor, reading_floor,
                             scores_to_logits)
from ..rows._zero_probabilities import (combine_extremes, floor_of_extremes,
                                        probability_extremes)

_DEFAULT_FOLDS = 5


def _fit_fold(estimator, X, y, fit_params, train, test, response_method, classes):
    """Fit a clone on ``train`` (with the ``train`` rows of ``fit_params`` of one
    value per row) and return it with its response on ``test``."""
    estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train),
                  **_check_method_params(X, fit_params, indices=train))
    response = classifier_response(estimator, _safe_indexing(X, test), response_method, classes)
    return estimator, response


def cross_fitted_logits(
    estimator, X, y, y_index, fit_params, *, cv, response_method, classes, n_jobs,
    split_params=None,
):
    """Out-of-fold logits of ``estimator`` over the folds of ``cv``.

    ``fit_params`` are the classifier's ``fit`` parameters (a dict; each fold
    takes its training rows of those of one value per row), ``split_params``
    those of the splitter's ``split`` (``groups``, say).

    ``cv=None`` means 5 stratified folds. Stratified folds put a class of two
    or more samples in every training part, however many folds there are (with
    fewer samples than folds, scikit-learn warns that the class is thin);
    a training part that lacks a class is refused. Returns the fitted fold
    classifiers, the logits of each test fold, the test indices and the
    probability an exact zero of the responses is read as (one for all folds,
    see :func:`response_floor`).
    """
    folds = _DEFAULT_FOLDS if cv is None else cv
    splitter = check_cv(folds, y, classifier=True)
    splits = list(splitter.split(X, y, **(split_params or {})))
    _check_training_parts(splits, y_index, classes)
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_fold)(
            clone(estimator), X, y, fit_params, train, test, response_method, classes
        )
        for train, test in splits
    )
    fitted = [fold_estimator for fold_estimator, _ in results]
    responses = [response for _, response in results]
    floor = response_floor(responses, response_method)
    logits = [response_logits(response, response_method, floor) for response in responses]
    return fitted, logits, [test for _, test in splits], floor


def _resolve_response_method(estimator, response_method):
    if response_method == "auto":
        for method in ("decision_function", "predict_log_proba", "predict_proba"):
            if hasattr(estimator, method):
                return method
        raise ValueError(
            f"{type(estimator).__name__} has neither decision_function nor "
            "predict_proba, so it gives no scores to calibrate."
        )
    if not hasattr(estimator, response_method):
        raise ValueError(
            f"response_method={response_method!r} but {type(estimator).__name__} "
            f"has no {response_method} method; use response_method='auto'."
        )
    return response_method


def classifier_logits(estimator, X, response_method, classes, floor=None):
    """Logits of a fitted classifier in the column order of ``classes`` (its
    probabilities below ``floor`` read as ``floor``)."""
    response = classifier_response(estimator, X, response_method, classes)
    return response_logits(response, response_method, floor)


def fit_classifier_logits(estimator, X, response_method, classes):
    """:func:`classifier_logits` on a calibrator's fitting data, and the floor of
    the response's exact zeros (:func:`response_floor`)."""
    response = classifier_response(estimator, X, response_method, classes)
    floor = response_floor([response], response_method)
    return response_logits(response, response_method, floor), floor


def classifier_response(estimator, X, response_method, classes):
    """The output of a fitted classifier's ``response_method``, its columns in the
    order of ``classes``, as a float array (the log of a zero probability as the
    log of the dtype's smallest normal)."""
    if not np.array_equal(estimator.classes_, classes):
        missing = np.setdiff1d(classes, estimator.classes_)
        raise ValueError(
            f"The classifier was fitted without the classes "
            f"{[plain(c) for c in missing]} (it knows "
            f"{[plain(c) for c in estimator.classes_]}, the calibration data has "
            f"{[plain(c) for c in classes]}). With cross-fitting, every training fold "
            "must hold every class: use fewer folds or a stratified splitter."
        )
    with np.errstate(divide="ignore"):  # log(0) of predict_log_proba is floored below
        raw = getattr(estimator, response_method)(X)
    if response_method == "predict_log_proba":
        raw = np.maximum(raw, np.log(probability_floor(np.asarray(raw).dtype)))
    return as_float_array(raw, name=f"The output of {response_method}")


def response_floor(responses, response_method):
    """The probability an exact zero of a classifier's probabilities (or ``-inf``
    of its log-probabilities) is read as, or None, over ``responses`` (a list:
    the folds' out-of-fold responses, taken together without joining them; see
    :mod:`skcal.rows._zero_probabilities`)."""
    if response_method == "predict_proba":
        parts = [probability_extremes(response) for response in responses]
    elif response_method == "predict_log_proba":
        parts = [_log_extremes(response) for response in responses]
    else:
        return None
    extremes = parts[0]
    for part in parts[1:]:
        extremes = combine_extremes(extremes, part)
    return floor_of_extremes(extremes)


def _log_extremes(log_proba):
    """(smallest positive probability, number of zeros) of log-probabilities whose
    zeros :func:`classifier_response` took at the log of the smallest normal."""
    zero = log_proba <= np.log(probability_floor(log_proba.dtype))
    return np.array([float(np.exp(np.min(log_proba, where=~zero, initial=np.inf))),
                     float(zero.sum())])


def response_logits(response, response_method, floor):
    """The logits of a classifier's response (:func:`classifier_response`)."""
    if response_method == "predict_log_proba":
        response = np.maximum(response, np.log(reading_floor(response.dtype, floor)))
        if response.shape[1] == 2:
            response = response[:, 1] - response[:, 0]
    if response_method == "predict_proba":
        if response.ndim == 2 and response.shape[1] == 2:
            response = response[:, 1]
        return scores_to_logits(response, "probabilities", floor=floor)
    if response.ndim == 1 or response.shape[1] == 1:
        return binary_logits(response.reshape(-1))
    return response


def _check_training_parts(splits, y_index, classes):
    """Refuse a split whose training part lacks a class: its classifier could
    not give that class a score."""
    counts = np.bincount(y_index, minlength=len(classes))
    for number, (train, _) in enumerate(splits):
        present = np.bincount(y_index[train], minlength=len(classes)) > 0
        if present.all():
            continue
        missing = [plain(c) for c in classes[~present]]
        singles = [plain(c) for c in classes[(counts == 1) & ~present]]
        reason = (
            f"class(es) {singles} have a single sample, which is left out of the "
            "training part of the fold that holds it; add samples of those classes "
            "or remove them"
            if singles
            else "use a stratified splitter or fewer folds"
        )
        raise ValueError(
            f"The training part of fold {number} has no sample of class(es) "
            f"{missing}, so its classifier cannot score them: {reason}."
        )
