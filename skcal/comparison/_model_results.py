"""The entries of a model comparison's ``results_``: from the rows' paired
differences, or from sums over the rows (a Spark DataFrame's)."""

import math

import numpy as np

from ._best_set import best_set_pvalues, covariance_of_moments
from ._paired_errors import paired_pvalue


def model_result(nll, diff, se, is_best, n_zero_probability, n_units):
    """One model's entry of ``results_``."""
    pvalue = (paired_pvalue(diff, se, n_units - 1) if not is_best and se > 0
              else (float("nan") if is_best else float(diff == 0)))
    return {"nll": nll, "nll_diff": diff, "nll_diff_se": se, "pvalue": pvalue,
            "perplexity": math.exp(nll), "bits": nll / math.log(2),
            "n_zero_probability": n_zero_probability}


def model_results(names, moments):
    """``results_`` from sums over the rows instead of the rows themselves (the
    rows of a Spark DataFrame): ``weight`` (total), ``sums`` (of ``w log p`` per
    model), ``zeros`` (rows of probability 0 per model), and over the ``units``
    (rows, or groups) that carry weight, ``products`` (of the units' sums of
    ``w log p``, model by model), ``by_weight`` (those sums times the units'
    weights) and ``weight_squares``. The paired variance of model ``m`` against
    the best ``b`` is :func:`clustered_variance` of the units' ``D - diff W``
    (``D`` the unit's sum of ``w (log p_b - log p_m)``, ``W`` its weight),
    expanded in those sums."""
    total, sums, zeros = moments["weight"], moments["sums"], moments["zeros"]
    nlls = {name: -float(sums[i]) / total for i, name in enumerate(names)}
    best = min(range(len(names)), key=lambda i: (zeros[i] > 0, nlls[names[i]]))
    q, p, units = moments["products"], moments["by_weight"], moments["units"]
    results = {}
    for i, name in enumerate(names):
        diff = float(sums[best] - sums[i]) / total
        squares = q[best, best] - 2 * q[best, i] + q[i, i]
        residual = squares - 2 * diff * (p[best] - p[i]) + diff ** 2 * moments["weight_squares"]
        se = math.sqrt(units / max(units - 1, 1) * max(float(residual), 0.0)) / total
        results[name] = model_result(nlls[name], diff, se, i == best, int(zeros[i]), units)
    add_best_set(results, covariance_of_moments(moments), units)
    return results


def add_best_set(results, covariance, n_units):
    """Each result's ``best_set_pvalue`` (see :mod:`skcal.comparison._best_set`)."""
    names = list(results)
    pvalues = best_set_pvalues([results[n]["nll"] for n in names], covariance,
                               [results[n]["n_zero_probability"] for n in names],
                               n_units=n_units)
    for name, pvalue in zip(names, pvalues):
        results[name]["best_set_pvalue"] = float(pvalue)


# the log of float32's smallest normal number: a probability at or below it is a
# zero, clipped there (or at float64's, -708) so that its log is finite
_LOG_OF_ZERO = float(np.log(np.finfo(np.float32).tiny))


def zero_probability_rows(log_p, sample_weight):
    """Rows (of positive weight) whose observed label had a probability of zero:
    their NLL is infinite, and the finite number the clip gives it says nothing
    of how wrong the model is.

    Examples
    --------
    >>> import numpy as np
    >>> zero_probability_rows(np.log([0.5, 1e-300, 0.25]), None)
    1
    """
    zero = log_p <= _LOG_OF_ZERO
    if sample_weight is not None:
        zero &= np.asarray(sample_weight) > 0
    return int(zero.sum())
