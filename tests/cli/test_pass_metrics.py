"""The ECE and accuracy that ``skcal fit`` and ``skcal predict`` print beside the
NLL, before and after calibration, summed in their one pass over the file:
equal to the library's metrics of the same probabilities and predictions."""

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax

from conftest import sample_labels, softmax
from skcal import load_calibrator, save_calibrator
from skcal.calibrators._registry import CALIBRATORS
from skcal.cli._main import main
from skcal.metrics import expected_calibration_error

K = 4


def run(*args):
    """(exit status, stdout, stderr) of ``skcal ARGS``."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main([str(a) for a in args])
    return status, out.getvalue(), err.getvalue()


def weighted_mean(values, weights):
    return float(np.average(values, weights=weights))


@pytest.fixture
def files(tmp_path):
    """float32 logits of a model twice too confident (a fitting part and a test
    file), the test labels and integer weights."""
    rng = np.random.default_rng(9)
    logits = rng.normal(scale=3.0, size=(3000, K)).astype(np.float32)
    y = sample_labels(softmax(logits.astype(np.float64) / 2), rng)
    weights = rng.integers(0, 3, size=1500).astype(np.float64)
    np.save(tmp_path / "test.npy", logits[1500:])
    np.save(tmp_path / "y_test.npy", y[1500:])
    np.save(tmp_path / "w_test.npy", weights)
    return tmp_path, logits[:1500], y[:1500], logits[1500:], y[1500:], weights


@pytest.mark.parametrize("write", [False, True], ids=["metrics-only", "with-proba"])
@pytest.mark.parametrize("method", [entry.name for entry in CALIBRATORS])
def test_predict_ece_and_accuracy_are_the_library_metrics(files, method, write):
    folder, fit_logits, fit_y, test_logits, test_y, weights = files
    cls = next(entry.cls for entry in CALIBRATORS if entry.name == method)
    save_calibrator(cls().fit(fit_logits, fit_y), folder / "c.json")
    extra = ["--write-proba", folder / "p.npy"] if write else []
    status, out, err = run("predict", folder / "c.json", folder / "test.npy", "--labels",
                           folder / "y_test.npy", "--sample-weight", folder / "w_test.npy",
                           "--json", folder / "r.json", *extra)
    assert status == 0, err
    report = json.loads((folder / "r.json").read_text())
    calibrator = load_calibrator(folder / "c.json")
    proba = calibrator.predict_proba(test_logits)
    raw = scipy_softmax(test_logits.astype(np.float64), axis=1)
    # the pass's confidences are float32 (the library's float64): they differ by
    # float32 rounding (relative 6e-8), and the nearest confidence to a bin edge
    # lies 1.1e-5 (relative) from it, so none changes bin on any CPU: the ECEs
    # agree to that rounding
    assert report["ece_after"] == pytest.approx(
        expected_calibration_error(test_y, proba, sample_weight=weights), abs=1e-6)
    assert report["ece_before"] == pytest.approx(
        expected_calibration_error(test_y, raw, sample_weight=weights), abs=1e-6)
    # the predictions, ties broken as predict breaks them (histogram bins tie classes)
    assert report["accuracy_after"] == pytest.approx(
        weighted_mean(calibrator.predict(test_logits) == test_y, weights), rel=1e-12)
    assert report["accuracy_before"] == pytest.approx(
        weighted_mean(test_logits.argmax(axis=1) == test_y, weights), rel=1e-12)
    assert (f"ECE before: {report['ece_before'] * 100:.2f} %, after: "
            f"{report['ece_after'] * 100:.2f} % (top-label, 15 equal-width bins)") in out
    assert (f"accuracy before: {report['accuracy_before']:.4f}, after: "
            f"{report['accuracy_after']:.4f}") in out


def test_predict_metrics_of_probabilities_read_them_as_given(files):
    folder, fit_logits, fit_y, test_logits, test_y, _ = files
    fit_proba = softmax(fit_logits.astype(np.float64))
    save_calibrator(next(entry.cls for entry in CALIBRATORS if entry.name == "vector")(
        ).fit(fit_proba, fit_y), folder / "v.json")
    test_proba = softmax(test_logits.astype(np.float64))
    np.save(folder / "test_proba.npy", test_proba)
    status, _, err = run("predict", folder / "v.json", folder / "test_proba.npy", "--labels",
                         folder / "y_test.npy", "--json", folder / "r.json")
    assert status == 0, err
    report = json.loads((folder / "r.json").read_text())
    # the confidence of a row of probabilities is its largest over their sum (1 to
    # float64 rounding): the library's ECE of the same rows, to that rounding
    assert report["ece_before"] == pytest.approx(
        expected_calibration_error(test_y, test_proba), abs=1e-12)
    assert report["accuracy_before"] == pytest.approx(
        np.mean(test_proba.argmax(axis=1) == test_y), rel=1e-12)


def test_fit_reports_the_metrics_of_its_rows_with_padding_left_out(tmp_path):
    rng = np.random.default_rng(6)
    logits = rng.normal(scale=3.0, size=(25, 40, 6)).astype(np.float16)
    tokens = sample_labels(softmax(logits.reshape(-1, 6).astype(np.float64) / 2),
                           rng).reshape(25, 40)
    tokens[:, 30:] = -100
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "tokens.npy", tokens)
    status, out, err = run("fit", "temperature", tmp_path / "logits.npy",
                           tmp_path / "tokens.npy", "--ignore-index", -100, "--quiet",
                           "--calibrator", tmp_path / "t.json", "--json", tmp_path / "f.json")
    assert status == 0, err
    report = json.loads((tmp_path / "f.json").read_text())
    kept = tokens.reshape(-1) != -100
    flat, y = logits.reshape(-1, 6)[kept], tokens.reshape(-1)[kept]
    proba = load_calibrator(tmp_path / "t.json").predict_proba(flat)
    # float16 logits computed in float32 either way: confidences to float32 rounding
    assert report["ece_after"] == pytest.approx(expected_calibration_error(y, proba), abs=1e-6)
    assert report["ece_before"] == pytest.approx(
        expected_calibration_error(y, logits=flat.astype(np.float64)), abs=1e-6)
    # temperature scaling keeps every prediction
    assert report["accuracy_after"] == report["accuracy_before"] == pytest.approx(
        np.mean(flat.argmax(axis=1) == y), rel=1e-12)
    assert "ECE before:" in out and "accuracy before:" in out


def test_accuracy_after_breaks_ties_as_predict_does(files):
    from skcal import HistogramBinning

    folder, fit_logits, _, test_logits, test_y, _ = files
    # every bin smoothed all the way to its class's rate, and every class as
    # frequent: each row gives all classes the same probability, and predict
    # takes the largest uncalibrated score (the first column would be class 0)
    binning = HistogramBinning(prior_strength=1e300).fit(fit_logits, np.arange(1500) % K)
    proba = binning.predict_proba(test_logits)
    assert np.all(proba.max(axis=1) - proba.min(axis=1) <= 1e-16)  # ties, a last unit apart
    save_calibrator(binning, folder / "h.json")
    status, _, err = run("predict", folder / "h.json", folder / "test.npy", "--labels",
                         folder / "y_test.npy", "--json", folder / "r.json")
    assert status == 0, err
    report = json.loads((folder / "r.json").read_text())
    predicted = binning.predict(test_logits)
    np.testing.assert_array_equal(predicted, test_logits.argmax(axis=1))
    assert report["accuracy_after"] == pytest.approx(np.mean(predicted == test_y), rel=1e-12)
    assert report["accuracy_after"] != pytest.approx(np.mean(test_y == 0), rel=1e-3)
    assert report["ece_after"] == pytest.approx(expected_calibration_error(test_y, proba),
                                                abs=1e-6)
