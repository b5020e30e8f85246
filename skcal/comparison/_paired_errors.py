"""The paired standard errors of :func:`~skcal.compare_models` and of the
comparison's folds: cluster-robust over groups (or rows), or a bootstrap of them."""

import numpy as np
from scipy.special import stdtr, stdtrit
from sklearn.utils import check_random_state

from ..rows._labels import group_codes

# bootstrap draws at a time: draws x resampled units of counts in memory
_BOOTSTRAP_CELLS = 2**24


def clustered_variance(weighted_residual, unit, n_units):
    """The cluster-robust variance of a sum of ``weighted_residual`` (residuals
    from the weighted mean, times the weights): summed within each unit (a
    group, or a row when rows are the units, 0..G-1 in ``unit``), and the
    ``n_units`` units that carry weight taken as independent.

    Examples
    --------
    >>> import numpy as np
    >>> clustered_variance(np.array([1.0, 1.0, -2.0]), np.array([0, 0, 1]), 2)
    16.0
    """
    residual = np.bincount(unit, weights=weighted_residual)
    return n_units / max(n_units - 1, 1) * float(residual @ residual)


def paired_pvalue(diff, se, dof):
    """The two-sided p-value of a paired difference ``diff`` being 0, from its
    standard error ``se`` with ``dof`` degrees of freedom (the independent
    units, groups or rows, less one): Student's t, as cluster-robust inference
    takes it. The normal law's thinner tails would reject equal
    models too often with few groups: 13 % of pairs at the 5 % level over 5
    groups, 8 % over 10 (t: 6 % and 5 %; ``benchmarks/bench_few_groups.py``).

    Examples
    --------
    >>> round(paired_pvalue(0.1, 0.05, 4), 3), round(paired_pvalue(0.1, 0.05, 10**6), 3)
    (0.116, 0.046)
    """
    return float(2 * stdtr(max(dof, 1), -abs(diff) / se))


def t_quantile(confidence_level, dof):
    """The half-width of a two-sided ``confidence_level`` interval, in standard
    errors with ``dof`` degrees of freedom (Student's t, as :func:`paired_pvalue`)."""
    return float(stdtrit(max(dof, 1), 0.5 + confidence_level / 2))


def by_sequence(label_shape):
    """Whether rows of labels of ``label_shape`` are the tokens of sequences
    (labels of shape ``(batch, length)``, ``length > 1``), grouped by sequence
    unless ``groups`` says otherwise."""
    return len(label_shape) > 1 and int(np.prod(label_shape[1:])) > 1


def check_units(n_units, *, by_sequence):
    """Refuse fewer than 2 units of weight, naming the fix (for the one sequence
    of token labels grouped ``by_sequence``, its windows or its flat rows)."""
    if n_units < 2 and by_sequence:
        raise ValueError("The labels hold 1 sequence with weight; a standard error over "
                         "sequences needs at least 2. Pass groups= (windows of the sequence), "
                         "or the tokens as flat rows (y.reshape(-1)) to take them as "
                         "independent.")
    if n_units < 2:
        raise ValueError("The rows with weight form fewer than 2 groups; a standard error "
                         "needs at least 2.")


def units_of(groups, n, label_shape):
    """Each row's unit of resampling as 0..G-1: its group; without groups, its
    sequence for tokens (:func:`by_sequence`), else the row itself.

    Groups of the labels' leading shape name every row under them: a group per
    sequence, shape (batch,), for tokens of shape (batch, length).

    >>> units_of(np.array([7, 9]), 6, (2, 3))
    array([0, 0, 0, 1, 1, 1])
    """
    if groups is None and by_sequence(label_shape):
        return np.repeat(np.arange(label_shape[0]), n // label_shape[0])
    if groups is None:
        return np.arange(n)
    groups = np.asarray(groups)
    extra = len(label_shape) - groups.ndim
    if groups.ndim and extra > 0 and groups.shape == tuple(label_shape[:groups.ndim]):
        groups = np.broadcast_to(groups.reshape(groups.shape + (1,) * extra), label_shape)
    return group_codes(groups.reshape(-1), n)


def check_n_bootstrap(n_bootstrap):
    """Refuse a number of bootstrap draws that is not an integer of at least 2.

    >>> check_n_bootstrap(1)
    Traceback (most recent call last):
    ...
    ValueError: n_bootstrap must be an integer of at least 2; got 1.
    """
    if n_bootstrap is not None and (isinstance(n_bootstrap, bool) or not isinstance(
            n_bootstrap, (int, np.integer)) or n_bootstrap < 2):
        raise ValueError(f"n_bootstrap must be an integer of at least 2; got {n_bootstrap!r}.")


def bootstrap_se(weighted_difference, weight, unit, n_bootstrap, random_state):
    """Standard deviation of the weighted mean difference over draws of units."""
    sums = np.bincount(unit, weights=weighted_difference)
    totals = np.bincount(unit, weights=weight)
    keep = totals > 0
    sums, totals = sums[keep], totals[keep]
    rng = check_random_state(random_state)
    n_units = sums.shape[0]
    draws = []
    step = max(1, _BOOTSTRAP_CELLS // n_units)
    for start in range(0, n_bootstrap, step):
        count = min(step, n_bootstrap - start)
        picks = rng.randint(n_units, size=(count, n_units))
        draws.append(sums[picks].sum(axis=1) / totals[picks].sum(axis=1))
    return float(np.std(np.concatenate(draws), ddof=1))
