"""Ranking calibration methods by held-out NLL, with paired uncertainty."""

import time
from contextlib import nullcontext

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from ..rows._row_order import check_row_order
from ..calibrators._base import BaseCalibrator
from ..calibrators._sharing import fit_sharing, predict_proba_sharing
from ..rows._namespaces import is_dask, to_numpy
from ..utils._reuse import AllRows, FoldCache, offered_starts
from ..utils._threads import one_blas_thread
from ..utils._warnings import once_per_call
from ._classifier_folds import (
    checked_fit_params,
    classifier_fit_params,
    classifier_fold_scores,
)
from ._candidates import (
    named_candidates,
    prepare_classifier,
    prepare_scores,
    resolve_scorers,
    without_slow_defaults,
)
from ._fold_scoring import checked_candidate_proba, fold_metrics, fold_proba, held_scores
from ._out_of_fold import OutOfFoldPredictions
from ._fold_results import aggregate_folds, calibration_pvalues, check_calibration_test
from ._outer_folds import checked_groups, inner_splits, outer_splits
from ._result import CalibratorComparison, recommended_method
from ._token_rows import token_inputs
from ._final_fits import refit, score_test_set
from ._test_set import check_test_set


def _evaluate_fold(candidates, train_scores, train_y, train_w, test_scores, test_y, test_w,
                   scorers, labels, verbose, fold, starts=None, all_rows=None):
    """Fit every candidate on the training scores, score it on the test scores.

    What several candidates compute alike from the same scores (the logits of
    probabilities, the one-vs-rest log-odds, the temperature and vector-scaling
    fits that matrix scaling starts from) is computed once for the fold, in the
    fold's :class:`~skcal.utils._reuse.FoldCache` that each skcal candidate
    gets as an argument; Platt scaling starts from the temperature fit's slope
    and beta calibration from Platt scaling's fit (see
    :mod:`skcal.utils._reuse`); fit times are then those of the work each
    candidate did. The iterative fits start where the first fold's ended
    (``starts``, see :func:`~skcal.utils._reuse.offer_start`). Given
    ``all_rows`` (the comparison's :class:`~skcal.utils._reuse.AllRows`, and
    the rows of the training and the test scores), what is computed on all the
    rows once is shared by every fold.

    Returns each candidate's results, and the fits this fold offers as the
    other folds' starts.
    """
    cache = FoldCache(train_scores, test_scores, starts=starts, all_rows=all_rows)
    results = {}
    for name, calibrator in candidates.items():
        start = time.perf_counter()
        fitted = fit_sharing(clone(calibrator), train_scores, train_y, train_w, cache)
        fit_time = time.perf_counter() - start
        proba = predict_proba_sharing(fitted, test_scores, cache)
        if not isinstance(fitted, BaseCalibrator):  # skcal's maps predict probabilities
            proba = checked_candidate_proba(name, proba, test_y.shape[0], labels.shape[0])
        log_p, metrics = fold_metrics(test_y, proba, test_w)
        for scorer_name, scorer in scorers.items():
            metrics[scorer_name] = scorer(fitted, test_scores, test_y)
        # the fitted method is kept, not its probabilities (see OutOfFoldPredictions)
        results[name] = {"fitted": fitted, "log_p": log_p, "metrics": metrics,
                         "fit_time": fit_time}
        if verbose:
            print(f"[compare] fold {fold}: {name} fitted in {fit_time:.3f} s, "
                  f"NLL {metrics['nll']:.4f}")
    return results, offered_starts(cache)


def compare_calibrators(
    X,
    y,
    *,
    estimator=None,
    calibrators=None,
    cv=5,
    scoring=None,
    sample_weight=None,
    groups=None,
    score_type="auto",
    response_method="auto",
    fit_params=None,
    X_test=None,
    y_test=None,
    n_jobs=None,
    random_state=0,
    verbose=0,
    calibration_test=None,
    ignore_index=None,
):
    """Rank calibration methods by held-out NLL, with paired uncertainty.

    Every method is fitted on ``cv - 1`` folds of the calibration data and
    scored on the held-out fold; the folds are the same for every method, so
    their differences are paired. With a classifier, the classifier is trained
    inside the training folds too: in each fold it is cross-fitted (5 inner
    folds) to give out-of-fold scores, on which every method fits its map, and
    refitted on the whole training part to score the held-out fold. No score is
    ever in-sample. An ``uncalibrated`` row gives the baseline (with a classifier
    whose probabilities hold exact zeros, its scores read them as every method
    does, at half the smallest positive probability of the training part's
    out-of-fold scores: see ``probability_floor_`` of the calibrators).

    Parameters
    ----------
    X : array-like
        Scores (logits or probabilities, as for a calibrator without a
        classifier; a DataFrame's columns named after the classes, ``dog,
        cat, bird``, are read as those classes, in any order), or the
        classifier's input when ``estimator`` is given. Token scores of shape
        ``(batch, length, n_classes)`` are read as ``batch * length`` rows,
        each sequence a group (see ``groups``). Scores are held in memory
        (the folds take rows by index): a Dask array is read once, whole.

    y : array-like of shape (n_samples,) or (batch, length)
        True labels.

    estimator : classifier, default=None
        A classifier whose outputs are calibrated; None means ``X`` holds scores.

    calibrators : list or dict of calibrators or names, default=None
        The candidates, unfitted and without a classifier: any estimator with
        ``fit(scores, y, sample_weight=None)`` and ``predict_proba(scores)``
        (probabilities of shape ``(n_samples, n_classes)``, columns in the
        sorted order of the labels; other output is refused, naming the
        candidate), or the name of a skcal calibrator, as its class name
        (``'TemperatureScaling'``) or the command line's short name
        (``'temperature'``). A dict gives their names. None compares every
        calibrator skcal has, except :class:`MatrixScaling` beyond 500
        classes (its ``K (K + 1)`` parameters take minutes a fit there), which
        a warning names.

    cv : int or cross-validation generator, default=5
        The outer folds; an integer gives stratified folds shuffled with
        ``random_state`` (stratified group folds with ``groups``), or plain
        shuffled folds where no class has ``cv`` rows (the tokens of a large
        vocabulary can all be rarer than that).

    groups : array-like of shape (n_samples,), default=None
        The group of each row (a patient, a document, an image's crops): a
        group is never split between training and held-out folds, nor, with a
        classifier, between the folds it is cross-fitted over (for the
        comparison and for the refits, whose ``cv`` holds those folds); the
        standard errors of the differences are cluster-robust over the groups
        (rows of one group are not independent evidence). Not with
        ``calibration_test``, whose tests take rows as independent. For token
        scores, one group per sequence (shape ``(batch,)``, a document id) or
        per token; by default each sequence is its own group.

    scoring : str, callable, list or dict, default=None
        More metrics per fold: a scorer name or a list of them (see
        :func:`skcal.metrics.get_scorer`), ``{name: scorer}``, or one scorer
        (named ``'score'``, as in scikit-learn's ``cross_validate``), each
        scorer called as ``scorer(fitted_calibrator, test_scores, test_y)``;
        ``test_y`` holds column indices.

    sample_weight : array-like of shape (n_samples,), default=None
        Weights for fitting and for every metric. On scores, rows of weight 0
        count for nothing and may have any label, a missing one (None, NaN)
        included, as in a calibrator's fit.

    score_type : {'auto', 'logits', 'probabilities'}, default='auto'
        Without a classifier: how ``X`` is read (as for the calibrators).

    response_method : {'auto', 'decision_function', 'predict_log_proba', \
            'predict_proba'}, default='auto'
        With a classifier: which output is calibrated.

    fit_params : dict, default=None
        With a classifier: parameters of its ``fit`` by name, as
        ``CalibratedClassifierCV.fit`` and scikit-learn's ``cross_validate``
        take them. A value holding one entry per row of ``X`` is taken on
        the rows of each fit (every inner and outer fold and the final fits);
        any other is passed whole. With metadata routing enabled
        (``sklearn.set_config(enable_metadata_routing=True)``), only those the
        classifier requests, and one it does not consume is refused. Weights
        go in ``sample_weight``, not here. Refused without a classifier.

    X_test, y_test : array-like, default=None
        An optional test set: every method is also fitted on all of ``X`` and
        scored on it (``test_results_``).

    n_jobs : int, default=None
        Folds evaluated in parallel through joblib (a Dask or Ray joblib backend
        can spread them over a cluster). On scores, the first fold is fitted
        before the others (the later folds start some fits from its), and
        every fold's fits run BLAS on one thread (their products, per row
        block, are too small for threads to pay), whatever ``n_jobs``.

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
        ``random_state``. With ``sample_weight``, the rows are weighted as in
        the comparison (``'consistency'`` and ``'spiegelhalter'`` only).

    ignore_index : label, default=None
        Rows labelled this (``-100``, the padding of Hugging Face batches)
        are left out, of the test set too; ``predictions_`` holds the rows
        kept.

    Returns
    -------
    comparison : CalibratorComparison
        ``print(comparison)`` shows the ranked table; ``best_calibrator_``
        and ``recommended_calibrator_`` are those methods refitted on all the
        data, ready to use.

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
        return _compare(X, y, estimator, calibrators, cv, scoring, sample_weight, groups,
                        score_type, response_method, fit_params, X_test, y_test, n_jobs,
                        random_state, verbose, calibration_test, ignore_index)


def _compare(X, y, estimator, calibrators, cv, scoring, sample_weight, groups, score_type,
             response_method, fit_params, X_test, y_test, n_jobs, random_state, verbose,
             calibration_test, ignore_index):
    if y is None:
        raise ValueError("compare_calibrators needs y, the labels of the rows of X, to score "
                         "every method on held-out rows; got y=None.")
    fit_params = checked_fit_params(fit_params, estimator, X, y, ignore_index)
    if estimator is None:  # device scores: the folds' fits and metrics run on the host
        X, y, sample_weight, groups, X_test, y_test = to_numpy(
            (X, y, sample_weight, groups, X_test, y_test))
        if is_dask(X_test):  # scored in memory, as X's held-out folds are: read once
            X_test = np.asarray(X_test)
    if estimator is None or ignore_index is not None:  # token scores, padding
        X, y, groups, sample_weight, X_test, y_test = token_inputs(
            X, y, groups, sample_weight, X_test, y_test, ignore_index, calibration_test)
    candidates = named_candidates(calibrators)
    scorers = resolve_scorers(scoring)
    check_test_set(X_test, y_test)
    check_calibration_test(calibration_test, sample_weight, groups)
    if estimator is None and response_method != "auto":
        raise ValueError("response_method has no effect without a classifier (X holds "
                         "scores); leave it at 'auto' or pass estimator=.")
    if estimator is not None and score_type != "auto":
        raise ValueError("score_type has no effect with a classifier (the scores come from "
                         "its response_method); leave it at 'auto'.")
    check_row_order(X=X, y=y, sample_weight=sample_weight, groups=groups)
    if estimator is None:
        prepared = prepare_scores(X, y, sample_weight, score_type, candidates)
    else:
        prepared = prepare_classifier(X, y, sample_weight, estimator, candidates)
    # the final fits take the scores as given (a DataFrame's column names are kept),
    # but a Dask array as the checks read it into memory: read once, and taken by
    # every map, also those that need all the rows at once (the baseline, isotonic)
    given_X = X if estimator is None and not is_dask(X) else prepared[0]
    X, y_index, classes, sample_weight, candidates = prepared
    # the classifier's fit parameters and weights as its calibrators' fits pass them
    # (routed, if so set)
    classifier_params = (None if estimator is None else
                         classifier_fit_params(estimator, sample_weight, fit_params))
    if calibrators is None:
        candidates = without_slow_defaults(candidates, classes.shape[0])
    labels = np.arange(classes.shape[0])
    groups = checked_groups(groups, y_index.shape[0])
    splits = outer_splits(cv, y_index, groups, random_state)

    # given scores in memory: what every fold computes on its rows, done once
    all_rows = AllRows(X) if estimator is None and type(X) is np.ndarray else None

    def fold_task(fold, train, test, starts=None):
        if estimator is None:
            train_scores, test_scores = X[train], X[test]
        else:
            # the training rows in the order of their out-of-fold scores
            train, train_scores, test_scores = classifier_fold_scores(
                estimator, X, y_index, train, test, classifier_params, response_method, labels,
                inner_splits(y_index[train], None if groups is None else groups[train],
                             random_state, name=f"The training part of outer fold {fold}"))
        train_w = None if sample_weight is None else sample_weight[train]
        test_w = None if sample_weight is None else sample_weight[test]
        # on scores, the fits' products are per row block, too small for BLAS threads
        # to pay: between them, the idle threads spin against the main one
        with one_blas_thread() if estimator is None else nullcontext():
            per_method, offered = _evaluate_fold(
                candidates, train_scores, y_index[train], train_w, test_scores,
                y_index[test], test_w, scorers, labels, verbose, fold, starts,
                None if all_rows is None else (all_rows, train, test),
            )
        # a classifier's held-out scores are kept for the predictions; X's rows are X's
        return train, test, per_method, None if estimator is None else test_scores, offered

    outcomes = _fold_outcomes(fold_task, splits, n_jobs, warm=estimator is None)
    fold_results = [outcome[:3] for outcome in outcomes]
    cv_results, tie = aggregate_folds(candidates, fold_results, y_index, sample_weight,
                                      scorers, groups)
    predictions = OutOfFoldPredictions(y_index.shape[0], [
        (test, held_scores(X, test, scores), {name: per_method[name]["fitted"]
                                              for name in candidates})
        for _, test, per_method, scores, _ in outcomes
    ], fold_proba)
    if calibration_test is not None:
        cv_results["calibration_pvalue"] = calibration_pvalues(
            calibration_test, list(candidates), predictions, y_index, random_state,
            sample_weight)
    best = cv_results["method"][int(np.argmin(cv_results["mean_test_nll"]))]
    recommended = recommended_method(cv_results)
    test_results, refitted = None, {}
    starts = outcomes[0][-1] if estimator is None else None  # the first fold's fits
    if X_test is not None or y_test is not None:
        test_results, refitted = score_test_set(
            candidates, given_X, y, classes, sample_weight, X_test, y_test, estimator,
            response_method, (groups, random_state), starts, fit_params
        )
    for name in dict.fromkeys((best, recommended)):  # each fitted once
        if name not in refitted:
            refitted[name] = refit(candidates[name], given_X, y, sample_weight, estimator,
                                   response_method, (groups, random_state), starts,
                                   fit_params)
    return CalibratorComparison(
        cv_results=cv_results,
        predictions=predictions,
        y_true=classes[y_index],
        sample_weight=sample_weight,
        classes=classes,
        best_calibrator=refitted[best],
        recommended_calibrator=refitted[recommended],
        test_results=test_results,
        n_splits=len(splits),
        n_groups=None if groups is None else int(groups.max()) + 1,
        tie=tie,
    )


def _fold_outcomes(fold_task, splits, n_jobs, warm):
    """``fold_task(fold, train, test, starts)`` of every fold, over ``n_jobs``
    processes.

    With ``warm`` (the scores given), the first fold runs first, and Platt
    scaling's and beta calibration's fits on the other folds start from its
    fits (their optima are close, as their training rows are mostly the same):
    on 10000 x 100 logits in 5 folds, Platt scaling's passes fell from 36 to
    26 and beta calibration's from 26 to 24 (``benchmarks/bench_compare.py
    --passes``). The results do not depend on ``n_jobs``; the first fold then
    precedes the others' parallel rounds. A classifier's folds all run at
    once: its fits, not the calibrators', are most of their time.
    """
    if not warm:
        return Parallel(n_jobs=n_jobs)(
            delayed(fold_task)(fold, train, test) for fold, (train, test) in enumerate(splits))
    first = fold_task(0, *splits[0])
    return [first] + Parallel(n_jobs=n_jobs)(
        delayed(fold_task)(fold, train, test, first[-1])
        for fold, (train, test) in enumerate(splits[1:], start=1))
