"""A temperature over a fitted calibrator, as one calibrator of its class: its
probabilities are the softmax of the calibrator's log-probabilities over the
temperature, also once saved and loaded; maps a temperature does not compose
with are refused by name."""

import numpy as np
import pytest
from scipy.special import log_softmax, softmax

from skcal import (
    BetaCalibration,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    load_calibrator,
    save_calibrator,
)
from skcal.calibrators._temperature_over import followed_by_temperature, temperature_composes

# both sides divide float64 logits by the temperature once; the reference goes
# through log(predict_proba), a few ulps off for each value: 1e-10 allows them
AFTER_A_LOG = 1e-10


def _scores(kind, rng, n=600):
    """(scores, labels, score_type) of a model twice too confident."""
    classes = 2 if kind.startswith("binary") else 3
    logits = rng.normal(scale=2.0, size=(n, classes))
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    logits = 2.0 * logits
    if kind == "binary log-odds":
        return logits[:, 1] - logits[:, 0], y, "logits"
    if kind == "binary probability":
        return softmax(logits, axis=1)[:, 1], y, "probabilities"
    if kind == "probabilities":
        return softmax(logits, axis=1), y, "probabilities"
    return logits, y, "logits"


COMPOSING = [
    (TemperatureScaling, "logits"), (TemperatureScaling, "probabilities"),
    (VectorScaling, "logits"), (VectorScaling, "probabilities"),
    (VectorScaling, "binary log-odds"), (MatrixScaling, "logits"),
    (MatrixScaling, "probabilities"), (PlattScaling, "binary log-odds"),
    (PlattScaling, "binary probability"), (BetaCalibration, "binary probability"),
]


@pytest.mark.parametrize("method, kind", COMPOSING)
def test_a_temperature_over_the_map_divides_its_calibrated_logits(method, kind, tmp_path):
    rng = np.random.default_rng(0)
    X, y, score_type = _scores(kind, rng)
    fitted = method(score_type=score_type).fit(X, y)
    assert temperature_composes(fitted)
    served = np.log(fitted.predict_proba(X))
    for temperature in (0.5, 1.7):
        composed = followed_by_temperature(fitted, temperature)
        assert type(composed) is method
        expected = softmax(served / temperature, axis=1)
        np.testing.assert_allclose(composed.predict_proba(X), expected, rtol=AFTER_A_LOG,
                                   atol=1e-15)
        save_calibrator(composed, tmp_path / "composed.json")
        loaded = load_calibrator(tmp_path / "composed.json")
        np.testing.assert_allclose(loaded.predict_proba(X), expected, rtol=AFTER_A_LOG,
                                   atol=1e-15)
    # the calibrator itself is left as it was
    np.testing.assert_array_equal(np.log(fitted.predict_proba(X)), served)


def test_the_temperature_fitted_on_what_a_map_served_lowers_its_nll():
    # a vector scaling fitted on a model twice too confident, serving a model that
    # became three times more so: a temperature near 3 over it restores the fit
    rng = np.random.default_rng(1)
    X, y, _ = _scores("logits", rng, n=4000)
    vector = VectorScaling().fit(X[:2000], y[:2000])
    served = np.log(vector.predict_proba(3.0 * X[2000:]))
    temperature = TemperatureScaling().fit(served, y[2000:]).temperature_
    assert temperature == pytest.approx(3.0, rel=0.15)
    composed = followed_by_temperature(vector, temperature)
    rows = np.arange(2000)

    def nll(calibrator):
        return -np.log(calibrator.predict_proba(3.0 * X[2000:])[rows, y[2000:]]).mean()

    assert nll(composed) < nll(vector) - 0.1
    refit = VectorScaling().fit(3.0 * X[2000:], y[2000:])
    assert nll(composed) == pytest.approx(nll(refit), abs=0.01)


@pytest.mark.parametrize("method, kind", [(PlattScaling, "logits"),
                                          (BetaCalibration, "probabilities"),
                                          (IsotonicCalibration, "logits")])
def test_maps_a_temperature_does_not_divide_are_refused_by_name(method, kind):
    rng = np.random.default_rng(2)
    X, y, score_type = _scores(kind, rng)
    fitted = method(score_type=score_type).fit(X, y)
    assert not temperature_composes(fitted)
    with pytest.raises(ValueError, match=f"A temperature over a {method.__name__} is no "
                                         "calibrator of one class"):
        followed_by_temperature(fitted, 2.0)
    # what the softmax of its log-probabilities over a temperature would be is not
    # what dividing its parameters gives (the refusal is needed)
    if method is PlattScaling:
        divided = PlattScaling().fit(X, y)
        divided.coef_, divided.intercept_ = fitted.coef_ / 2.0, fitted.intercept_ / 2.0
        wanted = softmax(np.log(fitted.predict_proba(X)) / 2.0, axis=1)
        assert np.abs(divided.predict_proba(X) - wanted).max() > 1e-3


@pytest.mark.parametrize("temperature", [0.0, -1.0, np.nan, np.inf])
def test_a_temperature_must_be_positive_and_finite(temperature):
    rng = np.random.default_rng(3)
    X, y, _ = _scores("logits", rng)
    with pytest.raises(ValueError, match="temperature must be positive and finite"):
        followed_by_temperature(VectorScaling().fit(X, y), temperature)


def test_the_log_softmax_of_the_composed_map_is_the_maps_over_the_temperature():
    # the same identity on the calibrated logits of matrix scaling, written from
    # its fitted parameters, with no probabilities in between
    rng = np.random.default_rng(4)
    X, y, _ = _scores("logits", rng)
    matrix = MatrixScaling().fit(X, y)
    composed = followed_by_temperature(matrix, 4.0)
    logits = X @ matrix.coef_.T + matrix.intercept_
    # the two divide in another order (the parameters, or the product): a few ulps
    # of logits of size 10 at most, far below 1e-12
    np.testing.assert_allclose(np.log(composed.predict_proba(X)),
                               log_softmax(logits / 4.0, axis=1), rtol=1e-12, atol=1e-12)
