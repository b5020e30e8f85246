"""Calibration on Spark: fit, apply, score and monitor prediction logs where they
live (``pip install "skcal[spark]"``; pyspark is imported only when a function
here runs on a DataFrame).

Every pass over the rows is one Spark job running skcal's own block functions on
the executors, over Arrow batches; only sums come back to the driver.
"""

from ._api import evaluate, fit, transform
from ._compare_models import compare_models
from ._monitor import add_labels, update

__all__ = ["add_labels", "compare_models", "evaluate", "fit", "transform", "update"]
