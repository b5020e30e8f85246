"""Choosing a calibration method (held-out NLL over shared folds, the ranked
result, reliability diagrams) and choosing models or checkpoints by held-out NLL."""

from ._compare import compare_calibrators
from ._models import ModelComparison, compare_models
from ._reliability_display import ReliabilityDisplay
from ._result import CalibratorComparison

__all__ = ["CalibratorComparison", "ModelComparison", "ReliabilityDisplay",
           "compare_calibrators", "compare_models"]
