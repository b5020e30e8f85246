"""Test-session settings that must precede every import of scipy.

scikit-learn turns ``array_api_dispatch`` on only when SciPy's own array API
support is enabled, which SciPy reads once, at import. Setting it here lets the
array API tests (and scikit-learn's array API estimator checks) run under a
plain ``pytest``; numpy inputs compute as before.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")


# The docstrings' examples run as doctests. Those that need an optional extra
# (their own import of it, or a function that imports it) are skipped, saying
# which, where that extra is not installed; the README's test command installs
# them all, so there they run.
_OPTIONAL = ("dask", "zarr", "pandas", "matplotlib", "sqlalchemy", "pyspark", "torch")
_NEEDS_THROUGH_SKCAL = {"skcal.io._dask_scores.dask_scores": "dask"}


def _missing(module):
    import importlib.util

    return importlib.util.find_spec(module) is None


def pytest_collection_modifyitems(config, items):
    import re

    import pytest
    from _pytest.doctest import DoctestItem

    for item in items:
        if not isinstance(item, DoctestItem):
            continue
        source = "\n".join(example.source for example in item.dtest.examples)
        needed = {module for module in _OPTIONAL  # import numpy as np, sqlalchemy
                  if re.search(rf"^(?:import|from)\b.*\b{module}\b", source, re.MULTILINE)}
        needed |= {module for name, module in _NEEDS_THROUGH_SKCAL.items()
                   if item.dtest.name == name}
        missing = sorted(module for module in needed if _missing(module))
        if missing:
            item.add_marker(pytest.mark.skip(
                reason=f"the example needs {', '.join(missing)}, not installed "
                       '(pip install -e ".[tests]")'))
