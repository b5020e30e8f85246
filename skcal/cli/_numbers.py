"""Numbers the command line reads, checked when the arguments are read: a bad
value ends the run at once, naming the option, before any file is read."""

import argparse
import math


def integer_at_least(minimum):
    """An argparse ``type``: an integer of at least ``minimum``.

    Examples
    --------
    >>> folds = integer_at_least(2)
    >>> folds("5")
    5
    >>> folds("1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an integer of at least 2; got '1'
    """
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be an integer of at least {minimum}; got {text!r}")
        return value

    return parse


def seed(text):
    """An argparse ``type``: a random seed, an integer in ``[0, 2**32)`` as numpy takes.

    Examples
    --------
    >>> seed("42")
    42
    """
    value = integer_at_least(0)(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer below 2**32; got {text!r}")
    return value


def n_jobs(text):
    """An argparse ``type``: processes as joblib counts them (1, 2, ...; -1 all
    cores, -2 all but one), not 0.

    Examples
    --------
    >>> n_jobs("-1")
    -1
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"must be a non-zero integer (1, 2, ...; -1 for every core); got {text!r}")
    return value


def _number(text, accept, wanted):
    """``text`` as a finite float that ``accept`` takes, else an error saying what
    is ``wanted``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"must be {wanted}; got {text!r}")
    return value


def seconds(text):
    """An argparse ``type``: a finite, non-negative number of seconds.

    Examples
    --------
    >>> seconds("2.5")
    2.5
    """
    return _number(text, lambda value: value >= 0,
                   "a finite, non-negative number of seconds")


def open_probability(text):
    """An argparse ``type``: a probability strictly between 0 and 1.

    Examples
    --------
    >>> open_probability("0.05")
    0.05
    """
    return _number(text, lambda value: 0 < value < 1, "a number strictly between 0 and 1")
