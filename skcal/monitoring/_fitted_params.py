"""The parameters that a monitor's chunks and alarm thresholds are fitted with.

Changed after ``fit`` (by ``set_params``), they would no longer describe the
monitor's state: a new ``chunk_size`` renumbers the rows into other chunks, a
new ``alpha`` or ``drift`` leaves the thresholds simulated for the old ones.
Updating or saving such a monitor is refused; ``history`` and ``max_pending``
only bound what is kept, and may change.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._inputs import period_nanoseconds

FIXED_AT_FIT = ("chunk_size", "chunk_period", "alpha", "horizon", "drift", "min_labels",
                "random_state", "score_type")


def check_fit_options(monitor):
    """Options that ``_validate_params`` takes one by one but not together.

    >>> from skcal import CalibrationMonitor
    >>> check_fit_options(CalibrationMonitor(chunk_size=50, min_labels=100))
    Traceback (most recent call last):
    ...
    ValueError: chunk_size=50 is below min_labels=100: no chunk could ever have a verdict. Set chunk_size to at least min_labels, or lower min_labels.
    """
    if isinstance(monitor.random_state, np.random.RandomState):
        raise ValueError("random_state must be an int or None, so the state can be saved.")
    if monitor.chunk_period is None and monitor.chunk_size < monitor.min_labels:
        raise ValueError(f"chunk_size={monitor.chunk_size} is below min_labels="
                         f"{monitor.min_labels}: no chunk could ever have a verdict. Set "
                         "chunk_size to at least min_labels, or lower min_labels.")


def fitted_params(monitor):
    """The values of :data:`FIXED_AT_FIT` now, to keep at ``fit``."""
    return {name: getattr(monitor, name) for name in FIXED_AT_FIT}


def check_unchanged(monitor):
    """Refuse a monitor whose :data:`FIXED_AT_FIT` parameters were set after ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import CalibrationMonitor
    >>> rng = np.random.default_rng(0)
    >>> monitor = CalibrationMonitor(chunk_size=100).fit(rng.normal(size=(400, 3)),
    ...                                                  rng.integers(3, size=400))
    >>> check_unchanged(monitor)
    >>> check_unchanged(monitor.set_params(chunk_size=50))
    Traceback (most recent call last):
    ...
    ValueError: chunk_size=50 was set after fit, which used chunk_size=100; the monitor's chunks and alarm thresholds were fitted with it. Set it back, or fit the monitor again (its history then starts anew).
    """
    fitted = getattr(monitor, "_fitted_params", None)
    if fitted is None:  # pickled before the parameters were kept
        return
    changed = [name for name, value in fitted.items()
               if not _same(name, getattr(monitor, name), value)]
    if changed:
        now = ", ".join(f"{name}={getattr(monitor, name)!r}" for name in changed)
        then = ", ".join(f"{name}={fitted[name]!r}" for name in changed)
        was, it = ("was", "it") if len(changed) == 1 else ("were", "them")
        raise ValueError(
            f"{now} {was} set after fit, which used {then}; the monitor's chunks and alarm "
            f"thresholds were fitted with {it}. Set {it} back, or fit the monitor again "
            "(its history then starts anew)."
        )


def check_fitted_and_unchanged(monitor):
    """``check_is_fitted``, then :func:`check_unchanged`: before a monitor's state
    changes or is saved."""
    check_is_fitted(monitor, "reference_")
    check_unchanged(monitor)


def _same(name, now, then):
    if name == "chunk_period" and now is not None and then is not None:
        return period_nanoseconds(now) == period_nanoseconds(then)  # 'D' is '1D'
    return now is then or bool(now == then)
