"""Calibrators and metrics on Spark DataFrames: ``fit``, ``transform`` and
``evaluate``. Fits and metrics run the same code as on arrays, their passes
over the rows made Spark jobs by :class:`~skcal.spark._table.SparkScores`."""

import inspect

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..comparison._calibrated_models import checked_calibration
from ._calibrated import keep_column_names
from ._layout import Layout, check_data_frame
from ._provisional import Unsettled
from ._table import SparkScores
from ._vectors import check_numbering, is_vector_column, vector_array, vectors_as_arrays

_OUTPUTS = ("proba", "log_proba", "label")


def fit(calibrator, df, *, scores, y, sample_weight=None):
    """Fit a calibration map on the scores and labels of a Spark DataFrame.

    Each pass of the fit is one Spark job, whose tasks read their partition's
    rows as Arrow batches and return sums; the driver holds no rows. The maps
    that stream fit this way: :class:`~skcal.TemperatureScaling`,
    :class:`~skcal.VectorScaling`, :class:`~skcal.MatrixScaling`,
    :class:`~skcal.PlattScaling` and :class:`~skcal.BetaCalibration`. Maps that
    need every row at once (isotonic regression, histogram binning) are refused:
    fit them on a sample collected as arrays, and apply them here with
    :func:`transform`.

    Parameters
    ----------
    calibrator : skcal calibrator or str
        Unfitted, with ``estimator=None`` (the scores are given), or a method's
        name (``'temperature'``, as :func:`skcal.compare_models` takes it).

    df : pyspark.sql.DataFrame
        Ideally cached, the cache computed (``df.cache(); df.count()``): the fit
        reads it once per pass, and on a computed cache a sample of its rows
        stands in for the survey's aggregation (one Spark job fewer).

    scores : str or list of str
        An ``array<float|double>`` column of logits or probabilities (or a Spark
        ML vector column, such as a classifier's ``probability`` or
        ``rawPrediction``, read as an array of doubles), one numeric
        column of binary scores, a list of numeric columns, or a pattern such as
        ``"p_*"`` matching them in column order.

    y : str
        The label column (integer, string or boolean).

    sample_weight : str, default=None
        A column of non-negative weights.

    Returns
    -------
    calibrator : the same calibrator, fitted (a new one, given a name)

    Examples
    --------
    With ``df`` a DataFrame of a running Spark session (the examples here need
    one, so the doctests skip them; ``tests/spark`` runs them on local[2]):

    >>> import skcal.spark
    >>> from skcal import TemperatureScaling
    >>> ts = skcal.spark.fit(TemperatureScaling(), df, scores="logits",
    ...                      y="label")  # doctest: +SKIP
    """
    if getattr(calibrator, "estimator", None) is not None:
        raise ValueError(
            f"{type(calibrator).__name__} wraps a classifier; on Spark the scores are "
            "given, so pass a calibrator with estimator=None and the column of the "
            "classifier's scores as scores=.")
    swapped = hasattr(type(calibrator), "schema") and not hasattr(type(df), "schema")
    calibrator = checked_calibration(calibrator, "calibrator", hint=(
        " (the calibrator comes first: skcal.spark.fit(calibrator, df, ...))" * swapped))
    # a map that starts from the class totals would leave a provisional survey
    # at once, the sample drawn for nothing
    provisional = not getattr(calibrator, "_starts_from_class_totals", False)
    return _on_table(df, scores, y, sample_weight, lambda table: _fitted(
        calibrator, table), provisional=provisional)


def _fitted(calibrator, table):
    """``calibrator`` fitted on ``table``, the names of score columns named after
    the classes kept (:func:`~skcal.spark._calibrated.keep_column_names`)."""
    calibrator.fit(table, table.labels, sample_weight=table.weights)
    return keep_column_names(calibrator, table)


def evaluate(metric, df, *, scores, y, sample_weight=None, score_type="probabilities",
             **options):
    """A skcal metric of the scores and labels of a Spark DataFrame.

    Every metric that streams works: :func:`~skcal.metrics.nll` (``base=2`` for
    bits), :func:`~skcal.metrics.nll_from_logits`, :func:`~skcal.metrics.perplexity`,
    :func:`~skcal.metrics.brier_score`, the ECE family (equal-width bins), the
    calibration curve and :func:`~skcal.metrics.nll_decomposition` (temperature).
    Each pass is one Spark job, after the survey's Spark SQL jobs that count the
    rows and tally the labels (on a computed cache without weights, one job that
    samples the rows stands in for them); the value is the one the metric gives on
    the same rows as arrays.

    Parameters
    ----------
    metric : callable or str
        A function of :mod:`skcal.metrics`, its name, or a metric's short name
        as skcal's scorers use it (``'nll'``, ``'nll_bits'``, ``'brier'``,
        ``'ece'``, ``'classwise_ece'``, ``'nll_calibration'``).

    df : pyspark.sql.DataFrame

    scores, y, sample_weight
        Columns, as in :func:`fit`.

    score_type : {'probabilities', 'logits'}, default='probabilities'
        What the scores hold. Logits go to the metric as ``logits=`` (those of
        the ECE family, Brier, perplexity and the NLL decomposition take them;
        ``nll_from_logits`` takes them in place of probabilities).

    **options
        The metric's keyword arguments (``labels``, ``n_bins``, ...).

    Returns
    -------
    The metric's result.

    Examples
    --------
    With ``df`` a DataFrame of a running Spark session:

    >>> import skcal.spark
    >>> skcal.spark.evaluate("nll", df, scores="proba", y="label")  # doctest: +SKIP
    0.4132...
    """
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", repr(metric))
    metric, options = _metric_function(metric, options)
    if "sample_weight" in options:
        raise TypeError("Pass sample_weight= as the name of a weight column.")
    if score_type not in ("probabilities", "logits"):
        raise ValueError(f"score_type={score_type!r}: pass 'probabilities' or 'logits'.")
    takes_logits = "logits" in inspect.signature(metric).parameters
    if score_type == "logits" and not takes_logits and name != "nll_from_logits":
        raise ValueError(f"{name} takes probabilities, not logits; use "
                         "nll_from_logits for the NLL of logits.")

    def run(table):
        if score_type == "logits" and takes_logits:
            return metric(table.labels, logits=table, sample_weight=table.weights, **options)
        return metric(table.labels, table, sample_weight=table.weights, **options)

    return _on_table(df, scores, y, sample_weight, run)


def _metric_function(metric, options):
    """(function, keyword arguments) of :func:`evaluate`'s metric: a callable, the
    name of a function of :mod:`skcal.metrics`, or a metric's short name, as
    skcal's scorers name it without ``neg_`` (``'ece'``, ``'nll_bits'``)."""
    if callable(metric):
        return metric, options
    from .. import metrics

    if metric in metrics.__all__ and callable(getattr(metrics, metric)):
        return getattr(metrics, metric), options
    from ..metrics._scorer import metric_of_short_name, short_metric_names

    short = metric_of_short_name(metric)
    if short is None:
        raise ValueError(f"metric={metric!r} is not a function of skcal.metrics, nor one of "
                         f"the short names {', '.join(short_metric_names())}.")
    function, keywords = short
    given = sorted(set(keywords) & set(options))
    if given:
        raise TypeError(f"metric={metric!r} sets {given} itself; leave them out, or name "
                        "the function of skcal.metrics.")
    return function, {**keywords, **options}


def _on_table(df, scores, y, sample_weight, run, provisional=True):
    """``run(table)`` on the :class:`SparkScores` of ``df``: first under a
    provisional survey (a computed cache, read from its sample), and again on
    the full survey if that one could not answer (:mod:`skcal.spark._provisional`).
    A vector column of scores is read as an array (:mod:`skcal.spark._vectors`)."""
    read = vectors_as_arrays(df, scores)
    table = SparkScores(read, scores, y, sample_weight, provisional=provisional, cached=df)
    try:
        return run(table)
    except Unsettled:
        if not table.provisional:
            raise
    return run(SparkScores(read, scores, y, sample_weight, sample=table.survey.sample,
                           cached=df))


def transform(calibrator, df, *, scores, output="proba", name=None):
    """The DataFrame with a column of calibrated outputs, computed lazily.

    Works for every fitted calibrator (isotonic and histogram included): each
    Arrow batch's scores go through the calibrator's ``predict_proba`` on the
    executors (``mapInArrow``); nothing runs until an action.

    Parameters
    ----------
    calibrator : fitted skcal calibrator
        Fitted on scores (``estimator=None``) of the same width.

    df : pyspark.sql.DataFrame

    scores : str or list of str
        As in :func:`fit`. For a calibrator fitted on a DataFrame's named
        columns, the same columns in another order are refused (each column
        is a class).

    output : {'proba', 'log_proba', 'label'}, default='proba'
        ``array<double>`` columns of calibrated probabilities or
        log-probabilities, an entry per class of ``calibrator.classes_``, in
        its order (as ``predict_proba``'s columns: the sorted classes, also
        where named score columns come in another order), or the predicted
        label (of the type of ``calibrator.classes_``).

    name : str, default=None
        The new column's name; ``"calibrated_" + output`` by default.

    Returns
    -------
    pyspark.sql.DataFrame

    Examples
    --------
    With ``df`` a DataFrame of a running Spark session and ``ts`` a fitted
    calibrator:

    >>> import skcal.spark
    >>> out = skcal.spark.transform(ts, df, scores="logits")  # doctest: +SKIP
    """
    check_is_fitted(calibrator)
    check_data_frame(df)
    if output not in _OUTPUTS:
        raise ValueError(f"output={output!r} is not one of {', '.join(_OUTPUTS)}.")
    if getattr(calibrator, "estimator", None) is not None:
        raise ValueError("transform takes a calibrator fitted on scores (estimator=None).")
    from pyspark.sql import types

    name = name or f"calibrated_{output}"
    if name in df.columns:
        raise ValueError(f"The DataFrame already has a column {name!r}; pass another name=.")
    layout = Layout(vectors_as_arrays(df, scores), scores)
    _check_column_order(calibrator, layout)
    check_numbering(layout, calibrator.classes_, (
        "The calibrator's classes_ are in that order: fit it with skcal.spark.fit and "
        "y={column!r}, whose values are the entries' positions."))
    if output == "label":
        classes = np.asarray(calibrator.classes_)
        field_type = (types.StringType() if classes.dtype.kind in "OUS"
                      else types.DoubleType() if classes.dtype.kind == "f"
                      else types.LongType())
    else:
        field_type = types.ArrayType(types.DoubleType(), containsNull=False)
    schema = types.StructType(df.schema.fields + [types.StructField(name, field_type)])
    positions = [df.columns.index(column) for column in layout.score_columns]
    kept, source = len(df.columns), df
    if is_vector_column(df, scores):  # its array is read beside the columns kept as they are
        source, positions = df.select("*", vector_array(scores).alias("_scores")), [kept]

    def calibrate(batches):
        for batch in batches:
            yield _calibrated_batch(batch, positions, layout, calibrator, output, kept)

    # read by position: mapInArrow cannot name a column whose name holds a backtick
    by_position = source.toDF(*[f"column_{i}" for i in range(len(source.columns))])
    return by_position.mapInArrow(calibrate, schema)


def _check_column_order(calibrator, layout):
    """Refuse score columns that are the calibrator's (``feature_names_in_``, from
    a DataFrame it was fitted on) in another order: each column is a class, and
    an array hands them over by position."""
    fitted = [str(name) for name in getattr(calibrator, "feature_names_in_", ())]
    given = [] if layout.is_array else list(layout.score_columns)
    if fitted and sorted(given) == sorted(fitted) and given != fitted:
        raise ValueError(f"scores= names the columns {given}; the calibrator was fitted on "
                         f"{fitted}, one per class in this order. Pass scores={fitted}.")


def _calibrated_batch(batch, positions, layout, calibrator, output, kept):
    import pyarrow as pa

    scores = layout.scores(pa.RecordBatch.from_arrays(
        [batch.column(i) for i in positions], names=layout.score_columns))
    if output == "label":
        column = pa.array(calibrator.predict(scores).tolist())
    else:
        values = (calibrator.predict_proba(scores) if output == "proba"
                  else calibrator.predict_log_proba(scores))
        values = np.ascontiguousarray(values, dtype=np.float64)
        offsets = np.arange(0, values.size + 1, max(1, values.shape[1]), dtype=np.int32)
        column = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values.reshape(-1)))
    return pa.RecordBatch.from_arrays(list(batch.columns)[:kept] + [column],
                                      names=list(batch.schema.names)[:kept] + ["_new"])
