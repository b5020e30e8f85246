"""A temperature refitted on what the monitor served, for rows whose labels came late.

For a row that waits for its label the monitor keeps the log-probabilities it
served (through the calibrator installed when the row came), not the raw
scores, and a calibrator of the raw scores cannot in general be fitted on
them. A temperature can, exactly:

- log-probabilities are the logits less a constant per row, which a softmax
  does not see, and for probabilities they are the logs a temperature divides;
- scores served through a temperature ``T1`` need a temperature ``T2`` of
  their own where the raw scores need ``T1 * T2``:
  ``softmax(log softmax(z / T1) / T2) = softmax(z / (T1 * T2))``.

- scores served through vector or matrix scaling, or a binary Platt or beta
  map, need a temperature ``T2`` that divides that map's calibrated logits,
  which is the same map with its parameters divided by ``T2``
  (:mod:`skcal.calibrators._temperature_over`).

So labels that arrive days after their rows, as they do in production, can
recalibrate the raw scores with a temperature when no calibrator, or one of
those, is installed.
"""

import numpy as np

from ..calibrators._registry import calibrator_class
from ..calibrators._temperature import TemperatureScaling
from ..calibrators._temperature_over import followed_by_temperature, temperature_composes
from ._batches import add_late_labels
from ._fitted_params import check_fitted_and_unchanged
from ._pending import as_ids, positions_of_ids
from ._recalibration import fitted_calibrator


def join_late_labels(monitor, ids, y):
    """:meth:`~skcal.CalibrationMonitor.add_labels` by ``ids``; returns the rows
    joined: their served log-probabilities (float32, a column per class of the
    monitor), label columns and chunks."""
    check_fitted_and_unchanged(monitor)
    return add_late_labels(monitor, None, y, ids)


def waiting_among(monitor, ids):
    """Which of ``ids`` a row that waits for its label carries (compared as
    text, as :meth:`~skcal.CalibrationMonitor.add_labels` compares them)."""
    check_fitted_and_unchanged(monitor)
    ids = np.asarray(ids, dtype=object).reshape(-1)
    return positions_of_ids(monitor._pending, as_ids(ids, ids.shape[0]))[1]


def served_log_proba(monitor, scores):
    """The log-probabilities the monitor serves for raw ``scores``, in float64."""
    return np.array(monitor._log_proba(scores)[0], dtype=np.float64)


def served_refit_obstacle(monitor):
    """Why a temperature fitted on served log-probabilities would not give a
    calibrator of the raw scores (the installed calibrator is not one a
    temperature composes with), or None."""
    installed = monitor.calibrator_
    if installed is None or temperature_composes(installed):
        return None
    return (f"they were served through the installed {type(installed).__name__}, which a "
            "temperature does not compose with (TemperatureScaling, VectorScaling, "
            "MatrixScaling and binary PlattScaling and BetaCalibration do), so a temperature "
            "fitted on what it served is no calibrator of the raw scores")


def temperature_over_installed(monitor, calibrator, scores, y, sample_weight=None):
    """:meth:`~skcal.CalibrationMonitor.recalibrate` with ``compose=True``: a
    temperature (``calibrator``, its name or an unfitted
    :class:`~skcal.TemperatureScaling`) fitted on what the monitor serves for
    the raw ``scores``, over the calibrator in place (see
    :func:`temperature_from_served`)."""
    if isinstance(calibrator, str):
        calibrator = calibrator_class(calibrator)()
    if type(calibrator) is not TemperatureScaling:
        name = type(calibrator).__name__
        raise ValueError(f"compose=True fits a temperature over the calibrator in place; got "
                         f"{name}. Pass 'temperature', or compose=False to fit {name} on "
                         "the raw scores in place of the calibrator.")
    if scores is None or y is None:
        raise ValueError("compose=True fits the temperature on scores and y; give both.")
    return temperature_from_served(monitor, served_log_proba(monitor, scores), y,
                                   sample_weight, temperature=calibrator)


def temperature_from_served(monitor, log_proba, y, sample_weight=None, *, temperature=None):
    """A :class:`~skcal.TemperatureScaling` of the monitor's raw scores, fitted on the
    log-probabilities the monitor served for labelled rows.

    Parameters
    ----------
    monitor : CalibrationMonitor
        Fitted; no calibrator installed, or one a temperature composes with
        (see :func:`served_refit_obstacle`). The rows were served through it.

    log_proba : ndarray of shape (n_rows, n_classes)
        The served log-probabilities, a column per class of ``monitor.classes_``.

    y : array-like of shape (n_rows,)
        Their labels (classes of the monitor).

    sample_weight : array-like of shape (n_rows,), default=None
        Weights of the fit.

    temperature : TemperatureScaling, default=None
        Unfitted: its parameters (``tol``, ...) are the fit's; None for the defaults.

    Returns
    -------
    calibrator : TemperatureScaling, or the installed calibrator's class
        Fitted to take the raw scores (their columns and score type), as
        :meth:`~skcal.CalibrationMonitor.recalibrate` takes it: with a
        calibrator installed, that calibrator followed by the temperature
        fitted on what it served, as one map of its class.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import CalibrationMonitor, TemperatureScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(scale=2.0, size=(6000, 3))
    >>> y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    >>> monitor = CalibrationMonitor().fit(logits[:3000], y[:3000])
    >>> served = served_log_proba(monitor, 2.0 * logits[3000:])  # twice too confident
    >>> refit = temperature_from_served(monitor, served, y[3000:])
    >>> direct = TemperatureScaling().fit(2.0 * logits[3000:], y[3000:])
    >>> bool(np.isclose(refit.temperature_, direct.temperature_, rtol=1e-6))
    True
    """
    obstacle = served_refit_obstacle(monitor)
    if obstacle is not None:
        raise ValueError(f"No temperature can be refitted on these rows: {obstacle}.")
    installed = monitor.calibrator_
    scores = _as_raw_scores(np.asarray(log_proba, dtype=np.float64), monitor.score_type_,
                            monitor.n_features_in_)
    temperature = TemperatureScaling() if temperature is None else temperature
    fitted = fitted_calibrator(temperature, scores, y, sample_weight,
                               classes=monitor.classes_, n_features=monitor.n_features_in_,
                               score_type=monitor.score_type_, min_labels=monitor.min_labels,
                               names=getattr(monitor, "_score_columns", None))
    if installed is not None:  # its probability floor, if any, comes with it
        return followed_by_temperature(installed, fitted.temperature_)
    if monitor.score_type_ == "probabilities":
        # exact zeros among the raw probabilities read as they were served
        fitted.probability_floor_ = getattr(monitor, "probability_floor_", None)
    return fitted


def _as_raw_scores(log_proba, score_type, n_features):
    """Served log-probabilities as scores of the raw scores' kind: logits (the
    log-probabilities, or a binary task's log-odds) or probabilities (their
    exponential, or a binary task's positive class's), as wide as the raw ones."""
    if n_features == 1:
        if score_type == "logits":
            return log_proba[:, 1] - log_proba[:, 0]
        return np.exp(log_proba[:, 1])
    return log_proba if score_type == "logits" else np.exp(log_proba)
