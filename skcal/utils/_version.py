"""The package's version, in the one place every area may read it."""

__version__ = "0.1.0.dev0"
