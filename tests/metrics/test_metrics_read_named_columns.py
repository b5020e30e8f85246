"""The metrics read a DataFrame's score columns named after the classes as the
classes they name, as the calibrators, the comparisons and the monitor do.
Before, ``nll(y, frame)`` matched the labels to the columns in sorted order:
probabilities in ``proba_dog, proba_cat, proba_bird`` order scored a
calibrated model at 2.7 nats instead of 0.6, while ``compare_models`` on the
same frame said 0.6."""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from skcal import compare_models
from skcal.metrics import (
    brier_score,
    calibration_curve,
    expected_calibration_error,
    nll,
    nll_decomposition,
    skce,
    smooth_ece,
)
from skcal.stats import calibration_test

pd = pytest.importorskip("pandas", reason="the named columns are a DataFrame's")

NAMES = np.array(["dog", "cat", "bird"])  # column order; sorted: bird, cat, dog
SORTED = np.argsort(NAMES)


def named_probabilities(n=1500, seed=0):
    """Calibrated probabilities as a table, columns in NAMES order, and labels."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = NAMES[(proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)]
    return pd.DataFrame(proba, columns=[f"proba_{name}" for name in NAMES]), y


def test_nll_of_named_columns_is_scikit_learns_log_loss_of_the_sorted_ones():
    frame, y = named_probabilities()
    expected = log_loss(y, frame.to_numpy()[:, SORTED])  # scikit-learn's sorted columns
    # a calibrated model: about 0.6 nats; read in sorted order, 2.7
    assert nll(y, frame) == pytest.approx(expected, rel=1e-12)  # summation order only
    assert expected < 1.0
    ranked = compare_models({"model": frame, "flat": frame / 2 + 1 / 6}, y).to_frame()
    assert ranked.loc["model", "nll"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("metric", [
    brier_score, expected_calibration_error, nll_decomposition, skce, smooth_ece,
    calibration_test,
], ids=lambda metric: metric.__name__)
def test_every_metric_reads_named_columns_as_their_classes(metric):
    frame, y = named_probabilities()
    by_name = metric(y, frame)
    sorted_array = metric(y, frame.to_numpy()[:, SORTED])  # columns in the labels' order
    values = [np.asarray(getattr(result, "statistic", result), dtype=float).ravel()
              for result in (by_name, sorted_array)]
    np.testing.assert_allclose(values[0], values[1], rtol=1e-9)  # summation order only


def test_calibration_curve_names_each_column_by_its_name():
    frame, y = named_probabilities()
    curve = calibration_curve(y, frame, n_bins=5)
    unnamed = calibration_curve(y, frame.to_numpy(), labels=NAMES, n_bins=5)
    np.testing.assert_allclose(curve.prob_true, unnamed.prob_true, rtol=1e-12)


def test_labels_that_contradict_the_column_names_are_refused():
    frame, y = named_probabilities()
    with pytest.raises(ValueError, match="puts the class 'bird' on the score column "
                                         "'proba_dog', whose name says 'dog'"):
        nll(y, frame, labels=sorted(NAMES))
    # labels that agree with the names are taken
    assert nll(y, frame, labels=NAMES) == pytest.approx(nll(y, frame), rel=1e-12)


def test_names_that_name_no_class_leave_the_columns_in_position():
    frame, y = named_probabilities()
    codes = np.searchsorted(NAMES[SORTED], y)  # 0 bird, 1 cat, 2 dog
    sorted_frame = pd.DataFrame(frame.to_numpy()[:, SORTED], columns=["p0", "p1", "p2"])
    assert nll(codes, sorted_frame) == pytest.approx(
        log_loss(codes, sorted_frame.to_numpy()), rel=1e-12)
