"""Each row-wise metric is defined once (skcal/metrics/_row_metrics.py), and every
place that computes it reads that definition: the public function, its scorers,
the bootstrap's fast path, the comparison's columns and the monitor."""

import pathlib
import re

import numpy as np
import pytest
from scipy.special import log_softmax, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import StratifiedKFold

from skcal import CalibrationMonitor, compare_calibrators
from skcal.metrics import brier_score, get_scorer, nll, nll_from_logits
from skcal.metrics._row_metrics import (
    BRIER,
    COMPARED,
    NLL,
    NLL_FROM_LOGITS,
    ROW_METRICS,
    public_functions,
    row_metric_of,
)
from skcal.stats import bootstrap
from skcal.stats._bootstrap import _statistic
from skcal.stats._bootstrap_statistics import AdditiveStatistic

SKCAL = pathlib.Path(__file__).resolve().parents[2] / "skcal"
# float64 sums of a few thousand terms in another order: about 1e-13 relative
SUM_ORDER_RTOL = 1e-12


def _problem(n=3000, k=4, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k))
    y = np.array([rng.choice(k, p=p) for p in softmax(logits / 1.5, axis=1)])
    weights = rng.uniform(0, 2, n)
    return logits, y, weights


def test_every_definition_has_its_public_function_and_nothing_else_registers():
    functions = dict(public_functions())
    assert functions == {nll: NLL, nll_from_logits: NLL_FROM_LOGITS, brier_score: BRIER}
    assert [metric for _, metric in public_functions()] == list(ROW_METRICS)
    assert row_metric_of(np.mean) is None
    assert row_metric_of({}) is None  # unhashable: not a metric of the table


@pytest.mark.parametrize("k", [2, 5])
def test_public_functions_agree_with_scikit_learn(k):
    logits, y, w = _problem(k=k)
    proba = softmax(logits, axis=1)
    assert nll(y, proba, sample_weight=w) == pytest.approx(
        log_loss(y, proba, sample_weight=w), rel=SUM_ORDER_RTOL)
    assert nll_from_logits(y, logits, base=2) == pytest.approx(
        -log_softmax(logits, axis=1)[np.arange(len(y)), y].mean() / np.log(2),
        rel=SUM_ORDER_RTOL)
    if k == 2:
        assert brier_score(y, proba[:, 1], sample_weight=w) == pytest.approx(
            brier_score_loss(y, proba[:, 1], sample_weight=w), rel=SUM_ORDER_RTOL)
    else:
        one_hot = np.eye(k)[y]
        expected = np.average(((proba - one_hot) ** 2).sum(axis=1), weights=w)
        assert brier_score(y, proba, sample_weight=w) == pytest.approx(
            expected, rel=SUM_ORDER_RTOL)


def test_each_scorer_of_a_definition_negates_its_public_function():
    logits, y, _ = _problem(k=3)
    model = LogisticRegression(max_iter=1000).fit(logits, y)
    proba = model.predict_proba(logits)
    for function, metric in public_functions():
        if metric.scores != "y_prob":
            continue
        for name, options in metric.scorers.items():
            assert get_scorer(name)(model, logits, y) == pytest.approx(
                -function(y, proba, **options), rel=SUM_ORDER_RTOL), name


@pytest.mark.parametrize("function", [nll, nll_from_logits, brier_score])
def test_the_bootstrap_resamples_the_per_row_values_of_every_definition(function):
    logits, y, w = _problem(k=3)
    scores = logits if row_metric_of(function).scores == "logits" else softmax(logits, axis=1)
    statistic = _statistic(function, y, scores, w, None, None)
    assert isinstance(statistic, AdditiveStatistic)
    assert statistic.observed() == pytest.approx(function(y, scores, sample_weight=w),
                                                 rel=SUM_ORDER_RTOL)
    result = bootstrap(function, y, scores, sample_weight=w, n_resamples=200, random_state=0)
    interval = result.confidence_interval
    assert interval.low < result.statistic < interval.high
    assert result.statistic == pytest.approx(statistic.observed(), rel=SUM_ORDER_RTOL)


def test_bits_go_through_the_bootstrap_fast_path_with_their_scale():
    logits, y, _ = _problem(k=3)
    proba = softmax(logits, axis=1)
    statistic = _statistic(get_scorer("neg_nll_bits"), y, proba, None, None, None)
    assert isinstance(statistic, AdditiveStatistic)
    assert statistic.observed() == pytest.approx(-nll(y, proba, base=2), rel=SUM_ORDER_RTOL)


def test_comparison_columns_are_the_definitions_on_the_held_out_folds():
    logits, y, _ = _problem(n=2000, k=3)
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    comparison = compare_calibrators(logits, y, calibrators=["temperature"], cv=folds)
    results = comparison.cv_results_
    row = list(results["method"]).index("uncalibrated")
    held_out = {metric.name: [] for metric in COMPARED}
    for _, test in folds.split(logits, y):
        proba = softmax(logits[test], axis=1)
        held_out[NLL.name].append(nll(y[test], proba))
        held_out[BRIER.name].append(brier_score(y[test], proba))
    for metric in COMPARED:
        assert results[f"mean_test_{metric.name}"][row] == pytest.approx(
            np.mean(held_out[metric.name]), rel=SUM_ORDER_RTOL)


@pytest.mark.filterwarnings("ignore:The reference holds")  # two chunks: a blind CUSUM
@pytest.mark.parametrize("k", [2, 4])
def test_the_monitor_brier_is_the_definition_on_the_chunk(k):
    logits, y, _ = _problem(n=4000, k=k)
    proba = softmax(logits, axis=1)
    monitor = CalibrationMonitor(chunk_size=1000).fit(proba[:2000], y[:2000])
    monitor.update(proba[2000:], y[2000:])
    rows = monitor.to_frame().to_dict("records")
    assert len(rows) == 2
    # the monitor sums exp(log p) in its own order: a few float64 roundings per row,
    # far below 1e-9 relative
    for row, start in zip(rows, range(2000, 4000, 1000)):
        chunk = slice(start, start + 1000)
        assert row["brier"] == pytest.approx(
            brier_score(y[chunk], proba[chunk]), rel=1e-9)


def test_the_brier_formula_is_written_once():
    """``sum p^2 - 2 p_true + 1`` and the binary half live in _row_metrics alone."""
    formula = re.compile(r"-\s*2(\.0)?\s*\*\s*p_true|2\.0 if n_\w+ == 2|0\.5 if n_\w+ == 2")
    found = [str(path.relative_to(SKCAL)) for path in SKCAL.rglob("*.py")
             if formula.search(path.read_text())]
    assert found == ["metrics/_row_metrics.py"]
