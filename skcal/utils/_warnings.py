"""Warnings that name the user's line, not skcal's."""

import contextvars
import sys
import warnings
from contextlib import contextmanager

# modules whose frames are skipped: skcal itself and the machinery it runs inside
_INTERNAL = ("skcal", "sklearn", "joblib")


def _internal(frame):
    module = frame.f_globals.get("__name__", "")
    return module.split(".", 1)[0] in _INTERNAL


# the warnings already raised in the current call (see once_per_call)
_raised = contextvars.ContextVar("skcal_raised_warnings", default=None)


@contextmanager
def once_per_call():
    """Within this block (one call of fit, a comparison, a decomposition), each
    distinct warning is raised once, however many folds or candidates meet it.
    Nested blocks share the outermost one's record."""
    if _raised.get() is not None:
        yield
        return
    token = _raised.set(set())
    try:
        yield
    finally:
        _raised.reset(token)


def warn(message, category=UserWarning):
    """``warnings.warn`` attributed to the first caller outside skcal.

    The warning then points at the user's line (``calibrator.fit(...)``, or the
    ``GridSearchCV.fit`` that called it) and, inside :func:`once_per_call`, is
    raised once per call.
    """
    raised = _raised.get()
    if raised is not None:
        key = (str(message), category)
        if key in raised:
            return
        raised.add(key)
    frame = sys._getframe(1)
    level = 2
    while frame is not None and _internal(frame):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
