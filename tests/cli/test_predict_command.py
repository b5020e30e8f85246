"""``skcal predict``: a saved calibrator applied to score files, streamed to a
``.npy`` file, with the NLL before and after when labels are given."""

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax as scipy_softmax
from sklearn.metrics import log_loss

from conftest import sample_labels, softmax
from skcal import TemperatureScaling, VectorScaling, load_calibrator, save_calibrator
from skcal.calibrators._registry import CALIBRATORS
from skcal.cli._main import main
from skcal.metrics import nll_from_logits

K = 4


def run(*args):
    """(exit status, stdout, stderr) of ``skcal predict ARGS``."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["predict", *[str(a) for a in args]])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path):
    """float32 logits of a model twice too confident: a fitting half and a test half."""
    rng = np.random.default_rng(7)
    logits = rng.normal(scale=3.0, size=(3000, K)).astype(np.float32)
    y = sample_labels(softmax(logits.astype(np.float64) / 2), rng)
    np.save(tmp_path / "test.npy", logits[1500:])
    np.save(tmp_path / "y_test.npy", y[1500:])
    return tmp_path, logits[:1500], y[:1500], logits[1500:], y[1500:]


@pytest.mark.parametrize("method", [entry.name for entry in CALIBRATORS])
def test_writes_what_predict_proba_gives_and_the_nll_before_and_after(files, method):
    folder, fit_logits, fit_y, test_logits, test_y = files
    cls = next(entry.cls for entry in CALIBRATORS if entry.name == method)
    save_calibrator(cls().fit(fit_logits, fit_y), folder / "calibrator.json")
    status, out, _ = run(folder / "calibrator.json", folder / "test.npy",
                         "--write-proba", folder / "proba.npy", "--labels",
                         folder / "y_test.npy", "--json", folder / "report.json", "--quiet")
    assert status == 0, out
    written = np.load(folder / "proba.npy")
    expected = load_calibrator(folder / "calibrator.json").predict_proba(
        np.load(folder / "test.npy", mmap_mode="r"))
    # in the precision of the scores, as skcal fit --write-proba writes them; 1e-6
    # allows a few float32 roundings of a probability at most 1
    assert written.shape == (1500, K) and written.dtype == np.float32
    np.testing.assert_allclose(written, expected, rtol=0, atol=1e-6)
    # the file's argmax is the calibrator's prediction: ties that float32 makes of
    # probabilities computed in float64 are separated in their order (isotonic
    # calibration ties classes within its steps)
    np.testing.assert_array_equal(
        written.argmax(axis=1), np.searchsorted(
            load_calibrator(folder / "calibrator.json").classes_,
            load_calibrator(folder / "calibrator.json").predict(test_logits)))
    report = json.loads((folder / "report.json").read_text())
    assert report["method"] == cls.__name__ and report["n_labelled"] == 1500
    # each row's log-probability rounded to float32 (relative 6e-8), summed in float64
    label_proba = expected.astype(np.float64)[np.arange(1500), test_y]
    assert report["nll_after"] == pytest.approx(-np.log(label_proba).mean(), rel=1e-5)
    assert report["nll_before"] == pytest.approx(nll_from_logits(test_y, test_logits),
                                                 rel=1e-6)
    assert f"NLL after:  {report['nll_after']:.6f} nats" in out


def test_temperature_probabilities_are_the_softmax_of_the_logits_over_t(files):
    folder, fit_logits, fit_y, test_logits, _ = files
    save_calibrator(TemperatureScaling().fit(fit_logits, fit_y), folder / "t.json")
    status, _, _ = run(folder / "t.json", folder / "test.npy", "--write-proba",
                       folder / "proba.npy")
    assert status == 0
    temperature = TemperatureScaling().fit(fit_logits, fit_y).temperature_
    # float32 logits over T in float32, against float64: a few float32 roundings
    np.testing.assert_allclose(np.load(folder / "proba.npy"),
                               scipy_softmax(test_logits.astype(np.float64) / temperature,
                                             axis=1), rtol=0, atol=1e-6)


def test_token_scores_keep_their_shape_and_padding_is_left_out_of_fit_and_nll(tmp_path):
    rng = np.random.default_rng(3)
    logits = (rng.normal(scale=3.0, size=(30, 40, 12))).astype(np.float16)
    tokens = sample_labels(softmax(logits.reshape(-1, 12).astype(np.float64) / 2),
                           rng).reshape(30, 40)
    tokens[:, 35:] = -100  # padding
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "tokens.npy", tokens)
    kept = tokens.reshape(-1) != -100
    flat = logits.reshape(-1, 12)
    calibrator = TemperatureScaling().fit(flat[kept], tokens.reshape(-1)[kept])
    with redirect_stdout(io.StringIO()) as fit_out:  # skcal fit takes token scores too
        assert main(["fit", "temperature", str(tmp_path / "logits.npy"),
                     str(tmp_path / "tokens.npy"), "--ignore-index", "-100", "--quiet",
                     "--calibrator", str(tmp_path / "t.json"),
                     "--json", str(tmp_path / "fit.json")]) == 0
    fitted = json.loads((tmp_path / "fit.json").read_text())
    # the same rows, the padding left out: the same minimum, to the solver's tolerance
    assert fitted["parameters"]["temperature_"] == pytest.approx(calibrator.temperature_,
                                                                 rel=1e-6)
    assert fitted["n_labelled"] == 30 * 35
    assert "(150 left out, labelled -100)" in fit_out.getvalue()
    status, out, _ = run(tmp_path / "t.json", tmp_path / "logits.npy", "--write-proba",
                         tmp_path / "proba.npy", "--labels", tmp_path / "tokens.npy",
                         "--ignore-index", -100, "--json", tmp_path / "report.json")
    assert status == 0, out
    proba = np.load(tmp_path / "proba.npy")
    assert proba.shape == (30, 40, 12) and proba.dtype == np.float32
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_labelled"] == kept.sum() == 30 * 35
    expected = scipy_softmax(flat[kept].astype(np.float64) / calibrator.temperature_, axis=1)
    # float16 logits computed in float32: relative 1e-5 allows their float32 roundings
    assert report["nll_after"] == pytest.approx(
        log_loss(tokens.reshape(-1)[kept], expected, labels=range(12)), rel=1e-5)
    assert f"({(~kept).sum()} left out, labelled -100)" in out
    # the fit's report and the prediction's, of the same calibrator: each row's term
    # in float32 (the fit's from the calibrated logits, the prediction's from the
    # log-probabilities it writes), so equal to float32 rounding (relative 6e-8 a row)
    assert report["nll_after"] == pytest.approx(fitted["nll_after"], rel=1e-6)
    assert report["nll_before"] == pytest.approx(fitted["nll_before"], rel=1e-6)


def test_columns_named_after_the_classes_are_read_and_written_in_the_files_order(tmp_path):
    rng = np.random.default_rng(5)
    logits = rng.normal(scale=3.0, size=(600, 3))
    names = np.array(["cat", "dog", "bird"])
    y = names[sample_labels(softmax(logits / 2), rng)]
    pd.DataFrame(logits, columns=names).to_csv(tmp_path / "fit.csv", index=False)
    pd.Series(y, name="label").to_csv(tmp_path / "labels.csv", index=False)
    shuffled = [2, 0, 1]  # bird, cat, dog
    pd.DataFrame(logits[:, shuffled], columns=names[shuffled]).to_csv(
        tmp_path / "shuffled.csv", index=False)
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert main(["fit", "vector", str(tmp_path / "fit.csv"), str(tmp_path / "labels.csv"),
                     "--calibrator", str(tmp_path / "v.json"), "--quiet"]) == 0
    outputs = {}
    for name in ("fit", "shuffled"):
        status, out, _ = run(tmp_path / "v.json", tmp_path / f"{name}.csv", "--write-proba",
                             tmp_path / f"{name}.npy", "--labels", tmp_path / "labels.csv")
        assert status == 0
        outputs[name] = (np.load(tmp_path / f"{name}.npy"), out)
    assert "(classes bird, cat, dog)" in outputs["shuffled"][1]
    # the same rows, the columns moved with the file's: equal whatever the order
    np.testing.assert_array_equal(outputs["shuffled"][0], outputs["fit"][0][:, shuffled])
    nll_lines = [line for line in outputs["fit"][1].splitlines() if line.startswith("NLL")]
    assert nll_lines == [line for line in outputs["shuffled"][1].splitlines()
                         if line.startswith("NLL")]
    # against the map fitted on the columns in the classes' sorted order
    sorted_columns = [2, 0, 1]
    alone = VectorScaling().fit(logits[:, sorted_columns], y)
    np.testing.assert_allclose(outputs["shuffled"][0], alone.predict_proba(
        logits[:, sorted_columns]), rtol=0, atol=1e-9)


@pytest.fixture
def probability_calibrator(files):
    """A calibrator fitted on probabilities (their file beside it)."""
    folder, fit_logits, fit_y, test_logits, _ = files
    save_calibrator(VectorScaling().fit(softmax(fit_logits.astype(np.float64)), fit_y),
                    folder / "v.json")
    np.save(folder / "test_proba.npy", softmax(test_logits.astype(np.float64)))
    np.save(folder / "y_other.npy", np.arange(1500) % (K + 1))
    np.save(folder / "y_short.npy", np.zeros(1499, dtype=int))
    np.save(folder / "wide.npy", np.zeros((1500, K + 1)))
    (folder / "other.json").write_text('{"a": 1}')
    return folder


@pytest.mark.parametrize("args, message", [
    (["v.json", "test_proba.npy"], "nothing to do: give --write-proba OUT.npy"),
    (["v.json", "test_proba.npy", "--write-proba", "out.npy", "--ignore-index", "-100"],
     "--ignore-index is for the NLL, which needs --labels LABELS"),
    (["missing.json", "test_proba.npy", "--write-proba", "out.npy"],
     "CALIBRATOR: no such file 'missing.json'"),
    (["other.json", "test_proba.npy", "--write-proba", "out.npy"],
     "CALIBRATOR: other.json is not a saved calibrator"),
    (["v.json", "wide.npy", "--write-proba", "out.npy"],
     "SCORES has 5 score column(s), but the calibrator was fitted on 4 (classes 0, 1, 2, 3)"),
    (["v.json", "test.npy", "--write-proba", "out.npy"],
     "so they are not probabilities. The calibrator was fitted on probabilities"),
    (["v.json", "test_proba.npy", "--write-proba", "out.npy", "--labels", "y_other.npy"],
     "LABELS holds 4, not among the classes the calibrator was fitted on (0, 1, 2, 3)"),
    (["v.json", "test_proba.npy", "--write-proba", "out.npy", "--labels", "y_short.npy"],
     "SCORES has 1500 rows but LABELS has 1499"),
])
def test_bad_input_is_refused_by_name_and_nothing_is_written(probability_calibrator,
                                                             monkeypatch, args, message):
    monkeypatch.chdir(probability_calibrator)
    status, _, err = run(*args)
    assert status == 2
    assert message in err
    assert not (probability_calibrator / "out.npy").exists()


def test_probabilities_given_to_a_calibrator_that_read_logits_by_itself_are_refused(files):
    folder, fit_logits, fit_y, test_logits, _ = files
    save_calibrator(TemperatureScaling().fit(fit_logits, fit_y), folder / "t.json")
    np.save(folder / "test_proba.npy", softmax(test_logits.astype(np.float64)))
    status, _, err = run(folder / "t.json", folder / "test_proba.npy", "--write-proba",
                         folder / "proba.npy")
    assert status == 2
    assert "rows of SCORES lies in [0, 1] and sums to 1: they look like probabilities" in err
    assert "fit it again with --logits" in err
    assert not (folder / "proba.npy").exists()


def test_probabilities_given_to_a_calibrator_told_of_logits_are_warned_of(files):
    folder, fit_logits, fit_y, test_logits, _ = files
    told = TemperatureScaling(score_type="logits").fit(fit_logits, fit_y)
    save_calibrator(told, folder / "t.json")
    np.save(folder / "test_proba.npy", softmax(test_logits.astype(np.float64)))
    status, _, err = run(folder / "t.json", folder / "test_proba.npy", "--write-proba",
                         folder / "proba.npy")
    assert status == 0
    assert "fitted on logits, but the rows of SCORES lie in the probability simplex" in err


def test_a_run_that_fails_midway_leaves_the_output_file_as_it_was(files):
    folder, fit_logits, fit_y, test_logits, _ = files
    save_calibrator(TemperatureScaling().fit(fit_logits, fit_y), folder / "t.json")
    broken = np.tile(test_logits, (200, 1))  # 300,000 rows: several blocks
    broken[-1, 0] = np.nan  # found only when the last block is read
    np.save(folder / "broken.npy", broken)
    np.save(folder / "proba.npy", np.arange(6.0))
    status, _, err = run(folder / "t.json", folder / "broken.npy", "--write-proba",
                         folder / "proba.npy", "--quiet")
    assert status == 2
    # named as the command names the scores (the library's message says X)
    assert "error: SCORES contains a non-finite score (nan at row 299999, column 0)" in err
    np.testing.assert_array_equal(np.load(folder / "proba.npy"), np.arange(6.0))
    assert sorted(p.name for p in folder.iterdir() if "proba" in p.name) == ["proba.npy"]


@pytest.mark.parametrize("page", ["user_guide", "language_models"])
def test_the_documented_fit_and_predict_commands_run(page, tmp_path, monkeypatch):
    from doc_pages import commands_of

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(2)
    for split in ("val", "test"):  # the files the pages name
        logits = rng.normal(scale=3.0, size=(1000, 20)).astype(np.float16)
        labels = sample_labels(softmax(logits.astype(np.float64) / 2), rng)
        np.save(f"{split}_logits.npy", logits)
        for name in ("y", "tokens"):
            np.save(f"{split}_{name}.npy", labels)
    commands = [words for words in commands_of(page) if words[0] in ("fit", "predict")]
    assert any(words[0] == "predict" for words in commands)
    for words in commands:
        with redirect_stdout(io.StringIO()):
            assert main(words + ["--quiet"]) == 0, words
    assert np.load("test_proba.npy").shape == (1000, 20)


def test_sample_weight_in_fit_predict_and_compare(files):
    folder, fit_logits, fit_y, test_logits, test_y = files
    rng = np.random.default_rng(11)
    fit_w, test_w = rng.integers(0, 4, size=1500), rng.integers(0, 4, size=1500)
    np.save(folder / "fit.npy", fit_logits)
    np.save(folder / "fit_y.npy", fit_y)
    np.save(folder / "fit_w.npy", fit_w.astype(np.float64))
    np.save(folder / "test_w.npy", test_w.astype(np.float64))
    with redirect_stdout(io.StringIO()):
        assert main(["fit", "vector", str(folder / "fit.npy"), str(folder / "fit_y.npy"),
                     "--sample-weight", str(folder / "fit_w.npy"), "--quiet",
                     "--calibrator", str(folder / "v.json")]) == 0
    alone = VectorScaling().fit(fit_logits, fit_y, sample_weight=fit_w)
    # the same rows and weights through the same solver: equal to its rounding
    np.testing.assert_allclose(load_calibrator(folder / "v.json").predict_proba(test_logits),
                               alone.predict_proba(test_logits), rtol=0, atol=1e-10)
    status, out, _ = run(folder / "v.json", folder / "test.npy", "--labels",
                         folder / "y_test.npy", "--sample-weight", folder / "test_w.npy",
                         "--json", folder / "weighted.json")
    assert status == 0 and f"total weight {test_w.sum():g})" in out
    # integer weights count rows: the NLL of each row repeated as many times
    np.save(folder / "repeated.npy", np.repeat(test_logits, test_w, axis=0))
    np.save(folder / "repeated_y.npy", np.repeat(test_y, test_w))
    status, _, _ = run(folder / "v.json", folder / "repeated.npy", "--labels",
                       folder / "repeated_y.npy", "--json", folder / "repeated.json")
    assert status == 0
    weighted, repeated = (json.loads((folder / f"{name}.json").read_text())
                          for name in ("weighted", "repeated"))
    # each row's terms are computed within the row (the raw ones in float32, the
    # calibrated ones in float64), the same wherever it lies; only the float64 sums
    # over rows group them otherwise: relative 1e-9 allows that rounding
    for key in ("nll_before", "nll_after"):
        assert weighted[key] == pytest.approx(repeated[key], rel=1e-9)
    with redirect_stdout(io.StringIO()):
        assert main(["compare", str(folder / "test.npy"), str(folder / "y_test.npy"),
                     "--sample-weight", str(folder / "test_w.npy"), "--methods", "temperature",
                     "--json", str(folder / "compare.json")]) == 0
    from skcal import compare_calibrators

    expected = compare_calibrators(test_logits, test_y, sample_weight=test_w,
                                   calibrators={"TemperatureScaling": TemperatureScaling()})
    written = json.loads((folder / "compare.json").read_text())
    assert [m["mean_test_nll"] for m in written["methods"]] == pytest.approx(
        [m["mean_test_nll"] for m in expected.to_dict()["methods"]], rel=1e-12)


@pytest.mark.parametrize("weights, extra, message", [
    (-np.ones(1500), ["--labels", "y_test.npy"],
     "--sample-weight w.npy: sample_weight has negative values"),
    (np.ones(1499), ["--labels", "y_test.npy"],
     "one weight per row of the scores; got shape (1499,)"),
    (np.ones(1500), ["--write-proba", "out.npy"],
     "--sample-weight is for the NLL, which needs --labels LABELS"),
])
def test_bad_weights_are_refused_by_name(files, monkeypatch, weights, extra, message):
    folder, fit_logits, fit_y, _, _ = files
    monkeypatch.chdir(folder)
    save_calibrator(TemperatureScaling().fit(fit_logits, fit_y), "t.json")
    np.save("w.npy", weights)
    status, _, err = run("t.json", "test.npy", "--sample-weight", "w.npy", *extra)
    assert status == 2 and message in err
    assert not (folder / "out.npy").exists()
