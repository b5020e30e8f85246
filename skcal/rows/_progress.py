"""Progress of long passes over files, for the command line's progress bar.

The callbacks live in a context variable, not a module-level list: a block of
``report_progress`` reports the passes run within it, in its thread or task,
and nothing else's.
"""

import contextvars

_callbacks = contextvars.ContextVar("skcal_progress_callbacks", default=())


def report_rows_read(n_rows):
    """Tell every active :class:`report_progress` of this context that ``n_rows``
    were read."""
    for callback in _callbacks.get():
        callback(n_rows)


class report_progress:
    """Context manager: ``callback(n_rows)`` after each slab read from a file.

    The command line uses it to drive a progress bar over long passes.

    Examples
    --------
    >>> seen = []
    >>> with report_progress(seen.append):
    ...     report_rows_read(10)
    >>> report_rows_read(5)  # outside the block: nobody listens
    >>> seen
    [10]
    """

    def __init__(self, callback):
        self.callback = callback
        self._token = None

    def __enter__(self):
        self._token = _callbacks.set(_callbacks.get() + (self.callback,))
        return self

    def __exit__(self, *exc_info):
        _callbacks.reset(self._token)
        return False
