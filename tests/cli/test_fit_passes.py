"""``skcal fit`` reads a file of logits once after the fit, for the NLL before and
after together: on a file larger than memory each pass is a read from disk (it
read the file twice, once per NLL)."""

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest

import skcal.rows._blocks as blocks
from conftest import sample_labels, softmax
from skcal import TemperatureScaling, VectorScaling
from skcal.cli._main import main
from skcal.metrics import nll, nll_from_logits


@pytest.fixture
def values_read(monkeypatch):
    """A counter of the score values read through skcal's block loops."""
    read = [0]
    for name in ("reduce_local", "map_local"):
        loop = getattr(blocks, name)

        def counted(reader, data, *args, loop=loop):
            read[0] += np.size(data)
            return loop(reader, data, *args)

        monkeypatch.setattr(blocks, name, counted)
    return read


@pytest.fixture
def logit_files(tmp_path):
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=3.0, size=(2000, 6)).astype(np.float16)
    y = sample_labels(softmax(logits.astype(np.float64) / 2), rng)
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "y.npy", y)
    return tmp_path, logits, y


@pytest.mark.parametrize("method, alone", [("temperature", TemperatureScaling),
                                           ("vector", VectorScaling)])
def test_fit_reads_logits_once_for_the_nll_before_and_after(logit_files, values_read,
                                                            method, alone):
    folder, logits, y = logit_files
    alone().fit(np.load(folder / "logits.npy", mmap_mode="r"), y)
    fit_alone, values_read[0] = values_read[0], 0
    with redirect_stdout(io.StringIO()):
        status = main(["fit", method, str(folder / "logits.npy"), str(folder / "y.npy"),
                       "--quiet", "--json", str(folder / "fit.json")])
    assert status == 0
    assert values_read[0] - fit_alone == logits.size  # one pass beyond the fit's own
    report = json.loads((folder / "fit.json").read_text())
    # the same per-row terms in the same blocks as nll_from_logits: equal to the
    # rounding of the float64 sum over rows (1e-12 allows far more)
    assert report["nll_before"] == pytest.approx(
        nll_from_logits(y, logits.astype(np.float32)), rel=1e-12)
    assert report["nll_after"] < report["nll_before"]


def test_probabilities_keep_their_own_nll_before(tmp_path, capsys):
    # the NLL before of probabilities is the metric's (an exact zero at a label read
    # at the smallest float64), not the calibrator's floor for exact zeros
    rng = np.random.default_rng(5)
    proba = softmax(rng.normal(scale=3.0, size=(800, 4)))
    y = sample_labels(proba, rng)
    proba[0] = 0.0
    proba[0, (y[0] + 1) % 4] = 1.0
    np.save(tmp_path / "proba.npy", proba)
    np.save(tmp_path / "y.npy", y)
    status = main(["fit", "temperature", str(tmp_path / "proba.npy"), str(tmp_path / "y.npy"),
                   "--quiet", "--json", str(tmp_path / "fit.json")])
    assert status == 0
    report = json.loads((tmp_path / "fit.json").read_text())
    assert report["nll_before"] == pytest.approx(nll(y, proba), rel=1e-12)
    # the row whose label has probability 0 counts at about 708 nats (-log of the
    # smallest normal float64), not at a floor of half the smallest probability
    rest = nll(y[1:], proba[1:]) * 799 / 800
    assert report["nll_before"] - rest > 700 / 800
