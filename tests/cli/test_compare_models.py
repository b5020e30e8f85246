"""``skcal compare-models`` on score files: the ranked table, JSON and plot, groups
and padding, and arguments that are wrong."""

import json

import numpy as np
import pytest

from skcal import compare_models
from skcal.cli import main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 50, 7)).astype(np.float32)  # 4 sequences of 50 tokens
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=2)
    y[:, 45:] = -100
    np.save(tmp_path / "step1.npy", logits / 3)
    np.save(tmp_path / "step2.npy", logits)
    np.save(tmp_path / "tokens.npy", y)
    np.save(tmp_path / "docs.npy", np.repeat(np.arange(4), 50).reshape(4, 50))
    return tmp_path, logits, y


def test_ranks_the_checkpoints_and_writes_json_and_a_plot(files, capsys):
    folder, logits, y = files
    status = main(["compare-models", f"step-1={folder / 'step1.npy'}",
                   f"step-2={folder / 'step2.npy'}", str(folder / "tokens.npy"),
                   "--groups", str(folder / "docs.npy"), "--ignore-index", "-100",
                   "--json", str(folder / "out.json"), "--plot", str(folder / "out.png")])
    out = capsys.readouterr().out
    assert status == 0 and "cluster-robust over 4 groups" in out
    saved = json.loads((folder / "out.json").read_text())
    expected = compare_models({"step-1": logits / 3, "step-2": logits}, y, ignore_index=-100,
                              groups=np.repeat(np.arange(4), 50))
    assert saved["ranking"] == expected.ranking_
    for name in saved["ranking"]:
        assert saved["results"][name]["nll"] == pytest.approx(
            expected.results_[name]["nll"], rel=1e-12)
    assert saved["results"][expected.best_]["pvalue"] is None
    assert saved["best_set"] == expected.best_set_
    assert saved["results"][expected.best_]["best_set_pvalue"] == 1.0
    assert (folder / "out.png").stat().st_size > 1000


@pytest.mark.parametrize("models, message", [
    (["only=step1.npy"], "at least two models"),
    (["a=step1.npy", "a=step2.npy"], "given twice"),
    (["step1.npy", "b=step2.npy"], "NAME=FILE"),
])
def test_wrong_arguments_are_named(files, capsys, models, message):
    folder, _, _ = files
    status = main(["compare-models",
                   *[m.replace("=", f"={folder}/") if "=" in m else str(folder / m)
                     for m in models], str(folder / "tokens.npy")])
    assert status == 2 and message in capsys.readouterr().err


def test_scores_and_labels_of_different_lengths_name_the_files(files, capsys):
    folder, logits, _ = files
    np.save(folder / "short.npy", logits[:3])
    status = main(["compare-models", f"a={folder / 'step1.npy'}", f"b={folder / 'short.npy'}",
                   str(folder / "tokens.npy")])
    err = capsys.readouterr().err
    assert status == 2
    assert f"model 'b' ({folder / 'short.npy'}) has 150 rows of scores" in err
    assert f"LABELS ({folder / 'tokens.npy'}) has 200 labels" in err


def test_told_score_types_are_held_against_each_file(files, capsys):
    folder, logits, _ = files
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    np.save(folder / "proba.npy", probabilities)
    status = main(["compare-models", f"a={folder / 'step1.npy'}", f"b={folder / 'proba.npy'}",
                   str(folder / "tokens.npy"), "--ignore-index", "-100", "--probabilities"])
    err = capsys.readouterr().err
    assert status == 2  # was the Python hint: "pass them to nll_from_logits, ..."
    assert (f"model 'a' ({folder / 'step1.npy'}) (--probabilities) has values outside [0, 1]"
            in err and "Pass --logits if they are logits." in err)
    status = main(["compare-models", f"a={folder / 'step1.npy'}", f"b={folder / 'proba.npy'}",
                   str(folder / "tokens.npy"), "--ignore-index", "-100", "--logits"])
    err = capsys.readouterr().err
    assert status == 0  # as told, with a warning (was silent)
    assert (f"--logits was given, but the rows of model 'b' ({folder / 'proba.npy'}) lie in "
            "the probability simplex" in err)


def test_probabilities_told_in_python_that_are_not_point_to_score_type(files):
    _, logits, y = files
    with pytest.raises(ValueError, match=r"models\['a'\] has values outside \[0, 1\].*"
                                         r"Pass score_type='logits' if they are logits"):
        compare_models({"a": logits, "b": logits}, y, ignore_index=-100,
                       score_type="probabilities")


def test_calibrate_ranks_after_a_cross_fitted_temperature(files, capsys):
    """step-1 is step-2's logits over 3: the same model once its temperature is
    fitted, which the raw ranking cannot see."""
    folder, logits, y = files
    argv = ["compare-models", f"step-1={folder / 'step1.npy'}",
            f"step-2={folder / 'step2.npy'}", str(folder / "tokens.npy"),
            "--ignore-index", "-100", "--calibrate", "temperature", "--cv", "4",
            "--json", str(folder / "out.json")]
    assert main(argv) == 0
    assert "after TemperatureScaling fitted on the other rows (4 folds" in capsys.readouterr().out
    saved = json.loads((folder / "out.json").read_text())
    assert saved["calibration"] == "TemperatureScaling"
    expected = compare_models({"step-1": logits / 3, "step-2": logits}, y, ignore_index=-100,
                              calibrate="temperature", cv=4, random_state=0)
    for name, result in expected.results_.items():
        assert saved["results"][name]["nll"] == pytest.approx(result["nll"], rel=1e-12)
        assert saved["results"][name]["nll_uncalibrated"] == pytest.approx(
            result["nll_uncalibrated"], rel=1e-12)
    assert abs(saved["results"]["step-1"]["nll"] - saved["results"]["step-2"]["nll"]) < 1e-6
    for name, fits in expected.calibrators_.items():  # each fold's, as fitted
        assert saved["temperatures"][name] == pytest.approx(
            [fit.temperature_ for fit in fits], rel=1e-12)
    one, three = (np.array(saved["temperatures"][name]) for name in ("step-1", "step-2"))
    assert np.allclose(three, 3 * one, rtol=1e-6)  # step-1's logits are step-2's over 3


@pytest.mark.parametrize("extra, message", [
    (["--cv", "3"], "--cv sets the folds of --calibrate"),
    (["--calibrate", "temp"], "Unknown calibration method 'temp'"),
])
def test_calibration_arguments_that_are_wrong_are_named(files, capsys, extra, message):
    folder, _, _ = files
    status = main(["compare-models", f"a={folder / 'step1.npy'}", f"b={folder / 'step2.npy'}",
                   str(folder / "tokens.npy"), *extra])
    assert status == 2 and message in capsys.readouterr().err


def test_token_weights_weigh_each_row_as_compare_models_does(files, capsys):
    folder, logits, y = files
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=(4, 50))
    np.save(folder / "weights.npy", weights)
    status = main(["compare-models", f"step-1={folder / 'step1.npy'}",
                   f"step-2={folder / 'step2.npy'}", str(folder / "tokens.npy"),
                   "--ignore-index", "-100", "--sample-weight", str(folder / "weights.npy"),
                   "--json", str(folder / "out.json")])
    assert status == 0, capsys.readouterr().err
    saved = json.loads((folder / "out.json").read_text())
    expected = compare_models({"step-1": logits / 3, "step-2": logits}, y, ignore_index=-100,
                              sample_weight=weights)
    unweighted = compare_models({"step-1": logits / 3, "step-2": logits}, y, ignore_index=-100)
    for name in saved["ranking"]:
        # the same rows, weights and reduction: equal to the rounding of float64 sums
        assert saved["results"][name]["nll"] == pytest.approx(
            expected.results_[name]["nll"], rel=1e-12)
        assert saved["results"][name]["nll"] != pytest.approx(
            unweighted.results_[name]["nll"], rel=1e-6)
