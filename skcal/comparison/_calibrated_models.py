"""Models compared at their best calibration: each row's held-out log-likelihood
under a calibrator cross-fitted on the other rows (the test-time cross-validation
of Ashukha et al., "Pitfalls of in-domain uncertainty estimation and ensembling
in deep learning", ICLR 2020).

A model's raw NLL mixes two things: how well it ranks the classes and how well
its confidence is scaled. The second costs one temperature to fix; two
checkpoints, one merely more confident than the other, differ in raw NLL and
are the same model after calibration. Cross-fitting keeps every row's
log-likelihood held out: the calibrator that scores a row never saw it.

Each fold's calibrator is fitted on every row with the fold's own rows at
weight 0, so the scores are streamed as the calibrators stream them (memory
maps, Zarr and Dask arrays are never copied). Every fold's temperature is
fitted in the same passes (:mod:`skcal.solvers._fold_temperatures`), usually
one: temperature scaling's fit, and the start of vector and matrix scaling.
Platt scaling and beta calibration start the folds after the first where the
first fold's fit ended. The held-out log-likelihoods then take one more pass,
each row block scored by the calibrators of its folds.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils import column_or_1d

from ..calibrators._base import BaseCalibrator
from ..calibrators._registry import calibrator_class
from ..calibrators._sharing import fit_sharing
from ..calibrators._matrix import MatrixScaling
from ..calibrators._temperature import TemperatureScaling
from ..calibrators._vector import VectorScaling
from ..metrics._predictive import _score_type_of, row_log_likelihood
from ..metrics._row_metrics import true_class_log_softmax
from ..rows._blocks import Rows
from ..rows._column_classes import column_classes
from ..rows._namespaces import to_numpy
from ..rows._score_rows import fit_score_rows
from ..solvers._fold_temperatures import cross_fitted_inverse_temperatures
from ..solvers._temperature_fit import START_MAX_ITER, START_TOL
from ..utils._reuse import GivenFits, Key, offered_starts
from ._outer_folds import outer_splits

# values per block of the held-out pass: 128 rows of a 32,000-token vocabulary
_HELD_OUT_BLOCK = 2**20


def models_log_likelihood(models, y, *, score_type, labels, sample_weight, ignore_index):
    """Each model's row log-likelihoods (one pass over its scores), the checked
    row weights (None without weights or ignored rows), and each model's
    column of each row's label."""
    _check_column_orders(models, y, ignore_index)
    if np.ndim(y) == 2 and np.shape(y)[1] == 1 and all(
            np.ndim(scores) <= 2 for scores in models.values()):
        y = column_or_1d(y, warn=True)  # a column of labels: warned of once, not per model
    log_lik, weight, y_index = {}, None, {}
    for name, scores in models.items():
        try:
            log_lik[name], weight, _, y_index[name] = row_log_likelihood(
                y, scores, score_type=score_type, labels=labels,
                sample_weight=sample_weight, ignore_index=ignore_index,
                names=("y", f"models[{name!r}]"))
        except ValueError as exc:
            raise ValueError(f"model {name!r}: {exc}") from exc
    return log_lik, weight, y_index


def calibrated_log_likelihoods(models, y_index, weight, calibrator, *, cv, groups,
                               random_state, score_type):
    """Each model's held-out row log-likelihoods after ``calibrator``,
    cross-fitted over the same ``cv`` folds for every model (of ``groups``
    kept whole, when given), and each model's fitted calibrators; ``y_index``
    and ``weight`` as :func:`models_log_likelihood` checked them.

    Examples
    --------
    >>> from skcal import TemperatureScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(600, 3))
    >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    >>> log_lik, fitted = calibrated_log_likelihoods(
    ...     {"a": logits, "b": 4 * logits}, {"a": y, "b": y}, None, TemperatureScaling(),
    ...     cv=3, groups=None, random_state=0, score_type="auto")
    >>> bool(np.allclose(log_lik["a"], log_lik["b"], rtol=1e-6)), len(fitted["b"])
    (True, 3)
    """
    folds, log_lik, fitted = None, {}, {}
    for name, scores in models.items():
        kind = _score_type_of(scores) if score_type == "auto" else score_type
        if folds is None:  # the same folds for every model: the differences stay paired
            folds = fold_of_rows(outer_splits(cv, y_index[name], groups, random_state),
                                 y_index[name].shape[0])
        flat = scores if np.ndim(scores) <= 2 else scores.reshape(-1, np.shape(scores)[-1])
        try:
            log_lik[name], fitted[name] = cross_fitted_log_likelihood(
                flat, y_index[name], weight, folds, calibrator, kind)
        except ValueError as exc:
            raise ValueError(f"model {name!r}: {exc}") from exc
    return log_lik, fitted


def checked_calibration(calibrate, argument="calibrate", hint=""):
    """The unfitted calibrator that ``calibrate`` names or is; the message of a
    wrong one names ``argument`` and ends with ``hint``.

    Examples
    --------
    >>> type(checked_calibration("temperature")).__name__
    'TemperatureScaling'
    """
    if isinstance(calibrate, str):
        return calibrator_class(calibrate)()
    if not isinstance(calibrate, BaseCalibrator):
        raise TypeError(f"{argument} must be a method's name ('temperature') or a skcal "
                        f"calibrator such as TemperatureScaling(); got "
                        f"{type(calibrate).__name__}{hint}.")
    if calibrate.estimator is not None:
        raise ValueError(f"{argument} wraps a classifier; the scores are given, so pass "
                         "the calibrator without one (TemperatureScaling()).")
    return calibrate


def fold_of_rows(folds, n_rows):
    """The fold (0..k-1) whose test part holds each row.

    Examples
    --------
    >>> fold_of_rows([(np.array([1]), np.array([0])), (np.array([0]), np.array([1]))], 2)
    array([0, 1])
    """
    fold = np.full(n_rows, -1, dtype=np.intp)
    for index, (_, test) in enumerate(folds):
        fold[test] = index
    if (fold < 0).any():
        raise ValueError(f"The folds leave {int((fold < 0).sum())} rows out of every test "
                         "part; pass folds whose test parts cover every row once.")
    return fold


def cross_fitted_log_likelihood(scores, y_index, weight, fold, calibrator, score_type):
    """Each row's held-out ``log p(y)`` under ``calibrator`` fitted on the rows
    of the other folds, and the fitted calibrators, one per fold.

    Parameters
    ----------
    scores : array-like of shape (n_rows, n_classes) or (n_rows,)
        A model's scores, columns in the positions ``y_index`` counts (a
        DataFrame is read by position).
    y_index : ndarray of shape (n_rows,)
        Each row's column.
    weight : ndarray of shape (n_rows,) or None
        Row weights (0 for rows left out).
    fold : ndarray of shape (n_rows,)
        Each row's fold (see :func:`fold_of_rows`).
    calibrator : BaseCalibrator
        Unfitted; cloned per fold and told ``score_type``.
    score_type : {'logits', 'probabilities'}

    Returns
    -------
    log_p : ndarray of shape (n_rows,)
        0 for rows of weight 0.
    fitted : list of BaseCalibrator

    Examples
    --------
    >>> from skcal import TemperatureScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(400, 3))
    >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    >>> log_p, fitted = cross_fitted_log_likelihood(
    ...     3 * logits, y, None, np.arange(400) % 2, TemperatureScaling(), "logits")
    >>> [round(float(c.temperature_), 1) for c in fitted]
    [3.3, 3.2]
    """
    scores = to_numpy(scores)
    if type(scores).__name__ == "DataFrame":  # by position, as y_index counts
        scores = scores.to_numpy()
    n_rows = y_index.shape[0]
    base = np.ones(n_rows) if weight is None else np.asarray(weight, dtype=np.float64)
    labels = np.where(base > 0, y_index, 0)  # rows left out may hold any label
    weights = [np.where(fold == index, 0.0, base) for index in range(int(fold.max()) + 1)]
    for index, train_weight in enumerate(weights):
        if not (train_weight > 0).any():
            raise ValueError(f"Fold {index} leaves no row of weight to fit on; pass "
                             "fewer folds (cv).")
    temperatures = [None] * len(weights)
    if temperature_fit_options(calibrator) is not None and len(weights) > 1:
        temperatures = _fold_temperatures(scores, labels, base, fold, calibrator,
                                          score_type, len(weights))

    def fit_fold(index, starts):
        train_weight = weights[index]
        given = [] if temperatures[index] is None else [((labels, train_weight),
                                                         temperatures[index])]
        cache = GivenFits(Key.INVERSE_TEMPERATURE, given, starts=starts)
        estimator = clone(calibrator).set_params(score_type=score_type)
        try:
            return fit_sharing(estimator, scores, labels, train_weight, cache), cache
        except ValueError as exc:
            raise ValueError(f"fitting {type(calibrator).__name__} on the rows outside "
                             f"fold {index}: {exc}") from exc

    fitted = fitted_in_turn(fit_fold, len(weights))

    def held_out(block, block_fold, block_labels):
        log_p = np.empty(block.shape[0])
        for index in np.unique(block_fold):
            rows = np.flatnonzero(block_fold == index)
            log_p[rows] = label_log_proba(fitted[index], block[rows], block_labels[rows])
        return log_p

    log_p = np.asarray(Rows(scores).map_rows(held_out, fold, labels,
                                             block_elements=_HELD_OUT_BLOCK),
                       dtype=np.float64)
    log_p[base == 0] = 0.0
    return log_p, fitted


def label_log_proba(calibrator, scores, labels):
    """Each row's calibrated ``log p(label)``: the log-softmax of the fitted
    calibrator's map at the label (as its ``predict_log_proba``, without the
    matrix of every class's log-probability, a vocabulary's width per row)."""
    (params,) = calibrator._map_params(on_host=True)
    mapped = calibrator._apply_map(calibrator._scores_for_predict(scores, None), None,
                                   **params)
    return true_class_log_softmax(labels, np.asarray(mapped))


def _fold_temperatures(scores, labels, base, fold, calibrator, score_type, n_folds):
    """Every fold's temperature fitted in the same passes over ``scores`` (read
    as the calibrator's fit reads them), or one None per fold for scores that
    each fold's fit then refuses, naming the problem as it would alone."""
    try:
        logits, _, _ = fit_score_rows(scores, score_type)
    except ValueError:
        return [None] * n_folds
    return cross_fitted_inverse_temperatures(logits, labels, base, fold,
                                             **temperature_fit_options(calibrator))


# the maps whose fit begins with the temperature's: their start, and the anchor
# of their penalties
_STARTS_AT_TEMPERATURE = (VectorScaling, MatrixScaling)


def temperature_fit_options(calibrator):
    """The ``tol`` and ``max_iter`` of the temperature fit that ``calibrator``'s
    fit makes, or None for a map that fits no temperature: a cross-fit then
    fits every fold's in the same passes
    (:func:`~skcal.solvers._fold_temperatures.cross_fitted_inverse_temperatures`),
    and each fold's fit takes its own (:class:`~skcal.utils._reuse.GivenFits`).

    Examples
    --------
    >>> from skcal import IsotonicCalibration, VectorScaling
    >>> temperature_fit_options(TemperatureScaling(tol=1e-9))
    {'tol': 1e-09, 'max_iter': 100}
    >>> temperature_fit_options(VectorScaling(tol=1e-3))  # its start's, not its own
    {'tol': 1e-07, 'max_iter': 100}
    >>> temperature_fit_options(IsotonicCalibration()) is None
    True
    """
    if type(calibrator) is TemperatureScaling:
        return {"tol": calibrator.tol, "max_iter": calibrator.max_iter}
    if type(calibrator) in _STARTS_AT_TEMPERATURE:
        return {"tol": START_TOL, "max_iter": START_MAX_ITER}
    return None


def fitted_in_turn(fit_fold, n_folds):
    """Each fold's fitted calibrator, ``fit_fold(index, starts)`` returning it
    and the cache it was fitted with: the folds after the first get the fits
    that the first fold's cache offered as their ``starts`` (see
    :func:`~skcal.utils._reuse.offer_start`), so that Platt scaling and beta
    calibration start near their optimum.

    Examples
    --------
    >>> from skcal.utils._reuse import FoldCache, offer_start
    >>> def fit_fold(index, starts):
    ...     cache = FoldCache(starts=starts)
    ...     offer_start(cache, Key.PLATT_FIT, (0, 1), f"fold {index}'s fit")
    ...     return sorted(starts.values()), cache
    >>> fitted_in_turn(fit_fold, 3)
    [[], ["fold 0's fit"], ["fold 0's fit"]]
    """
    fitted, starts = [], {}
    for index in range(n_folds):
        calibrator, cache = fit_fold(index, starts)
        fitted.append(calibrator)
        if index == 0:
            starts = offered_starts(cache)
    return fitted


def _check_column_orders(models, y, ignore_index):
    """Refuse DataFrames whose columns, named but not after the classes (which
    each is read by), come in different orders: their columns are read by
    position, so one model's class would be compared with another's."""
    labels = np.asarray(y).reshape(-1)
    labels = labels if ignore_index is None else labels[labels != ignore_index]
    by_position = {}
    for name, scores in models.items():
        if type(scores).__name__ == "DataFrame":
            columns = [str(c) for c in scores.columns]
            if column_classes(columns, labels) is None:
                by_position[name] = columns
    first = next(iter(by_position.items()), None)
    for name, columns in by_position.items():
        if columns != first[1] and sorted(columns) == sorted(first[1]):
            raise ValueError(f"models[{name!r}] has the score columns {columns}, but "
                             f"models[{first[0]!r}] has {first[1]}; give every model its "
                             f"columns in one order (frame[{first[1]}]), one per class.")
