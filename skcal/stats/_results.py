"""Result objects of the tests and intervals, in the style of ``scipy.stats``."""

from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np

ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high"])
ConfidenceInterval.__doc__ = """A confidence interval, as a named pair like SciPy's.

low : float
    The lower bound.
high : float
    The upper bound.
"""


@dataclass(frozen=True, eq=False)
class CalibrationTestResult:
    """Result of :func:`skcal.stats.calibration_test`.

    Attributes
    ----------
    statistic : float
        The test statistic (the ECE, the SKCE estimate, Spiegelhalter's Z or
        the Hosmer-Lemeshow chi-square, by method).
    pvalue : float
        The probability, were the model calibrated, of a statistic at least as
        far from calibration as the one observed.
    method : str
        The test's name.
    null_distribution : ndarray or None
        The statistic's resampled values under calibration, for the resampling
        tests; None for the tests with a closed-form reference distribution.
    """

    statistic: float
    pvalue: float
    method: str
    null_distribution: np.ndarray = None
    _interval: object = field(default=None, repr=False)

    def confidence_interval(self, confidence_level=0.95):
        """Confidence interval of the calibration error, where the test gives one.

        Only the linear SKCE test (``method='skce', estimator='linear'``) has a
        closed-form one (its normal approximation); for any metric, use
        :func:`skcal.stats.bootstrap`.

        Parameters
        ----------
        confidence_level : float, default=0.95
            Between 0 and 1.

        Returns
        -------
        interval : ConfidenceInterval
            ``low`` and ``high``.
        """
        if not 0 < confidence_level < 1:
            raise ValueError(f"confidence_level must be in (0, 1); got {confidence_level}.")
        if self._interval is None:
            raise ValueError(
                f"The {self.method!r} test has no confidence interval of its own; use "
                "skcal.stats.bootstrap(metric, y_true, y_prob) for one."
            )
        return ConfidenceInterval(*self._interval(confidence_level))


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Result of :func:`skcal.stats.bootstrap`, laid out like ``scipy.stats.bootstrap``'s.

    Attributes
    ----------
    confidence_interval : ConfidenceInterval
        ``low`` and ``high`` bounds of the interval.
    bootstrap_distribution : ndarray of shape (n_resamples,)
        The metric on each resample.
    standard_error : float
        Standard deviation of the bootstrap distribution.
    statistic : float
        The metric on the data themselves.
    """

    confidence_interval: ConfidenceInterval
    bootstrap_distribution: np.ndarray
    standard_error: float
    statistic: float
