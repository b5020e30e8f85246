"""A :class:`~skcal.CalibrationMonitor` fed from a Spark DataFrame: the per-chunk
summaries are computed on the executors, by the monitor's own per-row code, and
added up by chunk on the driver, which commits them as an in-memory update would
(:func:`~skcal.monitoring._batches.add_batch`). Only the chunks' summaries and
the rows still waiting for a label (at most ``max_pending``) reach the driver."""

import numpy as np

from ..monitoring._batches import add_batch, record_batch, repeated_batch
from ..monitoring._chunking import (
    WaitingRows,
    check_late_rows,
    complete_periods_message,
    first_open_period,
    period_index,
    period_start,
)
from ..monitoring._fitted_params import check_fitted_and_unchanged
from ..monitoring._inputs import kept_score_columns, labels_of, nanoseconds
from ..monitoring._monitor import CalibrationMonitor
from ..monitoring._pending import as_ids, check_joinable_by_id
from ..monitoring._row_sums import batch_summaries
from ..monitoring._statistics import add_summaries
from ..rows._scores import check_finite_block, check_probabilities
from ._layout import BadRow, Layout, check_data_frame, quoted
from ._table import run_job
from ._tasks import in_fewer_tasks
from ._vectors import check_numbering, vectors_as_arrays


def update(monitor, df, *, scores, y=None, timestamp=None, ids=None, batch_id=None,
           batch_name=None, late_rows="error"):
    """Add the rows of a Spark DataFrame to a fitted monitor.

    The result is the monitor an in-memory ``monitor.update`` of the same rows
    gives (the same table, to rounding). Two Spark jobs: one counts each
    partition's rows (so rows are numbered in the DataFrame's order), one
    summarises each partition's rows by chunk.

    Parameters
    ----------
    monitor : CalibrationMonitor
        Fitted (on the reference); updated in place.

    df : pyspark.sql.DataFrame

    scores : str or list of str
        The deployed model's raw scores, as :func:`skcal.spark.fit` takes them
        (a Spark ML vector column too).

    y : str, default=None
        The label column. Rows whose label is null (or marked as ``update``
        takes them: NaN, or -1 where -1 is not a class) wait for their labels
        (:meth:`~skcal.CalibrationMonitor.add_labels`).

    timestamp : str, default=None
        The time column; required with ``chunk_period`` (rows are grouped by
        period, in any order; a complete chunk's rows are refused). With
        ``chunk_size``, rows are numbered in the DataFrame's order: sort it
        first (``df.orderBy(...)``) if that order matters.

    ids : str, default=None
        A column of row ids, for labels joined later by id.

    batch_id, batch_name : str, default=None
        As in :meth:`~skcal.CalibrationMonitor.update`: a repeated batch id is
        skipped with a warning.

    late_rows : {'error', 'drop'}, default='error'
        As in :meth:`~skcal.CalibrationMonitor.update`: rows of periods whose
        chunks are complete refuse the DataFrame, or are left out on the
        executors and counted in ``monitor.n_rows_late_``.

    Returns
    -------
    monitor : CalibrationMonitor

    Examples
    --------
    With ``day`` a DataFrame of a running Spark session (the tests run this on
    local[2]):

    >>> import skcal.spark
    >>> skcal.spark.update(monitor, day, scores="proba", y="label",
    ...                    batch_id="2026-12-03")  # doctest: +SKIP
    """
    _check_monitor(monitor, "update")
    check_late_rows(monitor, late_rows)
    period = monitor._period_ns
    if (period is None) != (timestamp is None):
        raise ValueError("timestamp= is needed with chunk_period, and used with it only: "
                         "set both or neither.")
    if repeated_batch(monitor, batch_id):
        return monitor
    df = vectors_as_arrays(df, scores)
    layout = Layout(df, scores, y, extra=[name for name in (timestamp, ids) if name])
    check_numbering(layout, monitor.classes_, (
        "The monitor's classes are in that order: fit it on the labels as {column!r} "
        "numbers them (0 for its first class), and pass y={column!r}."))
    # each column is a class: named columns in another order than the monitor's
    # are refused, as update refuses a DataFrame's
    names = kept_score_columns(getattr(monitor, "_score_columns", None),  # older pickles
                               None if layout.is_array else layout.score_columns,
                               monitor.n_features_in_)
    from pyspark.sql import functions as F

    partition_ids = in_fewer_tasks(df.select(F.spark_partition_id().alias("pid")), df)
    counts = dict(partition_ids.groupBy("pid").count().collect())
    starts = dict(zip(sorted(counts), np.cumsum([0] + [counts[p] for p in sorted(counts)])))
    first_open = first_open_period(monitor) if timestamp is not None else None
    parts = run_job(df, layout.columns, _summarise_partition, layout, monitor,
                    {pid: int(start) for pid, start in starts.items()}, timestamp, ids,
                    first_open if late_rows == "drop" else None)
    n = sum(part["n"] for part in parts)
    if n == 0:
        return monitor
    times = [part["times"] for part in parts if part["times"] is not None]
    last_time = max(t[1] for t in times) if times else None
    chunks = _merged_chunks(parts)
    if first_open is not None:  # rows in any order; none in a complete chunk
        n_late = sum(summary["n"] for index, _, _, summary in chunks if index < first_open)
        if n_late:
            raise ValueError(complete_periods_message(monitor, n_late, "of the DataFrame"))
    waiting = _merged_waiting(parts, monitor.max_pending, monitor.classes_.shape[0])
    add_batch(monitor, chunks, waiting, n, last_time, sum(part["n_late"] for part in parts))
    monitor._score_columns = names
    record_batch(monitor, batch_id, batch_name)
    return monitor


def add_labels(monitor, df, *, ids, y):
    """Add the labels that arrived late in a Spark DataFrame to a monitor's
    waiting rows, joined by id where the labels live.

    The ids of the rows waiting for a label (at most ``max_pending``, on the
    driver) are joined with the DataFrame on Spark, and only the labels of those
    rows are collected: the label table may hold every labelled event of the
    day. Rows whose label is null are left out (still unlabelled), as are ids
    that wait for nothing. The labels are then added as
    :meth:`~skcal.CalibrationMonitor.add_labels` adds them (an id twice among
    them is an error that changes nothing).

    Parameters
    ----------
    monitor : CalibrationMonitor
        Fitted, with rows added with ids (``update(..., ids=...)`` or
        :func:`update`); updated in place.

    df : pyspark.sql.DataFrame
        The labels.

    ids : str
        The id column, matched as text (``42`` and ``"42"`` are one id, as in
        :meth:`~skcal.CalibrationMonitor.update`).

    y : str
        The label column.

    Returns
    -------
    monitor : CalibrationMonitor

    Examples
    --------
    With ``clicks`` a DataFrame of a running Spark session (the tests run this on
    local[2]):

    >>> import skcal.spark
    >>> skcal.spark.add_labels(monitor, clicks, ids="request_id",
    ...                        y="clicked")  # doctest: +SKIP
    """
    _check_monitor(monitor, "add_labels")
    check_data_frame(df)
    Layout.check_column(df, ids, "ids")
    Layout.check_label_column(df, y)
    check_joinable_by_id(monitor._pending)
    waiting = [value for value in monitor._pending.ids if value is not None]
    if not waiting:
        return monitor
    from pyspark.sql import functions as F

    keys = df.sparkSession.createDataFrame([(value,) for value in waiting],
                                           "_skcal_id string")
    found = (df.select(_id_text(df, ids, F).alias("_skcal_id"),
                       F.col(quoted(y)).alias("_skcal_label"))
             .where(F.col("_skcal_label").isNotNull())
             .join(F.broadcast(keys), on="_skcal_id", how="inner")).collect()
    if found:
        monitor.add_labels(ids=np.array([row[0] for row in found], dtype=object),
                           y=np.array([row[1] for row in found]))
    return monitor


def _check_monitor(monitor, function):
    """Refuse anything but a fitted, unchanged CalibrationMonitor; a DataFrame
    where the monitor goes is told the order of the arguments."""
    if not isinstance(monitor, CalibrationMonitor):
        swapped = (f" (the monitor comes first: skcal.spark.{function}(monitor, df, ...))"
                   if hasattr(type(monitor), "schema") else "")
        raise TypeError(f"monitor must be a fitted CalibrationMonitor; got "
                        f"{type(monitor).__name__}{swapped}.")
    check_fitted_and_unchanged(monitor)


def _id_text(df, ids, F):
    """The id column as the text the monitor compares ids as
    (:func:`~skcal.monitoring._pending.id_text`): a whole number in a float
    column as the integer it is."""
    column = F.col(quoted(ids))
    if type(df.schema[ids].dataType).__name__ not in ("FloatType", "DoubleType"):
        return column.cast("string")
    # NaN equals NaN in Spark SQL and casts to 0: kept as text
    whole = ~F.isnan(column) & (column == F.floor(column)) & (F.abs(column) < 2.0 ** 63)
    return F.when(whole, column.cast("long").cast("string")).otherwise(column.cast("string"))


def _summarise_partition(batches, pid, layout, monitor, starts, timestamp, ids, first_open):
    """Per chunk: (start mark, end mark, summary) of a partition's rows; its rows
    waiting for a label (the last ``max_pending``); its times' range. Given
    ``first_open`` (``late_rows='drop'``), rows of earlier periods are left out
    and counted."""
    chunks, waiting, n_waiting = {}, [], 0
    start = starts.get(pid, 0)
    result = {"n": 0, "times": None, "n_late": 0}
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        try:
            scores = layout.scores(batch)
            y = layout.labels(batch, null_means_unlabelled=True)
            times = None if timestamp is None else layout.values(batch, timestamp)
            row_ids = as_ids(None if ids is None else layout.values(batch, ids), n)
        except BadRow as exc:
            raise exc.shifted(start) from None
        # checked here, so that an error names the row in the DataFrame's order
        check_finite_block(scores, start, layout.score_name)
        if monitor.score_type_ == "probabilities":
            check_probabilities(scores, name=layout.score_name, start=start)
        rows = monitor.n_rows_ + start + np.arange(n)
        if times is None:
            chunk, marks, ends = rows // monitor.chunk_size, rows, rows + 1
        else:
            times = nanoseconds(times, f"timestamp={timestamp!r}", first_row=start)
            chunk = period_index(monitor, times)
            marks, ends = period_start(monitor, chunk), period_start(monitor, chunk + 1)
            low, high = int(times.min()), int(times.max())
            result["times"] = (low, high) if result["times"] is None else (
                min(low, result["times"][0]), max(high, result["times"][1]))
        order = np.argsort(chunk, kind="stable")  # the rows of a chunk together
        if first_open is not None:  # late rows left out; the others keep their numbers
            order = order[chunk[order] >= first_open]
            result["n_late"] += n - order.shape[0]
            if order.shape[0] == 0:
                start += n
                result["n"] += n
                continue
        rows, row_ids, chunk, marks, ends = (values[order] for values in
                                             (rows, row_ids, chunk, marks, ends))
        log_proba, proba, best = monitor._log_proba(scores[order])
        labelled, y_index = labels_of(None if y is None else y[order], order.shape[0],
                                      monitor.classes_)
        for index, rows_of, summary in batch_summaries(log_proba, y_index, labelled, chunk,
                                                       proba, best):
            _add_chunk(chunks, index, marks[rows_of][0], ends[rows_of][-1], summary)
        wait = ~labelled
        n_waiting += int(wait.sum())
        waiting.append((rows[wait], row_ids[wait], chunk[wait],
                        log_proba[wait].astype(np.float32)))
        waiting = _last_rows(waiting, monitor.max_pending)
        start += n
        result["n"] += n
    result.update(chunks=chunks, waiting=waiting, n_waiting=n_waiting)
    return result


def _last_rows(parts, limit):
    """The ``limit`` highest-numbered rows of ``parts`` (row numbers, ids, chunks,
    log-probabilities), as one part, in row order."""
    joined = [np.concatenate(column) for column in zip(*parts)] if parts else []
    if not joined:
        return []
    order = np.argsort(joined[0], kind="stable")[-limit:] if limit else np.array([], int)
    return [tuple(column[order] for column in joined)]


def _add_chunk(chunks, index, mark, end, summary):
    """Add to ``chunks`` (index -> (start mark, end mark, summary)) one more part
    of chunk ``index``."""
    if index in chunks:
        kept = chunks[index]
        chunks[index] = (min(kept[0], mark), max(kept[1], end), add_summaries(kept[2], summary))
    else:
        chunks[index] = (mark, end, summary)


def _merged_chunks(parts):
    merged = {}
    for part in parts:
        for index, (mark, end, summary) in part.get("chunks", {}).items():
            _add_chunk(merged, index, mark, end, summary)
    return [(index, *merged[index]) for index in sorted(merged)]


def _merged_waiting(parts, max_pending, n_classes):
    waiting = _last_rows([row for part in parts for row in part.get("waiting", [])],
                         max_pending)
    n_waiting = sum(part.get("n_waiting", 0) for part in parts)
    if not waiting:
        empty = np.empty(0)
        return WaitingRows(empty.astype(np.int64), empty.astype(object),
                           empty.astype(np.int64), np.empty((0, n_classes), np.float32),
                           n_waiting)
    rows, row_ids, chunks, log_proba = waiting[0]
    return WaitingRows(rows, row_ids, chunks, log_proba, n_waiting - rows.shape[0])
