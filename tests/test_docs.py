"""Documentation coverage: every public name is in the API reference, with an example."""

import importlib
import inspect
from pathlib import Path

import pytest

import skcal
import skcal.metrics
import skcal.stats
from skcal.calibrators._registry import CALIBRATORS

API_REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
PUBLIC = [("skcal", name) for name in skcal.__all__] + [
    ("skcal.metrics", name) for name in skcal.metrics.__all__
] + [("skcal.stats", name) for name in skcal.stats.__all__]
# result types document their fields; the functions that return them hold the examples
RESULT_TUPLES = {"CalibrationCurve", "NLLDecomposition", "CalibrationTestResult",
                 "BootstrapResult", "ConfidenceInterval"}


@pytest.mark.parametrize("module, name", PUBLIC)
def test_public_name_is_in_the_api_reference(module, name):
    text = API_REFERENCE.read_text()
    entries = {line.strip() for line in text.splitlines()}
    # the calibrators' list is written from the registry when the docs build
    assert ".. include:: _calibrator_list.rst" in text
    entries |= {entry.cls.__name__ for entry in CALIBRATORS}
    assert name in entries, f"{module}.{name} is missing from docs/api.rst"


@pytest.mark.parametrize("module, name", PUBLIC)
def test_public_name_has_a_docstring_with_an_example(module, name):
    obj = getattr(importlib.import_module(module), name)
    doc = inspect.getdoc(obj) or ""
    assert len(doc) > 100, f"{name} has no real docstring"
    if name not in RESULT_TUPLES:
        assert "Examples\n--------" in doc and ">>> " in doc, f"{name} has no example"
