"""Progress of long passes over files, for the command line's progress bar."""

_progress_callbacks = []


def report_rows_read(n_rows):
    """Tell every active :class:`report_progress` that ``n_rows`` were read."""
    for callback in _progress_callbacks:
        callback(n_rows)


class report_progress:
    """Context manager: ``callback(n_rows)`` after each slab read from a file.

    The command line uses it to drive a progress bar over long passes.
    """

    def __init__(self, callback):
        self.callback = callback

    def __enter__(self):
        _progress_callbacks.append(self.callback)
        return self

    def __exit__(self, *exc_info):
        _progress_callbacks.remove(self.callback)
        return False
