"""Scores that are counts or votes (a tree model's raw predictions: a random
forest's sums of its trees' probabilities, a decision tree's leaf counts, as
Spark ML's ``rawPrediction`` holds them) or probabilities in percent are refused
by ``score_type='auto'``, with the fix. Before, they were read as logits without
a word: each row's softmax of its votes is another model's probabilities."""

import numpy as np
import pytest

from conftest import sample_labels, softmax
from skcal import CalibrationMonitor, TemperatureScaling, compare_calibrators, compare_models
from skcal.cli import main
from skcal.metrics import nll

N_TREES = 50


@pytest.fixture(scope="module")
def forest():
    """Labels, each row's votes of N_TREES trees (probabilities times N_TREES),
    and the probabilities."""
    rng = np.random.default_rng(0)
    proba = softmax(rng.normal(scale=2.0, size=(2000, 3)))
    return sample_labels(proba, rng), proba * N_TREES, proba


@pytest.mark.parametrize("kind, how", [
    ("votes", "every row sums to 50"),
    ("counts", "every score is a whole number"),
    ("percent", "every row sums to 100"),
])
def test_counts_votes_and_percent_are_refused_with_the_fix(forest, kind, how):
    y, votes, proba = forest
    scores = {"votes": votes, "counts": np.rint(votes * 3), "percent": proba * 100}[kind]
    calls = [lambda: TemperatureScaling().fit(scores, y),
             lambda: CalibrationMonitor(chunk_size=200).fit(scores, y),
             lambda: compare_calibrators(scores, y, calibrators=["temperature"], cv=2),
             lambda: compare_models({"forest": scores, "calibrated": proba}, y)]
    for call in calls:
        with pytest.raises(ValueError, match=f"non-negative and {how}: they look like counts "
                                             "or votes.*Divide each row by its sum"):
            call()


def test_told_they_are_logits_or_divided_by_their_sums_they_are_read(forest):
    y, votes, proba = forest
    # told: read as logits, as before
    assert TemperatureScaling(score_type="logits").fit(votes, y).score_type_ == "logits"
    divided = votes / votes.sum(axis=1, keepdims=True)
    # the probabilities again, to float64 rounding
    assert nll(y, divided) == pytest.approx(nll(y, proba), rel=1e-12)
    assert TemperatureScaling().fit(divided, y).score_type_ == "probabilities"


def test_logits_of_one_sign_or_of_both_are_still_read_as_logits(forest):
    y, _, proba = forest
    logits = np.log(proba)  # all negative
    assert TemperatureScaling().fit(logits, y).score_type_ == "logits"
    shifted = logits - logits.min() + 0.5  # all positive, rows of different sums
    assert TemperatureScaling().fit(shifted, y).score_type_ == "logits"


def test_the_command_line_refuses_votes_in_a_file(forest, tmp_path, capsys):
    y, votes, _ = forest
    np.save(tmp_path / "votes.npy", votes)  # memory-mapped: the first rows decide
    np.save(tmp_path / "y.npy", y)
    assert main(["fit", "temperature", str(tmp_path / "votes.npy"),
                 str(tmp_path / "y.npy")]) == 2
    assert "every row sums to 50" in capsys.readouterr().err
    assert main(["fit", "temperature", str(tmp_path / "votes.npy"), str(tmp_path / "y.npy"),
                 "--logits", "--quiet"]) == 0
