"""The registry's promise: a new calibration map is its own module plus one
registry line, and everything that lists maps reads the registry."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize
from scipy.special import log_softmax, logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import check_estimator

import skcal.calibrators._registry as registry
from skcal import compare_calibrators
from skcal.calibrators._base import BaseCalibrator
from skcal.cli import main


class ClassOffsets(BaseCalibrator):
    """A toy map, written as a new map's module would be: ``softmax(z + b)``,
    the offsets ``b`` fitted by weighted NLL (the last one fixed at 0)."""

    _map_attributes = ("offsets_",)

    def _fit_map(self, logits, y, sample_weight, cache):
        w = np.ones(logits.shape[0]) if sample_weight is None else sample_weight
        rows = np.arange(logits.shape[0])

        def loss_grad(free):
            b = np.append(free, 0.0)
            shifted = logits + b
            log_p = log_softmax(shifted, axis=1)
            residual = np.exp(log_p)
            residual[rows, y] -= 1.0
            return -(w @ log_p[rows, y]) / w.sum(), (w @ residual)[:-1] / w.sum()

        result = minimize(loss_grad, np.zeros(logits.shape[1] - 1), jac=True,
                          method="L-BFGS-B")
        return {"offsets_": np.append(result.x, 0.0)}

    def _apply_map(self, logits, cache, offsets_):
        return logits + offsets_


@pytest.fixture
def registered(monkeypatch):
    """The registry with the toy map's one line added."""
    monkeypatch.setattr(registry, "CALIBRATORS",
                        registry.CALIBRATORS + (registry.Entry("offsets", ClassOffsets),))


# scikit-learn 1.7's checks fit on classes of fewer samples than the 5 default
# folds, for which skcal's cross-fitting warns (as test_common.py says)
@pytest.mark.filterwarnings("ignore:The least populated class in y has only:UserWarning")
def test_a_new_map_passes_scikit_learns_checks():
    check_estimator(ClassOffsets(LogisticRegression()))


def test_a_new_map_fits_its_known_answer():
    """Labels drawn from softmax(z + b) for known offsets: the fit finds them."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40_000, 3))
    offsets = np.array([0.7, -0.4, 0.0])
    proba = np.exp(logits + offsets - logsumexp(logits + offsets, axis=1, keepdims=True))
    y = (proba.cumsum(axis=1) > rng.random((logits.shape[0], 1))).argmax(axis=1)
    fitted = ClassOffsets().fit(logits, y)
    # 40000 draws: each offset's standard error is about 0.015
    assert_allclose(fitted.offsets_, offsets, atol=0.06)


def test_one_registry_line_reaches_the_comparison_and_the_command_line(
        registered, tmp_path, capsys):
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(900, 3))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    comparison = compare_calibrators(logits, y, cv=3)
    assert "ClassOffsets" in comparison.cv_results_["method"]
    assert registry.calibrator_class("offsets") is ClassOffsets

    np.save(tmp_path / "scores.npy", logits)
    np.save(tmp_path / "labels.npy", y)
    status = main(["fit", "offsets", str(tmp_path / "scores.npy"), str(tmp_path / "labels.npy"),
                   "--quiet"])
    assert status == 0
    assert "ClassOffsets" in capsys.readouterr().out


def test_messages_that_name_maps_read_the_registry(registered, monkeypatch):
    """The maps a Dask input is sent to come from the registry's flags."""
    da = pytest.importorskip("dask.array", reason="dask is an optional extra")
    monkeypatch.setattr(ClassOffsets, "_streams", True)
    scores = da.from_array(np.random.default_rng(2).normal(size=(60, 3)), chunks=30)
    with pytest.raises(ValueError, match=r"map that streams \(.*ClassOffsets\)"):
        registry.calibrator_class("isotonic")().fit(scores, np.arange(60) % 3)
