"""skcal: scikit-learn compatible probability calibration, fitted by NLL."""

from ._beta import BetaCalibration
from ._compare import compare_calibrators
from ._comparison import CalibratorComparison
from ._histogram import HistogramBinning
from ._isotonic import IsotonicCalibration
from ._matrix import MatrixScaling
from ._monitor import CalibrationMonitor
from ._monitor_plot import MonitorDisplay
from ._namespaces import move_calibrator_to
from ._platt import PlattScaling
from ._plot import ReliabilityDisplay
from ._temperature import TemperatureScaling
from ._vector import VectorScaling

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
