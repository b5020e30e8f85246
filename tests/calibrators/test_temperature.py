"""TemperatureScaling: known answers, agreement with scikit-learn, invariants."""

import warnings

import numpy as np
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss

from conftest import sample_labels, softmax
from skcal import TemperatureScaling
from skcal.rows._blocks import Rows
from skcal.solvers._temperature_fit import _TemperatureProblem


class ScoresAsClassifier(ClassifierMixin, BaseEstimator):
    """A 'classifier' whose decision function is its input: scikit-learn's
    calibrators can then be fitted on precomputed logits."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def decision_function(self, X):
        return np.asarray(X)

    def predict(self, X):
        return self.classes_[np.asarray(X).argmax(axis=1)]


def skip_without_sklearn_temperature():
    if "temperature" not in CalibratedClassifierCV._parameter_constraints["method"][0].options:
        pytest.skip(f"scikit-learn {sklearn.__version__} has no CalibratedClassifierCV("
                    "method='temperature') to compare with (added in 1.8)")


def sklearn_inverse_temperature(logits, y):
    skip_without_sklearn_temperature()
    model = FrozenEstimator(ScoresAsClassifier().fit(logits, y))
    fitted = CalibratedClassifierCV(model, method="temperature").fit(logits, y)
    return float(fitted.calibrated_classifiers_[0].calibrators[0].beta_)


def test_recovers_a_known_temperature(known_temperature_logits):
    logits, y, true_temperature = known_temperature_logits
    ts = TemperatureScaling().fit(logits, y)
    assert ts.temperature_ == pytest.approx(true_temperature, rel=0.03)
    assert ts.n_iter_ <= 8  # a few passes over the data, not dozens


def test_equals_scikit_learn_on_real_logits(flsd_logits):
    logits, y = flsd_logits["logits_val"], flsd_logits["y_val"]
    ts = TemperatureScaling().fit(logits, y)
    beta = sklearn_inverse_temperature(logits, y)
    assert 1.0 / ts.temperature_ == pytest.approx(beta, rel=1e-5)
    test_logits, test_y = flsd_logits["logits_test"], flsd_logits["y_test"]
    ours = log_loss(test_y, ts.predict_proba(test_logits))
    theirs = log_loss(test_y, softmax(beta * test_logits))
    assert ours == pytest.approx(theirs, abs=1e-7)
    assert ts.n_iter_ <= 8


def test_gradient_is_zero_at_the_optimum(flsd_logits):
    logits, y = flsd_logits["logits_val"], flsd_logits["y_val"]
    ts = TemperatureScaling().fit(logits, y)
    problem = _TemperatureProblem(Rows(logits), y, None)
    beta = 1.0 / ts.temperature_
    _, grad, _, _ = problem.evaluate(beta)
    assert abs(beta * grad) < 1e-9
    # and the NLL is larger on both sides
    center = problem.evaluate(beta)[0]
    assert problem.evaluate(beta * 1.001)[0] > center
    assert problem.evaluate(beta * 0.999)[0] > center


def test_binary_temperature_is_half_of_scikit_learns():
    """scikit-learn treats one binary score s as the pair (-s, s)."""
    skip_without_sklearn_temperature()
    rng = np.random.default_rng(0)
    s = rng.normal(scale=4.0, size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-s / 3))).astype(int)
    ts = TemperatureScaling().fit(s, y)
    model = FrozenEstimator(ScoresAsClassifier().fit(s[:, None], y))
    sk = CalibratedClassifierCV(model, method="temperature").fit(s[:, None], y)
    beta = float(sk.calibrated_classifiers_[0].calibrators[0].beta_)
    assert ts.temperature_ == pytest.approx(1.0 / (2.0 * beta), rel=1e-5)
    assert ts.temperature_ == pytest.approx(3.0, rel=0.1)


def test_float32_matches_float64(known_temperature_logits):
    logits, y, _ = known_temperature_logits
    t64 = TemperatureScaling().fit(logits, y).temperature_
    t32 = TemperatureScaling().fit(logits.astype(np.float32), y).temperature_
    assert t32 == pytest.approx(t64, rel=1e-5)


def test_large_input_uses_a_warm_start_and_stays_exact():
    rng = np.random.default_rng(5)
    logits = rng.normal(scale=3.0, size=(120_000, 3)).astype(np.float32)
    y = sample_labels(softmax(logits.astype(np.float64) * 0.6), rng)
    ts = TemperatureScaling().fit(logits, y)
    problem = _TemperatureProblem(Rows(logits), y, None)
    _, grad, _, _ = problem.evaluate(1.0 / ts.temperature_)
    assert abs(grad / ts.temperature_) < 1e-6
    assert ts.n_iter_ <= 4


def test_fewer_rows_of_many_values_start_from_a_quarter_of_them(monkeypatch):
    """8192 x 520 logits: too few rows for the 8192-row subsample, enough values
    for one of a quarter of the rows; fewer passes than from 1, the same optimum."""
    import skcal.solvers._temperature_fit as optimize

    rng = np.random.default_rng(8)
    logits = rng.normal(scale=3.0, size=(8192, 520)).astype(np.float32)
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape).astype(np.float32), axis=1)
    warm = TemperatureScaling().fit(logits, y)
    monkeypatch.setattr(optimize, "_WARM_START_MIN_ELEMENTS", logits.size + 1)
    cold = TemperatureScaling().fit(logits, y)
    assert warm.n_iter_ < cold.n_iter_
    assert warm.temperature_ == pytest.approx(cold.temperature_, rel=1e-6)
    _, grad, _, rounding = _TemperatureProblem(Rows(logits), y, None).evaluate(
        1.0 / warm.temperature_)
    assert abs(grad) <= rounding


def test_uninformative_scores_warn_and_predict_uniform():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 3))
    y = sample_labels(softmax(-2 * logits), rng)  # columns anti-aligned with labels
    with pytest.warns(UserWarning, match="carry no information"):
        ts = TemperatureScaling().fit(logits, y)
    assert ts.temperature_ == np.inf
    assert_allclose(ts.predict_proba(logits), 1 / 3)


def test_separable_scores_warn_of_non_convergence():
    y = np.array([0, 1, 2] * 20)
    logits = np.eye(3)[y] * 5.0  # the true class always has the largest logit
    with pytest.warns(ConvergenceWarning, match="no finite optimum"):
        # told: rows that all sum to 5 would be read as five trees' votes
        ts = TemperatureScaling(score_type="logits").fit(logits, y)
    assert ts.temperature_ < 0.5
    assert_allclose(ts.predict_proba(logits)[np.arange(60), y], 1.0, atol=1e-6)


def test_weights_scale_free(known_temperature_logits):
    logits, y, _ = known_temperature_logits
    w = np.random.default_rng(0).random(y.shape[0])
    a = TemperatureScaling().fit(logits, y, sample_weight=w).temperature_
    b = TemperatureScaling().fit(logits, y, sample_weight=1000 * w).temperature_
    assert a == pytest.approx(b, rel=1e-9)


logit_matrices = arrays(
    np.float64,
    st.tuples(st.integers(20, 60), st.integers(2, 6)),
    elements=st.floats(-20, 20, allow_nan=False, allow_subnormal=False),
)


@settings(max_examples=40, deadline=None)
@given(logits=logit_matrices, seed=st.integers(0, 10_000))
def test_never_changes_the_argmax(logits, seed):
    rng = np.random.default_rng(seed)
    y = sample_labels(softmax(logits * 0.5), rng)
    if np.unique(y).shape[0] < 2:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate draws may warn; the argmax must hold
        # logits by construction: generated whole numbers >= 0 ([[2, 0], [0, 0], ...])
        # would otherwise be refused by score_type='auto' as counts or votes
        ts = TemperatureScaling(score_type="logits").fit(logits, y)
    if not np.isfinite(ts.temperature_):
        return  # uniform predictions have no argmax to keep
    proba = ts.predict_proba(logits)
    # where the top logit leads by more than rounding can resolve in probabilities
    ordered = np.sort(logits, axis=1)
    clear_top = ordered[:, -1] - ordered[:, -2] > 1e-9 * (1 + np.abs(ordered[:, -1]))
    assert_array_equal(proba.argmax(axis=1)[clear_top], logits.argmax(axis=1)[clear_top])


def test_binary_problem_equals_the_general_one():
    """Two classes take a one-vector shortcut; it must agree with the K-column path."""
    from skcal.solvers._temperature_fit import _BinaryTemperatureProblem

    rng = np.random.default_rng(7)
    logits = rng.normal(scale=3.0, size=(5000, 2))
    y = sample_labels(softmax(logits / 2), rng)
    w = rng.random(5000)
    d = logits[:, 1] - logits[:, 0]
    general = _TemperatureProblem(Rows(logits), y, w)
    binary = _BinaryTemperatureProblem(d, y, w)
    for beta in (0.1, 0.5, 1.0, 3.0):
        # (nll, gradient, hessian); the fourth value is each one's rounding level
        assert_allclose(binary.evaluate(beta)[:3], general.evaluate(beta)[:3], rtol=1e-10)
    assert binary.gradient_at_zero == pytest.approx(general.gradient_at_zero)
