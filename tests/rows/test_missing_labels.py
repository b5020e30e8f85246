"""Labels that are missing (None, NaN, pandas' NA: a prediction log's rows
whose label has not come yet) are refused by name, with the fix, by the
calibrators, the metrics and the comparison; given weight 0 they are left out."""

import numpy as np
import pytest

from conftest import sample_labels, softmax
from skcal import TemperatureScaling, compare_calibrators
from skcal.metrics import expected_calibration_error, nll

pd = pytest.importorskip("pandas", reason="pandas' NA needs pandas")


def log(kind):
    rng = np.random.default_rng(0)
    logits = 2.0 * rng.normal(size=(100, 3))
    y = sample_labels(softmax(logits), rng)
    if kind == "text":
        labels = np.array(["a", "b", "c"], dtype=object)[y]
        labels[3::5] = None
    elif kind == "float":
        labels = y.astype(float)
        labels[3::5] = np.nan
    else:  # a nullable pandas column
        labels = pd.array(y, dtype="Int64")
        labels[3::5] = pd.NA
    return logits, labels


CALLS = {
    "fit": lambda logits, y, **kw: TemperatureScaling().fit(logits, y, **kw),
    "nll": lambda logits, y, **kw: nll(y, softmax(logits), **kw),
    "ece": lambda logits, y, **kw: expected_calibration_error(y, softmax(logits), **kw),
    "compare": lambda logits, y, **kw: compare_calibrators(
        logits, y, calibrators=["temperature"], cv=3, **kw),
}


@pytest.mark.parametrize("kind", ["text", "float", "pandas"])
@pytest.mark.parametrize("call", list(CALLS))
def test_missing_labels_are_named_with_the_fix(kind, call):
    logits, y = log(kind)
    # before: "got target type 'unknown'" (None), "contains NaN or infinity" (NaN)
    with pytest.raises(ValueError, match=r"y is missing at 20 of 100 rows \(None or NaN, the "
                                         r"first at row 3\).*give them sample_weight 0"):
        CALLS[call](logits, y)


@pytest.mark.parametrize("kind", ["text", "float"])
def test_missing_labels_of_weight_zero_are_left_out(kind):
    logits, y = log(kind)
    labelled = np.ones(100, dtype=bool)
    labelled[3::5] = False
    weight = labelled.astype(float)
    kept = y[labelled].astype(str if kind == "text" else float)
    assert nll(y, softmax(logits), sample_weight=weight) == pytest.approx(
        nll(kept, softmax(logits[labelled])), rel=1e-12)
