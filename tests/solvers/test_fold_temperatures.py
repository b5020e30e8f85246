"""Temperature scaling cross-fitted over folds in shared passes: each fold's fit is
the fit on its training rows alone, in fewer passes, with the same warnings."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skcal import TemperatureScaling
from skcal.comparison._calibrated_models import cross_fitted_log_likelihood
from skcal.solvers._fold_temperatures import cross_fitted_inverse_temperatures
from skcal.solvers._temperature_fit import fit_inverse_temperature


def overconfident(rng, n, k, scale=2.5):
    logits = rng.normal(size=(n, k)).astype(np.float32)
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    return scale * logits, y


@pytest.mark.parametrize("n, k", [(3000, 4), (45000, 100)])
def test_each_fold_is_fitted_as_on_its_training_rows_alone_in_fewer_passes(n, k):
    """Both stop at |beta * gradient| <= tol = 1e-7 (or the rounding level of
    float32 sums over the classes): their betas agree to 1e-6 relative. The
    45000 x 100 logits are large enough for a warm start on a subsample, and
    the five points around it settle every fold in one pass."""
    rng = np.random.default_rng(0)
    logits, y = overconfident(rng, n, k)
    fold = rng.permutation(n) % 5
    weight = rng.uniform(0.5, 2.0, n)
    fits = cross_fitted_inverse_temperatures(logits, y, weight, fold)
    alone = [fit_inverse_temperature(logits[fold != f], y[fold != f], weight[fold != f])
             for f in range(5)]
    for (beta, shared_passes, converged), (expected, passes, _) in zip(fits, alone):
        assert converged and beta == pytest.approx(expected, rel=1e-6)
    assert shared_passes < sum(passes for _, passes, _ in alone)
    if n > 10000:
        assert shared_passes == 1


def test_folds_without_information_or_with_separated_classes_warn_as_alone():
    rng = np.random.default_rng(1)
    y = rng.integers(3, size=600)
    backwards = rng.normal(size=(600, 3)) - 2.0 * np.eye(3)[y]  # the true class lowest
    fold = np.arange(600) % 3
    with pytest.warns(UserWarning, match="carry no information"):
        _, fitted = cross_fitted_log_likelihood(backwards, y, None, fold,
                                                TemperatureScaling(), "logits")
    assert all(np.isinf(fit.temperature_) for fit in fitted)
    separated = np.eye(3)[y] * 5.0  # every row's true class alone on top
    with pytest.warns(ConvergenceWarning, match="no finite optimum"):
        cross_fitted_log_likelihood(separated, y, None, fold, TemperatureScaling(), "logits")


def test_the_folds_calibrators_carry_the_shared_fit():
    rng = np.random.default_rng(2)
    logits, y = overconfident(rng, 2000, 5)
    logits = logits.astype(np.float64)  # sums exact enough for tol=1e-9
    fold = np.arange(2000) % 4
    _, fitted = cross_fitted_log_likelihood(logits, y, None, fold,
                                            TemperatureScaling(tol=1e-9), "logits")
    shared = cross_fitted_inverse_temperatures(logits, y, np.ones(2000), fold, tol=1e-9)
    for f, fit in enumerate(fitted):
        alone = TemperatureScaling(tol=1e-9).fit(logits[fold != f], y[fold != f])
        assert fit.temperature_ == pytest.approx(alone.temperature_, rel=1e-8)
        assert fit.n_iter_ == shared[f][1]  # the passes the folds shared
