"""ReliabilityDisplay: artists, overlays, multiclass kinds, and the comparison plot."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conftest import sample_labels, softmax
from skcal import ReliabilityDisplay, TemperatureScaling, compare_calibrators
from skcal.metrics import calibration_curve, expected_calibration_error


@pytest.fixture
def pyplot():
    """matplotlib's pyplot on a non-interactive backend; figures closed afterwards."""
    matplotlib = pytest.importorskip("matplotlib", reason="plotting needs matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(1500, 4))
    return sample_labels(softmax(logits / 2), rng), softmax(logits)


def test_artists_and_legend(pyplot, predictions):
    y, proba = predictions
    display = ReliabilityDisplay.from_predictions(y, proba, name="raw", n_bins=10)
    curve = calibration_curve(y, proba, n_bins=10)
    assert_allclose(display.line_.get_xdata(), curve.prob_pred)
    assert_allclose(display.line_.get_ydata(), curve.prob_true)
    ece = expected_calibration_error(y, proba, n_bins=10)
    assert display.line_.get_label() == f"raw (ECE {100 * ece:.1f}%)"
    assert len(display.hist_.patches) == curve.prob_true.shape[0]
    heights = [patch.get_height() for patch in display.hist_.patches]
    assert_allclose(heights, curve.bin_weight / curve.bin_weight.sum())
    assert display.ax_.get_xlabel().startswith("Confidence")
    assert display.figure_ is display.ax_.figure


def test_several_displays_overlay_on_one_axis(pyplot, predictions):
    y, proba = predictions
    _, ax = pyplot.subplots()
    first = ReliabilityDisplay.from_predictions(y, proba, name="raw", ax=ax)
    calibrated = TemperatureScaling().fit(np.log(proba), y).predict_proba(np.log(proba))
    second = ReliabilityDisplay.from_predictions(y, calibrated, name="scaled", ax=ax, hist=False)
    assert first.ax_ is second.ax_
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels.count("perfectly calibrated") == 1
    assert sum(label.startswith(("raw", "scaled")) for label in labels) == 2
    assert second.hist_ is None


def test_one_class_and_quantile_bins(pyplot, predictions):
    y, proba = predictions
    names = np.array(["a", "b", "c", "d"])
    display = ReliabilityDisplay.from_predictions(
        names[y], proba, kind="class", class_label="c", strategy="quantile", n_bins=5
    )
    curve = calibration_curve(names[y], proba, kind="class", class_label="c",
                              strategy="quantile", n_bins=5)
    assert_allclose(display.line_.get_xdata(), curve.prob_pred)
    assert "'c'" in display.ax_.get_xlabel()


def test_from_estimator(pyplot, predictions):
    y, proba = predictions
    model = TemperatureScaling().fit(np.log(proba), y)
    display = ReliabilityDisplay.from_estimator(model, np.log(proba), y)
    assert display.line_.get_label().startswith("TemperatureScaling (ECE")


def test_comparison_plot_draws_every_method(pyplot, predictions):
    y, proba = predictions
    comparison = compare_calibrators(proba, y, calibrators=[TemperatureScaling()])
    displays = comparison.plot()
    assert [d.estimator_name for d in displays] == comparison.ranking_
    with pytest.raises(ValueError, match="Unknown methods"):
        comparison.plot(methods=["nope"])


def test_matplotlib_is_not_imported_with_skcal():
    import subprocess
    import sys

    code = "import sys, skcal; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


def test_comparison_diagrams_are_a_grid_near_four_to_three_with_labelled_ece(pyplot):
    from skcal import compare_calibrators

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(1500, 3))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    comparison = compare_calibrators(logits, y, cv=3)
    displays = comparison.plot()
    figure = displays[0].figure_
    width, height = figure.get_size_inches()
    assert len(displays) == 8
    assert 1.1 < width / height < 1.6  # not one row of eight panels
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == 8
    for display in displays:
        assert "pooled ECE" in display.line_.get_label()
    assert "mean of the per-fold ECEs" in figure._suptitle.get_text()
    assert "means over folds" in str(comparison)
