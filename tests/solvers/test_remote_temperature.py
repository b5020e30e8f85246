"""The temperature's solver for rows held elsewhere (one Spark job a pass): from a
start within 10 % of the optimum, one pass at five points and the root of their
Hermite interpolant; the same optimum as the in-memory solver."""

import numpy as np
import pytest

from skcal.rows._blocks import Rows
from skcal.solvers._temperature_fit import (
    _TemperatureProblem,
    _solve_remote_temperature,
    fit_inverse_temperature,
)


@pytest.mark.parametrize("n_classes, scale, temperature", [
    (2, 2.0, 1.5), (10, 2.0, 1.5), (100, 4.0, 3.0), (3, 8.0, 0.5)])
@pytest.mark.parametrize("off", [0.92, 1.0, 1.09])
def test_one_pass_from_a_near_start(n_classes, scale, temperature, off):
    rng = np.random.default_rng(n_classes)
    z = rng.normal(scale=scale, size=(40_000, n_classes))
    y = np.argmax(z / temperature + rng.gumbel(size=z.shape), axis=1)
    expected, _, _ = fit_inverse_temperature(z, y)
    problem = _TemperatureProblem(Rows(z), y, None)
    beta, converged = _solve_remote_temperature(problem, expected * off, tol=1e-7,
                                                max_iter=100)
    assert converged and problem.n_passes == 1
    # the in-memory solver's optimum, to far below the 1e-8 that Spark fits promise
    assert beta == pytest.approx(expected, rel=1e-10)


def test_a_far_start_goes_on_with_newton():
    rng = np.random.default_rng(0)
    z = rng.normal(scale=2.0, size=(20_000, 4))
    y = np.argmax(z / 1.5 + rng.gumbel(size=z.shape), axis=1)
    expected, _, _ = fit_inverse_temperature(z, y)
    problem = _TemperatureProblem(Rows(z), y, None)
    beta, converged = _solve_remote_temperature(problem, expected * 1.5, tol=1e-7,
                                                max_iter=100)
    assert converged and problem.n_passes > 1
    assert beta == pytest.approx(expected, rel=1e-10)
