"""Objects rebuilt from content that users keep (a monitor's state, a saved
calibrator): a part missing or malformed is one clear error, never a KeyError
from deep inside, nor an object that fails later."""

from contextlib import contextmanager


@contextmanager
def refused_as(kind):
    """Within the block, a missing key or a malformed part of the content is a
    ``ValueError`` saying that it is not a complete, or not a valid, ``kind``.

    Examples
    --------
    >>> with refused_as("saved thing"):
    ...     {}["classes"]
    Traceback (most recent call last):
    ...
    ValueError: Not a complete saved thing: it has no 'classes'.
    """
    try:
        yield
    except KeyError as exc:
        raise ValueError(f"Not a complete {kind}: it has no {exc.args[0]!r}.") from None
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValueError(f"Not a valid {kind}: {exc}") from exc
