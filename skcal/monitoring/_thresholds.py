"""The monitor's alarm thresholds, simulated from the reference itself."""

import numpy as np


def alarm_thresholds(reference_nll, chunk_size, *, horizon, alpha, drift, n_streams=1000,
                     pool_size=20000, random_state=None):
    """Thresholds of the CUSUM and of the per-chunk test, each at false-alarm
    probability ``alpha / 2`` over ``horizon`` chunks, so that any alarm has
    probability at most ``alpha`` on a stream without drift.

    Simulated streams are built from the reference itself: chunk means of
    ``chunk_size`` rows resampled from the reference's per-row NLL (so heavy
    tails are kept), compared with the mean of a resample of the whole
    reference and standardised by that resample's standard deviation (so the
    reference's own sampling error, in both, is kept), as the monitor
    standardises real chunks.
    """
    rng = np.random.default_rng(random_state)
    reference_nll = np.asarray(reference_nll, dtype=np.float64)
    n0 = reference_nll.shape[0]
    pool = np.empty(pool_size)
    step = max(1, 2**22 // chunk_size)
    for start in range(0, pool_size, step):
        stop = min(start + step, pool_size)
        pool[start:stop] = reference_nll[rng.integers(n0, size=(stop - start, chunk_size))].mean(1)
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
    z = (pool[rng.integers(pool_size, size=(n_streams, horizon))]
         - reference_means[:, None]) / (reference_sds[:, None] / np.sqrt(chunk_size))
    cusum = np.zeros(n_streams)
    cusum_max = np.zeros(n_streams)
    for t in range(horizon):
        cusum = np.maximum(0.0, cusum + z[:, t] - drift)
        cusum_max = np.maximum(cusum_max, cusum)
    level = 1.0 - alpha / 2.0
    return float(np.quantile(cusum_max, level)), float(np.quantile(z.max(axis=1), level))
