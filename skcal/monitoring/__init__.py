"""Calibration drift in production: the monitor, its per-chunk statistics and
alarm thresholds, its saved state, and its display."""

from ._display import MonitorDisplay
from ._monitor import CalibrationMonitor

__all__ = ["CalibrationMonitor", "MonitorDisplay"]
