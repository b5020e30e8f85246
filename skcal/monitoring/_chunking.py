"""Which chunk each production row belongs to: by row number, or by time period."""

import numpy as np


def chunk_ids(monitor, n, timestamps):
    """Chunk of each of ``n`` new rows, each row's start and end marks (row
    numbers, or period bounds in nanoseconds), and the rows' times (or None)."""
    if monitor._period_ns is None:
        if timestamps is not None:
            raise ValueError("timestamps are used with chunk_period only; leave them out "
                             "or set chunk_period.")
        rows = monitor.n_rows_ + np.arange(n, dtype=np.int64)
        return rows // monitor.chunk_size, rows, rows + 1, None
    if timestamps is None:
        raise ValueError("chunk_period is set: pass timestamps (one per row).")
    times = np.asarray(timestamps).astype("datetime64[ns]").astype(np.int64)
    if times.shape != (n,):
        raise ValueError(f"timestamps has shape {times.shape}; pass one per row ({n}).")
    earlier = np.flatnonzero(np.diff(times) < 0)
    if earlier.shape[0]:
        raise ValueError(
            f"timestamps must not decrease: row {int(earlier[0]) + 1} of the batch is "
            "earlier than the row before it. Sort the batch by time first."
        )
    if monitor._last_time is not None and n and times[0] < monitor._last_time:
        raise ValueError(
            "The batch starts before the last row already added; rows must arrive in "
            "time order."
        )
    ids = times // monitor._period_ns
    return ids, ids * monitor._period_ns, (ids + 1) * monitor._period_ns, times
