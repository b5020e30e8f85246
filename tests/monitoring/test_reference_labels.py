"""A monitor's reference needs a label on every row: what it says when one is missing."""

import numpy as np
import pytest

from skcal import CalibrationMonitor


def reference(n=400, k=3):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(n, k))
    return logits, np.argmax(logits + rng.gumbel(size=(n, k)), axis=1)


@pytest.mark.parametrize("labels", [None, 2], ids=["None", "scalar"])
def test_fit_without_labels_says_the_reference_needs_them(labels):
    logits, _ = reference()
    monitor = CalibrationMonitor()
    # was IndexError: tuple index out of range
    with pytest.raises(ValueError, match=r"^fit takes the reference period's labels, one "
                                         rf"per row of scores; got y={labels}\.$"):
        monitor.fit(logits, labels)
    assert not hasattr(monitor, "classes_")


@pytest.mark.parametrize("marker", [np.nan, None], ids=["NaN", "None"])
def test_a_reference_row_without_a_label_is_named_without_offering_weights(marker):
    logits, y = reference()
    y = y.astype(object if marker is None else float)
    y[[5, 9]] = marker
    # the message of the calibrators offered sample_weight 0, which fit does not take
    with pytest.raises(ValueError, match=r"^y is missing at 2 of 400 rows of the reference "
                                         r"\(None or NaN, the first at row 5\); the reference "
                                         r"needs every label\. Leave those rows out of it "
                                         r"\(y\[mask\]\); update takes rows without a label "
                                         r"as waiting for it\.$") as raised:
        CalibrationMonitor().fit(logits, y)
    assert "sample_weight" not in str(raised.value)
    kept = np.ones(400, dtype=bool)
    kept[[5, 9]] = False
    monitor = CalibrationMonitor(chunk_size=40, min_labels=20).fit(logits[kept], y[kept].astype(int))
    assert monitor.classes_.tolist() == [0, 1, 2]
