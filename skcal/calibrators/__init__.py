"""The calibration maps and the base they share.

Every calibrator is a scikit-learn classifier that takes precomputed scores
(``estimator=None``) or wraps a classifier. :class:`~skcal.calibrators._base.BaseCalibrator`
does, once, what all of them need (inputs checked at the boundary, classifier
scores, cross-fitting); a map's module says only how to fit its map on a logit
matrix and how to apply it. :data:`~skcal.calibrators._registry.CALIBRATORS`
lists them: a new map is its own module plus one line there.
"""

from ._beta import BetaCalibration
from ._histogram import HistogramBinning
from ._isotonic import IsotonicCalibration
from ._matrix import MatrixScaling
from ._persistence import load_calibrator, save_calibrator
from ._platt import PlattScaling
from ._temperature import TemperatureScaling
from ._vector import VectorScaling

__all__ = [
    "BetaCalibration",
    "HistogramBinning",
    "IsotonicCalibration",
    "MatrixScaling",
    "PlattScaling",
    "TemperatureScaling",
    "VectorScaling",
    "load_calibrator",
    "save_calibrator",
]
