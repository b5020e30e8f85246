"""The folds' results gathered: the per-method table, the paired NLL differences
to the best with their standard errors and p-values, and calibration tests of the
pooled out-of-fold predictions."""

import inspect
from collections.abc import Mapping

import numpy as np

from ..stats import calibration_test as run_calibration_test
from ..stats._calibration_test import TEST_METHODS
from ._model_results import zero_probability_rows
from ._paired_errors import clustered_variance, paired_pvalue, t_quantile
from ._result import BUILTIN_METRICS, TIE_LEVEL


def aggregate_folds(candidates, fold_results, y_index, sample_weight, scorers, groups=None):
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
        diff, se = _paired_difference(log_p[best], log_p[name], fold_results, sample_weight,
                                      groups)
        diffs.append(diff)
        ses.append(se)
    results["nll_diff_to_best"] = np.array(diffs)
    results["nll_diff_se"] = np.array(ses)
    dof = _degrees_of_freedom(fold_results, sample_weight, groups)
    results["nll_diff_pvalue"] = np.array([_difference_pvalue(d, se, dof)
                                           for d, se in zip(diffs, ses)])
    results["n_zero_probability"] = np.array(
        [zero_probability_rows(log_p[name], sample_weight) for name in names])
    # within the noise: the t quantile of 2 standard errors of the normal law, so that
    # a method is tied exactly when its p-value is above 1 - TIE_LEVEL
    tie = t_quantile(TIE_LEVEL, dof)
    results["tied_with_best"] = (np.abs(results["nll_diff_to_best"]) <= (
        tie * results["nll_diff_se"])) & (results["n_zero_probability"] == 0)
    results["mean_fit_time"] = np.array(
        [np.mean([fold[2][name]["fit_time"] for fold in fold_results]) for name in names]
    )
    return results, (tie, dof)


def _paired_difference(best_log_p, log_p, fold_results, sample_weight, groups=None):
    """Mean over splits of the NLL difference to the best, and its standard error.

    Within a split, the per-sample differences give the standard error of that
    split's mean difference; the splits' means are averaged, so their variances
    add with weight ``1 / n_splits^2``. With ``groups`` (0..G-1 per row), that
    standard error is cluster-robust: the weighted residuals are summed per
    group, and the groups taken as the independent units.
    """
    means, variances = [], []
    for _, test, _ in fold_results:
        d = best_log_p[test] - log_p[test]  # NLL(method) - NLL(best), per sample
        if sample_weight is None:
            w = np.full(d.shape[0], 1.0 / d.shape[0])
        else:
            w = sample_weight[test] / sample_weight[test].sum()
        mean = w @ d
        means.append(mean)
        if groups is not None:
            n_groups = np.unique(groups[test][w > 0]).shape[0]
            variances.append(clustered_variance(w * (d - mean), groups[test], n_groups))
            continue
        n_effective = 1.0 / (w @ w)
        spread = w @ (d - mean) ** 2 * n_effective / max(n_effective - 1.0, 1.0)
        variances.append(spread / n_effective)
    k = len(means)
    return float(np.mean(means)), float(np.sqrt(np.sum(variances)) / k)


def _degrees_of_freedom(fold_results, sample_weight, groups):
    """The degrees of freedom of the differences' standard errors: each split's
    units (groups, or rows, with weight) less one, summed over the splits, and
    at most the units less one (splits that repeat rows add none)."""
    units, dof = set(), 0
    for _, test, _ in fold_results:
        counted = test if sample_weight is None else test[sample_weight[test] > 0]
        tested = counted if groups is None else np.unique(groups[counted])
        units.update(tested.tolist())
        dof += max(tested.shape[0] - 1, 0)
    return max(min(dof, len(units) - 1), 1)


def _difference_pvalue(difference, standard_error, dof):
    """Two-sided p-value of a paired NLL difference being zero: Student's t with
    ``dof`` degrees of freedom (see :func:`~skcal.comparison._paired_errors.paired_pvalue`)."""
    if standard_error > 0:
        return paired_pvalue(difference, standard_error, dof)
    return 1.0 if difference == 0 else 0.0


def check_calibration_test(calibration_test, sample_weight, groups=None):
    """Refuse, before any fold is fitted, a ``calibration_test=`` that
    :func:`calibration_pvalues` could not run, naming it as the caller does.

    Examples
    --------
    >>> check_calibration_test({"method": "skce", "estimator": "linear"}, None)
    >>> check_calibration_test("chi2", None)
    Traceback (most recent call last):
    ...
    ValueError: calibration_test='chi2' is not a test; give one of 'consistency', 'skce', 'spiegelhalter', 'hosmer_lemeshow', or a dict of skcal.stats.calibration_test's arguments.
    """
    if calibration_test is None:
        return
    method = (calibration_test if isinstance(calibration_test, str)
              else calibration_test.get("method", "consistency")
              if isinstance(calibration_test, Mapping) else None)
    if sample_weight is not None and method in ("skce", "hosmer_lemeshow"):
        raise ValueError(
            f"calibration_test={method!r} takes no weights, and sample_weight was given; "
            "use 'consistency' or 'spiegelhalter', which weigh each row's term, or leave "
            "one of them out."
        )
    if groups is not None:
        raise ValueError(
            "calibration_test= takes the rows as independent, and groups says they are not "
            "(its p-values would be too small); leave one of them out."
        )
    methods = ", ".join(repr(method) for method in TEST_METHODS)
    if isinstance(calibration_test, str):
        if calibration_test not in TEST_METHODS:
            raise ValueError(f"calibration_test={calibration_test!r} is not a test; give one of "
                             f"{methods}, or a dict of skcal.stats.calibration_test's "
                             "arguments.")
        return
    if not isinstance(calibration_test, Mapping):
        raise TypeError(f"calibration_test must be a test's name ({methods}) or a dict of "
                        f"its arguments; got {type(calibration_test).__name__}.")
    taken = set(inspect.signature(run_calibration_test).parameters) - {"y_true", "y_prob",
                                                                       "labels"}
    unknown = sorted(set(calibration_test) - taken)
    if unknown:
        raise ValueError(f"calibration_test has arguments {unknown} that "
                         f"skcal.stats.calibration_test does not take; it takes "
                         f"{sorted(taken)}.")
    check_calibration_test(calibration_test.get("method", "consistency"), None, None)


def calibration_pvalues(calibration_test, names, predictions, y_index, random_state,
                        sample_weight=None):
    """Each method's calibration-test p-value on its pooled out-of-fold predictions
    (``calibration_test`` checked by :func:`check_calibration_test`), the rows
    weighted as in the comparison."""
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
        run_calibration_test(y_index, predictions[name], labels=labels,
                             sample_weight=sample_weight, **options).pvalue
        for name in names
    ])
