"""The one-vs-rest logistic pieces: log-sigmoids, the Platt start, class probabilities."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import log_expit, log_softmax

from skcal._blocks import Rows
from skcal._logistic import (
    _feature_moments,
    _platt_at_constant,
    _platt_pass,
    _target_sums,
    beta_features,
)
from skcal._one_vs_rest import (
    log_odds,
    log_sigmoid,
    log_sigmoid_pair,
    logits_from_class_log_odds,
    logits_from_class_probabilities,
)


def test_log_sigmoids_equal_scipys_log_expit_everywhere():
    t = np.concatenate([
        np.linspace(-800, 800, 2001),
        np.random.default_rng(0).normal(scale=30.0, size=10_000),
        [0.0, -0.0, 1e-300, -1e-300, 745.2, -745.2, 36.7, -36.7],
    ])
    log_p, log_q = log_sigmoid_pair(t)
    # within a few ulps of the value
    assert_allclose(log_p, log_expit(t), rtol=1e-15, atol=0)
    assert_allclose(log_q, log_expit(-t), rtol=1e-15, atol=0)
    assert_allclose(log_sigmoid(t), log_p, rtol=0, atol=0)
    assert np.all(np.isfinite(log_p)) and np.all(log_p <= 0)


def test_beta_features_are_log_p_and_minus_log_one_minus_p():
    s = np.random.default_rng(1).normal(scale=20.0, size=(50, 4))
    log_p, minus_log_q = beta_features(s)
    assert_allclose(log_p, log_expit(s), rtol=1e-15)
    assert_allclose(minus_log_q, -log_expit(-s), rtol=1e-15)


@pytest.mark.parametrize("weighted", [False, True])
def test_platt_start_without_a_pass_equals_the_pass(weighted):
    rng = np.random.default_rng(2)
    n, k = 700, 5
    scores = rng.normal(scale=3.0, size=(n, k))
    y = rng.integers(0, k, n)
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    positives = np.arange(k)
    n_total = n if w is None else w.sum()
    targets = (np.full(k, 0.9), np.full(k, 0.02))
    rows = Rows(scores)
    moments = _feature_moments(
        lambda f: rows.reduce(lambda s, y, w: f(s, s * s, y, w), y, w), y, positives)
    target_sums = _target_sums(moments[:1], n_total, np.bincount(y, w, k), targets)
    b = rng.normal(size=k)
    params = np.column_stack([np.zeros(k), b])
    expected = _platt_pass(rows, y, w, params, positives, targets, target_sums, positives)
    computed = _platt_at_constant(b, n_total, moments[0][0], moments[1][0], target_sums)
    for got, want in zip(computed, expected):
        assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def test_class_probabilities_give_the_logits_of_their_log_odds():
    rng = np.random.default_rng(3)
    proba = rng.uniform(size=(200, 6))
    proba[0, 0], proba[1, 1], proba[2, 2] = 0.0, 1.0, 1e-320
    direct = log_softmax(logits_from_class_probabilities(proba), axis=1)
    through_log_odds = log_softmax(logits_from_class_log_odds(log_odds(proba)), axis=1)
    assert_allclose(direct, through_log_odds, rtol=1e-13, atol=1e-12)
    binary = proba[:, :1]
    assert_allclose(logits_from_class_probabilities(binary),
                    logits_from_class_log_odds(log_odds(binary)), rtol=0, atol=0)
