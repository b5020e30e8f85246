"""The monitor's alarm thresholds, simulated from the reference itself, and the
NLL rises they let it see."""

import math
import warnings

import numpy as np

# chunks the reference should hold: with fewer, its own error, which every chunk
# shares, raises the CUSUM's threshold (chunks of 500 rows: 7 with 200 chunks, 21
# with 10, 44 with 5, 69 with 3, 163 with 1; benchmarks/bench_monitor_reference_size.py);
# fit warns below WARNED_CHUNKS, where the sustained rise the CUSUM sees is 6 times
# or more what a large reference would let it see
REFERENCE_CHUNKS = 10
WARNED_CHUNKS = 3
# the chunks within which detectable_rise_ says the CUSUM flags a sustained rise
RISE_CHUNKS = 10


def set_thresholds(monitor, reference_nll):
    """Simulate the monitor's thresholds (:func:`alarm_thresholds`) and warn
    when the reference is too small for them to see moderate rises."""
    monitor.cusum_threshold_, monitor.chunk_thresholds_ = alarm_thresholds(
        reference_nll, monitor.chunk_size, horizon=monitor.horizon, alpha=monitor.alpha,
        drift=monitor.drift, sizes=size_classes(monitor.chunk_size, monitor.min_labels),
        random_state=monitor.random_state)
    monitor.chunk_threshold_ = monitor.chunk_thresholds_[monitor.chunk_size]
    if _too_small(monitor):
        n_reference, rise = monitor.reference_["n_labelled"], detectable_rise(monitor)
        warnings.warn(
            f"The reference holds {n_reference} labelled rows, "
            f"{n_reference / monitor.chunk_size:.1f} chunks of {monitor.chunk_size}. Every "
            "chunk is compared with the reference's NLL, whose own error all chunks share, "
            f"so the CUSUM's threshold is {monitor.cusum_threshold_:.0f} (about 7 with a "
            f"large reference): it flags a sustained NLL rise within {RISE_CHUNKS} chunks "
            f"only from {rise['cusum']:.3f} nats, and a single chunk alarms from "
            f"{rise['chunk']:.3f}. Fit on at least {REFERENCE_CHUNKS * monitor.chunk_size} "
            f"labelled rows ({REFERENCE_CHUNKS} chunks), or take smaller chunks, to see "
            "smaller rises (detectable_rise_).",
            UserWarning, stacklevel=3)


def _too_small(monitor):
    """Whether the monitor's reference holds fewer than ``WARNED_CHUNKS`` chunks
    (a reference whose rows' NLLs differ by rounding only, a uniform model's, has
    no error to share: any rise alarms)."""
    reference = monitor.reference_
    spread = reference["nll_sd"] > 1e-9 * abs(reference["nll"])
    return spread and reference["n_labelled"] < WARNED_CHUNKS * monitor.chunk_size


def small_reference_note(monitor, subject="it"):
    """The sentence on a reference too small for the CUSUM, or '': of the
    summary (``subject`` 'it', the monitor) or of a page about the monitor."""
    if not _too_small(monitor):
        return ""
    n_reference = monitor.reference_["n_labelled"]
    owner = "Its" if subject == "it" else "The"
    return (f" {owner} reference of {n_reference} rows ({n_reference / monitor.chunk_size:.1f} "
            f"chunks) lets {subject} flag a sustained NLL rise only from "
            f"{smallest_detectable_rise(monitor):.3f} nats; fit on {REFERENCE_CHUNKS} chunks "
            "or more.")


def detectable_rise(monitor):
    """``{'cusum': nats, 'chunk': nats}``: the sustained rise of a full chunk's
    NLL over the reference's that the CUSUM flags within ``RISE_CHUNKS`` chunks
    on its expected path (``z = drift + threshold / RISE_CHUNKS``), and the rise
    a single full chunk flags (``z`` at its threshold)."""
    standard_error = monitor.reference_["nll_sd"] / math.sqrt(monitor.chunk_size)
    return {"cusum": (monitor.drift + monitor.cusum_threshold_ / RISE_CHUNKS) * standard_error,
            "chunk": monitor.chunk_threshold_ * standard_error}


def smallest_detectable_rise(monitor):
    """The smaller of :func:`detectable_rise`'s two rises, in nats: what the
    summary, the report, the SQL store and the Prometheus gauge report."""
    return min(detectable_rise(monitor).values())


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
    ...                                  alpha=0.05, drift=0.5, sizes=[25, 50],
    ...                                  random_state=0)
    >>> sorted(single), bool(single[25] > single[100])  # heavier tails in fewer rows
    ([25, 50, 100], True)
    >>> round(single[25], 1), round(single[100], 1)  # 1000 streams: within 0.2 by seed
    (4.5, 4.0)
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
