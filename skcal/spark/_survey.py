"""The survey: the first Spark job over a DataFrame of scores. It counts each
partition's rows, tells whether every row is a probability vector (what
``score_type='auto'`` resolves to), tallies the labels and weights (so that they
are checked on the driver from their totals alone, as arrays would be), notes the
first bad value met, and keeps a small strided sample for a fit's start."""

import numpy as np

from ..rows._scores import _looks_like_probabilities
from ._layout import BadRow


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
        # per partition, per label: [rows of positive weight, rows of weight 0,
        # the partition's first row of positive weight with that label]
        self.partition_labels = {}

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


def survey_partition(batches, pid, layout, n_partitions):
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
            tally_labels(survey.partition_labels.setdefault(pid, {}), y, w,
                         survey.rows_per_partition[pid] - batch.num_rows)
            values, inverse = np.unique(y, return_inverse=True)
            counts = np.bincount(inverse, minlength=values.shape[0]).astype(float)
            weights = counts if w is None else np.bincount(inverse, w, values.shape[0])
            survey.add_labels(values, counts, weights)
        sampler.add(block, y, w)
    survey.sample = sampler.result()
    return survey


def tally_labels(tally, y, w, first_row):
    """Add a batch's labels to a partition's ``tally`` (label -> [rows of positive
    weight, rows of weight 0, first row of positive weight]); its rows are
    counted from ``first_row``."""
    positive = np.ones(y.shape[0], dtype=bool) if w is None else w > 0
    for chosen, column in ((positive, 0), (~positive, 1)):
        if not chosen.any():
            continue
        rows = np.flatnonzero(chosen)
        values, first, counts = np.unique(y[rows], return_index=True, return_counts=True)
        for value, at, count in zip(values.tolist(), rows[first], counts):
            entry = tally.setdefault(value, [0, 0, np.inf])
            entry[column] += int(count)
            if column == 0:
                entry[2] = min(entry[2], first_row + int(at))


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


def merge(surveys):
    merged = Survey()
    for survey in surveys:
        merged.rows_per_partition.update(survey.rows_per_partition)
        merged.partition_labels.update(survey.partition_labels)
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


def check_weight_totals(survey, name):
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

