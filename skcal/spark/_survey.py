"""The survey: what skcal learns of a DataFrame of scores before its first pass,
from one to four Spark SQL queries that run in the JVM without moving the rows
to Python:

- an aggregation by partition and label: each partition's rows, the labels'
  counts and weights (checked on the driver from these totals alone, as arrays
  would be), the weights' range, the first null score, label or weight (named
  by its row), the scores' range and width;
- only if every score lies in [0, 1]: the largest distance of a row sum from 1
  (with the range, what ``score_type='auto'`` resolves to);
- a random sample of about ``SAMPLE_VALUES`` scores, a fit's starting point:
  collected by the aggregation itself when the DataFrame is a cached one
  already computed (Spark counted its rows as it cached them, so the sampling
  fraction is known ahead), else by a query of its own;
- only for scores in [0, 1] whose rows do not sum to 1, and where the sample
  shows a column without which its rows do: whether every row does, so that
  probabilities beside a column that is not a class's are refused by name.

The aggregation computes only what the input needs: the weights' facts only
with a weight column, and no per-element function over an array column (Spark
evaluates those element by element, outside its generated code: they doubled
the survey's time). A null element of an array is found by the first pass,
which names its row.
"""

import numpy as np

from ..rows._scores import (_SIMPLEX_ATOL, column_beside_probabilities, counts_or_votes,
                            row_sum_tolerance, written_decimals_allowance)
from ._layout import quoted
from ._tasks import in_fewer_tasks

# values of scores the survey samples in all (256 KiB of float64)
SAMPLE_VALUES = 2**15
# the record number within its partition: the low bits of monotonically_increasing_id
_ROW_MASK = (1 << 33) - 1


class Survey:
    """What the survey learns of a DataFrame: rows per partition, the scores'
    width, whether every row is a probability vector, the labels' counts and
    weights in all and per partition, the weights' range, a sample."""

    def __init__(self):
        self.rows_per_partition = {}  # None in a provisional survey
        self.total_rows = None  # the cache's count, in a provisional survey
        self.width = None
        self.looks_like_probabilities = True
        # (position, name) of a score column without which every row sums to 1
        self.column_beside_probabilities = None
        # how non-negative scores off the simplex read as counts or votes (sample)
        self.counts_or_votes = None
        self.label_values = np.empty(0)
        self.counts = np.empty(0)
        self.weight_sums = np.empty(0)
        self.min_weight = np.inf
        self.non_finite_weights = 0
        # [(scores, labels, weights, rows each sampled row stands for)]
        self.sample = None
        # per partition, per label: [rows of positive weight, rows of weight 0,
        # the partition's first row of positive weight with that label]
        self.partition_labels = {}

    @property
    def n_rows(self):
        if self.rows_per_partition is None:
            return self.total_rows
        return sum(self.rows_per_partition.values())

    def partition_starts(self):
        """The first row of each partition, counting in partition order."""
        starts, total = {}, 0
        for pid in sorted(self.rows_per_partition):
            starts[pid], total = total, total + self.rows_per_partition[pid]
        return starts


def survey_of(df, layout, sample=None, cached=None):
    """The :class:`Survey` of ``df``'s rows (``layout`` says where they are);
    ``sample``: one already drawn by
    :func:`~skcal.spark._provisional.provisional_survey` (none is drawn again);
    ``cached``: the DataFrame whose cache holds ``df``'s rows, if ``df`` is a
    projection of it."""
    from pyspark.sql import functions as F

    weighted = layout.sample_weight is not None
    known_rows = cached_row_count(df if cached is None else cached)
    facts = _row_facts(layout)
    group_facts = _group_facts(weighted, layout.is_array)
    if known_rows and sample is None:  # the sample is collected with the facts
        facts.append(_sampled_fact(layout, known_rows))
        group_facts.append("collect_list(sampled) AS sample")
    # the facts of each row are taken in its own partition, then read in fewer
    # tasks: fewer shuffle map tasks, each writing a file per reduce partition
    facts_frame = in_fewer_tasks(df.selectExpr(*facts), df)
    groups = [_GroupFacts(row, weighted) for row in facts_frame.groupBy("pid", "label").agg(
        *[F.expr(fact) for fact in group_facts]).collect()]
    survey = Survey()
    for group in groups:
        survey.rows_per_partition[group.pid] = (
            survey.rows_per_partition.get(group.pid, 0) + group.n)
    starts = survey.partition_starts()

    def first_row(field, of=groups):
        found = [(g.pid, getattr(g, field)) for g in of if getattr(g, field) is not None]
        if not found:
            return None
        pid, row = min(found)
        return pid, starts[pid] + (row & _ROW_MASK)

    _raise_for_nulls(layout, first_row, [g for g in groups if g.label is None])
    sizes = [(g.min_size, g.max_size) for g in groups
             if layout.is_array and g.min_size is not None]
    if sizes and min(a for a, _ in sizes) != max(b for _, b in sizes):
        raise ValueError(
            f"{layout.score_name} holds arrays of lengths {min(a for a, _ in sizes)} and "
            f"{max(b for _, b in sizes)}; every row needs one score per class.")
    survey.width = (sizes[0][0] if sizes else None) if layout.is_array \
        else len(layout.score_columns)
    _add_label_facts(survey, layout, groups)
    low = min((g.low for g in groups if g.low is not None), default=0.0)
    high = max((g.high for g in groups if g.high is not None), default=0.0)
    if sample is not None:
        survey.sample = sample
    elif survey.n_rows:
        survey.sample = [_sample(df, layout, survey, groups, known_rows, F)]
    survey.looks_like_probabilities = bool(low >= 0 and high <= 1 and (
        not groups or _within_row_sum_tolerance(_largest_row_sum_gap(df, layout, F), survey)))
    if not survey.looks_like_probabilities and low >= 0 and high <= 1 and groups:
        survey.column_beside_probabilities = _column_beside(df, layout, survey, F)
    if not survey.looks_like_probabilities and low >= 0 and survey.sample:
        survey.counts_or_votes = counts_or_votes(survey.sample[0][0])
    return survey


def _column_beside(df, layout, survey, F):
    """(position, name) of the score column without which every row sums to 1,
    found on the sample and confirmed on every row by one more Spark SQL job;
    None when there is none (asked only of scores in [0, 1] off the simplex)."""
    scores = survey.sample[0][0] if survey.sample else None
    if layout.is_array or scores is None or scores.ndim != 2 or scores.shape[0] == 0:
        return None
    column = column_beside_probabilities(scores)
    if column is None:
        return None
    columns = [F.col(quoted(name)).cast("double") for name in layout.score_columns]
    rest = sum(columns[1:], columns[0]) - columns[column]
    gap = in_fewer_tasks(df, df).select(F.max(F.abs(rest - 1.0)).alias("gap")).collect()[0].gap
    if gap is None or gap > row_sum_tolerance(scores):
        return None
    return column, layout.score_columns[column]


def _within_row_sum_tolerance(gap, survey):
    """Whether rows whose sums are off 1 by at most ``gap`` are probabilities: as
    for arrays, with the allowance for values written with few decimals read off
    the sample (looked for only where the plain tolerance is passed)."""
    if gap <= _SIMPLEX_ATOL:
        return True
    scores = survey.sample[0][0] if survey.sample else None
    if scores is None or scores.ndim != 2 or scores.shape[0] == 0:
        return False
    return gap <= written_decimals_allowance(scores)


def _sample(df, layout, survey, groups, known_rows, F):
    """The survey's sample: collected by its aggregation when the row count was
    known ahead (``known_rows``), else by a query of its own."""
    if known_rows:
        rows = [row for group in groups for row in group.sample]
        fraction = _sample_fraction(known_rows, survey.width)
    else:
        fraction = _sample_fraction(survey.n_rows, survey.width)
        query = df.select(*map(quoted, layout.columns)).where(F.rand(0) < fraction)
        rows = in_fewer_tasks(query, df).collect()
    return sample_arrays(rows, layout, fraction)


def cached_row_count(df):
    """The rows of ``df`` if it is a cached DataFrame whose cache is computed
    (Spark counts the rows as it caches them), else None (also on Spark Connect,
    which shows no plan). Any other plan's row count is an estimate at best.

    The cache is looked up by plan, as Spark does: ``df``'s own query plan may
    have been planned before ``cache()`` was called."""
    from py4j.protocol import Py4JError

    try:
        manager = df.sparkSession._jsparkSession.sharedState().cacheManager()
        cached = manager.lookupCachedData(df._jdf)
        if not cached.isDefined():
            return None
        relation = cached.get().cachedRepresentation()
        if not relation.cacheBuilder().isCachedColumnBuffersLoaded():
            return None
        count = relation.stats().rowCount()
        return int(count.get()) if count.isDefined() else None
    except (AttributeError, Py4JError):
        return None


def _double(value):
    """A float as a Spark SQL double literal."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


# The survey's expressions are Spark SQL text, its column names quoted: a name
# may hold spaces, dots or backticks.
def _score_facts(layout):
    """[null score, smallest, largest(, array length)] of each row's scores,
    without a per-element function (a null element of an array is left to the
    passes)."""
    if layout.is_array:
        scores = quoted(layout.score_columns[0])
        return [f"{scores} IS NULL AS null_score", f"array_min({scores}) AS low",
                f"array_max({scores}) AS high", f"size({scores}) AS size"]
    columns = [f"CAST({quoted(name)} AS DOUBLE)" for name in layout.score_columns]
    null_score = " OR ".join(f"{column} IS NULL" for column in columns)
    if len(columns) == 1:
        low = high = columns[0]
    else:
        low, high = f"least({', '.join(columns)})", f"greatest({', '.join(columns)})"
    return [f"({null_score}) AS null_score", f"{low} AS low", f"{high} AS high"]


def _row_facts(layout):
    """Per row: partition, label, record number, what the checks of the scores
    need (nulls, range, width) and, with a weight column, the weight's."""
    label = quoted(layout.y) if layout.y else "NULL"
    facts = ["spark_partition_id() AS pid", f"{label} AS label",
             "monotonically_increasing_id() AS row", *_score_facts(layout)]
    if layout.sample_weight:
        weight = f"CAST({quoted(layout.sample_weight)} AS DOUBLE)"
        facts += [f"{weight} AS w",
                  f"NOT isnan({weight}) AND abs({weight}) != {_double(np.inf)} AS finite",
                  f"{weight} IS NULL AS null_w"]
    return facts


def _sampled_fact(layout, known_rows):
    """Per row: its values (a struct of ``layout.columns``) if it is sampled, else
    null; a row of width K is kept with probability SAMPLE_VALUES / (n K), the
    rule of :func:`_sample_fraction` with each row's own width."""
    values = ", ".join(quoted(name) for name in layout.columns)
    return f"CASE WHEN {kept_in_sample(layout, known_rows)} THEN struct({values}) END AS sampled"


def kept_in_sample(layout, known_rows):
    """Whether a row is sampled, as Spark SQL: a row of width K with probability
    SAMPLE_VALUES / (n K)."""
    width = f"size({quoted(layout.score_columns[0])})" if layout.is_array \
        else str(len(layout.score_columns))
    return f"rand(0) < least(1.0D, {_double(SAMPLE_VALUES / known_rows)} / {width})"


def _group_facts(weighted, is_array):
    facts = ["count(1) AS n", "min(row) AS first_row",
             "min(CASE WHEN null_score THEN row END) AS null_score_row",
             "min(low) AS low", "max(high) AS high"]
    if is_array:
        facts += ["min(size) AS min_size", "max(size) AS max_size"]
    if weighted:
        counted = "finite AND w > 0"
        facts += [f"sum(CASE WHEN {counted} THEN 1 ELSE 0 END) AS positive",
                  "sum(CASE WHEN finite THEN w END) AS weight",
                  "min(CASE WHEN finite THEN w END) AS min_w",
                  "sum(CASE WHEN NOT finite THEN 1 ELSE 0 END) AS non_finite",
                  f"min(CASE WHEN {counted} THEN row END) AS first_positive",
                  "min(CASE WHEN null_w THEN row END) AS null_w_row"]
    return facts


class _GroupFacts:
    """One group's facts, with those of the unweighted case filled in (every
    row weighs 1)."""

    def __init__(self, row, weighted):
        facts = row.asDict()
        self.__dict__.update(facts)
        if not weighted:
            self.positive, self.weight, self.min_w = row.n, float(row.n), 1.0
            self.non_finite, self.first_positive, self.null_w_row = 0, row.first_row, None


def _largest_row_sum_gap(df, layout, F):
    """The largest ``|sum of a row's scores - 1|``, over rows without a null
    score (one more Spark SQL job, asked only when every score is in [0, 1])."""
    if layout.is_array:
        scores = F.col(quoted(layout.score_columns[0]))
        total = F.aggregate(scores, F.lit(0.0).cast("double"), lambda a, x: a + x)
    else:
        columns = [F.col(quoted(name)).cast("double") for name in layout.score_columns]
        if len(columns) == 1:
            return 0.0  # one binary score in [0, 1]: the positive class's probability
        total = sum(columns[1:], columns[0])
    gap = in_fewer_tasks(df, df).select(F.max(F.abs(total - 1.0)).alias("gap")).collect()[0].gap
    return np.inf if gap is None else gap


def _raise_for_nulls(layout, first_row, unlabelled):
    """The error for the first null score, label or weight, naming its row."""
    found = first_row("null_score_row")
    if found is not None:
        raise ValueError(f"{layout.score_name} holds a null at row {found[1]}; drop or "
                         f"fill those rows first. (Spark partition {found[0]})")
    found = first_row("first_row", unlabelled) if layout.y is not None else None
    if found is not None:
        raise ValueError(f"The label column y={layout.y!r} holds a null at row {found[1]}; "
                         "drop those rows or give them a label. (Spark partition "
                         f"{found[0]})")
    found = first_row("null_w_row")
    if found is not None:
        raise ValueError(f"The weight column sample_weight={layout.sample_weight!r} holds "
                         f"a null at row {found[1]}; give every row a weight. (Spark "
                         f"partition {found[0]})")


def _add_label_facts(survey, layout, groups):
    """The labels' totals, their tallies per partition, the weights' range."""
    for group in groups:
        if group.min_w is not None:
            survey.min_weight = min(survey.min_weight, group.min_w)
        survey.non_finite_weights += group.non_finite
        if layout.y is None:
            continue
        first = np.inf if group.first_positive is None else group.first_positive & _ROW_MASK
        survey.partition_labels.setdefault(group.pid, {})[group.label] = [
            group.positive, group.n - group.positive, first]
    if layout.y is None or not groups:
        return
    strings = isinstance(groups[0].label, str)
    values = np.array([g.label for g in groups], dtype=object if strings else None)
    unique, inverse = np.unique(values, return_inverse=True)
    survey.label_values = unique
    survey.counts = np.bincount(inverse, [float(g.n) for g in groups], unique.shape[0])
    survey.weight_sums = np.bincount(inverse, [g.weight or 0.0 for g in groups],
                                     unique.shape[0])


def _sample_fraction(n_rows, width):
    """The share of the rows that samples about ``SAMPLE_VALUES`` scores."""
    return min(1.0, SAMPLE_VALUES / (n_rows * (width or 1)))


def sample_arrays(rows, layout, fraction):
    """(scores, labels, weights, rows each sampled row stands for) of the sampled
    rows (tuples of ``layout.columns``); rows with a null are left out."""
    rows = [row for row in rows if all(value is not None for value in row)
            and not (layout.is_array and None in row[0])]  # null elements: the passes say
    n_scores = 1 if layout.is_array else len(layout.score_columns)
    scores = np.array([row[0] if layout.is_array else tuple(row[:n_scores]) for row in rows],
                      dtype=layout.dtype).reshape(len(rows), -1)
    if not layout.is_array and n_scores == 1:
        scores = scores[:, 0]
    labels = weights = None
    if layout.y is not None:
        position = layout.columns.index(layout.y)
        values = [row[position] for row in rows]
        labels = np.array(values, dtype=object if values and isinstance(values[0], str)
                          else None)
    if layout.sample_weight is not None:
        position = layout.columns.index(layout.sample_weight)
        weights = np.array([row[position] for row in rows], dtype=np.float64)
    return scores, labels, weights, 1.0 / fraction


def check_weight_totals(survey, name):
    """Refuse non-finite, negative or all-zero weights, from the survey's totals."""
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
