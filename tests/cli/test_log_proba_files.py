"""``--write-log-proba`` of ``skcal predict`` and ``skcal fit``: the calibrated
log-probabilities streamed to a ``.npy`` file, as ``predict_log_proba`` gives
them, beside or instead of the probabilities."""

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
from scipy.special import log_softmax

from conftest import sample_labels, softmax
from skcal import TemperatureScaling, load_calibrator, save_calibrator
from skcal.calibrators._registry import CALIBRATORS
from skcal.cli._main import main

K = 5


def run(*args):
    """(exit status, stdout, stderr) of ``skcal ARGS``; argparse's refusals exit."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exit_info:
            status = exit_info.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path):
    """float32 logits of a model twice too confident: a fitting half and a test half
    (saved), with their labels."""
    rng = np.random.default_rng(5)
    logits = rng.normal(scale=3.0, size=(2400, K)).astype(np.float32)
    y = sample_labels(softmax(logits.astype(np.float64) / 2), rng)
    np.save(tmp_path / "test.npy", logits[1200:])
    np.save(tmp_path / "y_test.npy", y[1200:])
    return tmp_path, logits[:1200], y[:1200]


@pytest.mark.parametrize("method", [entry.name for entry in CALIBRATORS])
def test_the_file_holds_what_predict_log_proba_gives(files, method):
    folder, fit_logits, fit_y = files
    cls = next(entry.cls for entry in CALIBRATORS if entry.name == method)
    save_calibrator(cls().fit(fit_logits, fit_y), folder / "c.json")
    status, out, err = run("predict", folder / "c.json", folder / "test.npy", "--write-proba",
                           folder / "p.npy", "--write-log-proba", folder / "lp.npy",
                           "--json", folder / "report.json")
    assert status == 0, err
    calibrator = load_calibrator(folder / "c.json")
    scores = np.load(folder / "test.npy", mmap_mode="r")
    log_proba, proba = np.load(folder / "lp.npy"), np.load(folder / "p.npy")
    assert log_proba.shape == (1200, K) and log_proba.dtype == np.float32
    # float32 log-probabilities against the library's: a few float32 roundings of
    # values of at most about 20 in size (relative 6e-8 each)
    np.testing.assert_allclose(log_proba, calibrator.predict_log_proba(scores),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.exp(log_proba), proba, rtol=0, atol=1e-6)
    # ties are separated in the file as predict_log_proba separates them: the same
    # prediction in either file, and the calibrator's
    np.testing.assert_array_equal(log_proba.argmax(axis=1), proba.argmax(axis=1))
    np.testing.assert_array_equal(log_proba.argmax(axis=1),
                                  np.searchsorted(calibrator.classes_,
                                                  calibrator.predict(scores)))
    assert json.loads((folder / "report.json").read_text())["log_probabilities"] == str(
        folder / "lp.npy")
    assert f"log-probabilities (natural log) written to {folder / 'lp.npy'}" in out


def test_log_probabilities_keep_what_float32_probabilities_round_to_zero(tmp_path):
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(600, 3))
    y = sample_labels(softmax(logits), rng)
    save_calibrator(TemperatureScaling().fit(logits, y), tmp_path / "t.json")
    temperature = load_calibrator(tmp_path / "t.json").temperature_
    far = np.array([[0.0, -150.0 * temperature, -300.0 * temperature]], dtype=np.float32)
    np.save(tmp_path / "far.npy", far)
    status, _, err = run("predict", tmp_path / "t.json", tmp_path / "far.npy",
                         "--write-proba", tmp_path / "p.npy",
                         "--write-log-proba", tmp_path / "lp.npy")
    assert status == 0, err
    # e ** -150 is below float32's smallest subnormal (1.4e-45): 0 as a probability
    assert np.load(tmp_path / "p.npy")[0, 1:].tolist() == [0.0, 0.0]
    # as a log-probability, -150 and -300 to the float32 rounding of the logits
    # and of their quotient by T (relative 6e-8 each)
    np.testing.assert_allclose(np.load(tmp_path / "lp.npy"),
                               log_softmax(far.astype(np.float64) / temperature, axis=1),
                               rtol=1e-6, atol=1e-6)


def test_fit_writes_the_log_probabilities_of_token_scores_in_their_shape(tmp_path):
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=3.0, size=(20, 30, 8)).astype(np.float16)
    tokens = sample_labels(softmax(logits.reshape(-1, 8).astype(np.float64) / 2),
                           rng).reshape(20, 30)
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "tokens.npy", tokens)
    status, out, err = run("fit", "temperature", tmp_path / "logits.npy",
                           tmp_path / "tokens.npy", "--write-log-proba", tmp_path / "lp.npy",
                           "--calibrator", tmp_path / "t.json", "--quiet")
    assert status == 0, err
    log_proba = np.load(tmp_path / "lp.npy")
    assert log_proba.shape == (20, 30, 8) and log_proba.dtype == np.float32
    expected = load_calibrator(tmp_path / "t.json").predict_log_proba(logits.reshape(-1, 8))
    # float16 logits computed in float32 either way: float32 roundings
    np.testing.assert_allclose(log_proba.reshape(-1, 8), expected, rtol=1e-6, atol=1e-6)
    assert "log-probabilities (natural log) written to" in out


def test_a_run_that_fails_midway_leaves_both_files_as_they_were(files):
    folder, fit_logits, fit_y = files
    save_calibrator(TemperatureScaling().fit(fit_logits, fit_y), folder / "t.json")
    broken = np.tile(np.load(folder / "test.npy"), (250, 1))  # 300,000 rows: several blocks
    broken[-1, 0] = np.nan  # found only when the last block is read
    np.save(folder / "broken.npy", broken)
    np.save(folder / "p.npy", np.arange(3.0))
    np.save(folder / "lp.npy", np.arange(4.0))
    status, _, err = run("predict", folder / "t.json", folder / "broken.npy", "--write-proba",
                         folder / "p.npy", "--write-log-proba", folder / "lp.npy", "--quiet")
    assert status == 2 and "SCORES contains a non-finite score" in err
    np.testing.assert_array_equal(np.load(folder / "p.npy"), np.arange(3.0))
    np.testing.assert_array_equal(np.load(folder / "lp.npy"), np.arange(4.0))
    assert sorted(p.name for p in folder.iterdir() if "p.npy" in p.name) == ["lp.npy", "p.npy"]


@pytest.mark.parametrize("args, message", [
    (["predict", "t.json", "test.npy", "--write-proba", "out.npy", "--write-log-proba",
      "out.npy"],
     "--write-proba and --write-log-proba name the same file (out.npy)"),
    (["predict", "t.json", "test.npy", "--write-log-proba", "test.npy"],
     "--write-log-proba names test.npy, which this run reads (scores)"),
    (["predict", "t.json", "test.npy", "--write-log-proba", "out.txt"],
     "out.txt: the (log-)probabilities are written as a .npy file"),
    (["fit", "temperature", "test.npy", "y_test.npy", "--write-log-proba", "out.npy",
      "--dask-scheduler", "tcp://127.0.0.1:1"],
     "--write-log-proba writes from this machine; leave out --dask-scheduler"),
])
def test_bad_outputs_are_refused_by_name_before_anything_is_written(files, monkeypatch, args,
                                                                    message):
    folder, fit_logits, fit_y = files
    monkeypatch.chdir(folder)
    save_calibrator(TemperatureScaling().fit(fit_logits, fit_y), "t.json")
    before = (folder / "test.npy").read_bytes()
    status, _, err = run(*args)
    assert status == 2 and message in err
    assert not (folder / "out.npy").exists() and not (folder / "out.txt").exists()
    assert (folder / "test.npy").read_bytes() == before
