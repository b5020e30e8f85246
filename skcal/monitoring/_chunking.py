"""Which chunk each production row belongs to (by row number, or by time period),
and the chunks' summaries with new rows or late labels added."""

from typing import NamedTuple

import numpy as np

from ._inputs import nanoseconds
from ._row_sums import labelled_summary
from ._state import without_cache
from ._statistics import add_summaries
from ._table import evaluate_chunks


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
    times = nanoseconds(timestamps)
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


class WaitingRows(NamedTuple):
    """A batch's rows waiting for a label: row numbers, ids, chunks and
    log-probabilities, and how many more were dropped already (beyond
    ``max_pending``, where the rows were summarised)."""

    rows: np.ndarray
    ids: np.ndarray
    chunks: np.ndarray
    log_proba: np.ndarray
    n_dropped: int = 0


def chunk_summaries(summaries, starts, ends):
    """``(chunk, start mark, end mark, summary)`` of :func:`batch_summaries`'
    ``(chunk, rows, summary)``, marks read from the rows' ``starts`` and ``ends``."""
    return [(chunk, starts[rows][0], ends[rows][-1], summary)
            for chunk, rows, summary in summaries]


def added_to_chunks(monitor, summaries):
    """(complete chunks, open chunk) of ``monitor`` with a batch's ``summaries``
    (``(chunk, start mark, end mark, summary)`` in chunk order) added; new lists,
    the monitor's own untouched."""
    chunks, opened = list(monitor._chunks), monitor._open
    for chunk, start, end, summary in summaries:
        if opened is not None and opened["index"] == chunk:
            opened = {**without_cache(opened), "end": end,
                      "summary": add_summaries(opened["summary"], summary)}
        else:
            if opened is not None:
                chunks.append(opened)
            opened = {"index": int(chunk), "start": start, "end": end,
                      "calibrator": monitor.calibrator_version_, "summary": summary}
        if monitor._period_ns is None and opened["summary"]["n"] >= monitor.chunk_size:
            chunks.append(opened)
            opened = None
    return chunks, opened


def labelled_later(chunks, opened, log_proba, chunk_of_row, y_index):
    """(complete chunks, open chunk) with waiting rows (their ``log_proba`` and
    chunks) labelled ``y_index``; new lists, the inputs untouched."""
    chunks = list(chunks)
    for chunk in np.unique(chunk_of_row):
        sel = chunk_of_row == chunk
        summary = labelled_summary(log_proba[sel], y_index[sel])
        if opened is not None and opened["index"] == chunk:
            opened = {**without_cache(opened),
                      "summary": add_summaries(opened["summary"], summary)}
            continue
        for i, existing in enumerate(chunks):
            if existing["index"] == chunk:
                chunks[i] = {**without_cache(existing),
                             "summary": add_summaries(existing["summary"], summary)}
    return chunks, opened


def trimmed(monitor, chunks):
    """The last ``history`` of ``chunks``, and the CUSUM before the first of them
    (the dropped chunks' CUSUM carried on)."""
    excess = len(chunks) - monitor.history
    if excess <= 0:
        return chunks, monitor._cusum_before
    table = evaluate_chunks(monitor, chunks[:excess], monitor._cusum_before)
    return chunks[excess:], table[-1]["cusum"]
