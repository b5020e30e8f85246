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
    root_of_five,
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


def test_a_start_at_the_optimum_settles_whatever_sign_its_gradients_rounding_takes():
    """Five points about an optimum that the start hits: the middle gradient is at
    the rounding level, and the Hermite polynomial through the five, exact only to
    rounding, can take the other sign there (scipy 1.12 did on the fit above, at
    100 classes: 2.3e-17 against -9.3e-18), which left no sign change for the
    root's bracket ("f(a) and f(b) must have different signs"). Each such middle
    gradient, of either sign, settles at the middle point."""
    betas = 0.33270469902403643 * 1.05 ** np.arange(-2, 3)
    grads = np.array([-0.42858696682819902, -0.21720380949102649, 0.0,
                      0.22235684214005647, 0.44903739069974491])
    slopes = np.array([14.146687099212848, 13.867740487403438, 13.547020221352831,
                       13.181522487784838, 12.769223036242405])
    tiny = np.geomspace(1e-19, 1e-15, 15)
    for middle in np.r_[tiny, -tiny, 0.0]:
        grads[2] = middle
        evaluations = [(0.0, g, s, 1e-16) for g, s in zip(grads, slopes)]
        settled, (root, _) = root_of_five(betas, evaluations, tol=1e-7)
        # the root is within |gradient| / slope (below 1e-16) of the middle point,
        # or brentq's xtol (1e-14 of the interval's end) when it is bracketed
        assert settled and root == pytest.approx(betas[2], rel=1e-12, abs=0.0)
