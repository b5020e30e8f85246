"""A Spark DataFrame of scores as a remote table of the row engine
(:mod:`skcal.rows._remote`): every pass is one Spark job whose tasks run the
engine's own block loop over their partition's Arrow batches and send back one
small pickled partial result each; the driver adds them up. The first job is
the survey (:mod:`skcal.spark._survey`).
"""

import pickle

import numpy as np

from ..rows._block_loops import reduce_local
from ..rows._column_classes import column_classes, sorting_order
from ..rows._labels import encode_labels, plain
from ..rows._remote import RemoteVector
from ._folds import BatchRows, GroupFolds, StratifiedFolds
from ._layout import BadRow, Layout, quoted
from ._provisional import (PassChecks, PendingVector, Unsettled, provisional_encoding,
                           provisional_survey, settle)
from ._survey import check_weight_totals, survey_of
from ._tasks import in_fewer_tasks
from ._vectors import check_numbering

_RESULT_SCHEMA = "pid int, error string, part binary"


# how a vector's entries are read as the classes its model numbered
TRAINED_LABELS = ("Pass y={column!r}, the indexed labels the model was trained on: their "
                  "values are the entries' positions.")


class SparkScores:
    """The scores of a Spark DataFrame, with its label and weight columns, read
    where they live. Creating one runs the survey (one Spark job).

    Parameters
    ----------
    df : pyspark.sql.DataFrame
    scores, y, sample_weight
        Column names, as :class:`~skcal.spark._layout.Layout` takes them.
    provisional : bool, default=False
        Survey a computed cache from its sample alone
        (:mod:`~skcal.spark._provisional`); the caller then catches
        :class:`~skcal.spark._provisional.Unsettled` and starts again with
        ``provisional=False``.
    sample : list, default=None
        A sample already drawn (that of a provisional survey), not drawn again.
    cached : pyspark.sql.DataFrame, default=None
        The DataFrame whose cache holds ``df``'s rows, when ``df`` is a projection
        of it (:func:`~skcal.spark._vectors.vectors_as_arrays`); ``df`` itself by
        default.
    """

    _skcal_remote_table = True

    def __init__(self, df, scores, y=None, sample_weight=None, *, provisional=False,
                 sample=None, cached=None):
        self.df = df
        self.layout = Layout(df, scores, y, sample_weight)
        self.dtype = self.layout.dtype
        self.encoding = None
        survey = None
        if provisional:
            survey, sample = provisional_survey(df, self.layout, cached)
        self.provisional = survey is not None
        # under a provisional survey: the rows of each class, once a pass counted them
        self.column_counts = self.checks = None
        if survey is None:
            survey = survey_of(df, self.layout, sample=sample, cached=cached)
        if survey.n_rows == 0:
            raise ValueError("The DataFrame has no rows; at least one is required.")
        self.survey = survey
        width = survey.width if self.layout.is_array else len(self.layout.score_columns)
        self.shape = (survey.n_rows,) if width == 1 and not self.layout.is_array \
            else (survey.n_rows, width)
        self.ndim = len(self.shape)
        self.looks_like_probabilities = survey.looks_like_probabilities
        self.column_beside_probabilities = survey.column_beside_probabilities
        self.counts_or_votes = survey.counts_or_votes
        self.partition_starts = None if self.provisional else survey.partition_starts()

    @property
    def score_name(self):
        """The score column(s), as messages name them (not ``X``)."""
        return self.layout.score_name

    # a metric told that the scores are probabilities is called by skcal.spark.evaluate
    probability_hint = " If they are logits, pass score_type='logits' to skcal.spark.evaluate."

    # ------------------------------------------------ the vectors beside it
    @property
    def labels(self):
        """The label column, as a token the checks of skcal take for ``y``."""
        if self.layout.y is None:
            raise ValueError("No label column was given; pass y= the name of the column.")
        if self.provisional:
            return PendingVector(self, "labels", self.shape[0])
        return RemoteVector(self, "labels", self.shape[0], self.survey.counts)

    @property
    def weights(self):
        """The weight column as a token (None without one)."""
        if self.layout.sample_weight is None:
            return None
        return RemoteVector(self, "weights", self.shape[0], self.survey.weight_sums)

    def check_labels(self, y, sample_weight, n_rows, *, n_columns, labels=None,
                     ignore_index=None, min_classes=2, takes_labels=True):
        """:func:`~skcal.rows._labels.check_labels_and_weights` of the label and
        weight columns, from the survey's totals; fixes how the executors encode
        the labels in every later pass."""
        for vector in (y, sample_weight):
            if vector is not None and getattr(vector, "table", None) is not self:
                raise ValueError(
                    "Scores of a Spark DataFrame take their labels and weights from "
                    "columns of the same DataFrame; pass column names, not arrays."
                )
        named = None
        if labels is None and not self.layout.is_array:  # columns named after classes
            labels = named = column_classes(self.layout.score_columns, [
                value for value in self.survey.label_values
                if ignore_index is None or value != ignore_index])
        if self.provisional:
            classes, index = provisional_encoding(self.survey, n_columns, labels,
                                                  min_classes, ignore_index, takes_labels)
            check_numbering(self.layout, classes, TRAINED_LABELS)
            if named is not None:  # the encoding's values are the classes themselves
                classes, _ = self._in_sorted_order(classes, index)
                index = np.arange(classes.shape[0])
            self.encoding = LabelEncoding(classes, index, None, n_columns)
            self.checks = PassChecks(self.survey.width, n_columns)
            return classes, PendingVector(self, "labels", n_rows), None
        survey, name = self.survey, self.layout.sample_weight
        if name is not None:
            check_weight_totals(survey, name)
        values = survey.label_values
        weight = survey.weight_sums if name is not None else survey.counts.astype(float)
        ignored = np.zeros(values.shape[0], dtype=bool)
        if ignore_index is not None:
            ignored = np.array([value == ignore_index for value in values], dtype=bool)
        keep = (weight > 0) & ~ignored
        if not keep.any():
            raise ValueError(
                f"Every row has weight 0 or the label ignore_index={plain(ignore_index)!r}; "
                "at least one row must count."
            )
        classes, index = encode_labels(values[keep], n_columns, labels=labels,
                                       min_classes=min_classes, takes_labels=takes_labels)
        check_numbering(self.layout, classes, TRAINED_LABELS)
        if named is not None:
            classes, index = self._in_sorted_order(classes, index)
        weighted = name is not None or ignored.any()
        self.encoding = LabelEncoding(values[keep], index, ignore_index, n_columns)
        if weighted:  # rows of weight 0 take the first counted row's label
            self.encoding.unweighted_index = self.encoding.index_of(
                _first_counted_label(survey.partition_labels, ignore_index))
        counts = np.bincount(index, weights=survey.counts[keep], minlength=n_columns)
        labels_token = RemoteVector(self, "labels", n_rows, counts)
        weights_token = (RemoteVector(self, "weights", n_rows,
                                      np.bincount(index, weights=weight[keep],
                                                  minlength=n_columns))
                         if weighted else None)
        return classes, labels_token, weights_token

    def _in_sorted_order(self, classes, index):
        """Score columns named after classes in another order than the sorted one:
        read in that order from now on (so that a calibrator's ``classes_`` are
        sorted, as on arrays), each label encoded as its class's place in it."""
        order = sorting_order(classes)
        if order is None:
            return classes, index
        self.layout.column_order = order
        return classes[order], np.argsort(order)[np.asarray(index)]

    def sample(self, reader):
        """(prepared score block, column indices, weights) of the survey's sampled
        rows, each weighing as many rows as it stands for: a small stand-in for
        the table, for a fit's starting point (None before the labels are checked)."""
        if self.encoding is None or not self.survey.sample:
            return None
        blocks, labels, weights = [], [], []
        for scores, y, w, stands_for in self.survey.sample:
            if self.layout.column_order is not None:  # as the passes read them
                scores = scores[:, self.layout.column_order]
            block = reader._prepared(scores, 0)
            y, w = self.encoding.encode(y, w, column=self.layout.y, start=0)
            blocks.append(block)
            labels.append(y)
            weights.append(np.full(y.shape[0], float(stands_for)) if w is None
                           else w * stands_for)
        return np.concatenate(blocks), np.concatenate(labels), np.concatenate(weights)

    def stratified_folds(self, n_folds):
        """Each row's cross-fitting fold, as arrays' ``stratified_folds`` deals them
        (:class:`~skcal.spark._folds.StratifiedFolds`); after ``check_labels``."""
        if self.provisional:
            raise Unsettled("folds are dealt from the rows of each partition")
        return StratifiedFolds(self, n_folds)

    def group_folds(self, column, n_folds):
        """Each row's cross-fitting fold by its group in ``column``
        (:class:`~skcal.spark._folds.GroupFolds`), which the passes read beside
        the scores from now on."""
        self.layout.read_beside(column)
        return GroupFolds(self, column, n_folds)

    # ---------------------------------------------------------- one pass
    def reduce(self, reader, func, vectors, combine, block_elements):
        """The row engine's reduction, one Spark job (see :mod:`skcal.rows._remote`)."""
        markers = []
        for vector in vectors:
            if vector is not None and getattr(vector, "table", None) is not self:
                raise TypeError(
                    "A pass over a Spark DataFrame reads its per-row vectors from the "
                    f"DataFrame; got {type(vector).__name__}."
                )
            markers.append(None if vector is None else vector.kind)
        if "labels" in markers and self.encoding is None:
            raise RuntimeError("The labels are read only after check_labels.")
        job = (_reduce_partition, self.layout, reader, func, tuple(markers), combine,
               block_elements, self.encoding)
        if self.provisional:
            return self._provisional_reduce(job, markers, combine)
        # rows are numbered (for messages, and for per-row vectors such as folds)
        # in partitions as the DataFrame has them; a pass of plain sums may read
        # them in fewer, larger tasks, and is run again that way only to name a
        # bad row
        if any(hasattr(marker, "read") for marker in markers):
            parts = run_job(self.df, self.layout.columns, *job, self.partition_starts)
        else:
            try:
                parts = run_job(self.df, self.layout.columns, *job, None, coalesced=True)
            except ValueError:
                parts = run_job(self.df, self.layout.columns, *job, self.partition_starts)
        return _combined(parts, combine)

    def _provisional_reduce(self, job, markers, combine):
        """A pass under a provisional survey, which checks what the sample could
        not (see :mod:`~skcal.spark._provisional`)."""
        if self.checks is None:
            raise Unsettled("a pass before check_labels checks no label")
        if any(hasattr(marker, "read") for marker in markers):
            raise Unsettled("per-row vectors number the rows of each partition")
        try:
            parts = run_job(self.df, self.layout.columns, *job, None, self.checks,
                            coalesced=True)
        except ValueError as exc:  # the full survey and its passes name the row
            raise Unsettled(str(exc)) from None
        settle(self, [tally for _, tally in parts])
        return _combined([part for part, _ in parts], combine)


def _combined(parts, combine):
    result = None
    for part in parts:
        if part is not None:
            result = part if result is None else combine(result, part)
    return result


class LabelEncoding:
    """How the executors turn labels into column indices: ``values[i]`` is column
    ``index[i]``; rows labelled ``ignore_index`` weigh 0; rows of weight 0 may
    hold any label, and are given the column of the first row that counts (as
    :func:`~skcal.rows._labels.drop_unweighted` does to arrays)."""

    def __init__(self, values, index, ignore_index, n_columns):
        order = np.argsort(values, kind="stable")
        self.values, self.index = values[order], np.asarray(index)[order]
        self.ignore_index = ignore_index
        self.n_columns = n_columns
        self.unweighted_index = None

    def index_of(self, label):
        """The column of ``label`` (one of the encoded labels)."""
        return int(self.index[np.searchsorted(self.values, label)])

    def class_counts(self, tally):
        """Rows of each column in one partition's label ``tally`` (see
        :func:`~skcal.spark._survey.tally_labels`), as :meth:`encode` assigns them."""
        counts = np.zeros(self.n_columns, dtype=np.int64)
        for value, (positive, zero, _) in tally.items():
            ignored = self.ignore_index is not None and value == self.ignore_index
            if self.unweighted_index is None:
                counts[self.index_of(value)] += positive + zero
                continue
            counts[self.unweighted_index] += zero + (positive if ignored else 0)
            if not ignored:
                counts[self.index_of(value)] += positive
        return counts

    def encode(self, y, w, *, column, start):
        """(column indices, weights) of one batch's labels and weights."""
        position = np.clip(np.searchsorted(self.values, y), 0, self.values.shape[0] - 1)
        found = self.values[position] == y
        if self.ignore_index is not None:
            ignored = y == self.ignore_index
            if ignored.any():
                w = np.where(ignored, 0.0, 1.0 if w is None else w)
        counted = ~found if w is None else ~found & (w > 0)
        if counted.any():
            row = int(np.flatnonzero(counted)[0])
            raise ValueError(
                f"The label column y={column!r} holds the label {plain(y[row])!r} at row "
                f"{start + row}, which the checked labels lack; pass the same data to "
                "every pass."
            )
        y_index = np.where(found, self.index[position], 0).astype(np.intp)
        if self.unweighted_index is not None and w is not None:
            y_index[w == 0] = self.unweighted_index
        return y_index, w


def _first_counted_label(partition_labels, ignore_index):
    """The label of the DataFrame's first row of positive weight not labelled
    ``ignore_index``."""
    for pid in sorted(partition_labels):
        counted = [(entry[2], value) for value, entry in partition_labels[pid].items()
                   if entry[0] and not (ignore_index is not None and value == ignore_index)]
        if counted:
            return min(counted)[1]
    raise AssertionError("check_labels found a row that counts")


def run_job(df, columns, partition_function, *args, coalesced=False):
    """One Spark job: ``partition_function(batches, pid, *args)`` on every
    partition of ``df``'s ``columns`` (``mapInArrow``), each yielding one pickled
    result; the results in partition order. An error raised by skcal's checks on
    an executor is raised here as the same ValueError.

    ``coalesced``: read in as many tasks as the cluster has cores
    (:func:`~skcal.spark._tasks.in_fewer_tasks`); its tasks then do not know
    which partition a row comes from."""
    import functools

    from pyspark.sql import functions as F

    job = functools.partial(_run_partition, partition_function, args)
    # named by position: the executors read columns by position, and mapInArrow
    # cannot name a column whose name holds a backtick
    frame = df.select(*[F.col(quoted(name)).alias(f"column_{i}")
                        for i, name in enumerate(columns)])
    if coalesced:
        frame = in_fewer_tasks(frame, df)
    rows = frame.mapInArrow(job, _RESULT_SCHEMA).collect()
    rows = sorted(rows, key=lambda row: row.pid)
    for row in rows:
        if row.error is not None:
            raise ValueError(row.error)
    return [pickle.loads(row.part) for row in rows]


def _run_partition(partition_function, args, batches):
    import pyarrow as pa
    from pyspark import TaskContext

    pid = TaskContext.get().partitionId()
    error, result = None, None
    try:
        result = partition_function(batches, pid, *args)
    except ValueError as exc:
        error = f"{exc} (Spark partition {pid})"
    yield pa.RecordBatch.from_pydict(
        {"pid": [pid], "error": [error], "part": [pickle.dumps(result)]},
        schema=pa.schema([("pid", pa.int32()), ("error", pa.string()),
                          ("part", pa.binary())]),
    )


def _reduce_partition(batches, pid, layout, reader, func, markers, combine, block_elements,
                      encoding, partition_starts, checks=None):
    """The reduction of one task's batches; rows numbered from the partition's
    first (``partition_starts``; None in a coalesced task, whose numbers are then
    its own). With ``checks`` (a :class:`~skcal.spark._provisional.PassChecks`),
    each batch is checked, and the result is ``(reduction, rows of each class)``."""
    result, state, tally = None, {}, None
    start = 0 if partition_starts is None else partition_starts.get(pid, 0)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        try:
            block = layout.scores(batch)
            y, w = layout.labels(batch), layout.weights(batch)
            extra = {name: layout.values(batch, name) for name in layout.extra}
        except BadRow as exc:
            raise exc.shifted(start) from None
        if encoding is not None and y is not None:
            y, w = encoding.encode(y, w, column=layout.y, start=start)
        if checks is not None:
            checks.check(block, layout)
            counted = checks.tally(y)
            tally = counted if tally is None else tally + counted
        rows = BatchRows(y, w, pid, state, extra)
        vectors = tuple(marker.read(rows) if hasattr(marker, "read")
                        else {"labels": y, "weights": w, None: None}[marker]
                        for marker in markers)
        partial = reduce_local(reader, block, start, func, vectors, combine, block_elements)
        result = partial if result is None else combine(result, partial)
        start += batch.num_rows
    return result if checks is None else (result, tally)
