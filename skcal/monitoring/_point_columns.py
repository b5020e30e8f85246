"""The per-row numbers of each inverse temperature of the grid, and their sums.

For each point of :data:`~skcal.monitoring._statistics.BETA_GRID`, the monitor
keeps :data:`PER_POINT` numbers per row (see :func:`point_columns`); the powers
``p ** beta`` they come from are taken by :func:`powers`, and the points kept
only for rows whose NLL still falls toward them (below
:data:`~skcal.monitoring._statistics.LOW_POINTS_BELOW`, above
:data:`~skcal.monitoring._statistics.HIGH_POINTS_ABOVE`) come last among the
per-row numbers, so that without them the rows summed are the first ones.
"""

import numpy as np

from ._statistics import BETA_GRID, HIGH_POINTS_ABOVE, LOW_POINTS_BELOW


# the per-row numbers kept per inverse temperature: the NLL, its derivative in beta
# and its square, the second derivative, and the NLL's square
PER_POINT = 5
# the last points always kept, where the NLL's slope says whether the others are needed
LOW_POINTS_FROM = int(np.flatnonzero(BETA_GRID == LOW_POINTS_BELOW)[0])
HIGH_POINTS_FROM = int(np.flatnonzero(BETA_GRID == HIGH_POINTS_ABOVE)[0])
_EXTRA_POINTS = (((BETA_GRID > 0.0) & (BETA_GRID < LOW_POINTS_BELOW))
                 | (BETA_GRID > HIGH_POINTS_ABOVE))
# each point's place among the per-row numbers: those points last, so that
# without them the rows summed are the first ones
SLOT = np.argsort(np.argsort(_EXTRA_POINTS, kind="stable"), kind="stable")


def slope_at(columns, j):
    """The derivative in beta, at ``BETA_GRID[j]``, of the NLL of the rows of
    ``columns`` (see :data:`PER_POINT`), summed."""
    return columns[4 + PER_POINT * SLOT[j] + 1].sum()


def point_sums(columns, kept, starts, filled):
    """:func:`group_sums` of ``columns``, NaN at the points not ``kept``
    (their rows are not summed where they come last)."""
    missing = [j for j in range(BETA_GRID.shape[0]) if j not in kept]
    if not missing:
        return group_sums(columns, starts, filled)
    used = 4 + PER_POINT * (max(SLOT[kept]) + 1)
    for j in missing:  # rows among those summed: zeros, not what the scratch held
        if 4 + PER_POINT * SLOT[j] < used:
            columns[4 + PER_POINT * SLOT[j] : 4 + PER_POINT * (SLOT[j] + 1)] = 0.0
    sums = np.full((starts.shape[0], columns.shape[0]), np.nan)
    sums[:, :used] = group_sums(columns[:used], starts, filled)
    for j in missing:
        sums[:, 4 + PER_POINT * SLOT[j] : 4 + PER_POINT * (SLOT[j] + 1)] = np.nan
    return sums


def powers(pt, out, log_pt=None, low_points=lambda: True, high=None):
    """``(j, pt ** BETA_GRID[j])`` for each point of the grid: ``pt`` itself, then
    the points above 1 (doublings) from 2 up, each the square of the one
    before, then those below 1 (halvings) from 1/2 down, each a square root of
    the one before, or ``exp(beta * log_pt)`` if given (probabilities that
    underflowed: the square root of 0 is 0, where ``exp(-200 / 16)`` is
    3.7e-6); all but ``pt`` in ``out``; None for 0 (ones, which the sums at 0
    need not hold).

    The points below :data:`~._statistics.LOW_POINTS_BELOW` are left out
    unless ``low_points()``, asked once the points above them are used; those
    above :data:`~._statistics.HIGH_POINTS_ABOVE` unless ``high = (log_pt,
    best, wanted)`` is given and ``wanted()``, and are then ``exp(beta *
    (log_pt - best))``, each row's over its largest (``best``): ``p ** 64``
    underflows where ``p`` is below 0.25 in float32."""
    order = np.argsort(BETA_GRID)
    identity = int(np.flatnonzero(BETA_GRID[order] == 1.0)[0])
    yield order[identity], pt
    q = pt
    for j in order[identity + 1:]:
        if BETA_GRID[j] <= HIGH_POINTS_ABOVE:
            q = np.square(q, out=out)
            yield j, q
        elif high is not None and high[2]():
            shifted = np.subtract(high[0], high[1], out=out)
            yield j, np.exp(np.multiply(shifted, shifted.dtype.type(BETA_GRID[j]), out=out),
                            out=out)
    q = pt
    for j in order[:identity][::-1]:
        if BETA_GRID[j] == 0.0:
            yield j, None
        elif BETA_GRID[j] < LOW_POINTS_BELOW and not low_points():
            continue
        elif log_pt is not None:
            q = np.exp(np.multiply(log_pt, log_pt.dtype.type(BETA_GRID[j]), out=out), out=out)
            yield j, q
        else:
            q = np.sqrt(q, out=out)
            yield j, q


def point_columns(columns, j, loss, z_true, grad_beta, curvature):
    """Fill the per-row numbers of ``BETA_GRID[j]`` (see :data:`PER_POINT`)."""
    base = 4 + PER_POINT * SLOT[j]
    columns[base] = loss
    columns[base + 1] = grad_beta
    np.square(columns[base + 1], out=columns[base + 2])
    columns[base + 3] = curvature
    np.square(columns[base], out=columns[base + 4])


def group_sums(columns, starts, filled):
    """Float64 sums of each row of ``columns`` (one per quantity, a column per
    row of data) over each group of consecutive rows that begins at ``starts``
    (zero for an empty group), as an array (groups, quantities)."""
    n = columns.shape[1]
    sizes = np.diff(np.append(starts, n))
    if filled.all() and (sizes == sizes[0]).all():  # the usual batch: a reshape
        return columns.reshape(columns.shape[0], starts.shape[0], -1).sum(axis=2).T
    sums = np.zeros((starts.shape[0], columns.shape[0]))
    if filled.any():
        sums[filled] = np.add.reduceat(columns, starts[filled], axis=1).T
    return sums
