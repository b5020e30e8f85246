"""Paths the command line writes to, checked when the arguments are read."""

import argparse

from ..utils._files import check_folder_exists


def output_path(value):
    """An argparse ``type`` for an output file: its folder must exist, so that a
    run is refused at once rather than after its work.

    Examples
    --------
    >>> output_path("results.json")
    'results.json'
    """
    try:
        check_folder_exists(value)
    except FileNotFoundError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return value
