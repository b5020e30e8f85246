"""The monitor's alarm thresholds, simulated from the reference itself."""

import numpy as np


def size_classes(chunk_size, min_labels):
    """The labelled sizes at which single-chunk thresholds are simulated:
    ``chunk_size`` halved while it stays above ``min_labels``, and ``min_labels``.

    Examples
    --------
    >>> size_classes(1000, 100)
    [100, 125, 250, 500, 1000]
    """
    sizes, size = {max(min_labels, 1)}, chunk_size
    while size > min_labels:
        sizes.add(size)
        size //= 2
    return sorted(sizes)


def size_class(n, classes):
    """The largest of ``classes`` at most ``n`` (the smallest if none is): the
    class whose threshold a chunk of ``n`` labelled rows is tested against."""
    below = [size for size in classes if size <= n]
    return max(below) if below else min(classes)


def alarm_thresholds(reference_nll, chunk_size, *, horizon, alpha, drift, sizes=None,
                     n_streams=1000, pool_size=20000, random_state=None):
    """Thresholds of the CUSUM and of the single-chunk test, each at false-alarm
    probability ``alpha / 2`` over ``horizon`` chunks, so that any alarm has
    probability at most ``alpha`` on a stream without drift.

    Simulated streams are built from the reference itself: chunk means of
    ``chunk_size`` rows resampled from the reference's per-row NLL (so heavy
    tails are kept), compared with the mean of a resample of the whole
    reference and standardised by that resample's standard deviation (so the
    reference's own sampling error, in both, is kept), as the monitor
    standardises real chunks.

    The single-chunk threshold is simulated at each labelled size of ``sizes``
    too (a chunk is standardised by the square root of its labelled rows, and
    the tails of a chunk's mean are heavier the fewer they are). The CUSUM's is
    simulated at ``chunk_size``: it grows with the size (the reference's error,
    shared by every chunk, is a larger share of a larger chunk's standard
    error), so a CUSUM over partly labelled chunks is held to a threshold set
    for full ones, which keeps the false-alarm bound.

    Returns
    -------
    cusum_threshold : float
    chunk_thresholds : dict
        The single-chunk threshold of each size of ``sizes`` and of
        ``chunk_size``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cusum, single = alarm_thresholds(rng.normal(size=5000) ** 2, 100, horizon=100,
    ...                                  alpha=0.05, drift=0.5, sizes=[25, 50])
    >>> sorted(single), bool(single[25] > single[100])  # heavier tails in fewer rows
    ([25, 50, 100], True)
    """
    rng = np.random.default_rng(random_state)
    reference_nll = np.asarray(reference_nll, dtype=np.float64)
    n0 = reference_nll.shape[0]
    # each simulated stream is compared with a resampled reference, standardised by that
    # resample's own mean and standard deviation, as real chunks are by the reference's:
    # with heavy tails a sample's standard deviation is usually too small, and the
    # resamples' are too small relative to the reference in the same way
    reference_means = np.empty(n_streams)
    reference_sds = np.empty(n_streams)
    step = max(1, 2**22 // n0)
    for start in range(0, n_streams, step):
        stop = min(start + step, n_streams)
        resample = reference_nll[rng.integers(n0, size=(stop - start, n0))]
        reference_means[start:stop] = resample.mean(axis=1)
        reference_sds[start:stop] = resample.std(axis=1, ddof=1)
    level = 1.0 - alpha / 2.0
    chunk_thresholds, cusum_threshold, pools = {}, None, {}
    for size in sorted(set(sizes or []) | {chunk_size}):
        pool = _chunk_means(reference_nll, size, pool_size, rng, pools)
        z = (pool[rng.integers(pool_size, size=(n_streams, horizon))]
             - reference_means[:, None]) / (reference_sds[:, None] / np.sqrt(size))
        chunk_thresholds[size] = float(np.quantile(z.max(axis=1), level))
        if size == chunk_size:
            cusum = np.zeros(n_streams)
            cusum_max = np.zeros(n_streams)
            for t in range(horizon):
                cusum = np.maximum(0.0, cusum + z[:, t] - drift)
                cusum_max = np.maximum(cusum_max, cusum)
            cusum_threshold = float(np.quantile(cusum_max, level))
    return cusum_threshold, chunk_thresholds


# chunks of more rows than this have their means made of two halves' (below)
_DIRECT_ROWS = 4096


def _chunk_means(reference_nll, size, pool_size, rng, pools):
    """``pool_size`` means of ``size`` rows resampled from the reference.

    Up to ``_DIRECT_ROWS`` rows, each mean is of rows drawn directly. A larger
    chunk's mean is that of two independent halves, each drawn from the pool of
    ``size // 2`` (with one more row drawn directly for an odd size): the
    distribution of the mean of ``size`` rows, as far as the pool of halves
    stands for theirs (the streams below draw their chunks from a pool in the
    same way), at a cost that no longer grows with the size: drawing each row
    took 20 s for chunks of 100,000 rows, and would take hours for a million.
    ``pools`` keeps the pools made so far, by size.
    """
    if size in pools:
        return pools[size]
    if size > _DIRECT_ROWS:
        half = _chunk_means(reference_nll, size // 2, pool_size, rng, pools)
        total = (half[rng.integers(pool_size, size=pool_size)]
                 + half[rng.integers(pool_size, size=pool_size)]) * (size // 2)
        if size % 2:
            total += reference_nll[rng.integers(reference_nll.shape[0], size=pool_size)]
        pools[size] = total / size
        return pools[size]
    n0 = reference_nll.shape[0]
    pool = np.empty(pool_size)
    step = max(1, 2**22 // size)
    for start in range(0, pool_size, step):
        stop = min(start + step, pool_size)
        pool[start:stop] = reference_nll[rng.integers(n0, size=(stop - start, size))].mean(1)
    pools[size] = pool
    return pool
