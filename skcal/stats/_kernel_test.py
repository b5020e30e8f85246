"""The kernel calibration test of Widmann, Lindsten and Zachariah, on the SKCE.

- Linear estimator: a mean of independent terms, so its normal approximation
  gives the p-value and a confidence interval.
- Quadratic estimators: under calibration their terms form a degenerate
  U- (or V-) statistic, whose null distribution the wild bootstrap
  reproduces: the statistic recomputed with each row's residual multiplied by
  a random sign. All resamples come from the same kernel blocks, one matrix
  product each. Or, without resampling, the distribution-free bound of the
  paper (valid for any sample size, and conservative).
"""

import numpy as np
from scipy.stats import norm

from ..metrics._skce import (
    linear_terms,
    probabilities_and_residuals,
    quadratic_estimate,
    quadratic_sums,
    resolve_bandwidth,
)
from ._consistency import resampling_pvalue

# |h_ij| <= 2 for a kernel bounded by 1 (the paper's B_{p;q})
_TERM_BOUND = 2.0
# rows x resamples of one chunk of random signs
_SIGN_VALUES = 2**24


def _linear_test(proba, residuals, bandwidth):
    terms = linear_terms(proba, residuals, bandwidth)
    if terms.shape[0] < 2:
        raise ValueError("The linear SKCE test needs at least 4 samples (2 pairs).")
    estimate = float(terms.mean())
    standard_error = float(terms.std(ddof=1) / np.sqrt(terms.shape[0]))
    if standard_error == 0:
        raise ValueError(
            "Every pair of rows has the same SKCE term, so the linear test has no "
            "spread to compare against; use estimator='unbiased'."
        )
    pvalue = float(norm.sf(estimate / standard_error))

    def interval(confidence_level):
        half = norm.ppf((1 + confidence_level) / 2) * standard_error
        return estimate - half, estimate + half

    return estimate, pvalue, None, interval


def _bound_pvalue(estimate, n_samples, estimator):
    """The distribution-free bounds of Widmann et al. (2019), Theorem 3 / Corollary."""
    if estimator == "biased":
        s = max(np.sqrt(n_samples * estimate / _TERM_BOUND) - 1.0, 0.0)
        return float(np.exp(-(s**2) / 2))
    if estimate <= 0:
        return 1.0
    return float(np.exp(-(n_samples // 2) * estimate**2 / (2 * _TERM_BOUND**2)))


def kernel_test(y_true, y_prob, *, estimator, bandwidth, null, n_resamples, labels, rng,
                n_jobs=None):
    """(statistic, pvalue, null distribution or None, interval function or None)."""
    proba, residuals = probabilities_and_residuals(y_true, y_prob, labels)
    n_samples = proba.shape[0]
    if n_samples < 2:
        raise ValueError(f"The SKCE test needs at least 2 samples; got {n_samples}.")
    bandwidth = resolve_bandwidth(bandwidth, proba, n_jobs)
    if estimator == "linear":
        return _linear_test(proba, residuals, bandwidth)
    if null == "bound":
        total, _ = quadratic_sums(proba, residuals, bandwidth, n_jobs=n_jobs)
        estimate = quadratic_estimate(total, residuals, estimator)
        return estimate, _bound_pvalue(estimate, n_samples, estimator), None, None
    chunk = max(1, _SIGN_VALUES // n_samples)
    forms = []
    total = None
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(n_samples, size))
        total, chunk_forms = quadratic_sums(proba, residuals, bandwidth, signs, n_jobs)
        forms.append(chunk_forms)
    null_distribution = quadratic_estimate(np.concatenate(forms), residuals, estimator)
    estimate = quadratic_estimate(total, residuals, estimator)
    return estimate, resampling_pvalue(estimate, null_distribution), null_distribution, None
