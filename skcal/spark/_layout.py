"""Where a Spark DataFrame holds the scores, labels and weights, and how an
executor reads them out of one Arrow record batch as numpy arrays.

:class:`Layout` is resolved on the driver from the DataFrame's schema (a missing
column or a wrong type is refused there, naming the column and the fix) and
shipped to the executors, where :meth:`Layout.scores`, :meth:`Layout.labels`
and :meth:`Layout.weights` read a batch. Nothing here imports pyspark: the
schema is read through the DataFrame given.
"""

import fnmatch

import numpy as np

_NUMERIC = {"ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType",
            "DecimalType"}
_LABEL_TYPES = _NUMERIC - {"FloatType", "DoubleType", "DecimalType"} | {"StringType",
                                                                      "BooleanType"}


class BadRow(ValueError):
    """A value that no skcal computation takes, at a row of a batch: its message
    is a template of the row number, so that it can name the row in the whole
    DataFrame once the batch's first row is known (:meth:`shifted`)."""

    def __init__(self, template, row):
        self.template, self.row = template, int(row)
        super().__init__(template.format(row=self.row))

    def __reduce__(self):  # sent back from the executors
        return BadRow, (self.template, self.row)

    def shifted(self, offset):
        """The same error, its row counted from ``offset`` rows earlier."""
        return BadRow(self.template, self.row + offset)


def check_data_frame(df):
    """Refuse a ``df`` that is not a Spark DataFrame (read by its schema and
    ``mapInArrow``, so that Spark Connect's DataFrame is one too), naming it.

    >>> check_data_frame("temperature")
    Traceback (most recent call last):
    ...
    TypeError: df must be a Spark DataFrame (pyspark.sql.DataFrame); got str.
    """
    if not (hasattr(type(df), "schema") and hasattr(df, "mapInArrow")):
        raise TypeError(f"df must be a Spark DataFrame (pyspark.sql.DataFrame); got "
                        f"{type(df).__name__}.")


def quoted(name):
    """A column name as Spark reads it in an expression, whatever characters it
    holds (spaces, dots, backticks).

    Examples
    --------
    >>> quoted("score `v2`")
    '`score ``v2```'
    """
    return "`" + name.replace("`", "``") + "`"


def _first_null(array):
    return int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])


def _as_numpy(column):
    """An Arrow column as numpy; text as an object array (labels, ids)."""
    values = column.to_numpy(zero_copy_only=False)
    return values.astype(object) if values.dtype.kind in "OU" else values


# the metadata key under which a vector column read as an array keeps the
# numberings of the StringIndexer columns beside it
NUMBERINGS = "skcal_indexer_numberings"


def _field_metadata(df, name):
    return next((field.metadata or {} for field in df.schema.fields if field.name == name),
                {})


def _type_name(data_type):
    return type(data_type).__name__


def _column_type(df, name, role):
    fields = {field.name: field.dataType for field in df.schema.fields}
    if name not in fields:
        shown = ", ".join(list(fields)[:20])
        raise ValueError(
            f"{role}={name!r} is not a column of the DataFrame (its columns: {shown}); "
            "pass the name of the column that holds it."
        )
    return fields[name]


class Layout:
    """The columns of the scores (an array column, or numeric columns), the label
    and the weight column, and the scores' width and dtype.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
    scores : str or list of str
        An ``array<float|double>`` column; one numeric column (binary scores);
        a list of numeric columns; or a pattern (``"p_*"``) matching them, in
        the DataFrame's column order.
    y, sample_weight : str or None
        The label column (integer, string or boolean; a double column of whole
        numbers is also taken) and the weight column (numeric).
    """

    def __init__(self, df, scores, y=None, sample_weight=None, extra=()):
        self.score_columns, self.is_array, self.dtype = _score_columns(df, scores)
        # {column: its classes in index order} of the StringIndexer columns beside
        # a Spark ML vector of scores (:mod:`skcal.spark._vectors`)
        self.numberings = (_field_metadata(df, self.score_columns[0]).get(NUMBERINGS, {})
                           if self.is_array else {})
        # the order the score columns are read in, when they are named after
        # classes in another order than the classes' sorted one (set by the table)
        self.column_order = None
        self.y = y
        self.sample_weight = sample_weight
        if y is not None:
            self.check_label_column(df, y)
        if sample_weight is not None:
            weight_type = _type_name(_column_type(df, sample_weight, "sample_weight"))
            if weight_type not in _NUMERIC:
                raise ValueError(
                    f"The weight column sample_weight={sample_weight!r} has type "
                    f"{weight_type}; weights must be numbers."
                )
        for name in extra:
            self.check_column(df, name, "column")
        self.extra = tuple(extra)
        self.columns = list(self.score_columns) + [c for c in (y, sample_weight) if c]
        self.columns += [name for name in extra if name not in self.columns]

    def read_beside(self, name):
        """Read column ``name`` (checked, see :meth:`check_column`) beside the
        scores from now on, for :meth:`values`."""
        if name not in self.columns:
            self.columns = self.columns + [name]
        if name not in self.extra:
            self.extra = self.extra + (name,)

    @staticmethod
    def check_column(df, name, role):
        """Refuse a ``name`` that is not a column of ``df`` (``role`` names it)."""
        _column_type(df, name, role)

    @staticmethod
    def check_label_column(df, y):
        """Refuse a label column ``y`` that is missing or of a type labels are not."""
        label_type = _type_name(_column_type(df, y, "y"))
        if label_type not in _LABEL_TYPES | {"FloatType", "DoubleType"}:
            raise ValueError(f"The label column y={y!r} has type {label_type}; labels must "
                             "be integers, strings or booleans.")

    @property
    def score_name(self):
        """The scores, as messages name them."""
        if self.is_array or len(self.score_columns) == 1:
            return f"the score column {self.score_columns[0]!r}"
        return f"the score columns {self.score_columns[0]!r}...{self.score_columns[-1]!r}"

    # ------------------------------------------------------- on the executors
    def scores(self, batch):
        """The scores of a batch of ``self.columns`` as an (n, K) or (n,) array."""
        n_scores = 1 if self.is_array else len(self.score_columns)
        columns = [batch.column(i) for i in range(n_scores)]
        for name, column in zip(self.score_columns, columns):
            if column.null_count:
                raise BadRow(f"{self.score_name} holds null scores (column {name!r}) at "
                             "row {row}; drop or fill those rows first.", _first_null(column))
        if not self.is_array:
            values = [c.to_numpy(zero_copy_only=False).astype(self.dtype, copy=False)
                      for c in columns]
            if self.column_order is not None:
                values = [values[i] for i in self.column_order]
            return values[0] if len(values) == 1 else np.column_stack(values)
        (column,) = columns
        lengths = np.diff(np.asarray(column.offsets))
        width = int(lengths[0]) if lengths.shape[0] else 0
        if lengths.shape[0] and np.any(lengths != width):
            bad = int(np.flatnonzero(lengths != width)[0])
            raise ValueError(
                f"{self.score_name} holds arrays of different lengths ({width} and "
                f"{int(lengths[bad])}, at batch row {bad}); every row needs one score "
                "per class."
            )
        flat = column.flatten()
        if column.null_count:
            raise BadRow(f"{self.score_name} holds a null array at row {{row}}; drop or "
                         "fill those rows first.", _first_null(column))
        if flat.null_count:
            raise BadRow(f"{self.score_name} holds a null element at row {{row}}; fill "
                         "it first.", _first_null(flat) // max(1, width))
        values = flat.to_numpy(zero_copy_only=False).astype(self.dtype, copy=False)
        return values.reshape(-1, width) if width else values.reshape(0, 0)

    def labels(self, batch, *, null_means_unlabelled=False):
        """The labels of a batch (None without a label column); nulls are refused,
        or, with ``null_means_unlabelled``, read as NaN or None (a monitor's rows
        whose labels come later)."""
        if self.y is None:
            return None
        column = batch.column(self.columns.index(self.y))
        if column.null_count and not null_means_unlabelled:
            raise BadRow(f"The label column y={self.y!r} holds a null at row {{row}}; drop "
                         "those rows or give them a label.", _first_null(column))
        return _as_numpy(column)

    def values(self, batch, name):
        """Another column of a batch (one of ``extra``) as a numpy array."""
        column = batch.column(self.columns.index(name))
        if column.null_count:
            raise BadRow(f"The column {name!r} holds a null at row {{row}}; give every row "
                         "a value.", _first_null(column))
        return _as_numpy(column)

    def weights(self, batch):
        """The weights of a batch as float64 (None without a weight column)."""
        if self.sample_weight is None:
            return None
        column = batch.column(self.columns.index(self.sample_weight))
        if column.null_count:
            raise BadRow(f"The weight column sample_weight={self.sample_weight!r} holds a "
                         "null at row {row}; give every row a weight.", _first_null(column))
        return column.to_numpy(zero_copy_only=False).astype(np.float64)


def _score_columns(df, scores):
    """(columns, is_array, dtype) of the ``scores`` argument, checked on the schema."""
    names = [field.name for field in df.schema.fields]
    if isinstance(scores, str) and any(ch in scores for ch in "*?[") and scores not in names:
        matched = [name for name in names if fnmatch.fnmatchcase(name, scores)]
        if not matched:
            raise ValueError(f"scores={scores!r} matches no column of the DataFrame.")
        scores = matched
    if isinstance(scores, str):
        data_type = _column_type(df, scores, "scores")
        if _type_name(data_type) == "ArrayType":
            element = _type_name(data_type.elementType)
            if element not in _NUMERIC:
                raise ValueError(
                    f"The score column {scores!r} is an array of {element}; scores must "
                    "be an array of float or double."
                )
            return [scores], True, np.dtype(np.float32 if element == "FloatType"
                                            else np.float64)
        scores = [scores]
    scores = list(scores)
    if not scores:
        raise ValueError("scores is empty; pass a column name, a list of them or a pattern.")
    kinds = []
    for name in scores:
        kind = _type_name(_column_type(df, name, "scores"))
        if kind == "VectorUDT":
            raise ValueError(
                f"The score column {name!r} holds Spark ML vectors, read as one array of "
                f"scores per row: pass it alone, as scores={name!r}.")
        if kind not in _NUMERIC:
            raise ValueError(
                f"The score column {name!r} has type {kind}; scores must be numbers, or "
                "one array<float|double> or Spark ML vector column."
            )
        kinds.append(kind)
    single = all(kind == "FloatType" for kind in kinds)
    return scores, False, np.dtype(np.float32 if single else np.float64)
