"""VectorScaling, PlattScaling and IsotonicCalibration: known answers and invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.optimize import check_grad
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import log_loss

from conftest import sample_labels, softmax
from skcal import (
    IsotonicCalibration,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
)
from skcal.calibrators._registry import CALIBRATORS
from skcal.solvers._vector_fit import vector_scaling_loss_grad
from skcal.rows._one_vs_rest import class_scores, one_vs_rest_logits
from test_temperature import ScoresAsClassifier


# ----------------------------------------------------------------- vector
def test_vector_scaling_recovers_known_scales_and_offsets():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(60000, 3))
    a, b = np.array([2.0, 1.0, 0.5]), np.array([0.5, 0.0, -0.5])
    y = sample_labels(softmax(logits * a + b), rng)
    vs = VectorScaling(alpha=0.0).fit(logits, y)
    assert_allclose(vs.coef_, a, atol=0.05)
    assert_allclose(vs.intercept_, b - b.mean(), atol=0.05)


def test_vector_scaling_gradient_is_exact():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 4))
    y = rng.integers(0, 4, size=300)
    w = rng.random(300)
    params = rng.normal(size=8)

    def loss(p):
        return vector_scaling_loss_grad(p, logits, y, w, w.sum())[0]

    def grad(p):
        return vector_scaling_loss_grad(p, logits, y, w, w.sum())[1]

    assert check_grad(loss, grad, params) < 1e-6


def test_vector_scaling_fits_no_worse_than_temperature(flsd_logits):
    logits, y = flsd_logits["logits_val"], flsd_logits["y_val"]
    ts = TemperatureScaling().fit(logits, y)
    for alpha in (0.0, 1e-3, 1.0):
        vs = VectorScaling(alpha=alpha).fit(logits, y)
        assert log_loss(y, vs.predict_proba(logits)) <= log_loss(y, ts.predict_proba(logits))


def test_vector_scaling_penalty_pulls_toward_temperature(flsd_logits):
    logits, y = flsd_logits["logits_val"], flsd_logits["y_val"]
    inverse_t = 1.0 / TemperatureScaling().fit(logits, y).temperature_
    distances = [
        np.abs(VectorScaling(alpha=alpha).fit(logits, y).coef_ - inverse_t).max()
        for alpha in (0.0, 0.1, 10.0)
    ]
    assert distances[0] > distances[1] > distances[2]
    assert distances[2] < 0.01


def test_vector_scaling_stays_finite_when_a_class_is_separated():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(400, 3))
    y = sample_labels(softmax(logits), rng)
    logits[y == 0, 0] += 20.0  # class 0 is separated by its own logit
    vs = VectorScaling().fit(logits, y)
    assert np.abs(vs.coef_).max() < 50


# ------------------------------------------------------------------ platt
def test_platt_recovers_a_known_sigmoid():
    rng = np.random.default_rng(0)
    s = rng.normal(scale=3.0, size=200_000)
    y = (rng.random(s.shape[0]) < 1 / (1 + np.exp(-(0.4 * s + 0.7)))).astype(int)
    platt = PlattScaling().fit(s, y)
    assert platt.coef_[0] == pytest.approx(0.4, rel=0.02)
    assert platt.intercept_[0] == pytest.approx(0.7, abs=0.02)
    assert platt.n_iter_[0] <= 10


def test_platt_smoothing_equals_scikit_learn_sigmoid():
    rng = np.random.default_rng(3)
    s = rng.normal(scale=2.0, size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-s))).astype(int)
    ours = PlattScaling(smoothing=True).fit(s, y)
    model = FrozenEstimator(ScoresAsClassifier().fit(s[:, None], y))
    theirs = CalibratedClassifierCV(model, method="sigmoid").fit(s[:, None], y)
    # scikit-learn stops L-BFGS at a gradient tolerance of 1e-6
    assert_allclose(ours.predict_proba(s), theirs.predict_proba(s[:, None]), atol=1e-5)


def test_platt_nll_at_most_scikit_learns_on_real_logits(flsd_logits):
    logits, y = flsd_logits["logits_val"], flsd_logits["y_val"]
    ours = PlattScaling().fit(logits, y)
    model = FrozenEstimator(ScoresAsClassifier().fit(logits, y))
    theirs = CalibratedClassifierCV(model, method="sigmoid").fit(logits, y)
    assert log_loss(y, ours.predict_proba(logits)) <= log_loss(y, theirs.predict_proba(logits))


def test_platt_binary_nll_at_most_scikit_learns():
    rng = np.random.default_rng(4)
    s = rng.normal(scale=2.0, size=5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(0.3 * s - 1)))).astype(int)
    ours = PlattScaling().fit(s, y)
    model = FrozenEstimator(ScoresAsClassifier().fit(s[:, None], y))
    theirs = CalibratedClassifierCV(model, method="sigmoid").fit(s[:, None], y)
    assert log_loss(y, ours.predict_proba(s)) <= log_loss(y, theirs.predict_proba(s[:, None]))


def test_platt_separated_class_falls_back_to_smoothed_targets():
    s = np.r_[np.linspace(-3, -1, 50), np.linspace(1, 3, 50)]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    with pytest.warns(UserWarning, match="separate class"):
        platt = PlattScaling().fit(s, y)
    smoothed = PlattScaling(smoothing=True).fit(s, y)
    assert_allclose(platt.coef_, smoothed.coef_)
    assert np.isfinite(platt.coef_).all()


def test_one_vs_rest_logits_are_exact():
    logits = np.array([[0.0, 1.0, -2.0], [50.0, 0.0, 0.0], [-800.0, 0.0, 0.0]])
    p = softmax(logits[:1])
    expected = np.log(p) - np.log1p(-p)  # fine for a moderate row only
    got = one_vs_rest_logits(logits)
    # row 1: p_0 is 1 - 2e-22, so log(1 - p_0) = log(2) - 50 exactly, not -inf
    assert got[1, 0] == pytest.approx(50.0 - np.log(2.0))
    assert_allclose(got[0], expected[0])
    assert got[2, 0] == pytest.approx(-800.0 - np.log(2.0))
    assert_allclose(got[2, 1:], [0.0, 0.0], atol=1e-12)


# --------------------------------------------------------------- isotonic
def test_isotonic_binary_equals_scikit_learn():
    rng = np.random.default_rng(0)
    s = rng.normal(size=500)
    y = (rng.random(500) < 1 / (1 + np.exp(-2 * s))).astype(int)
    ours = IsotonicCalibration().fit(s, y)
    bound = 1 / 502  # Laplace bounds of 500 samples
    theirs = IsotonicRegression(out_of_bounds="clip", y_min=bound, y_max=1 - bound).fit(s, y)
    grid = np.linspace(-4, 4, 101)  # includes scores outside the fitted range
    assert_allclose(ours.predict_proba(grid)[:, 1], theirs.predict(grid), atol=1e-12)


def test_isotonic_multiclass_equals_scikit_learn_per_class_with_ties_and_weights():
    """Each class's map is scikit-learn's regression of ``y == k`` on its one-vs-rest
    score, also with tied scores and zero weights (rows scikit-learn drops)."""
    rng = np.random.default_rng(3)
    logits = np.round(rng.normal(scale=2.0, size=(2000, 4)), 1)  # many ties
    y = sample_labels(softmax(logits), rng)
    weight = rng.exponential(size=2000) * (rng.random(2000) > 0.2)
    ours = IsotonicCalibration().fit(logits, y, sample_weight=weight)
    bound = 1 / (weight.sum() + 2)
    grid = rng.normal(scale=3.0, size=(500, 4))
    fitted_scores, _ = class_scores(logits)
    grid_scores, _ = class_scores(grid)
    for k in range(4):
        theirs = IsotonicRegression(out_of_bounds="clip", y_min=bound, y_max=1 - bound).fit(
            fitted_scores[:, k], (y == k).astype(float), weight)
        assert_allclose(np.interp(grid_scores[:, k], ours.X_thresholds_[k],
                                  ours.y_thresholds_[k]), theirs.predict(grid_scores[:, k]),
                        rtol=0, atol=1e-15)
        assert_allclose(ours.isotonic_[k].predict(grid_scores[:, k]),
                        theirs.predict(grid_scores[:, k]), rtol=0, atol=1e-15)


def test_isotonic_regressions_are_not_there_before_fit():
    assert not hasattr(IsotonicCalibration(), "isotonic_")


def test_isotonic_is_monotone_per_class_and_normalised():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(3000, 3))
    y = sample_labels(softmax(logits), rng)
    iso = IsotonicCalibration().fit(logits, y)
    proba = iso.predict_proba(logits)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.min() > 0 and proba.max() < 1  # never exactly 0 or 1
    for k, regression in enumerate(iso.isotonic_):
        grid = np.linspace(-10, 10, 200)
        assert np.all(np.diff(regression.predict(grid)) >= 0), k


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), Calibrator=st.sampled_from(
    [entry.cls for entry in CALIBRATORS]
))
def test_permuting_classes_permutes_the_output(seed, Calibrator):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(300, 4))
    y = sample_labels(softmax(logits), rng)
    if np.unique(y).shape[0] < 4:
        return
    order = rng.permutation(4)
    inverse = np.argsort(order)
    original = Calibrator().fit(logits, y).predict_proba(logits)
    permuted = Calibrator().fit(logits[:, order], inverse[y]).predict_proba(logits[:, order])
    assert_allclose(permuted, original[:, order], atol=1e-6)


@pytest.mark.parametrize("offset", [0.0, 550.0, -580.0, 5000.0, -5000.0])
def test_softmax_block_with_or_without_the_row_shift(offset):
    """Blocks within +-600 are exponentiated unshifted, others less their row
    maxima: both give scipy's log-softmax and the NLL it implies."""
    from scipy.special import log_softmax

    from skcal.solvers._block_softmax import softmax_in_place

    rng = np.random.default_rng(7)
    logits = rng.normal(scale=8.0, size=(300, 20)) + offset
    y = rng.integers(0, 20, 300)
    w = rng.uniform(0.5, 2.0, 300)
    expected = log_softmax(logits, axis=1)
    loss, proba = softmax_in_place(logits.copy(), y, w)
    assert_allclose(proba, np.exp(expected), rtol=1e-12, atol=1e-300)
    assert_allclose(loss, -w @ expected[np.arange(300), y], rtol=1e-12)
