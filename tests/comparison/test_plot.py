"""ReliabilityDisplay: artists, overlays, multiclass kinds, and the comparison plot."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conftest import sample_labels, softmax
from skcal import ReliabilityDisplay, TemperatureScaling, compare_calibrators, compare_models
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
    # with equal-width bins the histogram has the curve's bins
    filled = display.hist_weight > 0
    assert_allclose(display.hist_weight[filled], curve.bin_weight / curve.bin_weight.sum())
    assert display.hist_ax_ is not display.ax_ and display.hist_ax_.get_ylim()[1] == 4.0
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
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend.count("perfectly calibrated") == 1
    assert sum(label.startswith(("raw", "scaled")) for label in labels) == 2
    assert second.hist_ is None
    third = ReliabilityDisplay.from_predictions(y, calibrated, name="again", ax=ax)
    assert third.hist_ax_ is first.hist_ax_  # every overlay's histogram on one axis
    assert len(first.hist_ax_.patches) == 2


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
    with pytest.raises(ValueError, match="methods is empty"):  # was a TypeError
        comparison.plot(methods=[])
    _, too_few = pyplot.subplots(1, 1, squeeze=False)
    with pytest.raises(ValueError, match="axes has 1 Axes for 2 methods"):  # drew one only
        comparison.plot(axes=too_few)
    (single,) = comparison.plot(methods="TemperatureScaling")  # one name, not its letters
    assert single.estimator_name == "TemperatureScaling"


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
    assert len({id(display.ax_) for display in displays}) == 8
    for display in displays:
        assert "pooled ECE" in display.line_.get_label()
    assert "mean of the per-fold ECEs" in figure._suptitle.get_text()
    assert "means over folds" in str(comparison)


def test_markers_grow_with_bin_weight_and_small_bins_can_be_left_out(pyplot, predictions):
    y, proba = predictions
    display = ReliabilityDisplay.from_predictions(y, proba, n_bins=15)
    sizes = display.markers_.get_sizes()
    order = np.argsort(display.bin_weight)
    assert np.all(np.diff(sizes[order]) >= 0) and sizes.max() > 10 * sizes.min()
    few = display.bin_weight < 20
    assert few.any()
    trimmed = ReliabilityDisplay.from_predictions(y, proba, n_bins=15, min_bin_weight=20)
    assert_allclose(trimmed.line_.get_xdata(), display.prob_pred[~few])
    assert trimmed.ece == pytest.approx(display.ece)  # the ECE still counts every bin


def test_quantile_bins_keep_the_histogram_of_the_real_distribution(pyplot, predictions):
    y, proba = predictions
    display = ReliabilityDisplay.from_predictions(y, proba, strategy="quantile", n_bins=10)
    confidence = proba.max(axis=1)
    counts, _ = np.histogram(confidence, bins=np.linspace(0, 1, 11))
    assert_allclose(display.hist_weight, counts / counts.sum(), atol=1e-12)
    assert display.hist_weight.std() > 0.05  # not the flat bars of equal-mass bins


def test_consistency_band_holds_a_calibrated_models_frequencies(pyplot):
    rng = np.random.default_rng(1)
    proba = softmax(rng.normal(scale=2.0, size=(3000, 3)))
    y = sample_labels(proba, rng)
    display = ReliabilityDisplay.from_predictions(y, proba, n_bins=10, consistency_band=0.95,
                                                  random_state=0)
    low, high = display.band_low, display.band_high
    assert low.shape == display.prob_true.shape and np.all(low <= high)
    # the band is centred on the bins' confidence: a calibrated model's own expectation
    assert np.all((low <= display.prob_pred + 1e-9) & (display.prob_pred - 1e-9 <= high))
    # and its width follows the binomial spread of each bin's frequency
    spread = np.sqrt(display.prob_pred * (1 - display.prob_pred) / display.bin_weight)
    big = display.bin_weight > 100
    assert_allclose((high - low)[big], 2 * 1.96 * spread[big], rtol=0.25)
    assert display.band_ is not None
    assert display.band_.get_label() == "95% consistency band"
    # drawn behind the curve
    assert display.band_.get_zorder() < display.line_.get_zorder()


def test_consistency_band_flags_an_overconfident_model(pyplot, predictions):
    y, proba = predictions
    display = ReliabilityDisplay.from_predictions(y, proba, consistency_band=0.95,
                                                  random_state=0, name="raw")
    big = display.bin_weight > 50
    outside = (display.prob_true < display.band_low) | (display.prob_true > display.band_high)
    assert outside[big].mean() > 0.5
    assert display.band_.get_label() == "95% consistency band (raw)"


def test_logits_draw_the_diagram_of_their_probabilities(pyplot, predictions):
    y, proba = predictions
    logits = np.log(proba) + 3.0  # softmax of these is proba
    from_logits = ReliabilityDisplay.from_predictions(y, logits=logits, n_bins=10)
    from_proba = ReliabilityDisplay.from_predictions(y, proba, n_bins=10)
    # softmax of shifted log-probabilities: the same numbers to float64 rounding
    assert_allclose(from_logits.prob_pred, from_proba.prob_pred, rtol=1e-12)
    assert_allclose(from_logits.prob_true, from_proba.prob_true, rtol=1e-12)


@pytest.mark.parametrize("method, kwargs, message", [
    ("from_predictions", dict(kind="toplabel"), "The 'kind' parameter of "
     "ReliabilityDisplay.from_predictions must be"),  # was "of curve_points"
    ("from_predictions", dict(n_bins=0), "The 'n_bins' parameter of "
     "ReliabilityDisplay.from_predictions must be"),  # was "of curve_from_points"
    ("from_predictions", dict(ax="left"), "The 'ax' parameter of "
     "ReliabilityDisplay.from_predictions must be"),  # was an AttributeError
    ("from_estimator", dict(strategy="equal"), "The 'strategy' parameter of "
     "ReliabilityDisplay.from_estimator must be"),
])
def test_bad_arguments_are_named_as_the_display_names_them(pyplot, predictions, method,
                                                           kwargs, message):
    y, proba = predictions
    logits = np.log(proba)
    args = ((y, proba) if method == "from_predictions"
            else (TemperatureScaling().fit(logits, y), logits, y))
    with pytest.raises(ValueError, match=message):
        getattr(ReliabilityDisplay, method)(*args, **kwargs)


def test_comparison_plots_check_their_arguments(pyplot, predictions):
    y, proba = predictions
    logits = np.log(proba)
    comparison = compare_calibrators(logits, y, calibrators=["temperature"], cv=3)
    with pytest.raises(ValueError, match="The 'n_bins' parameter of CalibratorComparison.plot"):
        comparison.plot(n_bins=0)  # was named as a parameter of curve_from_points
    models = compare_models({"raw": logits, "halved": logits / 2}, y)
    # 95 for 0.95 drew the differences without intervals, silently
    with pytest.raises(ValueError, match="The 'confidence_level' parameter of "
                                         r"ModelComparison.plot must be a float in the range"):
        models.plot(confidence_level=95)


def test_consistency_band_arguments(pyplot, predictions):
    y, proba = predictions
    with pytest.raises(ValueError, match="level in \\(0, 1\\)"):
        ReliabilityDisplay.from_predictions(y, proba, consistency_band=95)
    with pytest.raises(ValueError, match="random_state seeds the consistency band"):
        ReliabilityDisplay.from_predictions(y, proba, random_state=0)
    display = ReliabilityDisplay.from_predictions(y, proba)
    assert display.band_ is None


def test_comparison_plot_draws_bands(pyplot, predictions):
    y, proba = predictions
    comparison = compare_calibrators(np.log(proba), y, calibrators=["temperature"], cv=3)
    displays = comparison.plot(consistency_band=0.9, random_state=0)
    assert all(d.band_ is not None for d in displays)
