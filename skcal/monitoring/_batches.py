"""A batch's commit to a monitor's state, from its chunks' summaries: the one path
of every update, whether the summaries were computed here from arrays or where
the rows live (a Spark DataFrame's executors)."""

from ..utils._warnings import warn
from ._chunking import added_to_chunks, trimmed
from ._pending import pending_after
from ._state import freeze
from ._table import evaluate_chunks


def add_batch(monitor, summaries, waiting, n, last_time):
    """Commit to ``monitor`` a batch of ``n`` rows, given as its chunks' summaries
    (``(chunk, start mark, end mark, summary)`` in chunk order) and its rows
    waiting for a label (:class:`~skcal.monitoring._chunking.WaitingRows`,
    ``n_dropped`` of them dropped already); ``last_time`` is its last row's time
    in nanoseconds, or None."""
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
    if last_time is not None:
        monitor._last_time = last_time


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
