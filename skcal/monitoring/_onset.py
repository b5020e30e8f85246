"""Where the drift that the latest chunk shows began: the chunk from which a
recalibration's rows are taken.

The CUSUM's current run (the chunks since it last stood at 0) holds the
change, but its first chunk is a poor estimate of it. Before a change, the
CUSUM stands above 0 by chance a good part of the time, and the run often
began several chunks earlier. On 20 seeded streams whose NLL stepped up at
chunk 18, its first chunk was 1 to 12 chunks early on 7, and early on 19 of 20
(by 13.6 chunks on average) when a passing episode of drift came 10 chunks
before (``benchmarks/bench_monitor_onset.py``); a calibrator fitted on the
rows since then learns the old map and the new one at once.

Within the run, the onset is the chunk that best splits the chunks scored by
the current calibrator in two: the largest standardised difference between
the mean NLL from it on and the mean NLL of the chunks before it (the
reference's, for the first chunk scored by the calibrator). This is the
likelihood-ratio estimate of a single change in the mean of the chunks' NLL,
each chunk weighted by its labelled rows as the CUSUM standardises it; it
compares production chunks with production chunks, so the reference's own
error does not move it. Its errors are mostly late by a chunk or two, which
leaves a recalibration fewer rows, all from after the change.
"""

import numpy as np


def drift_onset(table, reference):
    """The chunk where the drift of the CUSUM's current run began, or None when
    the CUSUM is at 0 (see the module's text).

    ``table`` holds the monitor's table rows, oldest first (``chunk``,
    ``nll``, ``n_labelled``, ``z``, ``cusum``, ``calibrator``); ``reference``
    its reference (``nll``, ``n_labelled``).

    Examples
    --------
    >>> reference = {"nll": 0.50, "n_labelled": 1000}
    >>> def row(chunk, nll, cusum):
    ...     return {"chunk": chunk, "nll": nll, "n_labelled": 100, "z": 1.0,
    ...             "cusum": cusum, "calibrator": 0}
    >>> table = [row(0, 0.50, 0.0), row(1, 0.52, 0.4), row(2, 0.49, 0.1),
    ...          row(3, 0.70, 4.0), row(4, 0.71, 8.0)]
    >>> drift_onset(table, reference)  # the CUSUM's run began at chunk 1
    3
    >>> drift_onset(table[:1], reference) is None
    True
    """
    version = table[-1]["calibrator"] if table else None
    run_start = None  # the first chunk of the CUSUM's run, which restarts with a calibrator
    for row in reversed(table):
        if not (row["cusum"] > 0 and row["calibrator"] == version):
            break
        run_start = row["chunk"]
    if run_start is None:
        return None
    judged = [row for row in table if row["calibrator"] == version and np.isfinite(row["z"])]
    chunks = np.array([row["chunk"] for row in judged])
    n = np.array([row["n_labelled"] for row in judged], dtype=np.float64)
    nll_sums = n * np.array([row["nll"] for row in judged], dtype=np.float64)
    # the labelled rows and NLL sums before each chunk: the reference's before the first
    before_n = np.concatenate([[reference["n_labelled"]], np.cumsum(n)[:-1]])
    before_sums = np.concatenate([[reference["nll"] * reference["n_labelled"]],
                                  np.cumsum(nll_sums)[:-1]])
    after_n, after_sums = np.cumsum(n[::-1])[::-1], np.cumsum(nll_sums[::-1])[::-1]
    rise = after_sums / after_n - before_sums / before_n
    split = np.where((rise > 0) & (chunks >= run_start),
                     rise**2 / (1 / before_n + 1 / after_n), -np.inf)
    if not np.isfinite(split).any():
        return run_start
    return int(chunks[int(np.argmax(split))])
