"""The one-vs-rest logistic pieces: log-sigmoids, the Platt start, class probabilities."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_expit, log_softmax

from skcal import BetaCalibration, PlattScaling
from skcal.rows._blocks import Rows
from skcal.solvers._beta_fit import beta_features
from skcal.solvers._logistic import feature_moments, logistic_terms, sums_against_targets
from skcal.solvers._platt_fit import _platt_at_constant, _platt_pass
from skcal.rows._one_vs_rest import (
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


@pytest.mark.parametrize("weighted", [False, True])
def test_logistic_terms_sum_softplus_over_many_rows_as_logaddexp_does(weighted):
    # 2500 rows: the unweighted sums multiply factors over three groups of rows
    rng = np.random.default_rng(3)
    # scales 30, 1 and 0.1: factors near 1, spread, and near 2 (whose product
    # over all rows would overflow)
    u = np.concatenate([rng.normal(scale=[30.0, 1.0, 0.1], size=(2497, 3)),
                        [[-800.0, 800.0, 0.0], [1e-300, -36.7, 36.7], [745.0, -745.0, 0.5]]])
    w = rng.random(u.shape[0]) * 3.0 if weighted else None
    softplus_sums, p, c = logistic_terms(u.copy(), w)
    softplus = np.logaddexp(0.0, u)
    exact = softplus.sum(axis=0) if w is None else w @ softplus
    assert_allclose(softplus_sums, exact, rtol=1e-14, atol=0)
    assert_allclose(p, expit(u), rtol=1e-15, atol=1e-300)
    assert_allclose(c, expit(u) * expit(-u), rtol=1e-15, atol=1e-300)


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
    moments = feature_moments(
        lambda f: rows.reduce(lambda s, y, w: f(s, s * s, y, w), y, w), y, positives)
    target_sums = sums_against_targets(moments[:1], n_total, np.bincount(y, w, k), targets)
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


def _logistic_problems(n_problems=6, n=4000, seed=3):
    """Independent one-feature logistic problems: (x, y) per problem, as
    :func:`projected_newton`'s evaluate sees them (summed loss, gradient, Hessian)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=(n, n_problems))
    slopes = np.linspace(0.3, 2.0, n_problems)
    y = (rng.random((n, n_problems)) < 1 / (1 + np.exp(-(slopes * x + 0.5)))).astype(float)

    def evaluate(params, which):
        u = x[:, which] * params[which, 0] + params[which, 1]
        p = 1 / (1 + np.exp(-u))
        c = p * (1 - p)
        loss = (np.logaddexp(0, u) - y[:, which] * u).sum(axis=0)
        grad = np.stack([((p - y[:, which]) * x[:, which]).sum(axis=0),
                         (p - y[:, which]).sum(axis=0)], axis=1)
        hess = np.empty((len(which), 2, 2))
        hess[:, 0, 0] = (c * x[:, which] ** 2).sum(axis=0)
        hess[:, 0, 1] = hess[:, 1, 0] = (c * x[:, which]).sum(axis=0)
        hess[:, 1, 1] = c.sum(axis=0)
        return loss, grad, hess

    return evaluate, n_problems, n


def test_projected_newton_skips_the_pass_that_would_only_confirm_convergence():
    """Its last step is taken without a pass after it when quadratic convergence
    predicts the next decrement far below tol: the returned point was never
    evaluated, and its decrement, computed afresh, is below tol."""
    from skcal.solvers._projected_newton import _newton_steps, projected_newton

    evaluate, n_problems, n = _logistic_problems()
    seen = []

    def recording(params, which):
        seen.extend(tuple(params[k]) for k in which)
        return evaluate(params, which)

    start = np.zeros((n_problems, 2))
    tol = 1e-12
    params, n_iter, converged = projected_newton(recording, start, np.full(2, -np.inf), n,
                                                 tol=tol, max_iter=50)
    assert converged.all()
    never_evaluated = [tuple(row) not in set(seen) for row in params]
    assert any(never_evaluated)
    loss, grad, hess = evaluate(params, np.arange(n_problems))
    decrement = -np.einsum("ij,ij->i", grad, _newton_steps(hess, grad)) / n
    assert np.all(decrement <= tol)


def test_projected_newton_predicts_nothing_before_its_first_full_step():
    """A start whose decrement is already below sqrt(tol) gives no
    quadratic-convergence evidence: the step from it is checked by a pass like
    any other. On ``x^4`` Newton converges only linearly (``x -> 2x/3``), so a
    step taken unchecked from there would stop at a decrement far above tol."""
    from skcal.solvers._projected_newton import projected_newton

    def quartic(params, which):
        x = params[which, 0]
        return x**4, (4 * x**3)[:, None], (12 * x**2)[:, None, None]

    tol = 1e-12
    start = np.array([[(1.5e-8) ** 0.25]])  # decrement (2/3) x^4 = 1e-8 <= sqrt(tol)
    params, n_iter, converged = projected_newton(quartic, start, np.array([-np.inf]), 1.0,
                                                 tol=tol, max_iter=100)
    x = params[0, 0]
    assert converged[0] and n_iter[0] > 1
    assert (2 / 3) * x**4 <= tol


def test_platt_started_at_the_temperature_slope_takes_half_the_passes_on_a_real_model(
        monkeypatch):
    """DenseNet-BC-100 on CIFAR-100 (shared/data): from the constant map,
    Newton's first steps are poor; started at the better of it and the
    temperature fit's slope, the fit makes at most 60% of the passes, to the
    same optimum (1e-12 a sample)."""
    import skcal.solvers._platt_fit
    from conftest import load_shared
    from skcal.solvers._logistic import class_score_rows, one_vs_rest_targets
    from skcal.solvers._platt_fit import fit_platt
    from skcal.solvers._temperature_fit import fit_inverse_temperature

    data = load_shared("netcal_densenet-bc-100-cifar-100_test.npz")
    logits = np.log(np.clip(data["probs"], 1e-300, None))
    y = data["y"].astype(int)
    score_rows, positives = class_score_rows(logits)
    *targets, _ = one_vs_rest_targets(score_rows, positives, y, None, False)
    passes = []

    def counting(*args):
        passes.append(len(args[-1]))
        return _platt_pass(*args)

    monkeypatch.setattr(skcal.solvers._platt_fit, "_platt_pass", counting)
    fits = {}
    for start, slope in (("constant", None), ("slope", fit_inverse_temperature(logits, y)[0])):
        passes.clear()
        params, _, converged = fit_platt(score_rows, positives, y, None, targets, tol=1e-12,
                                         max_iter=100, slope=slope)
        assert converged.all()
        u = score_rows.read() * params[:, 0] + params[:, 1]
        t = y[:, None] == positives
        fits[start] = (sum(passes), (np.logaddexp(0, u) - t * u).mean(axis=0))
    assert fits["slope"][0] <= 0.6 * fits["constant"][0]
    assert_allclose(fits["slope"][1], fits["constant"][1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("Calibrator", [PlattScaling, BetaCalibration])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_vs_rest_fits_in_groups_of_classes_equal_the_fit_of_all_at_once(
        monkeypatch, Calibrator, weighted):
    """Logits whose one-vs-rest scores are too many to form whole are fitted a
    group of classes at a time: the same maps as all classes in one fit, and one
    warning naming every separated class, whichever group holds it."""
    import skcal.solvers._logistic as logistic_module
    import skcal.rows._one_vs_rest as scores_module

    rng = np.random.default_rng(3)
    n, k = 600, 23
    logits = (3 * rng.normal(size=(n, k))).astype(np.float32)
    y = np.argmax(logits / 2 + rng.gumbel(size=(n, k)), axis=1)
    logits[:, 17] = np.where(y == 17, 40.0, -40.0)  # class 17 separated, in the fifth group
    weights = rng.uniform(0.0, 2.0, size=n) if weighted else None
    with pytest.warns(UserWarning, match=r"column\(s\) \[17\]"):
        whole = Calibrator().fit(logits, y, sample_weight=weights)

    monkeypatch.setattr(logistic_module, "WHOLE_SCORE_VALUES", 1000)
    monkeypatch.setattr(scores_module, "_SCORE_GROUP_VALUES", 2400)  # groups of 4 classes
    groups = list(logistic_module.class_problem_groups(logits))
    assert [positives.tolist() for _, positives in groups][:2] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(groups) == 6
    with pytest.warns(UserWarning, match=r"column\(s\) \[17\]"):
        grouped = Calibrator().fit(logits, y, sample_weight=weights)
    assert_allclose(grouped.coef_, whole.coef_, rtol=1e-9, atol=1e-9)
    assert_allclose(grouped.intercept_, whole.intercept_, rtol=1e-9, atol=1e-9)
    assert_array_equal(grouped.n_iter_, whole.n_iter_)
    assert_allclose(grouped.predict_proba(logits), whole.predict_proba(logits),
                    rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["platt", "beta"])
def test_a_one_vs_rest_fit_reads_its_moments_in_the_pass_of_its_first_evaluation(
        method, monkeypatch):
    """The moments behind the targets' sums are summed in the pass that
    evaluates the start (Platt scaling's, given a slope; beta's, always): the
    passes are then the Newton evaluations and one, and the fit is what it was
    when the moments took a pass of their own (the same sums in the same order,
    checked against a fit from the same start through separate passes)."""
    import skcal.solvers._beta_fit as beta_fit
    import skcal.solvers._platt_fit as platt_fit
    from skcal.solvers._logistic import class_score_rows, one_vs_rest_targets
    from skcal.solvers._projected_newton import projected_newton

    rng = np.random.default_rng(11)
    logits = rng.normal(scale=3.0, size=(3000, 6))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    score_rows, positives = class_score_rows(logits)
    *targets, _ = one_vs_rest_targets(score_rows, positives, y, None, smoothing=False)
    passes, evaluations, given_start = [0], [0], []
    reduce = Rows.reduce

    def counted_reduce(self, *args, **options):
        passes[0] += 1
        return reduce(self, *args, **options)

    def counted_newton(evaluate, *args, **options):
        given_start.append(options.get("start_evaluation") is not None)

        def counted(at, which):
            evaluations[0] += 1
            return evaluate(at, which)
        return projected_newton(counted, *args, **options)

    module = platt_fit if method == "platt" else beta_fit
    monkeypatch.setattr(Rows, "reduce", counted_reduce)
    monkeypatch.setattr(module, "projected_newton", counted_newton)
    if method == "platt":
        params, _, _ = platt_fit.fit_platt(score_rows, positives, y, None, targets,
                                           tol=1e-12, max_iter=100, slope=0.5)
    else:
        params, _, _ = beta_fit.fit_beta(score_rows, positives, y, None, targets,
                                         tol=1e-12, max_iter=100)
    # Newton was handed the start's evaluation, and made every other pass but one
    assert given_start == [True]
    assert evaluations[0] >= 2 and passes[0] == evaluations[0] + 1
    monkeypatch.undo()
    # the same fit through separate passes: moments first, then every evaluation
    n_total = float(y.shape[0])
    moments = feature_moments(
        lambda f: score_rows.reduce(lambda s, y, w: f(s, s * s, y, w), y, None), y, positives)
    counts = np.bincount(y, minlength=6)[positives].astype(float)
    if method == "platt":
        target_sums = sums_against_targets(moments[:1], n_total, counts, targets)
        start = np.column_stack([np.full(6, 0.5), np.zeros(6)])
        constant = np.column_stack([np.zeros(6), np.log(counts / (n_total - counts))])
        at_start = _platt_pass(score_rows, y, None, start, positives, targets, target_sums,
                               np.arange(6))
        at_constant = _platt_at_constant(constant[:, 1], n_total, moments[0][0],
                                         moments[1][0], target_sums)
        lower = (at_start[0] < at_constant[0])[:, None]
        start = np.where(lower, start, constant)
        evaluation = tuple(np.where(lower.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)
                           for a, b in zip(at_start, at_constant))
        expected, _, _ = projected_newton(
            lambda at, which: _platt_pass(score_rows, y, None, at, positives, targets,
                                          target_sums, which),
            start, np.full(2, -np.inf), n_total, tol=1e-12, max_iter=100,
            start_evaluation=evaluation)
    else:
        features = beta_fit.BetaFeatures(score_rows)
        moments = feature_moments(lambda f: features.reduce(f, None, y, None), y, positives)
        target_sums = sums_against_targets(moments, n_total, counts, targets)
        expected, _, _ = projected_newton(
            lambda at, which: beta_fit._beta_pass(features, y, None, at, target_sums, which),
            np.tile([1.0, 1.0, 0.0], (6, 1)), np.array([0.0, 0.0, -np.inf]), n_total,
            tol=1e-12, max_iter=100)
    assert_array_equal(params, expected)
