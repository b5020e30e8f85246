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
from .comparison import (
    CalibratorComparison,
    ModelComparison,
    ReliabilityDisplay,
    compare_calibrators,
    compare_models,
)
from .monitoring import CalibrationMonitor, MonitorDisplay
from .calibrators import load_calibrator, save_calibrator
from .rows._namespaces import move_calibrator_to
from .utils._version import __version__ as __version__


__all__ = [
    "BetaCalibration",
    "CalibrationMonitor",
    "CalibratorComparison",
    "HistogramBinning",
    "IsotonicCalibration",
    "MatrixScaling",
    "ModelComparison",
    "MonitorDisplay",
    "PlattScaling",
    "ReliabilityDisplay",
    "TemperatureScaling",
    "VectorScaling",
    "compare_calibrators",
    "compare_models",
    "load_calibrator",
    "move_calibrator_to",
    "save_calibrator",
]
