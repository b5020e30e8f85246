"""A batch's commit to a monitor's state, from its chunks' summaries: the one path
of every update, whether the summaries were computed here from arrays or where
the rows live (a Spark DataFrame's executors)."""

import numpy as np

from ..rows._namespaces import to_numpy
from ..utils._warnings import warn
from ._chunking import (WaitingRows, added_to_chunks, chunk_ids, grouped_by_chunk,
                        labelled_later, trimmed)
from ._inputs import labels_of
from ._pending import (as_ids, as_row_numbers, check_label_arguments, pending_after,
                       positions_of_ids, positions_of_rows, without)
from ._row_sums import batch_summaries
from ._state import freeze
from ._statistics import add_summaries
from ._table import evaluate_chunks


def add_batch(monitor, summaries, waiting, n, last_time, n_late=0):
    """Commit to ``monitor`` a batch of ``n`` rows, given as its chunks' summaries
    (``(chunk, start mark, end mark, summary)`` in chunk order) and its rows
    waiting for a label (:class:`~skcal.monitoring._chunking.WaitingRows`,
    ``n_dropped`` of them dropped already); ``last_time`` is its last row's time
    in nanoseconds (its latest), or None. ``n_late`` of the ``n`` rows fell in
    complete chunks and were left out (``late_rows='drop'``): they are counted,
    and keep their row numbers."""
    # everything below builds new state; nothing is assigned until the end
    chunks, opened = added_to_chunks(monitor, summaries)
    pending = pending_after(monitor._pending, waiting.rows, waiting.ids, waiting.chunks,
                            waiting.log_proba, monitor.max_pending)
    pending = pending._replace(n_dropped=pending.n_dropped + waiting.n_dropped)
    # a batch only appends complete chunks: those evaluated before keep their rows
    evaluated = len(monitor._chunks) - max(0, len(chunks) - monitor.history)
    chunks, cusum_before = trimmed(monitor, chunks)
    chunks = freeze(chunks, pending.chunks, monitor.classes_.shape[0])
    table = evaluate_chunks(monitor, chunks, cusum_before, unchanged=max(0, evaluated))
    # commit
    monitor._chunks, monitor._open, monitor._cusum_before, monitor._table = (
        chunks, opened, cusum_before, table)
    monitor._pending = pending
    monitor.n_rows_ += n
    monitor.n_rows_late_ += n_late
    if last_time is not None:  # the latest time seen (a batch may hold earlier ones)
        monitor._last_time = (last_time if monitor._last_time is None
                              else max(last_time, monitor._last_time))


# rows whose per-row work is done at once: a batch of more is summarised in
# blocks of this many values (each (rows, classes) temporary 32 MB in float64)
BLOCK_VALUES = 2**22


def add_rows(monitor, scores, log_proba_of, y, timestamps, ids, late_rows="error"):
    """Commit to ``monitor`` a batch of rows given as arrays: their scores,
    which ``log_proba_of`` maps to ``(log-probabilities, their exponentials or
    None, the rows' largest log-probabilities or None)``, labels (or None), times
    and ids (or None). With ``chunk_period`` the rows may come in any order;
    each is summarised in its period's chunk, and keeps its row number (its
    place in arrival order) while it waits for a label. Rows of complete chunks
    are refused, or with ``late_rows='drop'`` left out and counted.

    The per-row work is done on blocks of at most ``BLOCK_VALUES`` scores, and
    the blocks' chunk summaries added up, so that a batch of any size takes
    memory for a block's temporaries (a day of a million rows of 100 classes
    took 12 float64 copies of it); nothing is committed before the last block.
    """
    n = np.shape(scores)[0]
    labelled, y_index = labels_of(y, n, monitor.classes_)
    chunk_of_row, starts, ends, times, late = chunk_ids(monitor, n, timestamps, late_rows)
    parts = (chunk_of_row, np.arange(n), y_index, labelled, starts, ends,
             monitor.n_rows_ + np.arange(n), as_ids(ids, n))
    if late is not None:  # left out, keeping their row numbers (their place in arrival)
        parts = tuple(None if part is None else part[~late] for part in parts)
    (chunk_of_row, order, y_index, labelled, starts, ends, rows, row_ids) = grouped_by_chunk(
        *parts)
    n_kept = order.shape[0]
    in_order = bool(np.array_equal(order, np.arange(n)))
    width = np.shape(scores)[1] if np.ndim(scores) == 2 else 2
    step = max(1, BLOCK_VALUES // width)
    merged, waiting_log_proba = {}, []
    for start in range(0, n_kept, step):
        block = slice(start, min(start + step, n_kept))
        log_proba, proba, best = log_proba_of(
            _rows_of(scores, block if in_order else order[block]))
        for chunk, rows_in_block, summary in batch_summaries(
                log_proba, y_index[block], labelled[block], chunk_of_row[block], proba, best,
                monitor._batch_scratch()):
            first = block.start + rows_in_block.start
            last = block.start + rows_in_block.stop - 1
            if chunk in merged:
                chunk_start, _, before = merged[chunk]
                merged[chunk] = (chunk_start, ends[last], add_summaries(before, summary))
            else:
                merged[chunk] = (starts[first], ends[last], summary)
        waiting_log_proba.append(log_proba[~labelled[block]].astype(np.float32))
    summaries = [(chunk, *merged[chunk]) for chunk in sorted(merged)]
    waiting = ~labelled
    log_proba = (np.concatenate(waiting_log_proba) if waiting_log_proba
                 else np.empty((0, len(monitor.classes_)), dtype=np.float32))
    add_batch(monitor, summaries, WaitingRows(
        rows[waiting], row_ids[waiting], chunk_of_row[waiting], log_proba),
        n, None if times is None or not times.shape[0] else int(times.max()),
        n - n_kept)


def add_late_labels(monitor, rows, y, ids):
    """Commit to ``monitor`` labels that arrived late (see
    :meth:`~skcal.CalibrationMonitor.add_labels`), for waiting rows given by
    number (``rows``) or by id (``ids``). Returns the rows joined: their
    served log-probabilities (float32), label columns and chunks."""
    check_label_arguments(rows, ids, y)
    rows, y, ids = to_numpy((rows, y, ids))
    y = np.asarray(y).reshape(-1)
    given = (as_row_numbers(rows) if ids is None
             else np.asarray(ids, dtype=object).reshape(-1))
    if given.shape[0] != y.shape[0]:
        name = "rows" if ids is None else "ids"
        raise ValueError(f"{name} has {given.shape[0]} entries but y has {y.shape[0]}.")
    labelled, y_index = labels_of(y, y.shape[0], monitor.classes_)
    if not labelled.all():
        raise ValueError("y has missing labels; pass the labels that arrived.")
    unmatched = 0
    if ids is None:
        take = positions_of_rows(monitor._pending, given)
    else:
        take, matched = positions_of_ids(monitor._pending, as_ids(ids, y.shape[0]))
        y_index, unmatched = y_index[matched], int((~matched).sum())
    log_proba, chunk_of_row = monitor._pending.log_proba[take], monitor._pending.chunks[take]
    chunks, opened = labelled_later(monitor._chunks, monitor._open, log_proba, chunk_of_row,
                                    y_index)
    pending = without(monitor._pending, take)
    chunks = freeze(chunks, pending.chunks, monitor.classes_.shape[0])
    table = evaluate_chunks(monitor, chunks, monitor._cusum_before)
    # commit
    monitor._chunks, monitor._open, monitor._table, monitor._pending = (
        chunks, opened, table, pending)
    monitor.n_labels_unmatched_ += unmatched
    return log_proba, y_index, chunk_of_row


def _rows_of(scores, rows):
    """The rows ``rows`` (a slice or positions) of scores, a DataFrame's by position."""
    if hasattr(scores, "iloc"):
        return scores.iloc[rows]
    return np.asarray(scores)[rows]


def repeated_batch(monitor, batch_id):
    """True, with a warning, for a batch id added already."""
    seen = None if batch_id is None else monitor.has_batch(batch_id)
    if seen is not None:
        warn(f"batch {batch_id!r} was added already (as {seen!r}); it is skipped. "
             "Pass another batch_id to add its rows again.", UserWarning)
    return seen is not None


def record_batch(monitor, batch_id, batch_name):
    """Keep ``batch_id`` among the last ``history`` batches added."""
    if batch_id is not None:
        monitor._batches = (monitor._batches + [[str(batch_id), batch_name or str(batch_id)]]
                            )[-monitor.history:]


def record_batch_rows(monitor, batch_id, n_rows, rows_digest):
    """Note with the batch ``batch_id``, just recorded, how many rows its file
    held and their digest (``skcal monitor``: the next run tells a file that
    grew from one whose rows changed). No batch for None, which is not recorded."""
    for batch in reversed(monitor._batches if batch_id is not None else []):
        if batch[0] == str(batch_id):
            batch[2:] = [int(n_rows), str(rows_digest)]
            return


def rows_recorded(monitor, batch_name):
    """``(rows, their digest)`` noted with the latest batch added under
    ``batch_name`` (see :func:`record_batch_rows`), or None (none was, or
    not with its rows, as before skcal noted them)."""
    for batch in reversed(monitor._batches):
        if batch[1] == batch_name:
            return (int(batch[2]), str(batch[3])) if len(batch) >= 4 else None
    return None
