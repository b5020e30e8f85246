"""The final fits of :func:`~skcal.compare_calibrators`: the best method and
the recommended one (or every one, given a test set) fitted on all the data."""

import numpy as np
from sklearn.base import clone

from ..calibrators._base import BaseCalibrator
from ..calibrators._sharing import fit_sharing
from ..utils._reuse import FoldCache
from ..utils._threads import one_blas_thread
from ._fold_scoring import checked_candidate_proba, fold_metrics
from ._outer_folds import inner_splits
from ._test_set import index_labels


def refit(candidate, X, y, sample_weight, estimator, response_method, grouping,
          starts=None, fit_params=None):
    """The candidate fitted on all the data, wrapping the classifier if there is one
    (cross-fitted over folds that keep the ``grouping``'s groups whole, if any:
    ``(groups or None, random_state)``; ``fit_params`` passed to the
    classifier's fit as the calibrator passes them). On scores, its iterative fits start
    where the first fold's ended (``starts``, see
    :func:`~skcal.utils._reuse.offer_start`)."""
    calibrator = clone(candidate)
    if estimator is None:  # BLAS on one thread, as in the folds
        with one_blas_thread():
            return fit_sharing(calibrator, X, y, sample_weight, FoldCache(starts=starts))
    params = {"estimator": clone(estimator), "response_method": response_method,
              "score_type": "auto"}
    groups, random_state = grouping
    if groups is not None:  # a candidate's own cv is refused: it is the default
        params["cv"] = inner_splits(np.asarray(y), groups, random_state)
    accepted = calibrator.get_params()
    calibrator.set_params(**{k: v for k, v in params.items() if k in accepted})
    return calibrator.fit(X, y, sample_weight=sample_weight, **(fit_params or {}))


def score_test_set(candidates, X, y, classes, sample_weight, X_test, y_test, estimator,
                   response_method, grouping, starts=None, fit_params=None):
    """Every candidate fitted on all the data and scored on the test set; the
    columns of a candidate without ``classes_`` are taken to be ``classes`` (the
    sorted labels of ``y``).

    Returns the metrics and the fitted candidates, by name.
    """
    results, fitted = {}, {}
    for name, candidate in candidates.items():
        fitted[name] = refit(candidate, X, y, sample_weight, estimator, response_method,
                             grouping, starts, fit_params)
        try:
            proba = fitted[name].predict_proba(X_test)
        except ValueError as exc:  # its message names the input X
            raise ValueError(f"X_test could not be scored by {name}, fitted on X and y: "
                             f"{exc}") from exc
        columns = getattr(fitted[name], "classes_", classes)
        y_index = index_labels(y_test, columns)
        if not isinstance(fitted[name], BaseCalibrator):
            proba = checked_candidate_proba(name, proba, y_index.shape[0], columns.shape[0])
        _, results[name] = fold_metrics(y_index, proba, None)
    return results, fitted
