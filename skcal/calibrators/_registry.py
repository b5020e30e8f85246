"""The calibrators skcal has: one entry each, in order of simplicity.

Adding a calibrator takes its module and one line here. The comparison's
default candidates, the command line's method names and help, the API
reference's list and the common estimator tests are all read from
:data:`CALIBRATORS`.
"""

from collections import namedtuple

from ._beta import BetaCalibration
from ._histogram import HistogramBinning
from ._isotonic import IsotonicCalibration
from ._matrix import MatrixScaling
from ._platt import PlattScaling
from ._temperature import TemperatureScaling
from ._vector import VectorScaling

Entry = namedtuple("Entry", ["name", "cls"])
Entry.__doc__ = """A registered calibrator: its short name (the command line's) and class."""

# simplest first: the order of the comparison's table of candidates and of the docs
CALIBRATORS = (
    Entry("temperature", TemperatureScaling),
    Entry("platt", PlattScaling),
    Entry("vector", VectorScaling),
    Entry("beta", BetaCalibration),
    Entry("matrix", MatrixScaling),
    Entry("isotonic", IsotonicCalibration),
    Entry("histogram", HistogramBinning),
)


def calibrator_names():
    """Every name a method may be chosen by: short names, then class names.

    Examples
    --------
    >>> from skcal.calibrators._registry import calibrator_names
    >>> calibrator_names()[:3]
    ['temperature', 'platt', 'vector']
    """
    return [entry.name for entry in CALIBRATORS] + [entry.cls.__name__ for entry in CALIBRATORS]


def calibrator_class(name):
    """The class of a calibrator given by short name or class name (any case).

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.

    Examples
    --------
    >>> from skcal.calibrators._registry import calibrator_class
    >>> calibrator_class("temperature").__name__, calibrator_class("PlattScaling").__name__
    ('TemperatureScaling', 'PlattScaling')
    """
    wanted = str(name).lower()
    for entry in CALIBRATORS:
        if wanted in (entry.name, entry.cls.__name__.lower()):
            return entry.cls
    raise ValueError(
        f"Unknown calibration method {name!r}; choose among {', '.join(calibrator_names())}."
    )


def default_calibrators():
    """Every registered calibrator, unfitted, by class name, simplest first."""
    return {entry.cls.__name__: entry.cls() for entry in CALIBRATORS}
