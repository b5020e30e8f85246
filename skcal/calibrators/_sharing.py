"""Fitting and predicting with a :class:`~skcal.utils._reuse.FoldCache`: how
:func:`~skcal.compare_calibrators` lets its candidates share work on a fold.

A skcal calibrator takes the cache as an argument and hands it to every step
that may share work; any other estimator is fitted and asked as usual.
"""

from ._base import BaseCalibrator
from ._outputs import exp_of


def fit_sharing(calibrator, X, y, sample_weight, cache):
    """``calibrator.fit(X, y, sample_weight=sample_weight)``, sharing work on ``X``
    through ``cache`` if ``calibrator`` is a skcal calibrator.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import TemperatureScaling, VectorScaling
    >>> from skcal.utils._reuse import FoldCache
    >>> logits = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.2, 1.5]])
    >>> y = np.array([0, 1, 1, 1])
    >>> cache = FoldCache(logits)
    >>> ts = fit_sharing(TemperatureScaling(), logits, y, None, cache)
    >>> vs = fit_sharing(VectorScaling(), logits, y, None, cache)  # starts from ts's fit
    >>> bool(ts.temperature_ == TemperatureScaling().fit(logits, y).temperature_)
    True
    """
    if isinstance(calibrator, BaseCalibrator):
        return calibrator._fit_sharing(X, y, sample_weight, cache)
    return calibrator.fit(X, y, sample_weight=sample_weight)


def predict_proba_sharing(fitted, X, cache):
    """``fitted.predict_proba(X)``, sharing work on ``X`` through ``cache`` if
    ``fitted`` is a skcal calibrator."""
    if isinstance(fitted, BaseCalibrator):
        return fitted._calibrated_output(X, exp_of, "predict_proba", cache)
    return fitted.predict_proba(X)
