"""Vector scaling on vocabularies where most classes are absent from the
calibration rows: the Hessian where L-BFGS starts is far from the minimum's,
and the fit refreshes it instead of learning it over hundreds of iterations."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from scipy.special import softmax

import skcal.solvers._vector_fit as vector_fit
from skcal import VectorScaling
from skcal.solvers._temperature_fit import fit_inverse_temperature
from skcal.solvers._vector_fit import VECTOR_SCALING_ALPHA, vector_scaling_loss_grad


def token_logits(n_rows, n_classes, seed=0):
    """float32 logits of an overconfident model over a Zipf-like vocabulary, and
    labels drawn from its true probabilities: most classes never occur."""
    rng = np.random.default_rng(seed)
    true = -1.3 * np.log(np.arange(1, n_classes + 1)) + rng.normal(
        scale=2.0, size=(n_rows, n_classes))
    y = (softmax(true, axis=1).cumsum(axis=1) > rng.random((n_rows, 1))).argmax(axis=1)
    return (1.8 * true).astype(np.float32), y


def penalised_objective(a, b, logits, y):
    beta = fit_inverse_temperature(logits, y)[0]
    params = np.r_[a, b]
    start = np.r_[np.full(a.shape[0], beta), np.zeros(a.shape[0])]
    loss, _ = vector_scaling_loss_grad(params, logits, y, None, logits.shape[0])
    return loss + 0.5 * VECTOR_SCALING_ALPHA * (params - start) @ (params - start)


def test_vector_scaling_converges_in_few_iterations_when_most_classes_are_absent():
    """300 rows of 1000 classes (under 140 of them seen): within 100 iterations,
    where one L-BFGS run in the start's variables took 254 (and warned at 100)."""
    logits, y = token_logits(300, 1000)
    assert np.unique(y).shape[0] < 140
    fitted = VectorScaling(max_iter=100).fit(logits, y)  # a ConvergenceWarning fails
    assert fitted.n_iter_ <= 60


def test_vector_scaling_rounds_end_at_the_minimum_of_a_single_run(monkeypatch):
    """The refreshed rounds end within the fit's relative decrease (1e-12) of the
    minimum that one L-BFGS run reaches when run to machine precision."""
    logits, y = token_logits(300, 1000)
    fitted = VectorScaling().fit(logits, y)
    monkeypatch.setattr(vector_fit, "_ROUND_ITERATIONS", 10**6)  # one run, as before
    beta = fit_inverse_temperature(logits, y)[0]
    a_min, b_min, n_iter, converged = vector_fit.fit_vector_scaling(
        logits, y, None, a0=beta, alpha=VECTOR_SCALING_ALPHA, tol=1e-12, max_iter=5000,
        relative_decrease=1e-16)
    assert converged and n_iter > 100  # the single run does take its hundreds
    minimum = penalised_objective(a_min, b_min, logits, y)
    gap = penalised_objective(fitted.coef_, fitted.intercept_, logits, y) - minimum
    # below the reference by up to 64 units in the last place (its sums reordered)
    assert -64 * np.finfo(np.float64).eps * minimum <= gap <= 1e-12 * minimum


def test_vector_scaling_max_iter_counts_every_round():
    """``max_iter`` bounds the L-BFGS iterations of all rounds together (the fit
    converges in about 35): a fit cut short at 25 warns."""
    logits, y = token_logits(300, 1000)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fitted = VectorScaling(max_iter=25).fit(logits, y)
    assert fitted.n_iter_ <= 25 + 6  # and the Newton steps of its start, 6 at most
