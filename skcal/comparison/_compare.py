"""Ranking calibration methods by held-out NLL, with paired uncertainty."""

import time
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import norm
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing, column_or_1d, indexable

from ..calibrators._classifier_scores import (
    _fit_params,
    _resolve_response_method,
    classifier_logits,
    cross_fitted_logits,
)
from ._result import (
    BASELINE,
    BUILTIN_METRICS,
    TIE_STANDARD_ERRORS,
    CalibratorComparison,
)
from ..calibrators._identity import Uncalibrated
from ._out_of_fold import OutOfFoldPredictions
from ..calibrators._registry import calibrator_class, default_calibrators
from ..utils._reuse import reusing
from ..rows._scores import (
    as_float_array,
    check_sample_weight,
    encode_labels,
    resolve_score_type,
    scores_to_logits,
)
from ..utils._warnings import once_per_call
from ..metrics import brier_score, expected_calibration_error, get_scorer
from ..metrics._checks import weighted_mean
from ..metrics._nll import true_class_log_proba
from ..stats import calibration_test as run_calibration_test

def _by_name(calibrator):
    """A calibrator given by name (short or class name) as a fresh instance."""
    return calibrator_class(calibrator)() if isinstance(calibrator, str) else calibrator


def _named_candidates(calibrators):
    if calibrators is None:
        return default_calibrators()
    if isinstance(calibrators, str):
        calibrators = [calibrators]
    if isinstance(calibrators, dict):
        named = {name: _by_name(c) for name, c in calibrators.items()}
    else:
        named = {}
        for calibrator in map(_by_name, calibrators):
            name = type(calibrator).__name__
            suffix = 2
            while name in named:
                name = f"{type(calibrator).__name__}#{suffix}"
                suffix += 1
            named[name] = calibrator
    if not named:
        raise ValueError("calibrators is empty; pass at least one calibrator, or None.")
    if BASELINE in named:
        raise ValueError(f"{BASELINE!r} is the name of the baseline row; rename that method.")
    for name, calibrator in named.items():
        if not (hasattr(calibrator, "fit") and hasattr(calibrator, "predict_proba")):
            raise ValueError(
                f"Candidate {name!r} ({type(calibrator).__name__}) has no fit and "
                "predict_proba; pass calibrators that take scores."
            )
        params = calibrator.get_params() if hasattr(calibrator, "get_params") else {}
        if params.get("estimator") is not None:
            raise ValueError(
                f"Candidate {name!r} wraps a classifier already; pass it without one "
                "and give the classifier as compare_calibrators(..., estimator=...)."
            )
    return named


def _with_score_type(calibrator, score_type):
    """A clone told how to read the scores, when it takes that parameter."""
    calibrator = clone(calibrator)
    if "score_type" in calibrator.get_params():
        calibrator.set_params(score_type=score_type)
    return calibrator


def _fold_metrics(y_index, proba, sample_weight, labels):
    """Per-sample log-probabilities of the true class, and the built-in metrics.

    Accuracy is that of ``argmax(proba)``: skcal calibrators separate exact ties
    in ``predict_proba`` by the uncalibrated scores, so this is their ``predict``.
    """
    log_p = true_class_log_proba(y_index, proba)
    correct = proba.argmax(axis=1) == y_index
    return log_p, {
        "nll": -weighted_mean(log_p, sample_weight),
        "ece": expected_calibration_error(
            y_index, proba, sample_weight=sample_weight, labels=labels
        ),
        "brier": brier_score(y_index, proba, sample_weight=sample_weight, labels=labels),
        "accuracy": weighted_mean(correct, sample_weight),
    }


def _evaluate_fold(candidates, train_scores, train_y, train_w, test_scores, test_y, test_w,
                   scorers, labels, verbose, fold):
    """Fit every candidate on the training scores, score it on the test scores.

    What several candidates compute alike from the same scores (the logits of
    probabilities, the one-vs-rest log-odds, the temperature and vector-scaling
    fits that matrix scaling starts from) is computed once for the fold; Platt
    scaling starts from the temperature fit's slope and beta calibration from
    Platt scaling's fit (see :mod:`skcal.utils._reuse`);
    fit times are then those of the work each candidate did.
    """
    with reusing(train_scores, test_scores):
        return _fit_and_score(candidates, train_scores, train_y, train_w, test_scores, test_y,
                              test_w, scorers, labels, verbose, fold)


def _fit_and_score(candidates, train_scores, train_y, train_w, test_scores, test_y, test_w,
                   scorers, labels, verbose, fold):
    results = {}
    for name, calibrator in candidates.items():
        start = time.perf_counter()
        fitted = clone(calibrator).fit(train_scores, train_y, sample_weight=train_w)
        fit_time = time.perf_counter() - start
        proba = fitted.predict_proba(test_scores)
        log_p, metrics = _fold_metrics(test_y, proba, test_w, labels)
        for scorer_name, scorer in scorers.items():
            metrics[scorer_name] = scorer(fitted, test_scores, test_y)
        results[name] = {"proba": proba, "log_p": log_p, "metrics": metrics, "fit_time": fit_time}
        if verbose:
            print(f"[compare] fold {fold}: {name} fitted in {fit_time:.3f} s, "
                  f"NLL {metrics['nll']:.4f}")
    return results


def compare_calibrators(
    X,
    y,
    *,
    estimator=None,
    calibrators=None,
    cv=5,
    scoring=None,
    sample_weight=None,
    score_type="auto",
    response_method="auto",
    X_test=None,
    y_test=None,
    n_jobs=None,
    random_state=0,
    verbose=0,
    calibration_test=None,
):
    """Rank calibration methods by held-out NLL, with paired uncertainty.

    Every method is fitted on ``cv - 1`` folds of the calibration data and
    scored on the held-out fold; the folds are the same for every method, so
    their differences are paired. With a classifier, the classifier is trained
    inside the training folds too: in each fold it is cross-fitted (5 inner
    folds) to give out-of-fold scores, on which every method fits its map, and
    refitted on the whole training part to score the held-out fold. No score is
    ever in-sample. An ``uncalibrated`` row gives the baseline.

    Parameters
    ----------
    X : array-like
        Scores (logits or probabilities, as for a calibrator without a
        classifier), or the classifier's input when ``estimator`` is given.

    y : array-like of shape (n_samples,)
        True labels.

    estimator : classifier, default=None
        A classifier whose outputs are calibrated; None means ``X`` holds scores.

    calibrators : list or dict of calibrators or names, default=None
        The candidates, unfitted and without a classifier: any estimator with
        ``fit(scores, y, sample_weight=None)`` and ``predict_proba(scores)``,
        or the name of a skcal calibrator, as its class name
        (``'TemperatureScaling'``) or the command line's short name
        (``'temperature'``). A dict gives their names. None compares every
        calibrator skcal has.

    cv : int or cross-validation generator, default=5
        The outer folds; an integer gives stratified folds shuffled with
        ``random_state``.

    scoring : dict or list, default=None
        More metrics per fold: scorer names (see
        :func:`skcal.metrics.get_scorer`) or ``{name: scorer}`` with
        ``scorer(fitted_calibrator, test_scores, test_y)``; ``test_y`` holds
        column indices.

    sample_weight : array-like of shape (n_samples,), default=None
        Weights for fitting and for every metric.

    score_type : {'auto', 'logits', 'probabilities'}, default='auto'
        Without a classifier: how ``X`` is read (as for the calibrators).

    response_method : {'auto', 'decision_function', 'predict_log_proba', \
            'predict_proba'}, default='auto'
        With a classifier: which output is calibrated.

    X_test, y_test : array-like, default=None
        An optional test set: every method is also fitted on all of ``X`` and
        scored on it (``test_results_``).

    n_jobs : int, default=None
        Folds evaluated in parallel through joblib (a Dask or Ray joblib backend
        can spread them over a cluster).

    random_state : int, RandomState or None, default=0
        Seed of the fold shuffling; the default gives the same folds each call.

    verbose : int, default=0
        Print the progress of each fold and method when positive.

    calibration_test : str or dict, default=None
        Also test each method's pooled out-of-fold probabilities for
        calibration with :func:`skcal.stats.calibration_test`: a method name
        (``'consistency'``, ``'skce'``, ...) or a dict of its arguments
        (``{'method': 'skce', 'estimator': 'linear'}``). The p-values are in
        ``cv_results_['calibration_pvalue']``; resampling tests are seeded with
        ``random_state``. Unweighted: not with ``sample_weight``.

    Returns
    -------
    comparison : CalibratorComparison
        ``print(comparison)`` shows the ranked table.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import compare_calibrators
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(scale=4.0, size=(3000, 3))
    >>> true = np.exp(logits / 2) / np.exp(logits / 2).sum(axis=1, keepdims=True)
    >>> y = (true.cumsum(axis=1) > rng.random((3000, 1))).argmax(axis=1)
    >>> comparison = compare_calibrators(logits, y)
    >>> comparison.ranking_[0], comparison.ranking_[-1]
    ('TemperatureScaling', 'uncalibrated')
    >>> results = comparison.cv_results_
    >>> held_out_nll = dict(zip(results["method"], results["mean_test_nll"].round(2).tolist()))
    >>> held_out_nll["uncalibrated"], held_out_nll["TemperatureScaling"]
    (0.73, 0.6)
    """
    with once_per_call():
        return _compare(X, y, estimator, calibrators, cv, scoring, sample_weight, score_type,
                        response_method, X_test, y_test, n_jobs, random_state, verbose,
                        calibration_test)


def _compare(X, y, estimator, calibrators, cv, scoring, sample_weight, score_type,
             response_method, X_test, y_test, n_jobs, random_state, verbose,
             calibration_test):
    candidates = _named_candidates(calibrators)
    scorers = _resolve_scorers(scoring)
    if estimator is None and response_method != "auto":
        raise ValueError(
            "response_method has no effect without a classifier (X holds scores); "
            "leave it at 'auto' or pass estimator=."
        )
    if estimator is not None and score_type != "auto":
        raise ValueError(
            "score_type has no effect with a classifier (the scores come from its "
            "response_method); leave it at 'auto'."
        )
    if estimator is None:
        prepared = _prepare_scores(X, y, sample_weight, score_type, candidates)
    else:
        prepared = _prepare_classifier(X, y, sample_weight, estimator, candidates)
    X, y_index, classes, sample_weight, candidates = prepared
    labels = np.arange(classes.shape[0])
    if isinstance(cv, Integral):
        splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    else:
        splitter = check_cv(cv, y_index, classifier=True)
    splits = list(splitter.split(np.zeros(y_index.shape[0]), y_index))

    def fold_task(fold, train, test):
        if estimator is None:
            train_scores, test_scores = X[train], X[test]
        else:
            # the training rows in the order of their out-of-fold scores
            train, train_scores, test_scores = _classifier_scores(
                estimator, X, y_index, train, test, sample_weight, response_method, labels
            )
        train_w = None if sample_weight is None else sample_weight[train]
        test_w = None if sample_weight is None else sample_weight[test]
        return train, test, _evaluate_fold(
            candidates, train_scores, y_index[train], train_w, test_scores, y_index[test],
            test_w, scorers, labels, verbose, fold,
        )

    fold_results = Parallel(n_jobs=n_jobs)(
        delayed(fold_task)(fold, train, test) for fold, (train, test) in enumerate(splits)
    )
    cv_results, predictions = _aggregate(candidates, fold_results, y_index, sample_weight,
                                         scorers)
    if calibration_test is not None:
        cv_results["calibration_pvalue"] = _calibration_pvalues(
            calibration_test, list(candidates), predictions, y_index, sample_weight,
            random_state,
        )
    best = cv_results["method"][int(np.argmin(cv_results["mean_test_nll"]))]
    test_results, refitted = None, {}
    if X_test is not None or y_test is not None:
        test_results, refitted = _score_test_set(
            candidates, X, y, sample_weight, X_test, y_test, estimator, response_method
        )
    if best in refitted:
        best_calibrator = refitted[best]
    else:
        best_calibrator = _refit(candidates[best], X, y, sample_weight, estimator,
                                 response_method)
    return CalibratorComparison(
        cv_results=cv_results,
        predictions=predictions,
        y_true=classes[y_index],
        sample_weight=sample_weight,
        classes=classes,
        best_calibrator=best_calibrator,
        test_results=test_results,
        n_splits=len(splits),
    )


def _resolve_scorers(scoring):
    if scoring is None:
        return {}
    if isinstance(scoring, dict):
        items = scoring.items()
    else:
        items = [(name, name) for name in scoring]
    scorers = {}
    for name, scorer in items:
        if name in BUILTIN_METRICS:
            raise ValueError(f"{name!r} is always reported; give other metrics in scoring.")
        scorers[name] = get_scorer(scorer) if isinstance(scorer, str) else scorer
    return scorers


def _prepare_scores(X, y, sample_weight, score_type, candidates):
    X = as_float_array(X)
    resolved = resolve_score_type(X, score_type)
    n_columns = scores_to_logits(X[:1], resolved).shape[1]
    classes, y_index = encode_labels(y, n_columns)
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    if X.shape[0] != y_index.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y_index.shape[0]}.")
    named = {BASELINE: Uncalibrated()}
    named.update(candidates)
    candidates = {name: _with_score_type(c, resolved) for name, c in named.items()}
    return X, y_index, classes, sample_weight, candidates


def _prepare_classifier(X, y, sample_weight, estimator, candidates):
    X, y = indexable(X, y)
    y = column_or_1d(y)
    encoder = LabelEncoder().fit(y)
    y_index = encoder.transform(y)
    sample_weight = check_sample_weight(sample_weight, y_index.shape[0])
    for name, candidate in candidates.items():
        if "estimator" not in candidate.get_params():
            raise ValueError(
                f"Candidate {name!r} has no estimator parameter, so it cannot wrap the "
                "classifier for the final refit; pass skcal-style calibrators."
            )
    named = {BASELINE: Uncalibrated()}
    named.update(candidates)
    candidates = {name: _with_score_type(c, "logits") for name, c in named.items()}
    return X, y_index, encoder.classes_, sample_weight, candidates


def _classifier_scores(estimator, X, y_index, train, test, sample_weight, response_method,
                       labels):
    """Scores of one outer fold with a classifier.

    Returns the training rows in the order of their inner out-of-fold logits,
    those logits, and the logits of the test rows from the classifier refitted
    on the whole training part.
    """
    method = _resolve_response_method(estimator, response_method)
    X_train = _safe_indexing(X, train)
    y_train = y_index[train]
    train_w = None if sample_weight is None else sample_weight[train]
    _, logits, inner_tests = cross_fitted_logits(
        estimator, X_train, y_train, y_train, train_w, cv=None,
        response_method=method, classes=labels, n_jobs=None,
    )
    refit = clone(estimator).fit(X_train, y_train, **_fit_params(estimator, train_w))
    test_logits = classifier_logits(refit, _safe_indexing(X, test), method, labels)
    return train[np.concatenate(inner_tests)], np.concatenate(logits), test_logits


def _aggregate(candidates, fold_results, y_index, sample_weight, scorers):
    names = list(candidates)
    metrics = list(BUILTIN_METRICS) + list(scorers)
    n_samples = y_index.shape[0]
    log_p = {name: np.empty(n_samples) for name in names}
    results = {"method": np.array(names, dtype=object)}
    for k, (_, test, per_method) in enumerate(fold_results):
        for metric in metrics:
            results[f"split{k}_test_{metric}"] = np.array(
                [per_method[name]["metrics"][metric] for name in names], dtype=float
            )
        for name in names:
            log_p[name][test] = per_method[name]["log_p"]
    n_splits = len(fold_results)
    for metric in metrics:
        table = np.array([results[f"split{k}_test_{metric}"] for k in range(n_splits)])
        results[f"mean_test_{metric}"] = table.mean(axis=0)
        results[f"std_test_{metric}"] = table.std(axis=0)
    mean_nll = results["mean_test_nll"]
    results["rank_test_nll"] = np.argsort(np.argsort(mean_nll, kind="stable")) + 1
    best = names[int(np.argmin(mean_nll))]
    diffs, ses = [], []
    for name in names:
        diff, se = _paired_difference(log_p[best], log_p[name], fold_results, sample_weight)
        diffs.append(diff)
        ses.append(se)
    results["nll_diff_to_best"] = np.array(diffs)
    results["nll_diff_se"] = np.array(ses)
    results["nll_diff_pvalue"] = np.array([_difference_pvalue(d, se) for d, se in zip(diffs, ses)])
    results["tied_with_best"] = np.abs(results["nll_diff_to_best"]) <= (
        TIE_STANDARD_ERRORS * results["nll_diff_se"]
    )
    results["mean_fit_time"] = np.array(
        [np.mean([fold[2][name]["fit_time"] for fold in fold_results]) for name in names]
    )
    predictions = OutOfFoldPredictions(n_samples, [
        (test, {name: per_method[name]["proba"] for name in names})
        for _, test, per_method in fold_results
    ])
    return results, predictions


def _paired_difference(best_log_p, log_p, fold_results, sample_weight):
    """Mean over splits of the NLL difference to the best, and its standard error.

    Within a split, the per-sample differences give the standard error of that
    split's mean difference; the splits' means are averaged, so their variances
    add with weight ``1 / n_splits^2``.
    """
    means, variances = [], []
    for _, test, _ in fold_results:
        d = best_log_p[test] - log_p[test]  # NLL(method) - NLL(best), per sample
        if sample_weight is None:
            w = np.full(d.shape[0], 1.0 / d.shape[0])
        else:
            w = sample_weight[test] / sample_weight[test].sum()
        mean = w @ d
        n_effective = 1.0 / (w @ w)
        spread = w @ (d - mean) ** 2 * n_effective / max(n_effective - 1.0, 1.0)
        means.append(mean)
        variances.append(spread / n_effective)
    k = len(means)
    return float(np.mean(means)), float(np.sqrt(np.sum(variances)) / k)


def _difference_pvalue(difference, standard_error):
    """Two-sided p-value of a paired NLL difference being zero (normal approximation)."""
    if standard_error > 0:
        return float(2 * norm.sf(abs(difference) / standard_error))
    return 1.0 if difference == 0 else 0.0


def _calibration_pvalues(calibration_test, names, predictions, y_index, sample_weight,
                         random_state):
    """Each method's calibration-test p-value on its pooled out-of-fold predictions."""
    if sample_weight is not None:
        raise ValueError(
            "calibration_test= runs unweighted tests, and sample_weight was given; "
            "leave one of them out."
        )
    options = ({"method": calibration_test} if isinstance(calibration_test, str)
               else dict(calibration_test))
    method = options.setdefault("method", "consistency")
    resamples = method == "consistency" or (
        method == "skce" and options.get("estimator") != "linear"
        and options.get("null") in (None, "bootstrap")
    )
    if resamples:
        options.setdefault("random_state", random_state)
    labels = np.arange(next(iter(predictions.values())).shape[1])
    return np.array([
        run_calibration_test(y_index, predictions[name], labels=labels, **options).pvalue
        for name in names
    ])


def _refit(candidate, X, y, sample_weight, estimator, response_method):
    """The candidate fitted on all the data, wrapping the classifier if there is one."""
    calibrator = clone(candidate)
    if estimator is not None:
        params = {"estimator": clone(estimator), "response_method": response_method,
                  "score_type": "auto"}
        accepted = calibrator.get_params()
        calibrator.set_params(**{k: v for k, v in params.items() if k in accepted})
    return calibrator.fit(X, y, sample_weight=sample_weight)


def _score_test_set(candidates, X, y, sample_weight, X_test, y_test, estimator,
                    response_method):
    """Every candidate fitted on all the data and scored on the test set.

    Returns the metrics and the fitted candidates, by name.
    """
    if X_test is None or y_test is None:
        raise ValueError("Give both X_test and y_test, or neither.")
    results, fitted = {}, {}
    for name, candidate in candidates.items():
        fitted[name] = _refit(candidate, X, y, sample_weight, estimator, response_method)
        proba = fitted[name].predict_proba(X_test)
        y_index = _index_labels(y_test, fitted[name].classes_)
        _, results[name] = _fold_metrics(y_index, proba, None, np.arange(proba.shape[1]))
    return results, fitted


def _index_labels(y, classes):
    y = column_or_1d(y)
    _, index = encode_labels(y, classes.shape[0], labels=classes, min_classes=1)
    return index
