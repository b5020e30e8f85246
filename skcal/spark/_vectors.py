"""Spark ML vector columns as score columns.

A Spark ML classifier's ``transform`` writes its scores as vectors (its
``probability`` and ``rawPrediction`` columns, of type ``VectorUDT``), which
neither Spark SQL nor Arrow reads as numbers. Before anything else reads them,
such a column is replaced, lazily and under its own name, by the dense
``array<double>`` of :func:`pyspark.ml.functions.vector_to_array` (sparse
vectors come out dense), so that the survey, the passes and the messages see an
array column like any other.
"""

from ._layout import quoted

_VECTOR_TYPES = {"VectorUDT"}  # pyspark.ml.linalg's and pyspark.mllib.linalg's


def is_vector_column(df, name):
    """Whether ``name`` (a ``scores=`` argument: a list of columns is not) is a
    column of ``df`` holding Spark ML vectors."""
    if not isinstance(name, str):
        return False
    fields = {field.name: field.dataType for field in df.schema.fields}
    return name in fields and type(fields[name]).__name__ in _VECTOR_TYPES


def vector_array(name):
    """The vector column ``name`` as an ``array<double>`` column expression; a
    null vector as a null array (which the checks then name by row), since
    ``vector_to_array`` itself fails on one."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    column = F.col(quoted(name))
    return F.when(column.isNotNull(), vector_to_array(column, "float64"))


def vectors_as_arrays(df, scores):
    """``df`` with the score column, if ``scores`` names one vector column, read
    as ``array<double>`` under the same name (a projection: nothing runs); any
    other ``df`` as it is."""
    if not isinstance(scores, str) or not is_vector_column(df, scores):
        return df
    return df.withColumn(scores, vector_array(scores))
