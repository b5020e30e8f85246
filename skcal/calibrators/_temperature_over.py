"""A fitted calibrator followed by a temperature, as one calibrator of its class.

A temperature ``T`` applied to what a calibrator serves divides its calibrated
logits by ``T`` (``softmax(log softmax(f(z)) / T) = softmax(f(z) / T)``: a
softmax does not see the constant a row's log-probabilities differ from its
logits by). For the maps whose calibrated logits are linear in their
parameters, that is the same map with those parameters divided by ``T``:

- a temperature ``T1``: ``z / T1 / T = z / (T1 T)``;
- vector and matrix scaling: ``(z a + b) / T`` and ``(z W^T + b) / T``;
- binary Platt scaling and beta calibration, whose one log-odds ``t`` gives
  the logits ``[0, t]``: ``[0, t / T]``.

One-vs-rest maps of more classes renormalise their classes' sigmoids, which a
temperature does not divide; neither does a temperature reach inside isotonic
or histogram bins.
"""

import copy

import numpy as np

from ._beta import BetaCalibration
from ._matrix import MatrixScaling
from ._platt import PlattScaling
from ._temperature import TemperatureScaling
from ._vector import VectorScaling


def _divides_its_logits(calibrator):
    """Whether dividing ``coef_`` and ``intercept_`` divides the calibrated logits."""
    if type(calibrator) in (VectorScaling, MatrixScaling):
        return True
    # one log-odds column: a binary problem's
    return type(calibrator) in (PlattScaling, BetaCalibration) and np.shape(
        calibrator.coef_)[0] == 1


def temperature_composes(calibrator):
    """Whether :func:`followed_by_temperature` takes this fitted calibrator."""
    return type(calibrator) is TemperatureScaling or _divides_its_logits(calibrator)


def followed_by_temperature(calibrator, temperature):
    """A copy of a fitted calibrator whose calibrated logits are its own over ``temperature``.

    Parameters
    ----------
    calibrator : fitted calibrator
        TemperatureScaling, VectorScaling, MatrixScaling, or a binary
        PlattScaling or BetaCalibration, fitted on scores (see
        :func:`temperature_composes`).

    temperature : float
        Positive and finite: the temperature fitted on what ``calibrator`` serves.

    Returns
    -------
    calibrator : the same class, fitted
        ``predict_proba`` gives ``softmax(log calibrator.predict_proba(X) / temperature)``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import softmax
    >>> from skcal import VectorScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(300, 3))
    >>> y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    >>> vector = VectorScaling().fit(logits, y)
    >>> cooler = followed_by_temperature(vector, 2.0)
    >>> served = np.log(vector.predict_proba(logits))
    >>> bool(np.allclose(cooler.predict_proba(logits), softmax(served / 2.0, axis=1),
    ...                  rtol=1e-12, atol=1e-15))
    True
    """
    temperature = float(temperature)
    if not (np.isfinite(temperature) and temperature > 0.0):
        raise ValueError(f"temperature must be positive and finite; got {temperature}.")
    if not temperature_composes(calibrator):
        raise ValueError(
            f"A temperature over a {type(calibrator).__name__} is no calibrator of one class: "
            "it composes with TemperatureScaling, VectorScaling, MatrixScaling and binary "
            "PlattScaling and BetaCalibration only.")
    composed = copy.deepcopy(calibrator)
    if type(calibrator) is TemperatureScaling:
        composed.temperature_ = calibrator.temperature_ * temperature
    else:
        composed.coef_ = calibrator.coef_ / temperature
        composed.intercept_ = calibrator.intercept_ / temperature
    return composed
