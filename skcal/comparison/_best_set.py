"""Which models may be the best: a confidence set of the best model that
accounts for the best having been chosen on the same rows, among all the models.

A difference to the best is small by selection: with ten equally good models,
the two-sided p-values of the differences to the one that scored best fall
below 0.05 for some model in most samples (67 % of 150 seeded samples of 2000
rows, ``tests/comparison/test_best_set.py``). The set here is built from every pair of models at once:
model ``i`` leaves it when its largest standardised NLL excess over any other
model, ``max_j (NLL_i - NLL_j) / se_ij``, passes the 1 - alpha quantile of that
maximum over all pairs under no difference, drawn from the multivariate t law of
the models' NLLs (their cluster-robust covariance, and ``n_units - 1`` degrees of
freedom, as the pairwise p-values take them). With probability at least
1 - alpha (asymptotically), every model whose expected NLL is the lowest stays
in the set. A model's p-value is the smallest alpha at which it leaves.
"""

import numpy as np

# draws of the maximum under no difference: p-values carry a Monte Carlo error
# of at most 0.0035 (sqrt(0.25 / 20000)); fewer draws for hundreds of models
_DRAWS = 20_000
_PAIR_VALUES_PER_DRAW_BATCH = 2**22
_PAIR_VALUES_IN_ALL = 4 * 10**8
# rows a block when the rows themselves are the units
_ROWS_PER_BLOCK = 2**16


def covariance_of_rows(log_liks, weight, unit, n_units):
    """The cluster-robust covariance of the models' mean log-likelihoods from
    each row's log-likelihood under each model (``log_liks``, a list of
    vectors), over ``unit`` (each row's group as 0..G-1, or None: the rows
    themselves, taken a block at a time)."""
    total = float(weight.sum())
    if unit is not None:
        sums = np.column_stack([np.bincount(unit, weights=weight * lp) for lp in log_liks])
        return covariance_of_units(sums, np.bincount(unit, weights=weight), total, n_units)
    means = np.array([float(weight @ lp) for lp in log_liks]) / total
    gram = np.zeros((len(log_liks), len(log_liks)))
    for start in range(0, weight.shape[0], _ROWS_PER_BLOCK):
        rows = slice(start, start + _ROWS_PER_BLOCK)
        residual = np.column_stack([lp[rows] for lp in log_liks]) - means
        residual *= weight[rows, None]
        gram += residual.T @ residual
    return n_units / max(n_units - 1, 1) * gram / total**2


def covariance_of_units(unit_sums, unit_weights, total, n_units):
    """The cluster-robust covariance of the models' mean log-likelihoods from
    each unit's (group's, or row's) sums: ``unit_sums`` (units x models) of
    ``w log p``, ``unit_weights`` their weights.

    >>> sums = np.array([[1.0, 2.0], [3.0, 6.0]])  # the second model: twice the first
    >>> covariance_of_units(sums, np.ones(2), 2.0, 2)
    array([[1., 2.],
           [2., 4.]])
    """
    means = unit_sums.sum(axis=0) / total
    residual = unit_sums - np.outer(unit_weights, means)
    return n_units / max(n_units - 1, 1) * (residual.T @ residual) / total**2


def covariance_of_moments(moments):
    """The same covariance from sums over the units (as Spark returns them):
    ``products`` (units' sums, model by model), ``by_weight``, ``weight_squares``,
    ``sums``, ``weight`` and ``units``."""
    total, units = moments["weight"], moments["units"]
    means = np.asarray(moments["sums"], dtype=np.float64) / total
    p = np.asarray(moments["by_weight"], dtype=np.float64)
    gram = (np.asarray(moments["products"], dtype=np.float64) - np.outer(means, p)
            - np.outer(p, means) + moments["weight_squares"] * np.outer(means, means))
    return units / max(units - 1, 1) * gram / total**2


def best_set_pvalues(nlls, covariance, zeros, seed=0, n_units=None):
    """Each model's p-value of being among the best (see the module's text).

    ``nlls`` are the models' NLLs, ``covariance`` that of their mean
    log-likelihoods over ``n_units`` independent units (None: many), ``zeros``
    their rows of probability 0: a model with such rows has an infinite NLL and
    is never among the best (p-value 0) when some model has none.

    >>> cov = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]]) * 1e-4
    >>> p = best_set_pvalues(np.array([1.00, 1.001, 1.10]), cov, np.zeros(3))
    >>> bool(p[0] == 1.0 and p[1] > 0.5 and p[2] < 1e-3)
    True
    """
    nlls, zeros = np.asarray(nlls, dtype=np.float64), np.asarray(zeros)
    n_models = nlls.shape[0]
    variance = np.diagonal(covariance)
    pair_variance = variance[:, None] + variance[None, :] - 2 * covariance
    scale = np.sqrt(np.clip(pair_variance, 0.0, None))
    compared = scale > 0  # identical models are not compared
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(compared, (nlls[:, None] - nlls[None, :]) / scale, -np.inf)
    observed = excess.max(axis=1)  # -inf: a model equal to every other, kept (below)
    maxima = _null_maxima(covariance, scale, compared, seed, n_units)
    pvalues = (1 + (maxima[None, :] >= observed[:, None]).sum(axis=1)) / (1 + maxima.shape[0])
    pvalues[observed <= 0] = 1.0  # no model scored better than it (or all equal it)
    if (zeros == 0).any():
        pvalues[zeros > 0] = 0.0
    return pvalues if n_models > 1 else np.ones(n_models)


def _null_maxima(covariance, scale, compared, seed, n_units=None):
    """Draws of ``max_{i,j} (T_i - T_j) / se_ij`` with ``T = Z / sqrt(V / nu)``,
    ``Z ~ N(0, covariance)`` and ``V ~ chi2(nu)``, ``nu = n_units - 1`` (the
    normal law's ``Z`` itself without ``n_units``)."""
    n_models = covariance.shape[0]
    eigenvalues, vectors = np.linalg.eigh(covariance)
    root = vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
    inverse_scale = np.where(compared, 1.0 / np.where(compared, scale, 1.0), 0.0)
    draws = int(min(_DRAWS, max(2_000, _PAIR_VALUES_IN_ALL // n_models**2)))
    batch = max(1, _PAIR_VALUES_PER_DRAW_BATCH // n_models**2)
    rng = np.random.default_rng(seed)
    maxima = []
    for start in range(0, draws, batch):
        z = rng.standard_normal((min(batch, draws - start), n_models)) @ root.T
        pairs = (z[:, :, None] - z[:, None, :]) * inverse_scale
        maxima.append(pairs.reshape(pairs.shape[0], -1).max(axis=1))
    maxima = np.concatenate(maxima)
    if n_units is None:
        return maxima
    nu = max(n_units - 1, 1)  # the scales drawn apart, so that the normal draws stay
    return maxima / np.sqrt(np.random.default_rng([seed, 1]).chisquare(nu, draws) / nu)
