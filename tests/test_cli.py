"""The skcal command line: compare on score files, demo, and one-line errors."""

import json
import pickle

import numpy as np
import pytest

from conftest import sample_labels, softmax
from skcal._cli import main


@pytest.fixture
def score_files(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(1200, 3))
    y = sample_labels(softmax(logits / 2), rng)
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "y.npy", y)
    names = np.array(["x", "y", "z"])[y]
    np.savez(tmp_path / "both.npz", logits=logits, proba=softmax(logits), y=y, names=names)
    np.savetxt(tmp_path / "proba.csv", softmax(logits), delimiter=",")
    np.savetxt(tmp_path / "labels.csv", np.array(["x", "y", "z"])[y], fmt="%s")
    return tmp_path


def test_compare_prints_the_ranked_table(score_files, capsys):
    status = main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   "--methods", "temperature", "vector", "--cv", "3"])
    out = capsys.readouterr().out
    assert status == 0
    assert "TemperatureScaling" in out and "VectorScaling" in out and "uncalibrated" in out
    assert "PlattScaling" not in out


def test_compare_npz_names_csv_and_json(score_files, capsys):
    out_json = score_files / "out.json"
    status = main([
        "compare", str(score_files / "proba.csv"), str(score_files / "labels.csv"),
        "--probabilities", "--methods", "platt", "--json", str(out_json),
        "--test-scores", f"{score_files / 'both.npz'}:proba",
        "--test-labels", f"{score_files / 'both.npz'}:names",
    ])
    assert status == 0, capsys.readouterr().err
    result = json.loads(out_json.read_text())
    assert result["ranking"][0] in ("PlattScaling", "uncalibrated")
    assert result["classes"] == ["x", "y", "z"]
    first = result["methods"][0]
    for key in ("mean_test_nll", "std_test_nll", "split0_test_nll", "mean_test_ece",
                "nll_diff_to_best", "nll_diff_se", "tied_with_best", "rank_test_nll"):
        assert key in first
    assert set(result["test_results"]) == {"uncalibrated", "PlattScaling"}


def test_compare_writes_a_plot(score_files, capsys):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib")
    png = score_files / "diagram.png"
    status = main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   "--methods", "temperature", "--plot", str(png)])
    assert status == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda d: [str(d / "missing.npy"), str(d / "y.npy")], "no such file"),
        (lambda d: [str(d / "logits.npy"), str(d / "short.npy")], "1200 rows but LABELS has 10"),
        (lambda d: [str(d / "nan.npy"), str(d / "y.npy")], "non-finite"),
        (lambda d: [str(d / "objects.npy"), str(d / "y.npy")], "cannot read"),
        (lambda d: [str(d / "model.pkl"), str(d / "y.npy")], "not .npy, .npz or .csv"),
        (lambda d: [str(d / "both.npz"), str(d / "y.npy")], "name one as"),
        (lambda d: [f"{d / 'both.npz'}:nope", str(d / "y.npy")], "has no array 'nope'"),
        (lambda d: [str(d / "logits.npy"), str(d / "y.npy"), "--methods", "magic"],
         "unknown method"),
        (lambda d: [str(d / "logits.npy"), str(d / "y.npy"), "--test-scores", "x.npy"],
         "give both"),
    ],
)
def test_errors_are_one_line_without_traceback(score_files, capsys, make_args, message):
    d = score_files
    np.save(d / "short.npy", np.zeros(10, dtype=int))
    nan = np.load(d / "logits.npy")
    nan[5, 1] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "objects.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    (d / "model.pkl").write_bytes(pickle.dumps({"weights": [1, 2]}))
    status = main(["compare", *make_args(d)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_demo_prints_the_comparison_and_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the demo's diagram needs matplotlib")
    png = tmp_path / "demo.png"
    assert main(["demo", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "uncalibrated" in out and "Best by held-out NLL" in out
    assert png.stat().st_size > 10_000
