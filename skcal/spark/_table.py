"""A Spark DataFrame of scores as a remote table of the row engine
(:mod:`skcal.rows._remote`): every pass is one Spark job whose tasks run the
engine's own block loop over their partition's Arrow batches and send back one
small pickled partial result each; the driver adds them up.

The first job (the survey) counts each partition's rows, tells whether every
row is a probability vector (``score_type='auto'``), and tallies the labels and
weights, so that they are checked on the driver from their totals alone.
"""

import pickle

import numpy as np

from ..rows._blocks import reduce_local
from ..rows._labels import encode_labels, plain
from ..rows._remote import RemoteVector
from ..rows._scores import _looks_like_probabilities
from ._layout import BadRow, Layout

_RESULT_SCHEMA = "pid int, error string, part binary"


class SparkScores:
    """The scores of a Spark DataFrame, with its label and weight columns, read
    where they live. Creating one runs the survey (one Spark job).

    Parameters
    ----------
    df : pyspark.sql.DataFrame
    scores, y, sample_weight
        Column names, as :class:`~skcal.spark._layout.Layout` takes them.
    """

    _skcal_remote_table = True

    def __init__(self, df, scores, y=None, sample_weight=None):
        self.df = df
        self.layout = Layout(df, scores, y, sample_weight)
        self.dtype = self.layout.dtype
        self.encoding = None
        n_partitions = df.rdd.getNumPartitions()
        survey = _merge(run_job(df, self.layout.columns, _survey_partition, self.layout, n_partitions))
        if survey.bad_row is not None:
            pid, bad = survey.bad_row
            raise ValueError(f"{bad.shifted(survey.partition_starts()[pid])} (Spark "
                             f"partition {pid})")
        if survey.n_rows == 0:
            raise ValueError("The DataFrame has no rows; at least one is required.")
        self.survey = survey
        self.layout.width = survey.width
        width = survey.width if self.layout.is_array else len(self.layout.score_columns)
        self.shape = (survey.n_rows,) if width == 1 and not self.layout.is_array \
            else (survey.n_rows, width)
        self.ndim = len(self.shape)
        self.looks_like_probabilities = survey.looks_like_probabilities
        self.partition_starts = survey.partition_starts()

    # ------------------------------------------------ the vectors beside it
    @property
    def labels(self):
        """The label column, as a token the checks of skcal take for ``y``."""
        if self.layout.y is None:
            raise ValueError("No label column was given; pass y= the name of the column.")
        return RemoteVector(self, "labels", self.shape[0], self.survey.counts)

    @property
    def weights(self):
        """The weight column as a token (None without one)."""
        if self.layout.sample_weight is None:
            return None
        return RemoteVector(self, "weights", self.shape[0], self.survey.weight_sums)

    def check_labels(self, y, sample_weight, n_rows, *, n_columns, labels=None,
                     ignore_index=None, min_classes=2):
        """:func:`~skcal.rows._labels.check_labels_and_weights` of the label and
        weight columns, from the survey's totals; fixes how the executors encode
        the labels in every later pass."""
        for vector in (y, sample_weight):
            if vector is not None and getattr(vector, "table", None) is not self:
                raise ValueError(
                    "Scores of a Spark DataFrame take their labels and weights from "
                    "columns of the same DataFrame; pass column names, not arrays."
                )
        survey, name = self.survey, self.layout.sample_weight
        if name is not None:
            _check_weight_totals(survey, name)
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
                                       min_classes=min_classes)
        self.encoding = LabelEncoding(values[keep], index, ignore_index)
        weighted = name is not None or ignored.any()
        counts = np.bincount(index, weights=survey.counts[keep], minlength=n_columns)
        labels_token = RemoteVector(self, "labels", n_rows, counts)
        weights_token = (RemoteVector(self, "weights", n_rows,
                                      np.bincount(index, weights=weight[keep],
                                                  minlength=n_columns))
                         if weighted else None)
        return classes, labels_token, weights_token

    def sample(self, reader):
        """(prepared score block, column indices, weights) of the survey's strided
        rows, each weighing as many rows as it stands for: a small stand-in for
        the table, for a fit's starting point (None before the labels are checked)."""
        if self.encoding is None or not self.survey.sample:
            return None
        blocks, labels, weights = [], [], []
        for scores, y, w, stride in self.survey.sample:
            block = reader._prepared(scores, 0)
            y, w = self.encoding.encode(y, w, column=self.layout.y, start=0)
            blocks.append(block)
            labels.append(y)
            weights.append(np.full(y.shape[0], float(stride)) if w is None else w * stride)
        return np.concatenate(blocks), np.concatenate(labels), np.concatenate(weights)

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
        parts = run_job(self.df, self.layout.columns, _reduce_partition, self.layout, reader, func, tuple(markers),
                        combine, block_elements, self.encoding, self.partition_starts)
        result = None
        for part in parts:
            if part is not None:
                result = part if result is None else combine(result, part)
        return result


class LabelEncoding:
    """How the executors turn labels into column indices: ``values[i]`` is column
    ``index[i]``; rows labelled ``ignore_index`` weigh 0; rows of weight 0 may
    hold any label."""

    def __init__(self, values, index, ignore_index):
        order = np.argsort(values, kind="stable")
        self.values, self.index = values[order], np.asarray(index)[order]
        self.ignore_index = ignore_index

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
        return np.where(found, self.index[position], 0).astype(np.intp), w


def run_job(df, columns, partition_function, *args):
    """One Spark job: ``partition_function(batches, pid, *args)`` on every
    partition of ``df``'s ``columns`` (``mapInArrow``), each yielding one pickled
    result; the results in
    partition order. An error raised by skcal's checks on an executor is raised
    here as the same ValueError."""
    import functools

    job = functools.partial(_run_partition, partition_function, args)
    rows = df.select(*columns).mapInArrow(job, _RESULT_SCHEMA).collect()
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
                      encoding, partition_starts):
    result, start = None, partition_starts.get(pid, 0)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        try:
            block = layout.scores(batch)
            y, w = layout.labels(batch), layout.weights(batch)
        except BadRow as exc:
            raise exc.shifted(start) from None
        if encoding is not None and y is not None:
            y, w = encoding.encode(y, w, column=layout.y, start=start)
        per_row = {"labels": y, "weights": w, None: None}
        partial = reduce_local(reader, block, start, func,
                               tuple(per_row[marker] for marker in markers), combine,
                               block_elements)
        result = partial if result is None else combine(result, partial)
        start += batch.num_rows
    return result


class Survey:
    """What the first pass learns of a DataFrame: rows per partition, the
    scores' width, whether every row is a probability vector, the labels'
    counts and weights, the weights' range."""

    def __init__(self):
        self.rows_per_partition = {}
        self.width = None
        self.looks_like_probabilities = True
        self.label_values = np.empty(0)
        self.counts = np.empty(0)
        self.weight_sums = np.empty(0)
        self.min_weight = np.inf
        self.non_finite_weights = 0
        # (scores, labels, weights, stride) of a partition's strided rows; merged,
        # a list of them
        self.sample = None
        self.bad_row = None  # (partition, BadRow) of the first bad value met

    @property
    def n_rows(self):
        return sum(self.rows_per_partition.values())

    def partition_starts(self):
        """The first row of each partition, counting in partition order."""
        starts, total = {}, 0
        for pid in sorted(self.rows_per_partition):
            starts[pid], total = total, total + self.rows_per_partition[pid]
        return starts

    def add_labels(self, values, counts, weight_sums):
        if not self.label_values.shape[0]:
            self.label_values, self.counts, self.weight_sums = values, counts, weight_sums
            return
        merged, inverse = np.unique(np.concatenate([self.label_values, values]),
                                    return_inverse=True)
        self.counts = np.bincount(inverse, np.concatenate([self.counts, counts]),
                                  minlength=merged.shape[0])
        self.weight_sums = np.bincount(inverse, np.concatenate([self.weight_sums,
                                                                weight_sums]),
                                       minlength=merged.shape[0])
        self.label_values = merged


# values of scores the survey samples in all (strided rows of every partition), for
# the starting point of a fit: 256 KiB of float64
SAMPLE_VALUES = 2**15


def _survey_partition(batches, pid, layout, n_partitions):
    survey = Survey()
    survey.rows_per_partition[pid] = 0
    sampler = StridedSample(SAMPLE_VALUES // n_partitions)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        try:
            block = layout.scores(batch)
            y, w = layout.labels(batch), layout.weights(batch)
        except BadRow as exc:  # named by its row once the partitions' sizes are known
            survey.bad_row = (pid, exc.shifted(survey.rows_per_partition[pid]))
            break
        width = 1 if block.ndim == 1 else block.shape[1]
        if survey.width not in (None, width):
            raise ValueError(f"{layout.score_name} holds arrays of lengths {survey.width} "
                             f"and {width}; every row needs one score per class.")
        survey.width = width
        survey.rows_per_partition[pid] += batch.num_rows
        if survey.looks_like_probabilities:
            survey.looks_like_probabilities = _looks_like_probabilities(block)
        if w is not None:
            finite = np.isfinite(w)
            survey.non_finite_weights += int(np.count_nonzero(~finite))
            if finite.any():
                survey.min_weight = min(survey.min_weight, float(w[finite].min()))
            w = np.where(finite, w, 0.0)
        if y is not None:
            values, inverse = np.unique(y, return_inverse=True)
            counts = np.bincount(inverse, minlength=values.shape[0]).astype(float)
            weights = counts if w is None else np.bincount(inverse, w, values.shape[0])
            survey.add_labels(values, counts, weights)
        sampler.add(block, y, w)
    survey.sample = sampler.result()
    return survey


class StridedSample:
    """Every ``stride``-th row of a partition, the stride doubled whenever more
    than ``max_values`` scores are kept: an evenly spread sample of bounded size,
    each kept row standing for ``stride`` rows."""

    def __init__(self, max_values):
        self.max_values = max(1, max_values)
        self.stride, self.seen, self.kept = 1, 0, []

    def add(self, block, y, w):
        rows = np.arange(self.seen, self.seen + block.shape[0])
        keep = rows % self.stride == 0
        self.kept.append((rows[keep], block[keep], None if y is None else y[keep],
                          None if w is None else w[keep]))
        self.seen += block.shape[0]
        width = 1 if block.ndim == 1 else block.shape[1]
        while sum(part[0].shape[0] for part in self.kept) * width > self.max_values:
            self.stride *= 2
            self.kept = [tuple(None if a is None else a[part[0] % self.stride == 0]
                               for a in part) for part in self.kept]

    def result(self):
        if not self.kept:
            return None
        parts = list(zip(*self.kept))
        joined = [None if part[0] is None else np.concatenate(part) for part in parts[1:]]
        return (*joined, self.stride)


def _merge(surveys):
    merged = Survey()
    for survey in surveys:
        merged.rows_per_partition.update(survey.rows_per_partition)
        if survey.width is not None:
            if merged.width not in (None, survey.width):
                raise ValueError(
                    f"The score arrays have lengths {merged.width} and {survey.width} in "
                    "different partitions; every row needs one score per class.")
            merged.width = survey.width
        merged.looks_like_probabilities &= survey.looks_like_probabilities
        if survey.label_values.shape[0]:
            merged.add_labels(survey.label_values, survey.counts, survey.weight_sums)
        merged.min_weight = min(merged.min_weight, survey.min_weight)
        if survey.sample is not None:
            merged.sample = (merged.sample or []) + [survey.sample]
        merged.non_finite_weights += survey.non_finite_weights
        if survey.bad_row is not None and merged.bad_row is None:
            merged.bad_row = survey.bad_row
    return merged


def _check_weight_totals(survey, name):
    if survey.non_finite_weights:
        raise ValueError(
            f"The weight column sample_weight={name!r} holds {survey.non_finite_weights} "
            "NaN or infinite values; weights must be finite."
        )
    if survey.min_weight < 0:
        raise ValueError(
            f"The weight column sample_weight={name!r} has negative values (smallest "
            f"{survey.min_weight:.4g}); weights must be non-negative."
        )
    if not survey.weight_sums.sum() > 0:
        raise ValueError(
            f"The weight column sample_weight={name!r} is zero for every row; at least "
            "one row needs a positive weight."
        )

