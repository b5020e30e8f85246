"""Exact ties between calibrated probabilities, resolved by the uncalibrated scores.

Histogram bins and isotonic steps can give several classes of a row the same
probability. The class the model ranks highest among them is kept on top, by
lowering the others one unit in the last place, so that ``argmax`` (and
``predict``) keeps the model's ranking where the map cannot tell classes apart.
"""

import numpy as np

from ..rows import _device_kernels as device
from ..rows._namespaces import is_device_array


def has_ties(log_proba):
    """True when some row's largest value is shared by several columns."""
    return bool(np.any((log_proba == log_proba.max(axis=1, keepdims=True)).sum(axis=1) > 1))


def separate_ties(proba, uncalibrated):
    """``proba`` with each exact tie for a row's maximum resolved by ``uncalibrated``:
    the other tied entries are lowered by one unit in the last place (for
    probabilities or log-probabilities alike).

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.calibrators._ties import separate_ties
    >>> proba = separate_ties(np.array([[0.4, 0.4, 0.2]]), np.array([[1.0, 3.0, 5.0]]))
    >>> int(proba.argmax()), bool(0.4 - proba[0, 0] < 1e-16)
    (1, True)
    """
    if is_device_array(proba):
        return device.separate_ties(proba, uncalibrated)
    top = proba.max(axis=1, keepdims=True)
    tied = proba == top
    rows = np.flatnonzero(tied.sum(axis=1) > 1)
    if rows.shape[0] == 0:
        return proba
    winners = tie_broken_argmax(proba[rows], uncalibrated[rows])
    losers = tied[rows]
    losers[np.arange(rows.shape[0]), winners] = False
    block = proba[rows]
    block[losers] = np.nextafter(block[losers], -np.inf)
    proba[rows] = block
    return proba


def tie_broken_argmax(calibrated, uncalibrated):
    """Column of each row's largest calibrated value; ties go to the largest
    uncalibrated score.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.calibrators._ties import tie_broken_argmax
    >>> tie_broken_argmax(np.array([[0.4, 0.4, 0.2]]), np.array([[1.0, 3.0, 5.0]]))
    array([1])
    """
    top = calibrated.max(axis=1, keepdims=True)
    key = np.where(calibrated == top, uncalibrated, -np.inf)
    return np.argmax(key, axis=1)
