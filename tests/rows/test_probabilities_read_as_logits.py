"""Probabilities given to a calibrator or monitor whose fit read its scores as
logits by itself (score_type='auto') are refused: read as logits, each row would
be squeezed toward uniform, silently. Metrics told that probabilities are
logits (nll_from_logits, logits=) warn."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from scipy.special import softmax

from skcal import (CalibrationMonitor, TemperatureScaling, load_calibrator, metrics,
                   save_calibrator)
from skcal.calibrators._registry import CALIBRATORS

LOOKS_LIKE = r"lies in \[0, 1\] and sums to 1: they look like probabilities"


@pytest.fixture(scope="module")
def logits_and_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(600, 4))
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    return logits, y


@pytest.mark.parametrize("cls", [entry.cls for entry in CALIBRATORS],
                         ids=lambda cls: cls.__name__)
def test_every_calibrator_refuses_probabilities_after_a_fit_on_logits(cls, logits_and_labels):
    logits, y = logits_and_labels
    calibrator = cls().fit(logits[:400], y[:400])
    assert calibrator.score_type_ == "logits"
    proba = softmax(logits[400:], axis=1)
    for method in ("predict_proba", "predict_log_proba", "predict"):
        with pytest.raises(ValueError, match=r"first 200 rows of X lies in \[0, 1\]") as info:
            getattr(calibrator, method)(proba)
        assert f"but {cls.__name__} read the scores of its fit as logits" in str(info.value)
        assert "set_params(score_type='logits')" in str(info.value)
    # said to be logits: read as logits, as a fit told so reads them (the same fit
    # of the same array, and the same prediction: equal to the bit on any CPU)
    told = cls(score_type="logits").fit(logits[:400], y[:400])
    calibrator.set_params(score_type="logits")
    np.testing.assert_array_equal(calibrator.predict_proba(proba), told.predict_proba(proba))


def test_logits_and_probabilities_of_their_own_kind_pass(logits_and_labels):
    logits, y = logits_and_labels
    proba = softmax(logits, axis=1)
    on_logits = TemperatureScaling().fit(logits[:400], y[:400])
    on_proba = TemperatureScaling().fit(proba[:400], y[:400])
    assert on_proba.score_type_ == "probabilities"
    # a temperature on logits, or on the log of their softmax: the same map. Each
    # fit stops within its tolerance (1e-7 relative on the temperature), which moves
    # logits of a few units by a few 1e-7: 1e-6
    np.testing.assert_allclose(on_logits.predict_proba(logits[400:]),
                               on_proba.predict_proba(proba[400:]), rtol=1e-6)


def test_too_little_evidence_is_not_refused(logits_and_labels):
    logits, y = logits_and_labels
    calibrator = TemperatureScaling().fit(logits[:400], y[:400])
    proba = softmax(logits[400:], axis=1)
    calibrator.predict_proba(proba[:19])  # fewer rows than a coincidence needs
    calibrator.predict_proba(np.full((50, 4), 0.25))  # uniform rows: logits of uniform too
    mixed = np.vstack([proba[:100], logits[400:401]])  # one row off the simplex
    calibrator.predict_proba(mixed)


def test_binary_scores_in_one_column_are_not_refused(logits_and_labels):
    # one decision value a row may lie in [0, 1] for a whole batch
    logits, y = logits_and_labels
    margin = logits[:, 1] - logits[:, 0]
    calibrator = TemperatureScaling().fit(margin, (y == 1).astype(int))
    calibrator.predict_proba(np.linspace(0.1, 0.9, 100))


def test_a_memory_map_and_a_frame_are_refused_and_a_saved_calibrator_too(
        logits_and_labels, tmp_path):
    logits, y = logits_and_labels
    calibrator = TemperatureScaling().fit(logits[:400], y[:400])
    proba = softmax(logits[400:], axis=1)
    np.save(tmp_path / "proba.npy", proba)
    with pytest.raises(ValueError, match=LOOKS_LIKE):
        calibrator.predict_proba(np.load(tmp_path / "proba.npy", mmap_mode="r"))
    with pytest.raises(ValueError, match=LOOKS_LIKE):
        calibrator.predict_proba(pd.DataFrame(proba))
    save_calibrator(calibrator, tmp_path / "t.json")
    with pytest.raises(ValueError, match=LOOKS_LIKE):
        load_calibrator(tmp_path / "t.json").predict_proba(proba)


def test_the_first_rows_are_the_evidence(logits_and_labels):
    logits, y = logits_and_labels
    calibrator = TemperatureScaling().fit(logits[:400], y[:400])
    proba = softmax(np.tile(logits, (40, 1)), axis=1)  # 24,000 rows of 4: 96,000 values
    with pytest.raises(ValueError, match=r"Every one of the first 16384 rows of X"):
        calibrator.predict_proba(proba)


def test_a_dask_array_is_not_looked_at(logits_and_labels):
    da = pytest.importorskip("dask.array", reason="the refusal of Dask scores needs dask")
    logits, y = logits_and_labels
    calibrator = TemperatureScaling().fit(logits[:400], y[:400])
    proba = softmax(logits[400:], axis=1)
    lazy = calibrator.predict_proba(da.from_array(proba, chunks=50))
    # the same row arithmetic in blocks of 50 rows: numpy's SIMD exponential and
    # its scalar loop for a block's tail may differ in the last bit
    np.testing.assert_allclose(
        lazy.compute(), calibrator.set_params(score_type="logits").predict_proba(proba),
        rtol=1e-13)


def test_the_monitor_refuses_probabilities_after_a_reference_of_logits():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(6000, 3))
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    monitor = CalibrationMonitor(chunk_size=250).fit(logits[:5000], y[:5000])
    before = json.dumps(monitor.to_dict())
    with pytest.raises(ValueError, match=r"first 1000 rows of scores lies in \[0, 1\]") as info:
        monitor.update(softmax(logits[5000:], axis=1), y[5000:])
    assert "fit the monitor with score_type='logits'" in str(info.value)
    assert json.dumps(monitor.to_dict()) == before  # a refused batch changes nothing
    told = CalibrationMonitor(chunk_size=250, score_type="logits").fit(logits[:5000], y[:5000])
    told.update(softmax(logits[5000:], axis=1), y[5000:])
    assert told.n_rows_ == 1000


def test_zarr_and_device_arrays_are_refused(logits_and_labels):
    logits, y = logits_and_labels
    proba = softmax(logits[400:], axis=1)
    calibrator = TemperatureScaling().fit(logits[:400], y[:400])
    zarr = pytest.importorskip("zarr", reason="the Zarr case needs zarr")
    with pytest.raises(ValueError, match=LOOKS_LIKE):
        calibrator.predict_proba(zarr.array(proba, chunks=(50, 4)))
    xp = pytest.importorskip("array_api_strict", reason="the device case needs "
                             "array-api-strict")
    with sklearn.config_context(array_api_dispatch=True):
        on_device = TemperatureScaling().fit(xp.asarray(logits[:400]), xp.asarray(y[:400]))
        with pytest.raises(ValueError, match=LOOKS_LIKE):
            on_device.predict_proba(xp.asarray(proba))
        on_device.predict_proba(xp.asarray(logits[400:]))


METRICS_OF_LOGITS = {
    "nll_from_logits": lambda y, s: metrics.nll_from_logits(y, s),
    "brier_score": lambda y, s: metrics.brier_score(y, logits=s),
    "expected_calibration_error": lambda y, s: metrics.expected_calibration_error(y, logits=s),
    "maximum_calibration_error": lambda y, s: metrics.maximum_calibration_error(y, logits=s),
    "perplexity": lambda y, s: metrics.perplexity(y, logits=s),
    "calibration_curve": lambda y, s: metrics.calibration_curve(y, logits=s).prob_true,
    "nll_decomposition": lambda y, s: metrics.nll_decomposition(y, logits=s).calibration,
}


@pytest.mark.parametrize("metric", METRICS_OF_LOGITS.values(), ids=METRICS_OF_LOGITS.keys())
def test_metrics_given_probabilities_as_logits_warn_and_compute_as_before(
        metric, logits_and_labels, tmp_path):
    # the metrics were told these are logits: a warning, not a refusal
    logits, y = logits_and_labels
    proba = softmax(logits, axis=1)
    with pytest.warns(UserWarning, match=LOOKS_LIKE + ", but they are taken for logits"):
        value = metric(y, proba)
    np.save(tmp_path / "proba.npy", proba)
    with pytest.warns(UserWarning, match="first 600 rows of logits"):
        metric(y, np.load(tmp_path / "proba.npy", mmap_mode="r"))
    # the value is what it was: that of the softmax of the rows, read as logits.
    # Their log-softmax has the same softmax to a few ulps; the decomposition's
    # temperature fit stops within its tolerance, where the NLL is flat: 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(value, metric(y, np.log(softmax(proba, axis=1))),
                                   rtol=1e-9, atol=1e-12)
        metric(y, logits)
        metric(y[:19], proba[:19])  # too few rows to tell


def test_scores_told_to_be_logits_elsewhere_and_probabilities_pass_without_a_word(
        logits_and_labels):
    # a score type given explicitly is not second-guessed, as with the calibrators
    from skcal import compare_models
    from skcal.stats import bootstrap

    logits, y = logits_and_labels
    proba = softmax(logits, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare_models({"a": proba, "b": proba[:, ::-1]}, y, score_type="logits")
        bootstrap(metrics.expected_calibration_error, y, proba, n_resamples=20,
                  random_state=0)  # its labels are read with kind="logits"
        metrics.nll(y, proba)
        metrics.brier_score(y, proba)


def test_a_nan_among_the_first_rows_is_named_as_a_nan(logits_and_labels, tmp_path):
    # a NaN passes every comparison of the simplex's test
    logits, y = logits_and_labels
    calibrator = TemperatureScaling().fit(logits[:400], y[:400])
    proba = softmax(logits[400:], axis=1)
    proba[7, 2] = np.nan
    np.save(tmp_path / "proba.npy", proba)
    for given in (proba, np.load(tmp_path / "proba.npy", mmap_mode="r")):
        with pytest.raises(ValueError, match=r"non-finite score \(nan at row 7, column 2\)"):
            calibrator.predict_proba(given)
        with pytest.raises(ValueError, match=r"non-finite score \(nan at row 7, column 2\)"):
            metrics.nll_from_logits(y[400:], given)
