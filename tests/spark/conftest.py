"""pyspark 3.5's own warnings, left out of its Spark tests: its version checks
call distutils, its pandas conversion a deprecated pandas 2 function, and it
leaves the sockets of collected results to the garbage collector. pyspark 4,
which CI runs, gives none of them, so they stay errors there."""

import pytest

PYSPARK_3_WARNINGS = (
    "ignore:distutils Version classes are deprecated:DeprecationWarning",
    "ignore:is_datetime64tz_dtype is deprecated:DeprecationWarning",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)


def pytest_collection_modifyitems(config, items):
    try:
        import pyspark
    except ImportError:
        return
    if int(pyspark.__version__.split(".")[0]) >= 4:
        return
    for item in items:
        if "spark" in item.path.parts:
            for ignored in PYSPARK_3_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(ignored))
