"""skcal: scikit-learn compatible probability calibration, fitted by NLL."""

from .calibrators import (
    BetaCalibration,
    HistogramBinning,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
)
from .comparison import CalibratorComparison, ReliabilityDisplay, compare_calibrators
from .monitoring import CalibrationMonitor, MonitorDisplay
from .rows._namespaces import move_calibrator_to

__version__ = "0.1.0.dev0"

__all__ = [
    "BetaCalibration",
    "CalibrationMonitor",
    "CalibratorComparison",
    "HistogramBinning",
    "IsotonicCalibration",
    "MatrixScaling",
    "MonitorDisplay",
    "PlattScaling",
    "ReliabilityDisplay",
    "TemperatureScaling",
    "VectorScaling",
    "compare_calibrators",
    "move_calibrator_to",
]
