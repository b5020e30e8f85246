"""Calibration tests and confidence intervals, in the style of ``scipy.stats``.

Each function returns a result object: :func:`calibration_test` a
``statistic`` and a ``pvalue``, :func:`bootstrap` a ``confidence_interval``.
"""

from ._bootstrap import bootstrap
from ._calibration_test import calibration_test
from ._results import BootstrapResult, CalibrationTestResult, ConfidenceInterval

__all__ = [
    "BootstrapResult",
    "CalibrationTestResult",
    "ConfidenceInterval",
    "bootstrap",
    "calibration_test",
]
