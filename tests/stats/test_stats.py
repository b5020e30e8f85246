"""skcal.stats: calibration tests and bootstrap intervals, their statistics and validity.

The validity checks are seeded simulations: on data drawn from a calibrated
model each test must reject at the 5% level in 3% to 7% of 1,000 data sets
(binomial standard error 0.7%), and the bootstrap's 95% intervals must cover
the true value in 93% to 97% of them. Heavier versions, with more sample sizes,
are in benchmarks/bench_stats.py.
"""

import functools
import inspect

import numpy as np
import pytest

from conftest import temperature_model

from skcal.metrics import (
    brier_score,
    expected_calibration_error,
    nll,
    nll_from_logits,
    skce,
)
from skcal.stats import bootstrap, calibration_test

N_SIMULATIONS = 1000


_draw = temperature_model


def _rejection_rate(method, n_classes, n_samples, temperature=1.0, n_simulations=N_SIMULATIONS,
                    **options):
    rng = np.random.default_rng(12345 + n_classes)
    rejected = 0
    for seed in range(n_simulations):
        y, proba, _ = _draw(rng, n_samples, n_classes, temperature)
        resamples = method == "consistency" or (
            method == "skce" and options.get("estimator") != "linear"
            and options.get("null") != "bound")
        if resamples:
            options = {"n_resamples": 199, **options, "random_state": seed}
        rejected += calibration_test(y, proba, method=method, **options).pvalue <= 0.05
    return rejected / n_simulations


# --- the statistics are the metrics they name --------------------------------------


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_consistency_statistics_are_the_metrics(strategy, n_classes):
    rng = np.random.default_rng(0)
    y, proba, _ = _draw(rng, 700, n_classes, temperature=1.4)
    def stat(metric, **kw):
        return calibration_test(y, proba, metric=metric, n_resamples=9, random_state=0,
                                **kw).statistic
    assert stat("ece", n_bins=12, strategy=strategy) == pytest.approx(
        expected_calibration_error(y, proba, n_bins=12, strategy=strategy), abs=1e-14)
    assert stat("classwise_ece", n_bins=12, strategy=strategy) == pytest.approx(
        expected_calibration_error(y, proba, n_bins=12, strategy=strategy, kind="classwise"),
        abs=1e-14)
    assert stat("brier") == pytest.approx(brier_score(y, proba), abs=1e-14)
    assert stat("nll") == pytest.approx(nll(y, proba), abs=1e-14)


def test_skce_test_statistics_are_the_estimators():
    rng = np.random.default_rng(1)
    y, proba, _ = _draw(rng, 300, 3, temperature=1.3)
    for estimator in ("unbiased", "biased", "linear"):
        result = calibration_test(y, proba, method="skce", estimator=estimator,
                                  **({} if estimator == "linear" else {"n_resamples": 19}))
        assert result.statistic == pytest.approx(skce(y, proba, estimator=estimator), abs=1e-15)


def test_spiegelhalter_and_hosmer_lemeshow_by_hand():
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 1, 1, 1, 1])
    z = calibration_test(y, p, method="spiegelhalter").statistic
    numerator = sum((yi - pi) * (1 - 2 * pi) for yi, pi in zip(y, p))
    variance = sum((1 - 2 * pi) ** 2 * pi * (1 - pi) for pi in p)
    assert z == pytest.approx(numerator / variance**0.5, abs=1e-14)
    # two groups of four: expected 1.0 and 3.0 events, observed 1 and 4
    hl = calibration_test(y, p, method="hosmer_lemeshow", n_groups=2)
    assert hl.statistic == pytest.approx(0 + 1.0 / (3.0 * (1 - 3.0 / 4)), abs=1e-14)
    from scipy.stats import chi2
    assert hl.pvalue == pytest.approx(chi2.sf(hl.statistic, 2), abs=1e-15)


def test_pvalues_are_reproducible_and_bounded():
    rng = np.random.default_rng(2)
    y, proba, _ = _draw(rng, 400, 3)
    first = calibration_test(y, proba, n_resamples=99, random_state=7)
    again = calibration_test(y, proba, n_resamples=99, random_state=7)
    assert first.pvalue == again.pvalue
    np.testing.assert_array_equal(first.null_distribution, again.null_distribution)
    assert first.null_distribution.shape == (99,)
    assert 1 / 100 <= first.pvalue <= 1
    y, proba, _ = _draw(rng, 2000, 3, temperature=3.0)
    assert calibration_test(y, proba, n_resamples=99, random_state=0).pvalue == 1 / 100


def test_a_metric_function_is_resampled_with_drawn_labels():
    rng = np.random.default_rng(3)
    y, proba, _ = _draw(rng, 300, 3, temperature=1.0)
    seen = []

    def metric(labels, probabilities):
        seen.append(labels.copy())
        return float(np.mean(probabilities.max(axis=1) - (probabilities.argmax(axis=1) == labels)))

    result = calibration_test(y, proba, metric=metric, n_resamples=20, random_state=0)
    assert len(seen) == 21 and result.null_distribution.shape == (20,)
    drawn = np.array(seen[1:])
    # labels drawn from the predictions: each class about as often as predicted
    np.testing.assert_allclose(np.bincount(drawn.ravel(), minlength=3) / drawn.size,
                               proba.mean(axis=0), atol=0.02)


def test_the_linear_skce_interval_and_the_others_refusal():
    rng = np.random.default_rng(4)
    y, proba, _ = _draw(rng, 1000, 3, temperature=1.5)
    result = calibration_test(y, proba, method="skce", estimator="linear")
    low, high = result.confidence_interval(0.9)
    assert low < result.statistic < high
    wider = result.confidence_interval(0.99)
    assert wider.low < low and wider.high > high
    with pytest.raises(ValueError, match="no confidence interval of its own.*bootstrap"):
        calibration_test(y, proba, n_resamples=9).confidence_interval()


def test_the_bound_is_conservative():
    rng = np.random.default_rng(5)
    y, proba, _ = _draw(rng, 500, 3, temperature=1.5)
    bound = calibration_test(y, proba, method="skce", null="bound").pvalue
    resampled = calibration_test(y, proba, method="skce", n_resamples=199, random_state=0).pvalue
    assert resampled <= bound <= 1
    biased = calibration_test(y, proba, method="skce", estimator="biased", null="bound")
    assert 0 < biased.pvalue <= 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "spiegelhalter", "n_resamples": 10}, "n_resamples does not apply"),
        ({"method": "hosmer_lemeshow", "metric": "ece"}, "metric does not apply"),
        ({"method": "consistency", "estimator": "linear"}, "estimator does not apply"),
        ({"method": "consistency", "metric": "nll", "n_bins": 5}, "ECE metrics only"),
        ({"method": "skce", "estimator": "linear", "null": "bound"}, "does not go with"),
        ({"method": "skce", "null": "bound", "random_state": 0}, "null='bootstrap' only"),
        ({"method": "skce", "estimator": "linear", "n_resamples": 9}, "null='bootstrap' only"),
    ],
)
def test_parameters_a_method_does_not_use_are_errors(kwargs, message):
    rng = np.random.default_rng(6)
    y, proba, _ = _draw(rng, 50, 2)
    with pytest.raises(ValueError, match=message):
        calibration_test(y, proba, **kwargs)


@pytest.mark.parametrize("method", ["spiegelhalter", "hosmer_lemeshow"])
def test_binary_tests_refuse_multiclass(method):
    rng = np.random.default_rng(7)
    y, proba, _ = _draw(rng, 50, 3)
    with pytest.raises(ValueError, match="tests binary predictions.*3 classes"):
        calibration_test(y, proba, method=method)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="NaN|finite"):
        calibration_test([0, 1], [[0.5, np.nan], [0.2, 0.8]])
    with pytest.raises(ValueError, match="samples"):
        calibration_test([0, 1, 1], [[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(ValueError, match="n_groups=5 is more than the 2 samples"):
        calibration_test([0, 1], [0.2, 0.8], method="hosmer_lemeshow", n_groups=5)
    with pytest.raises(ValueError, match="no variance"):
        calibration_test([0, 1], [0.5, 0.5], method="spiegelhalter")


# --- validity: size and power --------------------------------------------------


# (method, classes, samples, simulations, options): 2,000 simulations where they are
# cheap, for a standard error of 0.5% on the rejection rate
SIZE_CASES = [
    ("consistency", 2, 200, 2000, {}),
    ("consistency", 10, 200, 2000, {}),
    ("consistency", 10, 200, 2000, {"metric": "nll"}),
    ("consistency", 10, 200, 1000, {"metric": "classwise_ece"}),
    ("skce", 2, 150, 1000, {}),
    ("skce", 10, 150, 1000, {}),
    ("skce", 2, 1000, 1000, {"estimator": "linear"}),
    ("skce", 10, 1000, 1000, {"estimator": "linear"}),
    ("spiegelhalter", 2, 200, 2000, {}),
    ("hosmer_lemeshow", 2, 500, 2000, {}),
]


@pytest.mark.parametrize("method, n_classes, n_samples, n_simulations, options", SIZE_CASES)
def test_size_on_a_calibrated_model(method, n_classes, n_samples, n_simulations, options):
    rate = _rejection_rate(method, n_classes, n_samples, n_simulations=n_simulations,
                           **options)
    assert 0.03 <= rate <= 0.07, f"{method} {options} rejected {rate:.3f} of calibrated models"


def test_the_bound_never_rejects_a_calibrated_model_here():
    # documented as conservative: far below the level at these sizes
    assert _rejection_rate("skce", 3, 200, n_simulations=200, null="bound") <= 0.01


@pytest.mark.parametrize(
    "method, n_classes, sizes, options",
    [("consistency", 10, (100, 1000), {}),
     ("skce", 10, (100, 1000), {}),
     # the linear estimator uses each row once: far less power per sample (a fixed
     # bandwidth keeps it linear at 8,000 rows)
     ("skce", 2, (200, 8000), {"estimator": "linear", "bandwidth": 0.1}),
     ("spiegelhalter", 2, (100, 1000), {}),
     ("hosmer_lemeshow", 2, (100, 1000), {})],
)
def test_power_against_temperature_grows_with_n(method, n_classes, sizes, options):
    rates = [
        _rejection_rate(method, n_classes, n, temperature=1.5, n_simulations=200, **options)
        for n in sizes
    ]
    print(f"power of {method} {options} at T=1.5, n={sizes}: {rates}")
    assert rates[1] > rates[0] + 0.1


# --- bootstrap --------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 4])
def test_the_fast_paths_equal_the_metric_recomputed(n_classes):
    rng = np.random.default_rng(8)
    y, proba, _ = _draw(rng, 300, n_classes, temperature=1.3)
    weight = rng.integers(0, 3, size=300).astype(float)
    logits = np.log(proba) + 1.0
    cases = [
        (nll, proba, {}),
        (functools.partial(nll, base=2), proba, {}),
        (brier_score, proba, {}),
        (nll_from_logits, logits, {}),
        (functools.partial(expected_calibration_error, n_bins=10), proba, {}),
    ]
    for metric, scores, _ in cases:
        function = metric.func if isinstance(metric, functools.partial) else metric
        keywords = metric.keywords if isinstance(metric, functools.partial) else {}

        def recomputed(y_true, y_pred, sample_weight=None, labels=None, function=function,
                       keywords=keywords):
            return function(y_true, y_pred, sample_weight=sample_weight, labels=labels,
                            **keywords)

        for method in ("percentile", "bca"):
            fast = bootstrap(metric, y, scores, sample_weight=weight, n_resamples=200,
                             method=method, random_state=3)
            slow = bootstrap(recomputed, y, scores, sample_weight=weight, n_resamples=200,
                             method=method, random_state=3)
            assert fast.statistic == pytest.approx(slow.statistic, abs=1e-13)
            np.testing.assert_allclose(fast.bootstrap_distribution, slow.bootstrap_distribution,
                                       atol=1e-13)
            np.testing.assert_allclose(fast.confidence_interval, slow.confidence_interval,
                                       atol=1e-12)


def test_scorer_names_give_the_signed_metric():
    rng = np.random.default_rng(9)
    y, proba, _ = _draw(rng, 300, 3)
    plain = bootstrap(nll, y, proba, random_state=0)
    scored = bootstrap("neg_nll", y, proba, random_state=0)
    assert scored.statistic == pytest.approx(-plain.statistic)
    assert scored.confidence_interval.low == pytest.approx(-plain.confidence_interval.high)
    bits = bootstrap("neg_nll_bits", y, proba, random_state=0)
    assert bits.statistic == pytest.approx(-nll(y, proba, base=2))


def test_a_scorers_metric_name_gives_the_metric_itself():
    rng = np.random.default_rng(9)
    y, proba, _ = _draw(rng, 300, 3)
    for name, metric in [("nll", nll), ("nll_bits", functools.partial(nll, base=2)),
                         ("classwise_ece", functools.partial(expected_calibration_error,
                                                             kind="classwise"))]:
        by_name = bootstrap(name, y, proba, n_resamples=200, random_state=0)
        direct = bootstrap(metric, y, proba, n_resamples=200, random_state=0)
        assert by_name.statistic == pytest.approx(metric(y, proba), rel=1e-12)
        np.testing.assert_allclose(by_name.confidence_interval, direct.confidence_interval,
                                   rtol=1e-12)  # the same resamples, summed alike
    # the message lists the names without neg_ too (it listed the scorers' only)
    with pytest.raises(ValueError, match="'calibration' is not a scorer name.* bootstrap also "
                                         "takes skcal's metrics by name: brier, .*nll,"):
        bootstrap("calibration", y, proba)


def test_bootstrap_result_like_scipys():
    rng = np.random.default_rng(10)
    y, proba, _ = _draw(rng, 400, 3)
    result = bootstrap(expected_calibration_error, y, proba, n_resamples=300, random_state=0)
    assert result.bootstrap_distribution.shape == (300,)
    assert result.standard_error == pytest.approx(result.bootstrap_distribution.std(ddof=1))
    low, high = result.confidence_interval
    assert low <= result.statistic <= high


def test_bootstrap_agrees_with_scipy_on_the_nll():
    from scipy import stats

    rng = np.random.default_rng(11)
    y, proba, _ = _draw(rng, 500, 3, temperature=1.3)
    losses = -np.log(proba[np.arange(500), y])
    for method, scipy_method in (("percentile", "percentile"), ("bca", "BCa")):
        ours = bootstrap(nll, y, proba, n_resamples=20000, method=method, random_state=0)
        # SciPy 1.15 renamed random_state to rng
        seed = ("rng" if "rng" in inspect.signature(stats.bootstrap).parameters
                else "random_state")
        theirs = stats.bootstrap((losses,), np.mean, n_resamples=20000, method=scipy_method,
                                 **{seed: np.random.default_rng(0)})
        np.testing.assert_allclose(ours.confidence_interval, theirs.confidence_interval,
                                   atol=0.01)
        assert ours.standard_error == pytest.approx(theirs.standard_error, rel=0.05)


def test_bootstrap_errors():
    rng = np.random.default_rng(12)
    y, proba, _ = _draw(rng, 50, 3)
    with pytest.raises(ValueError, match="sample_weight was given but the metric"):
        bootstrap(lambda a, b: 0.0, y, proba, sample_weight=np.ones(50))
    with pytest.raises(ValueError, match="labels was given but the metric"):
        bootstrap(lambda a, b: 0.0, y, proba, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="confidence_level"):
        bootstrap(nll, y, proba, confidence_level=1.5)
    with pytest.raises(ValueError, match="negative|non-negative"):
        bootstrap(nll, y, proba, sample_weight=-np.ones(50))


def _population(n_classes, temperature):
    """True NLL and binned top-label ECE of the simulation's model, from 2 million
    draws of the predictions with the true probabilities in place of labels."""
    rng = np.random.default_rng(99)
    _, proba, truth = _draw(rng, 2_000_000, n_classes, temperature)
    true_nll = float(-(truth * np.log(proba)).sum(axis=1).mean())
    top = proba.argmax(axis=1)
    confidence = proba[np.arange(proba.shape[0]), top]
    bins = np.searchsorted(np.linspace(0, 1, 16)[1:-1], confidence, side="left")
    gap = truth[np.arange(proba.shape[0]), top] - confidence
    true_ece = float(np.abs(np.bincount(bins, weights=gap, minlength=15)).sum() / top.shape[0])
    return true_nll, true_ece


def test_bootstrap_coverage_of_nll_and_ece():
    true_nll, true_ece = _population(10, 1.5)
    rng = np.random.default_rng(13)
    covered = {"nll": 0, "ece": 0}
    for seed in range(N_SIMULATIONS):
        y, proba, _ = _draw(rng, 1000, 10, 1.5)
        for name, metric, truth in (("nll", nll, true_nll),
                                    ("ece", expected_calibration_error, true_ece)):
            low, high = bootstrap(metric, y, proba, labels=np.arange(10), n_resamples=500,
                                  random_state=seed).confidence_interval
            covered[name] += low <= truth <= high
    for name, count in covered.items():
        assert 0.93 <= count / N_SIMULATIONS <= 0.97, f"{name} covered {count}"
