"""Models on a Spark DataFrame ranked at their best calibration, as
:func:`skcal.compare_models` ranks arrays with ``calibrate=``: each model's map
is cross-fitted on the other folds, and each row's log-likelihood is taken
under its own fold's map, held out.

The folds are dealt where the rows are (:class:`~skcal.spark._folds.StratifiedFolds`:
each class's rows round-robin, in row order; with groups,
:class:`~skcal.spark._folds.GroupFolds`: each group's rows in the fold its id
gives), the same folds for every model, so that the models' differences stay
paired. Every fold's temperature is fitted in the same passes over the model's
scores, each a Spark job
(:func:`~skcal.solvers._fold_temperatures.cross_fitted_inverse_temperatures`):
temperature scaling's fits, and where vector and matrix scaling start. Another
map that streams is fitted fold by fold, each fold's fit weighing the rows
outside it (:class:`FoldWeights`); Platt scaling and beta calibration start the
folds after the first where the first fold's fit ended. The held-out
log-likelihoods are computed in the comparison's one job, each batch's rows
scored by the calibrators of their folds.
"""

import copy

import numpy as np
from sklearn.base import clone

from ..calibrators._inputs import checked_score_inputs
from ..calibrators._temperature import TemperatureScaling
from ..comparison._calibrated_models import (
    fitted_in_turn,
    label_log_proba,
    temperature_fit_options,
)
from ..solvers._fold_temperatures import cross_fitted_inverse_temperatures
from ..rows._remote import RemoteVector
from ..utils._reuse import GivenFits, Key
from ._folds import BatchRows


def check_spark_calibration(calibrator, labels):
    """Refuse what the Spark comparison cannot calibrate, saying what to do."""
    if not calibrator._streams:
        raise ValueError(
            f"{type(calibrator).__name__} needs every row in one place, and the rows of "
            "a Spark DataFrame are summed where they live; calibrate with a map that "
            "streams (temperature, vector, matrix, platt, beta), or compare a sample "
            "collected as arrays with skcal.compare_models(..., calibrate=...).")
    if labels is not None:
        raise ValueError(
            "skcal.spark.compare_models with calibrate reads each model's classes as its "
            "fit does: name the score columns after the classes (p_cat, p_dog), or give "
            "one array column in the sorted order of the labels; labels= is for "
            "comparisons without calibrate.")


def keep_column_names(calibrator, table):
    """Where ``table``'s score columns are named after the classes in another order
    than the sorted one (which ``classes_`` and the outputs follow), keep their
    names as a DataFrame's are, so that :func:`skcal.spark.transform` and
    ``predict_proba`` read each column as its class."""
    if table.layout.column_order is not None:
        calibrator.feature_names_in_ = np.asarray(table.layout.score_columns, dtype=object)
    return calibrator


class _FoldFit(GivenFits):
    """One fold's temperature (or None), fitted with the other folds' in the
    same passes, for the calibrator of that fold: given for the labels and
    weights (tokens of the table, the fold itself a per-row vector of it) that
    the fit checked; and, after the first fold, that fold's fits as this
    fold's starts."""

    def __init__(self, fit, inputs, starts):
        super().__init__(Key.INVERSE_TEMPERATURE, [], starts=starts)
        self.fit, self.inputs = fit, inputs

    def given(self, key, y, sample_weight):
        if (key is self.key and self.fit is not None and y is self.inputs.y_index
                and sample_weight is self.inputs.sample_weight):
            return self.fit
        return None


def cross_fitted_calibrators(calibrator, table, *, score_type, ignore_index, cv, groups):
    """(each fold's fitted calibrator, the folds) of one model's scores ``table``
    (a :class:`~skcal.spark._table.SparkScores`), fitted on the rows of the other
    folds: each class's rows dealt round-robin, or with ``groups`` (a column)
    each group's rows in the fold its id gives.

    Its scores, labels and weights are checked once, as a fit checks them;
    each fold's calibrator is then the fit on those inputs (the same warnings
    as alone, such as a fold whose scores separate the classes): a temperature
    taken from the shared passes, another map fitted on the fold's weights,
    vector and matrix scaling from that fold's temperature, Platt scaling and
    beta calibration after the first fold from where the first fold's ended.
    """
    estimator = clone(calibrator).set_params(score_type=score_type,
                                             ignore_index=ignore_index)
    estimator._validate_params()
    inputs = checked_score_inputs(estimator, table, table.labels, table.weights)
    if groups is None:
        folds = table.stratified_folds(cv)
        folds.check_training_classes()
    else:
        folds = table.group_folds(groups, cv)
    if type(estimator) is TemperatureScaling:  # the given fit is the fold's
        fold_inputs = [inputs] * cv
    else:  # each fold fitted on its own weights, the fold's rows at 0
        fold_inputs = [inputs._replace(sample_weight=weights)
                       for weights in _fold_weights(table, inputs, folds, cv)]
    temperatures, options = [None] * cv, temperature_fit_options(estimator)
    if options is not None:  # every fold's in the same passes
        temperatures = cross_fitted_inverse_temperatures(
            inputs.logits, inputs.y_index, inputs.sample_weight,
            folds.per_row(np.arange(cv)), n_folds=cv, **options)

    def fit_fold(index, starts):
        cache = _FoldFit(temperatures[index], fold_inputs[index], starts)
        fold_calibrator = clone(estimator)
        fold_calibrator._fit_checked_scores(table, fold_inputs[index], cache)
        return keep_column_names(fold_calibrator, table), cache

    return fitted_in_turn(fit_fold, cv), folds


class FoldWeights:
    """The per-row weights of the rows outside one fold: each row's weight (1
    without a weight column; 0 for a label left out), 0 on the fold's own rows."""

    def __init__(self, folds, fold, total):
        self.folds, self.fold, self._total = folds, fold, total

    def read(self, rows):
        weights = np.ones(rows.y_index.shape[0]) if rows.weights is None else rows.weights
        return np.where(self.folds.of_batch(rows) == self.fold, 0.0, weights)

    def total(self):
        return self._total


def _fold_weights(table, inputs, folds, cv):
    """Each fold's training weights as vectors of ``table``, their class totals
    summed in one pass."""
    n_classes = inputs.classes.shape[0]

    def class_fold_sums(z, y, w, fold):
        return np.bincount(y * cv + fold, weights=w, minlength=n_classes * cv)

    sums = inputs.logits.reduce(class_fold_sums, inputs.y_index, inputs.sample_weight,
                                folds.per_row(np.arange(cv))).reshape(n_classes, cv)
    outside = sums.sum(axis=1, keepdims=True) - sums  # each class's weight outside each fold
    return [RemoteVector(table, FoldWeights(folds, fold, float(outside[:, fold].sum())),
                         table.shape[0], outside[:, fold]) for fold in range(cv)]


def _without_names(calibrator):
    """A copy of ``calibrator`` without the column names it keeps for the user."""
    calibrator = copy.copy(calibrator)
    calibrator.__dict__.pop("feature_names_in_", None)
    return calibrator


class HeldOut:
    """What a task needs to score its rows held out: the folds (dealt on the
    first model's table), per model the layout its calibrators read, its label
    encoding and its calibrators by fold, and the first row of each partition."""

    def __init__(self, folds, models, partition_starts):
        self.folds = folds
        # the layouts read named columns in the classes' order already: the tasks'
        # calibrators are told no names, which would reorder them a second time
        self.models = [(layout, encoding, [_without_names(c) for c in fitted])
                       for layout, encoding, fitted in models]
        self.partition_starts = partition_starts

    def of_batch(self, batch_columns, y, weight, pid, state, start, column, extra):
        """Each model's held-out ``log p(y)`` of one batch's rows (0 where a row
        weighs 0); ``batch_columns(layout)`` gives the batch of a layout's columns,
        ``state`` is kept from batch to batch of partition ``pid``, whose first
        ``start`` rows were read before; ``extra`` holds the batch's group ids
        (by the group column's name) when the folds follow groups."""
        start += self.partition_starts.get(pid, 0)  # rows as messages number them
        log_lik, fold = [], None
        for layout, encoding, fitted in self.models:
            scores = layout.scores(batch_columns(layout))
            y_index, w = encoding.encode(y, weight, column=column, start=start)
            if fold is None:  # dealt on the first model's labels, as its table dealt them
                fold = self.folds.of_batch(BatchRows(y_index, None, pid, state, extra))
            log_p = np.zeros(y.shape[0])
            for index in np.unique(fold):
                rows = np.flatnonzero(fold == index)
                log_p[rows] = label_log_proba(fitted[index], scores[rows], y_index[rows])
            if w is not None:
                log_p[np.asarray(w) == 0] = 0.0
            log_lik.append(log_p)
        return log_lik
