"""Spark ML vector columns as score columns.

A Spark ML classifier's ``transform`` writes its scores as vectors (its
``probability`` and ``rawPrediction`` columns, of type ``VectorUDT``), which
neither Spark SQL nor Arrow reads as numbers. Before anything else reads them,
such a column is replaced, lazily and under its own name, by the dense
``array<double>`` of :func:`pyspark.ml.functions.vector_to_array` (sparse
vectors come out dense), so that the survey, the passes and the messages see an
array column like any other.

A vector's entry ``j`` is the class its model was trained to call ``j``: where
the labels are text, the class a ``StringIndexer`` numbered ``j``, by frequency
rather than in sorted order. The array keeps, in its metadata, the numberings
of the indexed columns of the DataFrame, so that :func:`check_numbering` can
refuse to read the entries as other classes.
"""

from ._layout import NUMBERINGS, check_data_frame, quoted

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


def indexer_numberings(df):
    """``{column: classes in index order}`` of the columns of ``df`` that a
    ``StringIndexer`` wrote (nominal attributes that name their values)."""
    numberings = {}
    for field in df.schema.fields:
        attribute = (field.metadata or {}).get("ml_attr", {})
        if attribute.get("type") == "nominal" and attribute.get("vals"):
            numberings[field.name] = [str(value) for value in attribute["vals"]]
    return numberings


def vectors_as_arrays(df, scores):
    """``df`` with the score column, if ``scores`` names one vector column, read
    as ``array<double>`` under the same name (a projection: nothing runs), its
    metadata holding :func:`indexer_numberings`; any other ``df`` as it is."""
    check_data_frame(df)
    if not isinstance(scores, str) or not is_vector_column(df, scores):
        return df
    read = df.withColumn(scores, vector_array(scores))
    numberings = indexer_numberings(df)
    return read.withMetadata(scores, {NUMBERINGS: numberings}) if numberings else read


def check_numbering(layout, classes, fix):
    """Refuse to read a vector's entries as ``classes`` (text labels, in the
    order they would be read in) where an indexed column of the DataFrame
    numbers the same classes in another order: the model that wrote the vector
    numbered them so. ``fix`` ends the message; ``{column}`` in it names that
    column."""
    classes = [str(value) for value in classes] if all(
        isinstance(value, str) for value in classes) else None
    if not classes:
        return
    for column, numbering in layout.numberings.items():
        if column != layout.y and sorted(numbering) == sorted(classes) \
                and numbering != classes:
            raise ValueError(
                f"{layout.score_name[0].upper()}{layout.score_name[1:]} holds Spark ML "
                f"vectors, whose entry j is the class the StringIndexer column "
                f"{column!r} numbers j: {numbering}. Read as the classes {classes}, in this "
                "order, the entries would be misread. " + fix.format(
                    column=column))
