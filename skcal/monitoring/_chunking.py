"""Which chunk each production row belongs to (by row number, or by time period),
and the chunks' summaries with new rows or late labels added."""

from typing import NamedTuple

import numpy as np

from ._inputs import nanoseconds
from ._row_sums import labelled_summary
from ._state import without_cache
from ._statistics import add_summaries
from ._table import evaluate_chunks, period_start_text


LATE_ROWS = ("error", "drop")


def chunk_ids(monitor, n, timestamps, late_rows="error"):
    """Chunk of each of ``n`` new rows, each row's start and end marks (row
    numbers, or period bounds in nanoseconds), the rows' times (or None), and
    which rows fall in complete chunks (None when none does): an error unless
    ``late_rows`` is ``'drop'``."""
    if monitor._period_ns is None:
        if timestamps is not None:
            raise ValueError("timestamps are used with chunk_period only; leave them out "
                             "or set chunk_period.")
        rows = monitor.n_rows_ + np.arange(n, dtype=np.int64)
        return rows // monitor.chunk_size, rows, rows + 1, None, None
    if timestamps is None:
        raise ValueError("chunk_period is set: pass timestamps (one per row).")
    times = nanoseconds(timestamps)
    if times.shape != (n,):
        raise ValueError(f"timestamps has shape {times.shape}; pass one per row ({n}).")
    ids = period_index(monitor, times)
    late = check_open_periods(monitor, ids, "of the batch", late_rows)
    return ids, period_start(monitor, ids), period_start(monitor, ids + 1), times, late


def check_late_rows(monitor, late_rows):
    """Refuse a ``late_rows`` that is not one of :data:`LATE_ROWS`, or ``'drop'``
    for a monitor without ``chunk_period`` (whose rows are never late)."""
    if late_rows not in LATE_ROWS:
        raise ValueError(f"late_rows must be 'error' or 'drop'; got {late_rows!r}.")
    if late_rows == "drop" and monitor._period_ns is None:
        raise ValueError("late_rows='drop' leaves out rows of periods whose chunks are "
                         "complete; this monitor has chunks of chunk_size rows, numbered "
                         "as they arrive, so no row is late. Leave late_rows at 'error'.")


def period_index(monitor, times):
    """The period (chunk index) of each time, in nanoseconds since 1970 (UTC),
    counted from the monitor's origin (a Monday for whole weeks)."""
    return (times - getattr(monitor, "_period_origin", 0)) // monitor._period_ns


def period_start(monitor, index):
    """Where period ``index`` begins, in nanoseconds since 1970 (UTC)."""
    return index * monitor._period_ns + getattr(monitor, "_period_origin", 0)


def first_open_period(monitor):
    """The earliest period a monitor with ``chunk_period`` still adds rows to:
    its open chunk's, or the one after its last complete chunk (None before
    the first production row)."""
    if monitor._open is not None:
        return monitor._open["index"]
    return monitor._chunks[-1]["index"] + 1 if monitor._chunks else None


def check_open_periods(monitor, periods, where, late_rows="error"):
    """Which rows' periods (``periods``, one per row) have complete chunks, or
    None when none has; refused unless ``late_rows`` is ``'drop'``. Rows come
    in any order, and those of the open chunk are added to it (a log written by
    arrival time holds stragglers); a complete chunk's are not."""
    first = first_open_period(monitor)
    late = periods < first if first is not None and periods.shape[0] else None
    if late is None or not late.any():
        return None
    if late_rows != "drop":
        raise ValueError(complete_periods_message(
            monitor, int(late.sum()), f"{where} (the first at row {int(np.argmax(late))})"))
    return late


def complete_periods_message(monitor, n_late, where):
    """Why ``n_late`` rows ``where`` are refused: their chunks are complete."""
    start = period_start_text(period_start(monitor, first_open_period(monitor)))
    return (f"{n_late} row(s) {where} fall in periods whose chunks are complete; rows are "
            f"added to the open chunk, from {start} UTC, or later ones. Leave out the rows "
            "earlier than that, or pass late_rows='drop' (skcal monitor --late-rows drop) "
            "to have them left out and counted in n_rows_late_.")


def grouped_by_chunk(chunk_of_row, *arrays):
    """``(chunk_of_row, *arrays)`` with the rows sorted by chunk, each row keeping
    its place within its chunk (a batch of periods in any order); as they are
    when sorted already. ``None`` among ``arrays`` stays None."""
    if chunk_of_row.shape[0] < 2 or not np.any(np.diff(chunk_of_row) < 0):
        return (chunk_of_row, *arrays)
    order = np.argsort(chunk_of_row, kind="stable")
    return (chunk_of_row[order], *(None if a is None else a[order] for a in arrays))


class WaitingRows(NamedTuple):
    """A batch's rows waiting for a label: row numbers, ids, chunks and
    log-probabilities, and how many more were dropped already (beyond
    ``max_pending``, where the rows were summarised)."""

    rows: np.ndarray
    ids: np.ndarray
    chunks: np.ndarray
    log_proba: np.ndarray
    n_dropped: int = 0


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
