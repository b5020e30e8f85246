"""The smooth ECE of Błasiok and Nakkiran: kernel-smoothed residuals, no bins.

The residuals ``f - y`` are smoothed over the predicted probability ``f`` with
a Gaussian kernel reflected at 0 and 1, and the smoothed residual's absolute
value is averaged under the smoothed density of ``f``. The bandwidth is the
fixed point ``sigma = smECE_sigma``, found by bisection. The computation
follows the authors' reference implementation (the ``relplot`` package):
the same grids, the same linear spreading of each point onto the grid, the
same density floor and the same ten bisection steps, so the two agree to
rounding.
"""

import numpy as np
from scipy.signal import fftconvolve
from sklearn.utils._param_validation import validate_params

from ._checks import check_prediction
from ._curve import class_columns, top_label

# the reference implementation's constants
_MIN_EVALUATION_POINTS = 200
_MIN_GRID_POINTS = 2000
_DENSITY_FLOOR = 1e-4
_SMALLEST_BANDWIDTH = 1e-3
_BISECTION_STEPS = 10


def _spread_onto_grid(f, values, n_grid):
    """Each value split between the two grid points around its ``f``, linearly."""
    position = f * (n_grid - 1)
    left = np.clip(position.astype(np.int64), 0, n_grid - 2)
    frac = position - left
    return (np.bincount(left, weights=(1 - frac) * values, minlength=n_grid)
            + np.bincount(left + 1, weights=frac * values, minlength=n_grid))


def _reflected_smoothing(grid_values, sigma):
    """Convolution with a Gaussian of width ``sigma``, the data reflected at 0 and 1."""
    n_grid = grid_values.shape[0]
    t = np.linspace(0, 1, n_grid)
    kernel = np.exp(-((t - 0.5) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    extended = np.concatenate([grid_values[::-1][:-1], grid_values, grid_values[::-1][1:]])
    smoothed = fftconvolve(extended, kernel, mode="valid")
    return smoothed[n_grid // 2: n_grid // 2 + n_grid]


def _interpolate(t, grid_values):
    n_grid = grid_values.shape[0]
    step = 1 / (n_grid - 1)
    index = np.clip((t * (n_grid - 1)).astype(np.int64), 0, n_grid - 2)
    residual = (t - index * step) / step
    return grid_values[index] * (1 - residual) + grid_values[index + 1] * residual


def smooth_ece_at(f, residual, weight, sigma, grids=None):
    """The smooth ECE at a fixed bandwidth ``sigma``.

    ``weight`` counts samples (the density floor is on the scale of counts).
    ``grids`` caches, by grid size, the residuals and weights spread onto the
    grid (the same for every bandwidth above 0.01).
    """
    t = np.linspace(0, 1, max(round(10 / sigma), _MIN_EVALUATION_POINTS))
    n_grid = max(_MIN_GRID_POINTS, round(20 / sigma)) // 2 + 1
    grids = {} if grids is None else grids
    if n_grid not in grids:
        grids[n_grid] = [_spread_onto_grid(f, values, n_grid)
                         for values in (weight * residual, weight)]
    smoothed = [_interpolate(t, _reflected_smoothing(values, sigma)) for values in grids[n_grid]]
    density = smoothed[1] + _DENSITY_FLOOR
    mean_residual = smoothed[0] / density
    return float(np.sum(np.abs(mean_residual) * density) / np.sum(density))


def self_consistent_bandwidth(f, residual, weight):
    """The bandwidth ``sigma`` with ``smECE_sigma = sigma``, by ten bisection steps on
    (0, 1] (1 itself when ``smECE_1 > 1``; never below 0.001)."""

    grids = {}

    def too_small(sigma):
        return (sigma < _SMALLEST_BANDWIDTH
                or sigma < smooth_ece_at(f, residual, weight, sigma, grids))

    if too_small(1.0):
        return 1.0
    high, low = 1.0, 0.0
    for _ in range(_BISECTION_STEPS):
        middle = (high + low) / 2
        if too_small(middle):
            low = middle
        else:
            high = middle
    return high


def confidence_and_outcome(y_index, rows):
    """(f, y): the positive class of a binary problem, else top-label confidence
    and correctness; one pass over the probabilities' Rows, two values per row kept."""
    if rows.n_columns == 2:
        return class_columns(rows, [1])[:, 0], (y_index == 1).astype(np.float64)
    confidence, correct = top_label(y_index, rows)
    return confidence, correct.astype(np.float64)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "sample_weight": ["array-like", None],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def smooth_ece(y_true, y_prob, *, sample_weight=None, labels=None):
    """Smooth ECE: the calibration error of kernel-smoothed residuals, without bins.

    The smooth ECE of Błasiok and Nakkiran (2023). The residuals
    ``f_i - y_i`` of predicted probability and outcome are smoothed over
    ``f`` with a Gaussian kernel (reflected at 0 and 1); their smoothed mean is
    weighted by the smoothed density of ``f``. The kernel's width ``sigma`` is
    the self-consistent one, where the smooth ECE equals ``sigma``, so no
    binning or bandwidth is chosen by hand. Unlike the binned ECE it changes
    continuously with the predictions. For a binary problem ``f`` is the
    positive class's probability; with more classes, the top-label confidence
    against whether the prediction is right.

    The computation is that of the authors' ``relplot`` package (same grids,
    same density floor, same ten bisection steps of the bandwidth), so the two
    agree to rounding.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities; for a binary problem, 1-D probabilities of the
        second class are accepted too.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative frequency weights: a row of weight 3 counts as three
        samples (the kernel density's small floor is on the scale of counts).

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_prob``, as in :func:`nll`.

    Returns
    -------
    smooth_ece : float
        In probability units, between 0 and 1.

    See Also
    --------
    expected_calibration_error : The binned ECE.
    skce : The squared kernel calibration error.

    References
    ----------
    J. Błasiok, P. Nakkiran, "Smooth ECE: Principled Reliability Diagrams via
    Kernel Smoothing", ICLR 2024 (arXiv:2309.12236).

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import smooth_ece
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000)
    >>> y = rng.uniform(size=2000) < p  # calibrated
    >>> round(smooth_ece(y, p), 3)
    0.025
    >>> y_over = rng.uniform(size=2000) < 0.5 + 0.6 * (p - 0.5)  # overconfident
    >>> round(smooth_ece(y_over, p), 3)
    0.095
    """
    y_index, rows, _, sample_weight = check_prediction(
        y_true, y_prob, labels=labels, sample_weight=sample_weight
    )
    f, outcome = confidence_and_outcome(y_index, rows)
    n_samples = f.shape[0]
    # frequency weights: the density floor is on the scale of counts of samples
    weight = np.ones(n_samples) if sample_weight is None else sample_weight
    residual = f - outcome
    sigma = self_consistent_bandwidth(f, residual, weight)
    return smooth_ece_at(f, residual, weight, sigma)
