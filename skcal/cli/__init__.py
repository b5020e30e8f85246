"""The ``skcal`` command line: one module per command, the parser in ``_main``."""

from ._main import main

__all__ = ["main"]
