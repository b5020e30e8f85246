"""Choosing a calibration method: held-out NLL over shared folds, the ranked
result, and reliability diagrams."""

from ._compare import compare_calibrators
from ._reliability_display import ReliabilityDisplay
from ._result import CalibratorComparison

__all__ = ["CalibratorComparison", "ReliabilityDisplay", "compare_calibrators"]
