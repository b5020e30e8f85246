"""The layout's promises: one import direction between areas, a stable public API,
small modules, and a new calibration map that takes its module plus one registry line."""

import ast
import importlib
from pathlib import Path

import pytest

import skcal

PACKAGE = Path(skcal.__file__).parent

# lowest first: an area imports only from the areas before it (and itself);
# the package's own __init__ and __main__ sit above them all
AREAS = ("utils", "io", "rows", "solvers", "calibrators", "metrics", "stats", "comparison",
         "monitoring", "spark", "cli")

# every public name, as it stood when the areas were introduced: none may disappear
PUBLIC_NAMES = {
    "skcal": [
        "BetaCalibration", "CalibrationMonitor", "CalibratorComparison", "HistogramBinning",
        "IsotonicCalibration", "MatrixScaling", "MonitorDisplay", "PlattScaling",
        "ReliabilityDisplay", "TemperatureScaling", "VectorScaling", "compare_calibrators",
        "move_calibrator_to",
    ],
    "skcal.metrics": [
        "CalibrationCurve", "NLLDecomposition", "brier_score", "calibration_curve",
        "expected_calibration_error", "get_scorer", "get_scorer_names",
        "maximum_calibration_error", "nll", "nll_decomposition", "nll_from_logits",
        "perplexity", "register_scorers", "skce", "smooth_ece",
    ],
    "skcal.stats": [
        "BootstrapResult", "CalibrationTestResult", "ConfidenceInterval", "bootstrap",
        "calibration_test",
    ],
}

MAX_MODULE_LINES = 400


def _modules():
    return sorted(path for path in PACKAGE.rglob("*.py"))


def _dotted(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _area(dotted):
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in AREAS else None


def _imported_modules(source, dotted, is_package):
    """Every skcal module that ``source`` (module ``dotted``) imports, at the top
    or inside a function."""
    here = dotted.split(".")
    package = here if is_package else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            found.update([target] + [n for n in names if _area(n) != _area(target)
                                     or n.split(".")[-1].startswith("_")])
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "skcal"}


def _upward_imports(source, dotted, is_package=False):
    """The imports of module ``dotted`` from an area above its own (or from the
    package's top, which gathers every area)."""
    area = _area(dotted)
    if area is None:
        return []  # skcal/__init__.py and __main__.py gather everything
    rank = AREAS.index(area)
    return sorted(
        name for name in _imported_modules(source, dotted, is_package)
        if _area(name) is None and name != "skcal" or
        _area(name) is not None and AREAS.index(_area(name)) > rank
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_areas_import_only_from_lower_areas(path):
    upward = _upward_imports(path.read_text(), _dotted(path), path.name == "__init__.py")
    assert not upward, f"{_dotted(path)} imports from above its area: {upward}"


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    from ..monitoring import _monitor\n", ["skcal.monitoring._monitor"]),
    ("from ..calibrators._base import BaseCalibrator\n", ["skcal.calibrators._base"]),
    ("from .. import cli\n", ["skcal.cli"]),
    ("import skcal.comparison\n", ["skcal.comparison"]),
    ("from ._blocks import Rows\nfrom ..utils._warnings import warn\n", []),
])
def test_the_checker_sees_upward_imports_wherever_they_are(source, expected):
    found = _upward_imports(source, "skcal.rows._probe")
    assert set(expected) <= set(found)
    assert found or not expected
    if not expected:
        assert found == []


@pytest.mark.parametrize("module", sorted(PUBLIC_NAMES))
def test_every_public_name_is_still_importable(module):
    namespace = importlib.import_module(module)
    missing = [name for name in PUBLIC_NAMES[module] if not hasattr(namespace, name)]
    assert not missing
    assert set(PUBLIC_NAMES[module]) <= set(namespace.__all__)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, (
        f"{_dotted(path)} has {lines} lines; split it along one of its concepts"
    )


MAX_TEST_LINES = 600


@pytest.mark.parametrize("path", sorted(Path(__file__).parent.rglob("test_*.py")),
                         ids=lambda p: p.name)
def test_test_files_stay_readable(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_TEST_LINES, f"{path.name} has {lines} lines; split it by behaviour"


def test_tests_follow_the_areas():
    """One test folder per area that has behaviour of its own (utils is tested
    through its users)."""
    folders = {p.name for p in Path(__file__).parent.iterdir() if p.is_dir()
               and any(p.glob("test_*.py"))}
    assert folders == set(AREAS) - {"utils"}
