"""Cross-fitting folds of a Spark DataFrame's rows, computed where the rows are.

:func:`~skcal.metrics._decomposition.stratified_folds` deals each class's rows
round-robin over the folds, in row order. On Spark, each partition knows from
the survey how many rows of each class come before it, so its tasks number their
own rows of each class and deal them as the array version would: the same fold
for every row, without the driver holding one.

:class:`GroupFolds` keeps each group's rows in one fold instead: a group's fold
follows from its id alone (:func:`group_folds`), wherever its rows are.
"""

import zlib

import numpy as np

from ..metrics._decomposition import stratified_folds
from ..rows._remote import RemoteVector


class BatchRows:
    """What a task knows of one batch when it computes per-row vectors: the
    labels (column indices), the weights, the partition, state kept from
    batch to batch of the partition, and the batch's other columns that the
    table reads (``extra``: name -> values, such as a group column)."""

    def __init__(self, y_index, weights, pid, state, extra=None):
        self.y_index, self.weights, self.pid, self.state = y_index, weights, pid, state
        self.extra = {} if extra is None else extra
        self.cache = {}


class StratifiedFolds:
    """Each row's fold, as ``stratified_folds(y_index, n_folds)`` deals them.

    Parameters
    ----------
    table : SparkScores
        Its labels checked (the survey's tallies and the label encoding).
    n_folds : int
    """

    def __init__(self, table, n_folds):
        self.n_folds = n_folds
        self.n_rows = table.shape[0]
        self.table = table  # on the driver only: not pickled (see __getstate__)
        counts = {pid: table.encoding.class_counts(tally)
                  for pid, tally in table.survey.partition_labels.items()}
        self.offsets, running = {}, np.zeros(table.encoding.n_columns, dtype=np.int64)
        for pid in sorted(counts):
            self.offsets[pid] = running.copy()
            running += counts[pid]
        self.class_totals = running

    def __getstate__(self):  # sent to the executors without the DataFrame
        return {**self.__dict__, "table": None}

    def class_counts(self):
        """(n_classes, n_folds): the rows of each class in each fold."""
        folds = np.arange(self.n_folds)
        return np.maximum(0, -(-(self.class_totals[:, None] - folds) // self.n_folds))

    def check_training_classes(self):
        """Refuse folds whose other folds hold fewer than two classes, on which no
        recalibration can be fitted."""
        lacking = np.flatnonzero(np.count_nonzero(
            self.class_totals[:, None] - self.class_counts() > 0, axis=0) < 2)
        if lacking.shape[0]:
            raise ValueError(
                f"Fold {lacking[0]} leaves fewer than two classes to fit the recalibration "
                "on; use fewer folds or more data."
            )

    def of_batch(self, rows):
        """The fold of each row of a batch (:class:`BatchRows`), batches read in order."""
        if id(self) not in rows.cache:
            ranks = rows.state.setdefault(("ranks", id(self)), self.offsets.get(
                rows.pid, np.zeros_like(self.class_totals)).copy())
            folds = stratified_folds(rows.y_index, self.n_folds, ranks)
            ranks += np.bincount(rows.y_index, minlength=ranks.shape[0])
            rows.cache[id(self)] = folds
        return rows.cache[id(self)]

    def per_row(self, per_fold):
        """``per_fold[fold of the row]`` for every row, as a remote vector."""
        return RemoteVector(self.table, FoldValues(self, np.asarray(per_fold)), self.n_rows,
                            np.zeros(0))


class FoldValues:
    """The per-row vector ``values[fold]``."""

    def __init__(self, folds, values):
        self.folds, self.values = folds, values

    def read(self, rows):
        return self.values[self.folds.of_batch(rows)]


def group_folds(keys, n_folds):
    """The fold of each row from its group id: the CRC-32 of the id's text,
    modulo ``n_folds`` (the same in every process, unlike Python's ``hash``).

    Examples
    --------
    >>> group_folds(np.array(["user-1", "user-2", "user-1"], dtype=object), 5).tolist()
    [4, 0, 4]
    """
    return np.array([zlib.crc32(str(key).encode()) % n_folds for key in keys],
                    dtype=np.intp)


class GroupFolds:
    """Each row's fold by its group (:func:`group_folds` of the ``column``'s
    ids), read where the rows are: a group's rows never fall in two folds. The
    folds hold about as many groups each, not as many rows; a fold may hold no
    group when there are few.

    Parameters
    ----------
    table : SparkScores
        Whose layout reads ``column`` beside the scores.
    column : str
    n_folds : int
    """

    def __init__(self, table, column, n_folds):
        self.table, self.column, self.n_folds = table, column, n_folds
        self.n_rows = table.shape[0]

    def __getstate__(self):  # sent to the executors without the DataFrame
        return {**self.__dict__, "table": None}

    def of_batch(self, rows):
        """The fold of each row of a batch (:class:`BatchRows`). Which classes a
        fold's other folds hold is known only once the rows are read; one short
        of a class fits its temperature with the warnings it gives alone."""
        return group_folds(rows.extra[self.column], self.n_folds)

    per_row = StratifiedFolds.per_row
