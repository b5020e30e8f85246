"""``calibration_test``: is this model calibrated? A p-value, four ways."""

from numbers import Integral, Real

import numpy as np
from scipy.stats import chi2, norm
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..metrics._checks import probability_matrix
from ._consistency import (
    accepts,
    consistency_statistic,
    random_generator,
    resampling_pvalue,
)
from ._kernel_test import kernel_test
from ._results import CalibrationTestResult

# each method's own parameters and their defaults
_METHOD_DEFAULTS = {
    "consistency": {"metric": "ece", "n_bins": 15, "strategy": "uniform",
                    "n_resamples": 1000, "random_state": None},
    "skce": {"estimator": "unbiased", "bandwidth": "median", "null": None,
             "n_resamples": 1000, "random_state": None},
    "spiegelhalter": {},
    "hosmer_lemeshow": {"n_groups": 10},
}
_CONSISTENCY_METRICS = {"ece", "classwise_ece", "brier", "nll"}
TEST_METHODS = tuple(_METHOD_DEFAULTS)


def _method_options(method, given):
    """The method's parameters, defaults filled in; a parameter given that the
    method does not use is an error, not silently dropped."""
    defaults = _METHOD_DEFAULTS[method]
    unused = sorted(name for name, value in given.items()
                    if value is not None and name not in defaults)
    if unused:
        raise ValueError(
            f"{', '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply to "
            f"method={method!r}; its parameters are {sorted(defaults) or 'none'}."
        )
    return {name: given[name] if given.get(name) is not None else default
            for name, default in defaults.items()}


def _binary(y_index, proba, method):
    if proba.shape[1] != 2:
        raise ValueError(
            f"method={method!r} tests binary predictions; these have {proba.shape[1]} "
            "classes. Use method='consistency' or method='skce', which take any number."
        )
    return proba[:, 1], (y_index == 1).astype(np.float64)


def _spiegelhalter(y_index, proba, sample_weight=None):
    p, y = _binary(y_index, proba, "spiegelhalter")
    weight = np.ones_like(p) if sample_weight is None else sample_weight
    # each row one Bernoulli draw, its term weighted: a sum of independent terms
    variance = np.sum(weight**2 * (1 - 2 * p) ** 2 * p * (1 - p))
    if variance <= 0:
        raise ValueError(
            "Spiegelhalter's Z has no variance here: every probability is 0, 0.5 or 1. "
            "Use method='consistency'."
        )
    z = float(np.sum(weight * (y - p) * (1 - 2 * p)) / np.sqrt(variance))
    return z, float(2 * norm.sf(abs(z)))


def _hosmer_lemeshow(y_index, proba, n_groups):
    p, y = _binary(y_index, proba, "hosmer_lemeshow")
    if n_groups > p.shape[0]:
        raise ValueError(f"n_groups={n_groups} is more than the {p.shape[0]} samples.")
    groups = np.array_split(np.argsort(p, kind="stable"), n_groups)
    observed = np.array([y[g].sum() for g in groups])
    expected = np.array([p[g].sum() for g in groups])
    size = np.array([g.shape[0] for g in groups], dtype=np.float64)
    variance = expected * (1 - expected / size)
    gap = (observed - expected) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(variance > 0, gap / variance, np.where(gap > 0, np.inf, 0.0))
    statistic = float(terms.sum())
    return statistic, float(chi2.sf(statistic, df=n_groups))


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "method": [StrOptions(set(TEST_METHODS))],
        "metric": [StrOptions(_CONSISTENCY_METRICS), callable, None],
        "n_bins": [Interval(Integral, 1, None, closed="left"), None],
        "strategy": [StrOptions({"uniform", "quantile"}), None],
        "estimator": [StrOptions({"unbiased", "biased", "linear"}), None],
        "bandwidth": [StrOptions({"median"}), Interval(Real, 0, None, closed="neither"), None],
        "null": [StrOptions({"bootstrap", "bound", "normal"}), None],
        "n_groups": [Interval(Integral, 1, None, closed="left"), None],
        "n_resamples": [Interval(Integral, 1, None, closed="left"), None],
        "labels": ["array-like", None],
        "sample_weight": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def calibration_test(y_true, y_prob, *, method="consistency", metric=None, n_bins=None,
                     strategy=None, estimator=None, bandwidth=None, null=None, n_groups=None,
                     n_resamples=None, labels=None, sample_weight=None, random_state=None):
    """Test the null hypothesis that the predicted probabilities are calibrated.

    A small p-value says the observed miscalibration is unlikely to be chance;
    a large one says the data cannot tell this model from a calibrated one (not
    that it is calibrated: with few samples no test has power).

    - ``'consistency'`` (Bröcker and Smith 2007): labels are drawn from the
      predicted probabilities themselves, ``n_resamples`` times, which is what
      a calibrated model's labels would look like; the p-value is the share of
      draws whose ``metric`` is at least the observed one. Any number of
      classes; exact at any sample size, up to Monte Carlo error.
    - ``'skce'`` (Widmann, Lindsten and Zachariah 2019): the kernel test on
      :func:`skcal.metrics.skce`, without bins. With ``estimator='linear'``,
      a normal approximation (``null='normal'``); with ``'unbiased'`` or
      ``'biased'``, the wild bootstrap (``null='bootstrap'``, the default) or
      the paper's distribution-free bound (``null='bound'``: valid at any
      sample size but very conservative, it rarely rejects below thousands of
      samples).
    - ``'spiegelhalter'`` (1986): binary only; the Z-test of
      ``sum (y - p)(1 - 2p)``, two-sided. Fast and sensitive to a model that
      is too confident or not confident enough, blind to other shapes.
    - ``'hosmer_lemeshow'`` (1980): binary only; ``n_groups`` groups of equal
      size by predicted probability, chi-square of observed against expected
      events with ``n_groups`` degrees of freedom, the reference distribution
      for probabilities not fitted on these rows (held-out evaluation). The
      result depends on the grouping.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities; for a binary problem, 1-D probabilities of the
        second class are accepted too.

    method : {'consistency', 'skce', 'spiegelhalter', 'hosmer_lemeshow'}, \
            default='consistency'
        Which test (see above).

    metric : {'ece', 'classwise_ece', 'brier', 'nll'} or callable, default='ece'
        ``'consistency'`` only: the statistic resampled. ``'ece'`` is
        :func:`skcal.metrics.expected_calibration_error` (top-label),
        ``'classwise_ece'`` its classwise variant, ``'brier'`` and ``'nll'``
        the proper scores, tested two-sided (a score lower than a calibrated
        model's, as an underconfident model gives, counts against calibration
        too). The ECE metrics and a callable are tested one-sided (larger is
        further from calibration). A callable ``metric(y_true, y_prob)`` is called
        once per resample with the drawn labels.

    n_bins : int, default=15
        ``'consistency'`` with an ECE metric: the number of bins.

    strategy : {'uniform', 'quantile'}, default='uniform'
        ``'consistency'`` with an ECE metric: equal-width or equal-mass bins.

    estimator : {'unbiased', 'biased', 'linear'}, default='unbiased'
        ``'skce'`` only: the SKCE estimator tested.

    bandwidth : 'median' or float, default='median'
        ``'skce'`` only: the kernel's bandwidth, as in
        :func:`skcal.metrics.skce`.

    null : {'bootstrap', 'bound', 'normal'}, default=None
        ``'skce'`` only: how the p-value is found. None picks ``'normal'`` for
        the linear estimator and ``'bootstrap'`` for the quadratic ones.

    n_groups : int, default=10
        ``'hosmer_lemeshow'`` only: the number of groups.

    n_resamples : int, default=1000
        The resampling tests: number of resamples. The p-value is never below
        ``1 / (n_resamples + 1)``.

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_prob``, as in :func:`skcal.metrics.nll`.

    sample_weight : array-like of shape (n_samples,), default=None
        ``'consistency'`` and ``'spiegelhalter'``: each row's weight in the
        statistic (the weighted metric, the weighted sum of Spiegelhalter's
        terms), each row still one label drawn from its probabilities. That
        is the null of weights that stand for a population (importance
        weights); for a row that stands for several identical observations
        (counts), the test is valid but less powerful than on the rows
        repeated. ``'skce'`` and ``'hosmer_lemeshow'`` take no weights.

    random_state : int, RandomState instance or None, default=None
        The resampling tests: seed of the draws.

    Returns
    -------
    result : CalibrationTestResult
        ``statistic``, ``pvalue``, ``method``, ``null_distribution`` (the
        resampled statistics, or None) and ``confidence_interval()`` where the
        test has one.

    See Also
    --------
    bootstrap : A confidence interval for any metric.
    skcal.ReliabilityDisplay : ``consistency_band=`` shows the consistency
        resampling per bin.

    References
    ----------
    J. Bröcker, L. A. Smith, "Increasing the Reliability of Reliability
    Diagrams", Weather and Forecasting 22, 2007.
    D. Widmann, F. Lindsten, D. Zachariah, "Calibration tests in multi-class
    classification: A unifying framework", NeurIPS 2019.
    K. Chwialkowski, D. Sejdinovic, A. Gretton, "A wild bootstrap for
    degenerate kernel tests", NeurIPS 2014.
    D. J. Spiegelhalter, "Probabilistic prediction in patient management and
    clinical trials", Statistics in Medicine 5, 1986.
    D. W. Hosmer, S. Lemeshow, "Goodness of fit tests for the multiple logistic
    regression model", Communications in Statistics 9, 1980.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.stats import calibration_test
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=3000)
    >>> y = rng.uniform(size=3000) < 0.5 + 0.7 * (p - 0.5)  # overconfident
    >>> result = calibration_test(y, p, random_state=0)
    >>> round(result.statistic, 3), result.pvalue
    (0.092, 0.000999000999000999)
    >>> round(calibration_test(y, p, method="spiegelhalter").pvalue, 6)
    0.0
    >>> calibrated = rng.uniform(size=3000) < p
    >>> round(calibration_test(calibrated, p, method="skce", random_state=0).pvalue, 2)
    0.82
    """
    options = _method_options(method, {
        "metric": metric, "n_bins": n_bins, "strategy": strategy, "estimator": estimator,
        "bandwidth": bandwidth, "null": null, "n_groups": n_groups,
        "n_resamples": n_resamples, "random_state": random_state,
    })
    if sample_weight is not None and method in ("skce", "hosmer_lemeshow"):
        raise ValueError(
            f"method={method!r} takes no sample_weight; use method='consistency' or "
            "'spiegelhalter', which weigh each row's term, or leave the weights out.")
    if method == "skce":
        resampling_given = n_resamples is not None or random_state is not None
        return _skce_result(y_true, y_prob, labels, options, resampling_given)
    y_index, proba, labels, sample_weight = probability_matrix(
        y_true, y_prob, labels=labels, sample_weight=sample_weight)
    if method == "spiegelhalter":
        statistic, pvalue = _spiegelhalter(y_index, proba, sample_weight)
        return CalibrationTestResult(statistic, pvalue, method)
    if method == "hosmer_lemeshow":
        statistic, pvalue = _hosmer_lemeshow(y_index, proba, options["n_groups"])
        return CalibrationTestResult(statistic, pvalue, method)
    if options["metric"] not in ("ece", "classwise_ece") and (n_bins or strategy):
        raise ValueError("n_bins and strategy apply to the ECE metrics only.")
    rng = random_generator(options["random_state"])
    if (sample_weight is not None and callable(options["metric"])
            and not accepts(options["metric"], "sample_weight")):
        raise ValueError(
            "sample_weight was given, but the metric takes none; pass a metric with a "
            "sample_weight parameter, or no weights.")
    statistic = consistency_statistic(y_index, proba, options["metric"], options["n_bins"],
                                      options["strategy"], labels, sample_weight)
    observed = statistic.observed()
    null_distribution = statistic.resampled(options["n_resamples"], rng)
    # a proper score is too high when the model is overconfident and too low when
    # it is underconfident: both tails count against calibration
    two_sided = options["metric"] in ("brier", "nll")
    pvalue = resampling_pvalue(observed, null_distribution, two_sided)
    return CalibrationTestResult(observed, pvalue, method, null_distribution)


def _skce_result(y_true, y_prob, labels, options, resampling_given):
    estimator, null = options["estimator"], options["null"]
    if null is None:
        null = "normal" if estimator == "linear" else "bootstrap"
    if (estimator == "linear") != (null == "normal"):
        raise ValueError(
            f"null={null!r} does not go with estimator={estimator!r}: the linear "
            "estimator uses null='normal', the quadratic ones 'bootstrap' or 'bound'."
        )
    if resampling_given and null != "bootstrap":
        raise ValueError(
            f"n_resamples and random_state apply to null='bootstrap' only; the "
            f"{null!r} p-value draws nothing."
        )
    rng = random_generator(options["random_state"])
    statistic, pvalue, null_distribution, interval = kernel_test(
        y_true, y_prob, estimator=estimator, bandwidth=options["bandwidth"], null=null,
        n_resamples=options["n_resamples"], labels=labels, rng=rng,
    )
    return CalibrationTestResult(float(statistic), float(pvalue), "skce", null_distribution,
                                 interval)
