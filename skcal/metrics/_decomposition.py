"""The calibration / refinement split of the NLL."""

from collections import namedtuple
from functools import partial
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

from ..calibrators._isotonic import IsotonicCalibration
from ..rows._blocks import is_dask, total_weight, weighted_sum
from ..rows._namespaces import is_device_array, namespace, to_numpy
from ..rows._scores import log_probabilities
from ..rows._zero_probabilities import zero_probability_floor
from ..solvers._fold_temperatures import cross_fitted_inverse_temperatures
from ..solvers._temperature_fit import fit_inverse_temperature
from ._checks import check_given_prediction, weighted_mean
from ._row_metrics import NLL, NLL_FROM_LOGITS, true_class_log_proba, true_class_log_softmax

NLLDecomposition = namedtuple("NLLDecomposition", ["nll", "calibration", "refinement"])
NLLDecomposition.__doc__ = """NLL split as ``nll = calibration + refinement`` (nats).

nll : float
    Mean NLL of the probabilities as given.
calibration : float
    The part a recalibration removes: ``nll - refinement``.
refinement : float
    Cross-fitted held-out NLL after recalibration: what remains.
"""


def stratified_folds(y_index, n_folds, ranks=None):
    """Fold number of each sample: each class dealt round-robin over the folds.

    ``ranks[k]`` (0 by default) is how many rows of class ``k`` were dealt
    before these, for rows dealt in parts (the batches of a Spark partition).
    """
    folds = np.empty(y_index.shape[0], dtype=np.intp)
    for k in np.unique(y_index):
        members = np.flatnonzero(y_index == k)
        first = 0 if ranks is None else ranks[k]
        folds[members] = (first + np.arange(members.shape[0])) % n_folds
    return folds


def _recalibrator(method, kind):
    """A fresh recalibration for the refit path ('temperature' is streamed
    instead), of scores of ``kind``."""
    if isinstance(method, str) and method == "isotonic":
        return IsotonicCalibration(
            score_type="probabilities" if kind == "y_prob" else "logits")
    return clone(method)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like", None],
        "logits": ["array-like", None],
        "method": [
            StrOptions({"temperature", "isotonic"}),
            HasMethods(["fit", "predict_proba"]),
        ],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "sample_weight": ["array-like", None],
        "labels": ["array-like", None],
        "ignore_index": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def nll_decomposition(
    y_true, y_prob=None, *, logits=None, method="temperature", cv=5, sample_weight=None,
    labels=None, ignore_index=None,
):
    """Split the NLL into a calibration part and a refinement part.

    The refinement part is the cross-fitted, held-out NLL after recalibrating
    the probabilities with ``method``: ``cv`` stratified folds, the
    recalibration fitted on the other folds and scored on each. The
    calibration part is the rest, ``nll - refinement``: the NLL that the
    recalibration removes. A well-calibrated model has a calibration part
    near zero (slightly negative when recalibration only adds estimation
    noise); an overconfident one has a large one.

    This follows the calibration/refinement split of proper scoring rules of
    Kull and Flach (2015), with the ideal recalibration replaced by one
    estimated, out of sample, within the chosen family: with
    ``method='temperature'`` the calibration part is what a temperature can
    fix, a lower bound on the full calibration loss.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Predicted probabilities.

    logits : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
        Logits instead of ``y_prob`` (give exactly one), read as they are, in
        row blocks: the split of the NLL of their ``softmax``, the same as that
        of those probabilities (a temperature scales log-probabilities and
        logits alike; isotonic regression sees the same order of each class's
        scores), without computing them first.

    method : {'temperature', 'isotonic'} or calibrator, default='temperature'
        The recalibration: :class:`~skcal.TemperatureScaling`,
        :class:`~skcal.IsotonicCalibration`, or an unfitted skcal calibrator
        without a classifier (it receives ``y_prob`` or ``logits`` as its scores).
        ``'temperature'`` streams over the rows (each fold's temperature is
        fitted on all rows with the fold's own weighted 0, every fold in the
        same passes, usually one, and one pass scores them), so it runs on
        memory maps, Zarr, Dask and device arrays in bounded memory; the
        others read the probabilities into memory, on the host (and refuse a
        Dask array). Each reads
        exact zeros as calibrators do (``probability_floor_``), so the
        refinement is the NLL a recalibration reaches; the NLL itself takes a
        zero at the smallest normal number, as :func:`nll` does.

    cv : int, default=5
        Number of folds.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights, used for fitting and averaging.

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_prob``, as in :func:`nll`.

    ignore_index : label, default=None
        Rows whose label is ``ignore_index`` (the padding label ``-100`` of
        language-model batches, say) are left out, as with weight 0. A row of
        weight 0 may hold any label.

    Returns
    -------
    decomposition : NLLDecomposition
        Named tuple ``(nll, calibration, refinement)``, in nats.

    References
    ----------
    M. Kull and P. Flach, "Novel Decompositions of Proper Scoring Rules for
    Classification: Score Adjustment as Precursor to Calibration", ECML 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.metrics import nll_decomposition
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(scale=4.0, size=(3000, 3))
    >>> true_p = np.exp(logits / 4) / np.exp(logits / 4).sum(axis=1, keepdims=True)
    >>> y = (true_p.cumsum(axis=1) > rng.random((3000, 1))).argmax(axis=1)
    >>> overconfident = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    >>> parts = nll_decomposition(y, overconfident)
    >>> round(parts.nll, 2), round(parts.calibration, 2), round(parts.refinement, 2)
    (1.49, 0.62, 0.87)

    The same split, read from the logits:

    >>> of_logits = nll_decomposition(y, logits=logits)
    >>> round(of_logits.calibration, 2), round(of_logits.refinement, 2)
    (0.62, 0.87)
    """
    y_index, y_prob, _, sample_weight, kind = check_given_prediction(
        y_true, y_prob, logits, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index)
    total = (NLL if logits is None else NLL_FROM_LOGITS).mean(y_prob, y_index, sample_weight)
    if y_prob.is_remote:  # the folds are dealt where the rows are
        return NLLDecomposition(total, *_remote_split(total, method, y_prob, y_index,
                                                      sample_weight, cv, kind))
    present = y_index if sample_weight is None else y_index[sample_weight > 0]
    _check_two_classes(np.unique(present).shape[0])
    folds = stratified_folds(y_index, cv)
    for fold in range(cv):
        train = folds != fold
        weights = None if sample_weight is None else sample_weight[train]
        if np.unique(y_index[train]).shape[0] < 2 or (
            weights is not None and not np.any(weights > 0)
        ):
            raise ValueError(
                f"Fold {fold} leaves fewer than two classes (or no weight) to fit "
                "the recalibration on; use fewer folds or more data."
            )
    if isinstance(method, str) and method == "temperature":
        refinement = _temperature_refinement(y_prob, y_index, sample_weight, folds, cv, kind)
    else:
        refinement = _refit_refinement(method, y_prob, y_index, sample_weight, folds, cv,
                                       kind)
    return NLLDecomposition(total, total - refinement, refinement)


def _check_two_classes(n_present):
    """Refuse labels (of rows with weight) of fewer than two classes: no
    recalibration, hence no split, can be fitted on them."""
    if n_present < 2:
        raise ValueError(
            "y_true has a single class (among rows with weight), so no recalibration can "
            "be fitted and the NLL cannot be split; pass labels of at least two classes."
        )


def _temperature_refinement(y_prob, y_index, sample_weight, folds, cv, kind):
    """Held-out NLL after cross-fitted temperature scaling, streamed.

    Each fold's temperature is fitted on all rows with the fold's own rows
    weighted 0 (the same fit as on the other folds' rows, without copying
    them), every fold in the same passes (usually one, see
    :mod:`skcal.solvers._fold_temperatures`); one more pass scores every row
    at its own fold's temperature. Exact
    zeros are read as :class:`~skcal.TemperatureScaling` reads them, at half the
    smallest positive probability (of all the rows, a pass); logits are
    scaled as they are.
    """
    log_p = _temperature_scaled_scores(y_prob, kind)
    base = np.ones(y_index.shape[0]) if sample_weight is None else sample_weight
    if log_p.xp is None:
        betas = np.array([beta for beta, _, _ in cross_fitted_inverse_temperatures(
            log_p, y_index, base, folds, n_folds=cv)])
    else:  # arrays on a device: fold by fold, each fit computed on the device
        betas = np.array([fit_inverse_temperature(log_p, y_index, base * (folds != fold))[0]
                          for fold in range(cv)])
    row_beta = betas[folds]
    total = log_p.reduce(_held_out_block, y_index, sample_weight, row_beta)
    return -float(total) / float(base.sum())


def _remote_split(total, method, y_prob, y_index, sample_weight, cv, kind):
    """(calibration, refinement) of scores in a remote table: the temperature's
    cross-fit with each row's fold computed where the row is."""
    if not (isinstance(method, str) and method == "temperature"):
        raise ValueError(
            "nll_decomposition of scores in a remote table supports method='temperature' "
            "only (the other recalibrations need the probabilities in one place)."
        )
    folds = y_prob.data.stratified_folds(cv)
    _check_two_classes(np.count_nonzero(folds.class_totals > 0))
    folds.check_training_classes()
    log_p = _temperature_scaled_scores(y_prob, kind)
    betas = np.array([beta for beta, _, _ in cross_fitted_inverse_temperatures(
        log_p, y_index, sample_weight, folds.per_row(np.arange(cv)), n_folds=cv)])
    held_out = log_p.reduce(_held_out_block, y_index, sample_weight, folds.per_row(betas))
    refinement = -float(held_out) / total_weight(y_index.shape[0], sample_weight)
    return total - refinement, refinement


def _temperature_scaled_scores(y_prob, kind):
    """The rows' log-probabilities, exact zeros read at the probability floor; or
    the logits (``kind='logits'``), which a temperature scales as it scales their
    log-probabilities (the two differ by a constant per row)."""
    if kind == "logits":
        return y_prob
    return y_prob.then(partial(log_probabilities, floor=zero_probability_floor(y_prob)))


def _held_out_block(block, y, w, beta):
    """The weighted sum of each row's log-probability at its own fold's temperature
    (on a device block, ``beta`` arrives on its device)."""
    if is_device_array(block):
        scaled = block * namespace(block).astype(beta, block.dtype)[:, None]
    else:
        scaled = block * beta[:, None].astype(block.dtype)
    return weighted_sum(true_class_log_softmax(y, scaled), w)


def _refit_refinement(method, y_prob, y_index, sample_weight, folds, cv, kind):
    """Held-out NLL after any recalibration, fitted fold by fold in memory, on
    the scores as given (``kind``: probabilities or logits)."""
    if is_dask(y_prob.data):
        raise ValueError(
            "nll_decomposition with a Dask array supports method='temperature' only "
            "(the other recalibrations need the probabilities in memory)."
        )
    scores = to_numpy(y_prob.read())  # device arrays too: fitted on the host
    held_out = np.empty(y_index.shape[0], dtype=np.float64)
    for fold in range(cv):
        test = folds == fold
        if not test.any():
            continue
        train = ~test
        weights = None if sample_weight is None else sample_weight[train]
        calibrator = _recalibrator(method, kind).fit(scores[train], y_index[train], weights)
        proba = calibrator.predict_proba(scores[test])
        held_out[test] = true_class_log_proba(y_index[test], proba)
    return -weighted_mean(held_out, sample_weight)
