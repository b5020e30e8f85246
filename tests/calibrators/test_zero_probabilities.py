"""Probabilities with exact zeros (a random forest's vote fractions): a calibrator
reads a zero as half the smallest positive probability of its calibration data,
at fit and at predict, wherever the scores are held."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator

from skcal import (
    BetaCalibration,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    load_calibrator,
    save_calibrator,
)
from skcal.calibrators._identity import Uncalibrated
from skcal.metrics import nll

SCALING_MAPS = [TemperatureScaling, VectorScaling, PlattScaling, BetaCalibration]


@pytest.fixture(scope="module")
def forest():
    """A random forest of 100 trees (votes in steps of 0.01, so the floor is
    0.005), its calibration and test probabilities and labels."""
    X, y = make_classification(9000, n_features=20, n_informative=8, n_classes=4,
                               n_clusters_per_class=2, flip_y=0.05, random_state=0)
    model = RandomForestClassifier(100, random_state=0).fit(X[:3000], y[:3000])
    return {"model": model, "X_cal": X[3000:6000], "y_cal": y[3000:6000],
            "X_test": X[6000:], "y_test": y[6000:],
            "P_cal": model.predict_proba(X[3000:6000]), "P_test": model.predict_proba(X[6000:])}


@pytest.mark.parametrize("method", SCALING_MAPS, ids=lambda m: m.__name__)
def test_scaling_maps_on_forest_probabilities_come_near_scikit_learns_sigmoid(forest, method):
    # a zero's log was -708, and the NLL of every scaling map was 0.23 to 0.55 nats
    # above scikit-learn's sigmoid on the probabilities (Platt 0.93, temperature
    # 1.13 against 0.56); read at the floor, they come within 0.03
    assert (forest["P_cal"] == 0).any()
    fitted = method().fit(forest["P_cal"], forest["y_cal"])
    smallest = forest["P_cal"][forest["P_cal"] > 0].min()
    assert fitted.probability_floor_ == pytest.approx(smallest / 2, rel=1e-15)
    sigmoid = CalibratedClassifierCV(FrozenEstimator(forest["model"]), method="sigmoid").fit(
        forest["X_cal"], forest["y_cal"])
    reference = nll(forest["y_test"], sigmoid.predict_proba(forest["X_test"]))
    held_out = nll(forest["y_test"], fitted.predict_proba(forest["P_test"]))
    assert held_out < reference + 0.03
    assert held_out < nll(forest["y_test"], forest["P_test"]) - 0.4


def test_zeros_are_read_as_the_floor_at_fit_and_at_predict(forest):
    fitted = TemperatureScaling().fit(forest["P_cal"], forest["y_cal"])
    floor = fitted.probability_floor_

    def raised(P):  # never below the floor; rows summing to one again
        P = np.maximum(P, floor)
        return P / P.sum(axis=1, keepdims=True)

    # a row's scale does not change softmax(log p / T): the same map as one fitted
    # on probabilities that hold no zero
    other = TemperatureScaling().fit(raised(forest["P_cal"]), forest["y_cal"])
    assert other.probability_floor_ is None
    # 1e-9: the same optimum, its sums of other numbers
    assert fitted.temperature_ == pytest.approx(other.temperature_, rel=1e-9)
    assert_allclose(fitted.predict_proba(forest["P_test"]),
                    other.predict_proba(raised(forest["P_test"])), rtol=1e-9, atol=1e-15)


def test_one_probability_of_the_positive_class_counts_its_ones_as_zeros():
    rng = np.random.default_rng(3)
    p = np.round(rng.random(2000), 2)  # votes of 100 trees, 0 and 1 among them
    y = (rng.random(2000) < p).astype(int)
    fitted = PlattScaling().fit(p, y)
    assert fitted.probability_floor_ == pytest.approx(0.005, rel=1e-12)
    assert np.isfinite(fitted.predict_proba(np.array([0.0, 1.0]))).all()
    assert PlattScaling().fit(np.clip(p, 0.01, 0.99), y).probability_floor_ is None


def test_the_uncalibrated_baseline_keeps_the_zeros(forest):
    baseline = Uncalibrated().fit(forest["P_cal"], forest["y_cal"])
    assert baseline.probability_floor_ is None
    proba = baseline.predict_proba(forest["P_test"])
    assert_allclose(proba, forest["P_test"], rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("response_method", ["predict_proba", "predict_log_proba"])
def test_a_wrapped_forest_reads_its_zeros_as_the_scores_do(forest, response_method):
    wrapped = TemperatureScaling(FrozenEstimator(forest["model"]),
                                 response_method=response_method)
    wrapped.fit(forest["X_cal"], forest["y_cal"])
    on_scores = TemperatureScaling().fit(forest["P_cal"], forest["y_cal"])
    # the floor from the log-probabilities goes through exp and log: 1e-12 relative
    assert wrapped.probability_floor_ == pytest.approx(on_scores.probability_floor_,
                                                       rel=1e-12)
    assert wrapped.temperature_ == pytest.approx(on_scores.temperature_, rel=1e-9)
    assert_allclose(wrapped.predict_proba(forest["X_test"]),
                    on_scores.predict_proba(forest["P_test"]), rtol=1e-9, atol=1e-15)


def test_a_cross_fitted_forest_reads_its_zeros_at_one_floor(forest):
    X = np.concatenate([forest["X_cal"], forest["X_test"]])
    y = np.concatenate([forest["y_cal"], forest["y_test"]])
    fitted = PlattScaling(RandomForestClassifier(50, random_state=0), cv=3).fit(X, y)
    assert fitted.probability_floor_ == pytest.approx(0.01, rel=1e-12)  # votes of 50 trees


def test_memory_maps_and_dask_arrays_find_the_same_floor(forest, tmp_path):
    path = tmp_path / "proba.npy"
    np.save(path, forest["P_cal"])
    in_memory = TemperatureScaling().fit(forest["P_cal"], forest["y_cal"])
    mapped = TemperatureScaling().fit(np.load(path, mmap_mode="r"), forest["y_cal"])
    assert mapped.probability_floor_ == in_memory.probability_floor_
    # 1e-9: the same optimum, its sums taken block by block
    assert mapped.temperature_ == pytest.approx(in_memory.temperature_, rel=1e-9)
    da = pytest.importorskip("dask.array", reason="Dask is an optional extra (skcal[dask])")
    on_dask = TemperatureScaling().fit(da.from_array(forest["P_cal"], chunks=700),
                                       forest["y_cal"])
    assert on_dask.probability_floor_ == in_memory.probability_floor_
    assert on_dask.temperature_ == pytest.approx(in_memory.temperature_, rel=1e-9)


def test_scores_on_a_device_find_the_same_floor(forest):
    xp = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
    import sklearn

    in_memory = TemperatureScaling().fit(forest["P_cal"], forest["y_cal"])
    with sklearn.config_context(array_api_dispatch=True):
        on_device = TemperatureScaling().fit(xp.asarray(forest["P_cal"]),
                                             xp.asarray(forest["y_cal"]))
        proba = np.asarray(on_device.predict_proba(xp.asarray(forest["P_test"])))
    assert on_device.probability_floor_ == in_memory.probability_floor_
    # 1e-9: the same optimum, its sums taken in the device's order
    assert_allclose(proba, in_memory.predict_proba(forest["P_test"]), rtol=1e-9, atol=1e-15)


def test_the_floor_is_saved_and_a_calibrator_without_one_keeps_format_1(forest, tmp_path):
    fitted = VectorScaling().fit(forest["P_cal"], forest["y_cal"])
    path = tmp_path / "vector.json"
    save_calibrator(fitted, path)
    content = json.loads(path.read_text())
    assert (content["format_version"], content["probability_floor"]) == (
        2, fitted.probability_floor_)
    loaded = load_calibrator(path)
    assert_allclose(loaded.predict_proba(forest["P_test"]),
                    fitted.predict_proba(forest["P_test"]), rtol=0, atol=0)
    on_logits = VectorScaling().fit(np.log(forest["P_cal"] + 0.01), forest["y_cal"])
    save_calibrator(on_logits, path)
    content = json.loads(path.read_text())
    assert content["format_version"] == 1 and "probability_floor" not in content
