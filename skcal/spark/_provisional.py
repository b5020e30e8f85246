"""A provisional survey: on a cached DataFrame whose cache is computed, what a
fit or a metric needs before its first pass is read from the random sample
alone, one Spark job without a shuffle, instead of the survey's aggregation.

Spark counted the cached rows as it cached them, so the row count is exact and
the sampling fraction is known ahead. From the sample:

- the scores' width;
- whether they are logits: a sampled value outside [0, 1], or a row whose sum is
  off 1, proves it of the whole table. If every sampled row is a probability
  vector, the table is taken for probabilities, and every block of every pass
  checks that it is (as it does when the full survey says so);
- the labels' encoding, the classes of the score columns
  (:func:`~skcal.rows._labels.encode_labels` of the sampled labels), which
  holds for the whole table whenever its labels are valid at all: integer
  labels in ``0..K-1`` index the columns whatever classes the sample lacks,
  other labels need all K in the sample, and ``labels=`` fixes them.

The first pass checks the rest of the table as it reads it: every label is one
of the classes, every array has the width, every row is counted. It brings the
number of rows of each class, which the class totals then come from.

Whatever the sample cannot answer (a weight column, ``ignore_index``, folds,
which need the rows of each partition), and any error or contradiction in a
pass, raises :class:`Unsettled`: the call then starts again on the full survey
(the same sample reused), which also names a bad row as it always does. So the
result is the one the full survey gives.
"""

import numpy as np

from ..rows._labels import encode_labels
from ..rows._remote import RemoteVector
from ..rows._scores import (_looks_like_probabilities, column_beside_probabilities,
                            counts_or_votes)
from ._layout import quoted
from ._survey import Survey, _sample_fraction, cached_row_count, kept_in_sample, sample_arrays
from ._tasks import in_fewer_tasks


class Unsettled(Exception):
    """A provisional survey cannot answer, or a pass contradicted it: the call
    starts again on the full survey."""


def provisional_survey(df, layout, cached=None):
    """``(survey, sample)``: a provisional :class:`~skcal.spark._survey.Survey`
    of ``df`` (``rows_per_partition`` None) and its sample, or ``(None, sample)``
    when the sample cannot stand in for the survey (``sample`` is then still
    reused by the full one), or ``(None, None)`` when ``df`` is not a computed
    cache (nor a projection of ``cached``, one) or has a weight column."""
    known_rows = cached_row_count(df if cached is None else cached)
    if not known_rows or layout.y is None or layout.sample_weight is not None:
        return None, None
    query = df.where(kept_in_sample(layout, known_rows)).select(*map(quoted, layout.columns))
    rows = in_fewer_tasks(query, df).collect()
    if not rows or any(value is None or (layout.is_array and i == 0 and None in value)
                       for row in rows for i, value in enumerate(row)):
        return None, None  # nulls: the full survey names their rows
    if layout.is_array:
        widths = {len(row[0]) for row in rows}
        if len(widths) != 1:
            return None, None
        width = widths.pop()
    else:
        width = len(layout.score_columns)
    sample = [sample_arrays(rows, layout, _sample_fraction(known_rows, width))]
    scores, labels = sample[0][0], sample[0][1]
    if not np.isfinite(scores).all():
        return None, sample
    survey = Survey()
    survey.rows_per_partition = None
    survey.total_rows = known_rows
    survey.width = width
    survey.looks_like_probabilities = _looks_like_probabilities(scores)
    if not survey.looks_like_probabilities and not layout.is_array:
        column = column_beside_probabilities(scores)
        if column is not None:
            survey.column_beside_probabilities = (column, layout.score_columns[column])
    if not survey.looks_like_probabilities:
        survey.counts_or_votes = counts_or_votes(scores)
    survey.label_values = np.unique(labels)
    survey.counts = survey.weight_sums = None
    survey.partition_labels = None
    survey.sample = sample
    return survey, sample


def provisional_encoding(survey, n_columns, labels, min_classes, ignore_index,
                         takes_labels=True):
    """(classes, column of each class) for ``check_labels`` from the sampled
    labels; Unsettled where only the full survey can say."""
    if ignore_index is not None:
        raise Unsettled("ignore_index needs the labels' counts")
    try:
        classes, _ = encode_labels(survey.label_values, n_columns, labels=labels,
                                   min_classes=min_classes, takes_labels=takes_labels)
    except ValueError as exc:  # the full survey's labels say it, with its counts
        raise Unsettled(str(exc)) from None
    return classes, np.arange(classes.shape[0])


class PendingVector(RemoteVector):
    """The labels of a table under a provisional survey: their class totals are
    known once the first pass has counted them."""

    def __init__(self, table, kind, n_rows):
        self.table = table
        self.kind = kind
        self.shape = (int(n_rows),)

    @property
    def class_weights(self):
        counts = self.table.column_counts
        if counts is None:
            raise Unsettled("class totals are asked before the first pass")
        return counts


class PassChecks:
    """What a pass under a provisional survey checks on the executors, and
    brings back: each batch's width, and the rows of each class."""

    def __init__(self, width, n_columns):
        self.width, self.n_columns = width, n_columns

    def check(self, block, layout):
        """Refuse a batch whose arrays are not of the surveyed width."""
        width = None if block.ndim == 1 else block.shape[1]
        if layout.is_array and width != self.width:
            raise ValueError(f"{layout.score_name} holds arrays of {width} values where "
                             f"the sample had {self.width}.")

    def tally(self, y_index):
        return np.bincount(y_index, minlength=self.n_columns)


def settle(table, tallies):
    """After a pass under a provisional survey: its rows must be the cache's
    count; the class totals come from its tallies."""
    counts = sum((np.asarray(t, dtype=np.float64) for t in tallies if t is not None),
                 np.zeros(table.checks.n_columns))
    if counts.sum() != table.shape[0]:
        raise Unsettled(f"a pass read {counts.sum():.0f} rows, the cache counted "
                        f"{table.shape[0]}")
    if table.column_counts is None:
        table.column_counts = counts
