"""skcal: scikit-learn compatible probability calibration, fitted by NLL."""

from ._isotonic import IsotonicCalibration
from ._platt import PlattScaling
from ._temperature import TemperatureScaling
from ._vector import VectorScaling

__version__ = "0.1.0.dev0"

__all__ = [
    "IsotonicCalibration",
    "PlattScaling",
    "TemperatureScaling",
    "VectorScaling",
]
