"""Models whose scores are columns of one Spark DataFrame (a champion and a
challenger logged side by side), ranked by held-out NLL with paired standard
errors, as :func:`skcal.compare_models` ranks arrays. One Spark job computes
each row's log-likelihood under every model on the executors, with the same
code as on arrays, and returns sums: per partition the totals and the sums of
products the standard errors need, or, with ``groups``, each group's sums."""

import copy
from collections.abc import Mapping

import numpy as np

from ..comparison._calibrated_models import checked_calibration
from ..comparison._model_results import model_result, model_results, zero_probability_rows
from ..comparison._paired_errors import bootstrap_se, check_n_bootstrap
from ..comparison._models import ModelComparison
from ..metrics._predictive import row_log_likelihood
from ..rows._column_classes import column_classes
from ..rows._labels import encode_labels, missing_entries
from ..rows._scores import SCORE_TYPES
from ._calibrated import HeldOut, check_spark_calibration, cross_fitted_calibrators
from ._layout import Layout, check_data_frame
from ._table import TRAINED_LABELS, SparkScores, run_job
from ._vectors import check_numbering, vectors_as_arrays

# group sums kept from a partition's batches before they are merged into one: a
# merge sorts the keys, so merging every batch would sort a partition's groups
# once per batch
_GROUPS_BEFORE_MERGE = 2**18


def compare_models(df, models, *, y, groups=None, sample_weight=None, score_type="auto",
                   labels=None, ignore_index=None, calibrate=None, cv=None,
                   n_bootstrap=None, random_state=None):
    """Rank models whose scores are columns of one Spark DataFrame by held-out NLL.

    The result is the :class:`~skcal.ModelComparison` that
    :func:`skcal.compare_models` gives on the same rows as arrays (the same
    NLLs, differences and standard errors, to rounding): each model's
    difference to the best with its paired standard error and p-value, over
    rows taken as independent, or cluster-robust over ``groups`` (sessions,
    users, documents). Each model's columns are surveyed first (a Spark job or
    two each), then one job computes every row's log-likelihood under every
    model where the rows are.

    Parameters
    ----------
    df : pyspark.sql.DataFrame

    models : mapping of str to str or list of str
        Each model's name and its scores, as :func:`skcal.spark.fit` takes
        ``scores=``: an array or Spark ML vector column, numeric columns, or a
        pattern. Each model is read as it would be alone: columns named after
        the classes (``a_dog, a_cat``) as the classes they name, in any order;
        other columns as the metrics read them (integer labels index them,
        other labels in sorted order).

    y : str
        The label column.

    groups : str, default=None
        A column naming each row's group; the standard errors are then
        cluster-robust over the groups.

    sample_weight : str, default=None
        A column of non-negative weights.

    score_type : {'auto', 'logits', 'probabilities'}, default='auto'
        How every model's scores are read; 'auto' decides per model, from its
        survey.

    labels : array-like, default=None
        The class of each score column, as in :func:`~skcal.metrics.nll`.

    ignore_index : label, default=None
        Rows with this label are left out.

    calibrate : str or skcal calibrator, default=None
        Rank the models at their best calibration, as
        :func:`skcal.compare_models` does: each row's log-likelihood under a
        map (``'temperature'``, or another that streams: ``'vector'``,
        ``'matrix'``, ``'platt'``, ``'beta'``, or such an estimator) fitted on
        the other folds' rows, the same folds for every model. The folds are dealt where the rows are: each class's rows
        round-robin in row order (not shuffled, as the arrays' are), or with
        ``groups`` each group's rows in the fold given by the CRC-32 of its id,
        so that no row is scored by a map fitted on its group. Every fold's
        temperature is fitted in the same Spark jobs (usually one per model);
        another map is fitted fold by fold on the fold's weights, a job per
        pass of its fit. The raw NLL is kept beside (``nll_uncalibrated``), and
        the fitted calibrators in ``calibrators_``. Isotonic calibration and
        histogram binning (which need every row in one place) and ``labels``
        are refused with it: compare a sample collected as arrays for those.

    cv : int, default=None
        The number of folds of ``calibrate`` (5 by default).

    n_bootstrap : int, default=None
        With ``groups``: standard errors from this many bootstrap draws of the
        groups, not the analytic cluster-robust ones, as
        :func:`skcal.compare_models` draws them (from each group's sums, which
        the job sends back; for group ids that are text, the same draws as on
        the arrays for the same ``random_state``). Without groups it is refused:
        each row would have to come to the driver.

    random_state : int, RandomState or None, default=None
        Seed of the bootstrap (the folds of ``calibrate`` are dealt, not drawn).

    Returns
    -------
    comparison : ModelComparison

    Examples
    --------
    With ``logs`` a DataFrame of a running Spark session (the tests run this on
    local[2]):

    >>> import skcal.spark
    >>> result = skcal.spark.compare_models(
    ...     logs, {"champion": "proba_a", "challenger": "proba_b"}, y="clicked",
    ...     groups="user_id")  # doctest: +SKIP

    After a temperature fitted on the other folds:

    >>> calibrated = skcal.spark.compare_models(
    ...     logs, {"champion": "proba_a", "challenger": "proba_b"}, y="clicked",
    ...     calibrate="temperature")  # doctest: +SKIP
    """
    if not isinstance(models, Mapping) or len(models) < 2:
        raise ValueError("models must map at least two names to score columns, such as "
                         "{'champion': 'proba_a', 'challenger': 'proba_b'}; got "
                         f"{models!r}.")
    if score_type not in SCORE_TYPES:
        raise ValueError(f"score_type must be one of {SCORE_TYPES}; got {score_type!r}.")
    calibrator = None if calibrate is None else checked_calibration(calibrate)
    cv = _checked_folds(calibrate, cv)
    if calibrator is not None:
        check_spark_calibration(calibrator, labels)
    _check_bootstrap(n_bootstrap, groups)
    read = df
    check_data_frame(df)
    Layout.check_label_column(df, y)
    for spec in models.values():
        read = vectors_as_arrays(read, spec)
    if groups is not None:
        Layout.check_column(read, groups, "groups")
    tables, types, classes = _surveyed(read, df, models, y, sample_weight, score_type,
                                       labels, ignore_index)
    # as surveyed: a calibrator's checks may read named columns in sorted order
    layouts = {name: copy.copy(table.layout) for name, table in tables.items()}
    held_out, fitted = None, None
    if calibrator is not None:
        held_out, fitted = _calibrated(calibrator, tables, types, ignore_index, cv, groups)
    columns = [y] + [c for c in (sample_weight, groups) if c is not None]
    for layout in layouts.values():
        columns += [c for c in layout.score_columns if c not in columns]
    parts = run_job(read, columns, _partition_sums, columns, layouts, types, classes,
                    sample_weight, groups, ignore_index, _GROUPS_BEFORE_MERGE, held_out)
    names = list(models)
    moments = _moments(parts, len(names), groups is not None)
    if moments["units"] < 2:
        raise ValueError("The rows with weight form fewer than 2 groups; a standard error "
                         "needs at least 2.")
    results = model_results(names, moments)
    if n_bootstrap is not None:
        _bootstrap_errors(results, moments, n_bootstrap, random_state)
    method = ("bootstrap" if n_bootstrap is not None else "rows" if groups is None
              else "groups")
    if calibrator is None:
        return ModelComparison(results, int(moments["rows"]), int(moments["units"]), method)
    for index, name in enumerate(names):
        results[name]["nll_uncalibrated"] = -float(moments["raw_sums"][index]) / \
            moments["weight"]
        results[name]["n_zero_probability_uncalibrated"] = int(moments["raw_zeros"][index])
    return ModelComparison(results, int(moments["rows"]), int(moments["units"]), method,
                           calibration=(type(calibrator).__name__, fitted))


def _check_bootstrap(n_bootstrap, groups):
    """Refuse a bootstrap that Spark's sums cannot give."""
    check_n_bootstrap(n_bootstrap)
    if n_bootstrap is not None and groups is None:
        raise ValueError("n_bootstrap draws groups on Spark, from each group's sums; pass "
                         "groups= (users, sessions), or leave n_bootstrap out: over rows "
                         "taken as independent the analytic standard errors need no draws.")


def _bootstrap_errors(results, moments, n_bootstrap, random_state):
    """Each model's standard error and p-value from bootstrap draws of the groups,
    as :func:`skcal.compare_models` draws them (the best set keeps its analytic
    covariance, as there)."""
    names = list(results)
    best = names.index(min(names, key=lambda name: (
        results[name]["n_zero_probability"] > 0, results[name]["nll"])))
    weight, sums = moments["group_weights"], moments["group_sums"]
    units = np.arange(weight.shape[0])
    for index, name in enumerate(names):
        entry = results[name]
        se = bootstrap_se(sums[:, best] - sums[:, index], weight, units, n_bootstrap,
                          random_state)
        entry.update(model_result(entry["nll"], entry["nll_diff"], se, index == best,
                                  entry["n_zero_probability"], int(moments["units"])))


def _checked_folds(calibrate, cv):
    """The number of calibration folds, checked."""
    if calibrate is None:
        if cv is not None:
            raise ValueError("cv sets the folds of calibrate, and calibrate is None; pass "
                             "calibrate='temperature' too, or leave cv out.")
        return None
    if cv is None:
        return 5
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ValueError(f"cv must be a number of folds of at least 2 on Spark (the folds "
                         f"are dealt where the rows are); got {cv!r}.")
    return int(cv)


def _calibrated(calibrator, tables, types, ignore_index, cv, groups):
    """(what the comparison's job needs to score each row held out, each model's
    fitted calibrators by fold)."""
    fitted, models, folds = {}, [], None
    for name, table in tables.items():
        try:
            fitted[name], table_folds = cross_fitted_calibrators(
                calibrator, table, score_type=types[name], ignore_index=ignore_index, cv=cv,
                groups=groups)
        except ValueError as exc:
            raise ValueError(f"model {name!r}: {exc}") from exc
        if folds is None:  # every model's rows are dealt alike: the first's serve all
            folds = table_folds
        models.append((table.layout, table.encoding, fitted[name]))
    first = next(iter(tables.values()))
    return HeldOut(folds, models, first.partition_starts), fitted


def _surveyed(read, df, models, y, sample_weight, score_type, labels, ignore_index):
    """Each model's table (:class:`~skcal.spark._table.SparkScores`), score type
    and the classes of its columns, from the surveys of ``read`` (``df`` with its
    vector columns read as arrays, whose cache it reads)."""
    tables, types, classes = {}, {}, {}
    for name, spec in models.items():
        try:
            table = SparkScores(read, spec, y, sample_weight, cached=df)
        except ValueError as exc:
            raise ValueError(f"model {name!r}: {exc}") from exc
        tables[name] = table
        types[name] = score_type if score_type != "auto" else (
            "probabilities" if table.looks_like_probabilities else "logits")
        width = 1 if len(table.shape) == 1 else table.shape[1]
        values = np.asarray(table.survey.label_values)
        if ignore_index is not None:
            values = values[values != ignore_index]
        named = None if labels is not None or table.layout.is_array else column_classes(
            table.layout.score_columns, values)  # columns named after the classes
        try:
            classes[name], _ = encode_labels(values, max(width, 2),
                                             labels=labels if named is None else named,
                                             min_classes=1)
            check_numbering(table.layout, classes[name], TRAINED_LABELS)
        except ValueError as exc:
            raise ValueError(f"model {name!r}: {exc}") from exc
    return tables, types, classes


def _partition_sums(batches, pid, columns, layouts, types, classes, sample_weight, groups,
                    ignore_index, merge_at, held_out=None):
    """A partition's sums: per model the weighted log-likelihood and its rows of
    probability 0; the weight; and, per unit (each row, or each group), the sums
    whose products give the standard errors (the batches' group sums merged
    once they hold more than ``merge_at`` groups). With ``held_out`` (a
    :class:`~skcal.spark._calibrated.HeldOut`), those of the held-out calibrated
    log-likelihoods, and the raw ones' sums and zeros beside."""
    import pyarrow as pa

    def batch_columns(layout):
        return pa.RecordBatch.from_arrays([batch.column(columns.index(c))
                                           for c in layout.score_columns],
                                          names=layout.score_columns)

    names = list(layouts)
    state, start = {}, 0  # the partition's fold dealing, and its rows read so far
    total = {"rows": 0, "weight": 0.0, "sums": np.zeros(len(names)),
             "zeros": np.zeros(len(names), dtype=np.int64),
             "raw_sums": np.zeros(len(names)), "raw_zeros": np.zeros(len(names), dtype=np.int64),
             "products": np.zeros((len(names), len(names))), "by_weight": np.zeros(len(names)),
             "weight_squares": 0.0, "units": 0, "groups": None}
    pending = []  # batches' group sums, merged once they hold many groups
    for batch in batches:
        if batch.num_rows == 0:
            continue
        y_batch = _labels(batch.column(0).to_numpy(zero_copy_only=False))
        weight = (None if sample_weight is None else
                  batch.column(1).to_numpy(zero_copy_only=False).astype(np.float64))
        log_lik = []
        for name in names:
            scores = layouts[name].scores(batch_columns(layouts[name]))
            lp, kept, _, _ = row_log_likelihood(
                y_batch, scores, score_type=types[name], labels=classes[name],
                sample_weight=weight, ignore_index=ignore_index,
                names=("y", f"models[{name!r}]"))
            log_lik.append(lp)
        w = np.ones(batch.num_rows) if kept is None else np.asarray(kept, dtype=np.float64)
        keys = None if groups is None else _group_keys(batch.column(columns.index(groups)),
                                                       groups)
        if held_out is not None:
            total["raw_sums"] += np.column_stack(log_lik).T @ w
            total["raw_zeros"] += [zero_probability_rows(lp, w) for lp in log_lik]
            log_lik = held_out.of_batch(batch_columns, y_batch, weight, pid, state, start,
                                        columns[0], {groups: keys})
        start += batch.num_rows
        values = np.column_stack(log_lik) * w[:, None]  # each row's w * log p, per model
        total["rows"] += int(np.count_nonzero(w > 0))
        total["weight"] += float(w.sum())
        total["sums"] += values.sum(axis=0)
        total["zeros"] += [zero_probability_rows(lp, w) for lp in log_lik]
        if groups is None:  # each row is a unit
            total["products"] += values.T @ values
            total["by_weight"] += w @ values
            total["weight_squares"] += float(w @ w)
            total["units"] += int(np.count_nonzero(w > 0))
        else:
            pending.append(_group_sums(keys, w, values))
            if sum(part[0].shape[0] for part in pending) > merge_at:
                pending = [_merged_groups(pending)]
    if pending:
        total["groups"] = _merged_groups(pending)
    return total


def _group_keys(column, name):
    """A batch's group ids as text; a null or NaN id is refused (it would be one
    group of every row without an id)."""
    values = column.to_numpy(zero_copy_only=False)
    if column.null_count or missing_entries(values).any():
        raise ValueError(f"The groups column {name!r} holds nulls (or NaN); give every row "
                         "its group (a session or user id), or filter those rows out.")
    return np.array([str(v) for v in values], dtype=object)


def _merged_groups(parts):
    """Per-group sums of several batches' (keys, weights, sums), merged."""
    return _group_sums(np.concatenate([p[0] for p in parts]),
                       np.concatenate([p[1] for p in parts]), np.vstack([p[2] for p in parts]))


def _labels(values):
    """A batch's labels as numpy, text as objects (the survey refused nulls)."""
    return values.astype(object) if values.dtype.kind in "OU" else values


def _group_sums(keys, w, values):
    """(the distinct keys, each one's weight, each one's sums of ``values`` columns)."""
    unique, inverse = np.unique(keys.astype(str), return_inverse=True)
    weight = np.bincount(inverse, weights=w, minlength=unique.shape[0])
    sums = np.column_stack([np.bincount(inverse, weights=column, minlength=unique.shape[0])
                            for column in values.T])
    return unique, weight, sums


def _moments(parts, n_models, grouped):
    """The partitions' sums added up: totals, and the sums over units of the
    products the paired variances are made of."""
    moments = {"rows": sum(p["rows"] for p in parts),
               "weight": sum(p["weight"] for p in parts),
               "sums": sum((p["sums"] for p in parts), np.zeros(n_models)),
               "zeros": sum((p["zeros"] for p in parts), np.zeros(n_models, dtype=np.int64)),
               "raw_sums": sum((p["raw_sums"] for p in parts), np.zeros(n_models)),
               "raw_zeros": sum((p["raw_zeros"] for p in parts),
                                np.zeros(n_models, dtype=np.int64))}
    if not grouped:
        moments.update(products=sum(p["products"] for p in parts),
                       by_weight=sum(p["by_weight"] for p in parts),
                       weight_squares=sum(p["weight_squares"] for p in parts),
                       units=sum(p["units"] for p in parts))
        return moments
    grouped_parts = [part["groups"] for part in parts if part["groups"] is not None]
    # a group may span partitions
    _, weight, sums = (_merged_groups(grouped_parts) if grouped_parts
                       else (None, np.zeros(0), np.zeros((0, n_models))))
    kept = weight > 0
    moments.update(products=sums[kept].T @ sums[kept], by_weight=weight[kept] @ sums[kept],
                   weight_squares=float(weight[kept] @ weight[kept]),
                   units=int(np.count_nonzero(kept)), group_weights=weight[kept],
                   group_sums=sums[kept])
    return moments
