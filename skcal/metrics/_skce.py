"""The squared kernel calibration error (SKCE) of Widmann, Lindsten and Zachariah.

With the kernel ``k(p, q) = exp(-TV(p, q) / bandwidth) * I`` on probability
vectors (TV the total-variation distance, ``I`` the identity matrix), the
SKCE's terms are ``h_ij = k(p_i, p_j) * (e_yi - p_i) . (e_yj - p_j)``: each
residual ``r_i = e_yi - p_i`` against every other, weighted by how close the
two predictions are. The quadratic estimators are computed over row blocks of
the upper triangle of the ``n x n`` pair matrix, so memory grows with
``block x n``; blocks are spread over threads (the heavy parts, the distances,
the exponential and the matrix products, release the GIL).
"""

import os
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy.spatial.distance import cdist
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..rows._namespaces import is_dask
from ..utils._threads import one_blas_thread
from ._checks import probability_matrix

# values of one block of the pair matrix (float64): 2^20 is 8 MiB per array
_BLOCK_VALUES = 2**20
# bins of the first pass of the exact median of the pairwise distances
_MEDIAN_BINS = 2**16


def probabilities_and_residuals(y_true, y_prob, labels=None, sample_weight=None):
    """Float64 probabilities ``P`` (n, K) and residuals ``e_y - P``, validated; with
    ``sample_weight``, of the rows of positive weight, and their weights too.

    The kernel estimators compare rows in pairs, every row with every other, so
    all rows are held in memory. A Dask array is refused rather than gathered
    whole to the client."""
    if is_dask(y_prob):
        raise ValueError(
            "The SKCE compares every pair of rows, so it holds all rows in memory: a "
            "Dask array would be gathered whole to the client. Compute a sample of rows "
            "that fits in memory and pass it as a numpy array (10,000 rows already make "
            "10^8 pairs), or use a streaming calibration error such as "
            "expected_calibration_error, which takes Dask arrays.")
    y_index, proba, _, weight = probability_matrix(y_true, y_prob, labels=labels,
                                                   sample_weight=sample_weight)
    proba = np.ascontiguousarray(proba)
    residuals = -proba
    residuals[np.arange(proba.shape[0]), y_index] += 1.0
    if sample_weight is None:
        return proba, residuals
    kept = weight > 0  # a row of no weight is in no pair
    return proba[kept], residuals[kept], weight[kept]


def _row_blocks(n_samples):
    """Starts and ends of row blocks of about ``_BLOCK_VALUES`` pair values each."""
    size = max(1, min(n_samples, _BLOCK_VALUES // max(n_samples, 1)))
    starts = range(0, n_samples, size)
    return [(start, min(start + size, n_samples)) for start in starts]


def _half_distances(proba, start, stop):
    """TV distances of rows ``start:stop`` to rows ``start:`` (the upper triangle)."""
    return 0.5 * cdist(proba[start:stop], proba[start:], "cityblock")


def _pair_multiplicity(start, stop, n_columns):
    """1 for the pairs of the diagonal square of a block, 2 for the pairs right of it
    (each stands for itself and its mirror image below the diagonal)."""
    multiplicity = np.full(n_columns, 2.0)
    multiplicity[: stop - start] = 1.0
    return multiplicity


def _run_blocks(task, n_samples, n_jobs):
    """``task(start, stop)`` for every row block, in threads; BLAS kept to one
    thread per block so that the threads do not oversubscribe the cores."""
    blocks = _row_blocks(n_samples)
    n_threads = (os.cpu_count() or 1) if n_jobs is None else effective_n_jobs(n_jobs)
    if n_threads == 1 or len(blocks) == 1:
        return [task(start, stop) for start, stop in blocks]
    with one_blas_thread():
        return Parallel(n_jobs=n_threads, prefer="threads")(
            delayed(task)(start, stop) for start, stop in blocks
        )


def _binned_distances(proba, start, stop, weight=None):
    """A block's distances, their bin of ``_MEDIAN_BINS`` equal-width bins on [0, 1],
    and how many of the n x n pairs each stands for (times the pair's weights)."""
    distances = _half_distances(proba, start, stop)
    index = np.minimum((distances * _MEDIAN_BINS).astype(np.int64), _MEDIAN_BINS - 1)
    multiplicity = np.broadcast_to(_pair_multiplicity(start, stop, distances.shape[1]),
                                   distances.shape)
    if weight is not None:
        multiplicity = multiplicity * np.outer(weight[start:stop], weight[start:])
    return distances, index, multiplicity


def median_distance(proba, n_jobs=None, weight=None):
    """Median of the ``n x n`` pairwise TV distances, the diagonal zeros included;
    with ``weight``, each pair counts ``w_i w_j`` (so that integer weights are
    repeated rows).

    Exact, in two passes over the distance blocks: a histogram locates the bins
    of the two middle values, then the distances in those bins are gathered (as
    distinct values with their counts) and the middle read off: the mean of the
    smallest distance whose cumulative count reaches half the total and the
    smallest that passes it (the two middle ranks of an even count).
    """
    n = proba.shape[0]
    total = n * n if weight is None else float(weight.sum()) ** 2
    half = total / 2

    def histogram(start, stop):
        _, index, multiplicity = _binned_distances(proba, start, stop, weight)
        return np.bincount(index.ravel(), weights=multiplicity.ravel(),
                           minlength=_MEDIAN_BINS)

    counts = np.sum(_run_blocks(histogram, n, n_jobs), axis=0)
    cumulative = np.cumsum(counts)
    target_bins = np.array([np.searchsorted(cumulative, half, side="left"),
                            np.searchsorted(cumulative, half, side="right")])
    target_bins = np.minimum(target_bins, _MEDIAN_BINS - 1)  # rounding at the very top
    low, high = target_bins.min(), target_bins.max()
    before = cumulative[low - 1] if low > 0 else 0.0

    def gather(start, stop):
        distances, index, multiplicity = _binned_distances(proba, start, stop, weight)
        chosen = (index >= low) & (index <= high)
        values, inverse = np.unique(distances[chosen], return_inverse=True)
        return values, np.bincount(inverse, weights=multiplicity[chosen],
                                   minlength=values.shape[0])

    pieces = _run_blocks(gather, n, n_jobs)
    values, inverse = np.unique(np.concatenate([v for v, _ in pieces]), return_inverse=True)
    value_counts = np.bincount(inverse, weights=np.concatenate([c for _, c in pieces]))
    cumulative = before + np.cumsum(value_counts)
    positions = np.minimum([np.searchsorted(cumulative, half, side="left"),
                            np.searchsorted(cumulative, half, side="right")],
                           values.shape[0] - 1)
    return float(values[positions].mean())


def resolve_bandwidth(bandwidth, proba, n_jobs=None, weight=None):
    """The kernel's bandwidth: a positive number, or the median distance."""
    if isinstance(bandwidth, str):
        bandwidth = median_distance(proba, n_jobs, weight)
        if bandwidth <= 0:
            raise ValueError(
                "The median pairwise distance of the predictions is 0 (more than half "
                "of the pairs of rows predict the same probabilities), so it cannot be "
                "the kernel's bandwidth; pass bandwidth= a positive number."
            )
    return float(bandwidth)


def quadratic_sums(proba, residuals, bandwidth, signs=None, n_jobs=None):
    """``sum_{i,j} h_ij`` over all ordered pairs, the diagonal included.

    With ``signs`` of shape (n, n_resamples), also ``sum_{i,j} s_i s_j h_ij``
    for each column ``s`` (the wild bootstrap's quadratic forms), from the same
    kernel blocks by one matrix product each.
    """
    n = proba.shape[0]

    def block_sums(start, stop):
        kernel = _half_distances(proba, start, stop)
        np.divide(kernel, -bandwidth, out=kernel)
        np.exp(kernel, out=kernel)
        kernel *= residuals[start:stop] @ residuals[start:].T
        multiplicity = _pair_multiplicity(start, stop, kernel.shape[1])
        total = float(kernel.sum(axis=0) @ multiplicity)
        if signs is None:
            return total, None
        kernel *= multiplicity
        forms = np.einsum("ib,ib->b", signs[start:stop], kernel @ signs[start:])
        return total, forms

    results = _run_blocks(block_sums, n, n_jobs)
    total = sum(result[0] for result in results)
    if signs is None:
        return total, None
    return total, np.sum([result[1] for result in results], axis=0)


def quadratic_estimate(total, residuals, estimator, weight=None):
    """The biased (V) or unbiased (U) SKCE from the sum over all ordered pairs
    (``total``, or an array of such sums): the U-statistic leaves out the diagonal
    terms ``h_ii = |r_i|^2``. With ``weight``, ``residuals`` are the weighted ones
    (``w_i r_i``, so that ``total`` sums ``w_i w_j h_ij``) and the pairs count
    ``w_i w_j``: ``W^2`` of them, ``W^2 - sum w_i^2`` off the diagonal."""
    n_samples = residuals.shape[0]
    pairs = n_samples**2 if weight is None else float(weight.sum()) ** 2
    if estimator == "biased":
        return total / pairs
    diagonal = float(np.einsum("ij,ij->", residuals, residuals))
    return (total - diagonal) / (pairs - (n_samples if weight is None else
                                          float(weight @ weight)))


def linear_terms(proba, residuals, bandwidth):
    """``h`` of the consecutive pairs (rows 0 and 1, 2 and 3, ...)."""
    n_pairs = proba.shape[0] // 2
    first, second = slice(0, 2 * n_pairs, 2), slice(1, 2 * n_pairs, 2)
    distance = 0.5 * np.abs(proba[first] - proba[second]).sum(axis=1)
    return np.exp(-distance / bandwidth) * np.einsum(
        "ij,ij->i", residuals[first], residuals[second]
    )


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "estimator": [StrOptions({"biased", "unbiased", "linear"})],
        "bandwidth": [StrOptions({"median"}), Interval(Real, 0, None, closed="neither")],
        "sample_weight": ["array-like", None],
        "labels": ["array-like", None],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def skce(y_true, y_prob, *, estimator="unbiased", bandwidth="median", sample_weight=None,
         labels=None, n_jobs=None):
    """Squared kernel calibration error (SKCE): a calibration error without bins.

    The SKCE of Widmann, Lindsten and Zachariah (2019) with the kernel of their
    experiments, ``k(p, q) = exp(-TV(p, q) / bandwidth)`` times the identity
    matrix, where ``TV(p, q) = sum_k |p_k - q_k| / 2`` is the total-variation
    distance. Each pair of rows contributes ``h_ij = k(p_i, p_j) (e_yi - p_i) .
    (e_yj - p_j)``: the residuals of two rows that predict alike should cancel
    when the model is calibrated. The population SKCE is 0 exactly when the
    model is calibrated (for this universal kernel) and positive otherwise.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities; for a binary problem, 1-D probabilities of the
        second class are accepted too. Every row is held in memory (pairs of
        rows are compared); a Dask array is refused rather than gathered whole.

    estimator : {'unbiased', 'biased', 'linear'}, default='unbiased'
        - ``'unbiased'``: the U-statistic ``sum_{i != j} h_ij / (n (n - 1))``;
          its expectation is the SKCE, so it can be negative on a calibrated
          model.
        - ``'biased'``: the V-statistic ``sum_{i, j} h_ij / n^2``, never negative.
        - ``'linear'``: the mean of ``h`` over the consecutive pairs of rows
          (1, 2), (3, 4), ...; linear time, unbiased, but noisier. Shuffle the
          rows first if their order is not random.

        The quadratic estimators read the ``n x n`` pairs in row blocks:
        memory grows with ``n`` per block row, never with ``n^2``.

    bandwidth : 'median' or float, default='median'
        The kernel's bandwidth: a positive number, or the median of the
        ``n x n`` pairwise TV distances, the diagonal's zeros included (the
        choice of the paper's code). The median takes two passes over the pairs
        (also for ``estimator='linear'``; give a number to keep that one linear).

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights: a pair of rows counts ``w_i w_j``, in the
        estimators and in the median bandwidth. The biased estimator and the
        median then equal those of rows repeated by integer weights; the
        unbiased one is ``sum_{i != j} w_i w_j h_ij / sum_{i != j} w_i w_j``,
        over pairs of distinct rows (a repeated row would pair with its own
        copies); the linear one weighs each consecutive pair by ``w_i w_j``.

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_prob``, as in :func:`nll`.

    n_jobs : int, default=None
        Threads over the row blocks of the quadratic estimators; None uses every
        core (the blocks' matrix products then run on one BLAS thread each).

    Returns
    -------
    skce : float
        In squared probability units.

    See Also
    --------
    skcal.stats.calibration_test : The kernel calibration test
        (``method='skce'``) built on this estimator.
    smooth_ece : Another calibration error without bins.

    References
    ----------
    D. Widmann, F. Lindsten, D. Zachariah, "Calibration tests in multi-class
    classification: A unifying framework", NeurIPS 2019.

    Examples
    --------
    >>> from skcal.metrics import skce
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]
    >>> round(skce([0, 1, 1, 1], y_prob, estimator="biased"), 4)
    0.1945
    >>> round(skce([0, 1, 1, 1], y_prob, estimator="unbiased"), 4)
    0.076
    """
    weight = None
    if sample_weight is None:
        proba, residuals = probabilities_and_residuals(y_true, y_prob, labels)
    else:
        proba, residuals, weight = probabilities_and_residuals(y_true, y_prob, labels,
                                                               sample_weight)
    n_samples = proba.shape[0]
    needed = 2 if estimator != "biased" else 1
    if n_samples < needed:
        raise ValueError(f"The {estimator} SKCE needs at least {needed} samples"
                         f"{'' if weight is None else ' of positive weight'}; got "
                         f"{n_samples}.")
    bandwidth = resolve_bandwidth(bandwidth, proba, n_jobs, weight)
    if weight is not None:
        residuals = residuals * weight[:, None]  # each term h_ij then carries w_i w_j
    if estimator == "linear":
        terms = linear_terms(proba, residuals, bandwidth)
        if weight is None:
            return float(np.mean(terms))
        return float(terms.sum() / (weight[0:2 * terms.shape[0]:2]
                                    @ weight[1:2 * terms.shape[0]:2]))
    total, _ = quadratic_sums(proba, residuals, bandwidth, n_jobs=n_jobs)
    return quadratic_estimate(total, residuals, estimator, weight)
