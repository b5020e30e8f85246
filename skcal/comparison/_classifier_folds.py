"""A classifier inside :func:`~skcal.compare_calibrators`: the parameters of
its ``fit`` (the user's ``fit_params`` and the rows' weights) and its scores
in one outer fold."""

from collections.abc import Mapping

import numpy as np
from sklearn import get_config
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _check_method_params

from ..calibrators._classifier_scores import (
    _resolve_response_method,
    classifier_logits,
    cross_fitted_logits,
)
from ..calibrators._wrapping import classifier_weight_params, fit_router

OWNER = "compare_calibrators"


def checked_fit_params(fit_params, estimator, X, y, ignore_index):
    """``fit_params`` as a dict, checked, with their rows labelled
    ``ignore_index`` left out (as the comparison leaves those rows out of ``X``);
    refused without a classifier, whose ``fit`` is the only one they go to, and
    with a frozen one, which is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.zeros((4, 2)), np.array([0, -100, 1, 1])
    >>> params = checked_fit_params({"offset": np.arange(4.0), "steps": 3},
    ...                             LogisticRegression(), X, y, -100)
    >>> params["offset"].tolist(), params["steps"]
    ([0.0, 2.0, 3.0], 3)
    """
    if fit_params is None:
        return {}
    if not isinstance(fit_params, Mapping):
        raise TypeError(f"fit_params must be a dict of the classifier's fit parameters by "
                        f"name, {{'name': value}}; got {type(fit_params).__name__}.")
    if not fit_params:
        return {}
    if estimator is None:
        raise TypeError(
            f"compare_calibrators got fit_params {sorted(fit_params)}, which go to a "
            "classifier's fit; X holds scores and no classifier is fitted. Leave them out, "
            "or pass the classifier as estimator= and its inputs as X.")
    if isinstance(estimator, FrozenEstimator):
        raise TypeError(
            f"compare_calibrators got fit_params {sorted(fit_params)} for the classifier's "
            "fit, but a FrozenEstimator is not fitted again; leave them out, or pass the "
            "classifier unfrozen to fit it in every fold with them.")
    if "sample_weight" in fit_params:
        raise ValueError(
            "fit_params holds 'sample_weight'; pass the weights as compare_calibrators("
            "sample_weight=...): they weight every method's fit and metrics, and reach "
            "the classifier's fit too when it takes them.")
    if ignore_index is None:
        return dict(fit_params)
    kept = np.flatnonzero(np.asarray(y) != ignore_index)
    return _check_method_params(X, fit_params, indices=kept)


def classifier_fit_params(estimator, sample_weight, fit_params):
    """The parameters of the classifier's ``fit``, over all the rows: the
    checked ``fit_params`` and the rows' weights, as a calibrator wrapping it
    passes them (``sample_weight`` where its ``fit`` takes it). With
    scikit-learn's metadata routing enabled, only what the classifier requests,
    and a parameter it does not consume is refused, as scikit-learn's own
    routers refuse it (never silently dropped).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> sorted(classifier_fit_params(LogisticRegression(), np.ones(3), {"extra": 1}))
    ['extra', 'sample_weight']
    """
    if not fit_params or not get_config().get("enable_metadata_routing", False):
        return {**fit_params, **classifier_weight_params(estimator, sample_weight, OWNER)}
    router = fit_router(estimator, OWNER)
    router.validate_metadata(method="fit", params=fit_params)
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
    return dict(router.route_params(caller="fit", params={**fit_params, **weights}
                                    ).estimator.fit)


def classifier_fold_scores(estimator, X, y_index, train, test, fit_params, response_method,
                           labels, cv):
    """Scores of one outer fold with a classifier (``fit_params``: the
    parameters of its ``fit`` over all the rows, each one of a value per row
    taken on the rows of each fit).

    Returns the training rows in the order of their inner out-of-fold logits,
    those logits, and the logits of the test rows from the classifier refitted
    on the whole training part.
    """
    method = _resolve_response_method(estimator, response_method)
    X_train = _safe_indexing(X, train)
    y_train = y_index[train]
    train_params = _check_method_params(X, fit_params, indices=train)
    _, logits, inner_tests, floor = cross_fitted_logits(
        estimator, X_train, y_train, y_train, train_params, cv=cv,
        response_method=method, classes=labels, n_jobs=None,
    )
    refit = clone(estimator).fit(X_train, y_train, **train_params)
    test_logits = classifier_logits(refit, _safe_indexing(X, test), method, labels, floor)
    return train[np.concatenate(inner_tests)], np.concatenate(logits), test_logits
