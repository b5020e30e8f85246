"""MatrixScaling, BetaCalibration and HistogramBinning: known answers and real data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import check_grad
from scipy.special import expit

from conftest import load_shared, sample_labels, seeded_halves, softmax
from skcal import (
    BetaCalibration,
    HistogramBinning,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
)
from skcal.utils._binning import bin_edges, bin_index
from skcal.solvers._matrix_fit import matrix_scaling_loss_grad
from skcal.metrics import nll


@pytest.fixture
def wideresnet_halves():
    """CIFAR-10 WideResNet-16-4 probabilities, split into fit and held-out halves."""
    data = load_shared("netcal_wideresnet-16-4-cifar-10_test.npz")
    fit, held_out = seeded_halves(data["y"].shape[0])
    return data["probs"][fit], data["y"][fit], data["probs"][held_out], data["y"][held_out]


# ------------------------------------------------------------------ matrix
def test_nested_models_fit_ever_better(flsd_logits):
    logits, y = flsd_logits["logits_val"], flsd_logits["y_val"]
    fitted = [C().fit(logits, y) for C in (TemperatureScaling, VectorScaling, MatrixScaling)]
    ts, vs, ms = (nll(y, c.predict_proba(logits)) for c in fitted)
    assert ms <= vs <= ts
    assert ms < ts - 0.005  # the richer maps do use their freedom here


def test_odir_path_leads_to_vector_scaling(flsd_logits):
    logits, y = flsd_logits["logits_val"][:2000], flsd_logits["y_val"][:2000]
    vs = VectorScaling().fit(logits, y)
    distances = []
    for penalty in (0.01, 1.0, 100.0):
        ms = MatrixScaling(
            off_diagonal_penalty=penalty, intercept_penalty=penalty, alpha=penalty
        ).fit(logits, y)
        off_diagonal = ms.coef_ - np.diag(np.diag(ms.coef_))
        distances.append(np.abs(off_diagonal).max())
        last = ms
    assert distances[0] > distances[1] > distances[2]
    assert distances[2] < 1e-3
    assert_allclose(last.predict_proba(logits), vs.predict_proba(logits), atol=1e-3)


def test_matrix_scaling_recovers_a_class_confusion():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(30000, 3))
    mixing = np.array([[1.5, 1.0, 0.0], [1.0, 1.5, 0.0], [0.0, 0.0, 2.0]])
    y = sample_labels(softmax(logits @ mixing.T), rng)
    ms = MatrixScaling(off_diagonal_penalty=0, intercept_penalty=0, alpha=0).fit(logits, y)
    # W is identified up to a common shift of each column
    assert_allclose(ms.coef_ - ms.coef_.mean(axis=0), mixing - mixing.mean(axis=0), atol=0.1)
    vs = VectorScaling().fit(logits, y)
    assert nll(y, ms.predict_proba(logits)) < nll(y, vs.predict_proba(logits)) - 0.01


def test_matrix_scaling_gradient_is_exact():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(200, 4))
    y = rng.integers(0, 4, size=200)
    w = rng.random(200)
    params = rng.normal(size=20)
    center = logits.mean(axis=0)
    for c in (None, center):
        def loss(p, c=c):
            return matrix_scaling_loss_grad(p, logits, y, w, w.sum(), c)[0]

        def grad(p, c=c):
            return matrix_scaling_loss_grad(p, logits, y, w, w.sum(), c)[1]

        assert check_grad(loss, grad, params) < 1e-6


def test_unregularised_matrix_scaling_refuses_too_many_parameters():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(300, 20))  # 420 parameters, 300 samples
    y = rng.integers(0, 20, size=300)
    with pytest.raises(ValueError, match="420 parameters.*300 calibration samples.*VectorScaling"):
        MatrixScaling(off_diagonal_penalty=0).fit(logits, y)
    MatrixScaling().fit(logits, y)  # the default penalty makes the fit well posed


def test_matrix_scaling_on_many_classes_converges_in_few_iterations():
    """100 classes (the rotated variables, each class's own pair and the
    temperature direction exact): a handful of L-BFGS iterations from the
    vector-scaling start, where the rotated diagonal alone needed 21."""
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(3000, 100))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    ms = MatrixScaling().fit(logits, y)
    assert ms.n_iter_ <= 8
    vs = VectorScaling().fit(logits, y)
    assert nll(y, ms.predict_proba(logits)) < nll(y, vs.predict_proba(logits))


def test_matrix_scaling_on_real_cifar100_halves():
    data = load_shared("netcal_densenet-bc-100-cifar-100_test.npz")
    fit, held_out = seeded_halves(data["y"].shape[0])
    P, y = data["probs"], data["y"]
    ms = MatrixScaling().fit(P[fit], y[fit])  # Dirichlet calibration: log-probabilities in
    vs = VectorScaling().fit(P[fit], y[fit])
    uncalibrated = nll(y[held_out], P[held_out])
    ms_nll = nll(y[held_out], ms.predict_proba(P[held_out]))
    assert ms_nll < uncalibrated - 0.3
    assert ms_nll < nll(y[held_out], vs.predict_proba(P[held_out])) + 0.005


def _matrix_fit_with_switch(monkeypatch, logits, y, switch, **fit_params):
    """MatrixScaling fitted with the switch to class blocks forced (``True``,
    after 8 iterations whatever the rate), or never taken (``False``); also
    how many class-block passes it made and the penalised objective it ended at."""
    from skcal.solvers import _class_blocks, _matrix_fit

    passes, objective = [], []
    original_pass, original_minimize = _class_blocks.class_block_pass, _matrix_fit.minimize_round

    def counted(*args, **kwargs):
        passes.append(1)
        return original_pass(*args, **kwargs)

    def recorded(*args, **kwargs):
        x, result = original_minimize(*args, **kwargs)
        objective.append(result.fun)
        return x, result

    monkeypatch.setattr(_matrix_fit, "class_block_pass", counted)
    monkeypatch.setattr(_matrix_fit, "minimize_round", recorded)
    monkeypatch.setattr(_matrix_fit, "SLOW_REMAINING", -1 if switch else 10**9)
    fitted = MatrixScaling().fit(logits, y, **fit_params)
    return fitted, len(passes), objective[-1]


@pytest.mark.parametrize("weighted", [False, True])
def test_matrix_scaling_switched_to_class_blocks_reaches_the_same_optimum(monkeypatch,
                                                                        weighted):
    """A fit continued in exact class blocks after 8 iterations stops where the
    fit in the first variables does: the same penalised objective to 1e-11
    (the NLL alone trades against the penalties along flat directions by a few
    1e-9), the same map to the tolerance of both (30 classes, which take 11
    iterations)."""
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(4000, 30))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    fit_params = {"sample_weight": rng.exponential(size=4000)} if weighted else {}
    first, no_pass, first_objective = _matrix_fit_with_switch(monkeypatch, logits, y, False,
                                                              **fit_params)
    switched, one_pass, switched_objective = _matrix_fit_with_switch(monkeypatch, logits, y,
                                                                     True, **fit_params)
    assert (no_pass, one_pass) == (0, 1)
    assert first.n_iter_ > 8
    assert abs(switched_objective - first_objective) < 1e-11
    weights = fit_params.get("sample_weight")
    assert abs(nll(y, switched.predict_proba(logits), sample_weight=weights)
               - nll(y, first.predict_proba(logits), sample_weight=weights)) < 1e-8
    assert_allclose(switched.coef_, first.coef_, atol=1e-5)
    assert_allclose(switched.predict_proba(logits), first.predict_proba(logits), atol=1e-6)


def test_matrix_scaling_builds_class_blocks_only_where_they_fit_in_memory(monkeypatch):
    """The class blocks hold K (K + 1)^2 values several times over (8 GB each at
    1000 classes): beyond ``CLASS_BLOCK_VALUES`` a fit that would switch to
    them stays in its first variables. Here the bound is set at 30 classes'
    30 x 31^2 values, then one below."""
    from skcal.solvers import _matrix_fit

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(4000, 30))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    monkeypatch.setattr(_matrix_fit, "CLASS_BLOCK_VALUES", 30 * 31**2)
    at_bound, one_pass, _ = _matrix_fit_with_switch(monkeypatch, logits, y, True)
    monkeypatch.setattr(_matrix_fit, "CLASS_BLOCK_VALUES", 30 * 31**2 - 1)
    beyond, no_pass, _ = _matrix_fit_with_switch(monkeypatch, logits, y, True)
    assert (one_pass, no_pass) == (1, 0)
    assert abs(nll(y, beyond.predict_proba(logits)) - nll(y, at_bound.predict_proba(logits))) < 1e-8


def test_matrix_scaling_switched_to_class_blocks_reads_a_memory_map_as_an_array(
        monkeypatch, tmp_path):
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=3.0, size=(4000, 30))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    np.save(tmp_path / "logits.npy", logits)
    in_memory, _, _ = _matrix_fit_with_switch(monkeypatch, logits, y, True)
    mapped, one_pass, _ = _matrix_fit_with_switch(
        monkeypatch, np.load(tmp_path / "logits.npy", mmap_mode="r"), y, True)
    assert one_pass == 1
    assert_allclose(mapped.coef_, in_memory.coef_, rtol=1e-10, atol=1e-12)


def test_matrix_scaling_on_a_real_model_switches_to_class_blocks_and_halves_its_iterations(
        monkeypatch):
    """The CIFAR-100 DenseNet of shared/data, whose confused classes leave the
    first variables' Hessian spread over 0.1-4.8: 40 iterations in them, about
    26 when the fit switches; the same NLL."""
    data = load_shared("netcal_densenet-bc-100-cifar-100_test.npz")
    fit, _ = seeded_halves(data["y"].shape[0])
    P, y = data["probs"][fit], data["y"][fit]
    switched = MatrixScaling().fit(P, y)  # the default rule: this fit is slow
    first, _, first_objective = _matrix_fit_with_switch(monkeypatch, P, y, False)
    assert first.n_iter_ >= 35
    assert switched.n_iter_ <= 0.75 * first.n_iter_
    _, one_pass, switched_objective = _matrix_fit_with_switch(monkeypatch, P, y, True)
    assert one_pass == 1
    assert abs(switched_objective - first_objective) < 1e-11
    assert abs(nll(y, switched.predict_proba(P)) - nll(y, first.predict_proba(P))) < 1e-8


# -------------------------------------------------------------------- beta
def test_beta_recovers_a_known_distortion():
    """P(y = 1) = s^2 for uniform scores s: an overconfident model whose true map
    logit(s^2) = 2 log s - log(1 - s) - log(1 + s) beta calibration approximates."""
    rng = np.random.default_rng(0)
    s = rng.uniform(size=50000)
    y = (rng.random(50000) < s**2).astype(int)
    beta = BetaCalibration().fit(s, y)
    grid = np.linspace(0.05, 0.95, 19)
    assert np.abs(beta.predict_proba(grid)[:, 1] - grid**2).max() < 0.03
    platt_like = IsotonicCalibration().fit(s, y)  # a non-parametric reference
    assert nll(y, beta.predict_proba(s)) <= nll(y, platt_like.predict_proba(s)) + 0.01


def test_beta_map_is_monotone():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=3000)
    y = (rng.random(3000) < np.where(p < 0.5, 0.5, p)).astype(int)  # flat, then rising
    beta = BetaCalibration().fit(p, y)
    assert np.all(beta.coef_ >= 0)
    curve = beta.predict_proba(np.linspace(0.001, 0.999, 500))[:, 1]
    assert np.all(np.diff(curve) >= -1e-12)


def test_beta_agrees_with_the_betacal_package():
    betacal = pytest.importorskip("betacal", reason="betacal is an optional peer")
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.99, size=5000)
    y = (rng.random(5000) < p**1.5 / (p**1.5 + (1 - p) ** 0.7)).astype(int)
    ours = BetaCalibration().fit(p, y).predict_proba(p)[:, 1]
    theirs = betacal.BetaCalibration(parameters="abm").fit(p, y).predict(p)
    assert_allclose(ours, theirs, atol=2e-3)
    assert nll(y, ours) <= nll(y, theirs) + 1e-6


@pytest.mark.filterwarnings("ignore:The calibration scores separate:UserWarning")
def test_beta_fits_a_class_absent_from_the_data_as_its_constant_target_in_one_pass():
    """A class no row holds has Platt's smoothed target ``1 / (n + 2)`` on every
    row, so its minimum is the constant map ``a = b = 0``, ``c = logit(1 / (n + 2))``,
    which every row meets exactly: the fit starts there and stops after one pass,
    where from the identity its steps were halved for several iterations."""
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=3.0, size=(400, 12))
    y = rng.choice([0, 1, 2, 3, 5, 6, 7, 8, 9, 10], size=400)  # 4 and 11 absent
    beta = BetaCalibration().fit(logits, y)
    absent = [4, 11]
    assert_array_equal(beta.coef_[absent], 0.0)
    # logit(1 / (n + 2)) = -log(n + 1); rounding of log and log1p, a few ulps
    assert_allclose(beta.intercept_[absent], -np.log(401.0), rtol=1e-14)
    assert_array_equal(np.asarray(beta.n_iter_)[absent], 1)


def _one_vs_rest_training_nll(fitted, logits, y):
    """Each class's one-vs-rest NLL (per sample) of a fitted Platt or beta map,
    from its definition: ``s_k = log p_k - log(1 - p_k)`` of the softmax; Platt
    ``a s + b``, beta ``a log sigmoid(s) - b log sigmoid(-s) + c``."""
    from scipy.special import log_expit, logsumexp

    n_classes = logits.shape[1]
    others = np.where(np.eye(n_classes, dtype=bool)[None], -np.inf, logits[:, None, :])
    s = logits - logsumexp(others, axis=2)
    coef = np.reshape(fitted.coef_, (n_classes, -1))
    if coef.shape[1] == 1:
        u = s * coef[:, 0] + fitted.intercept_
    else:
        u = log_expit(s) * coef[:, 0] - log_expit(-s) * coef[:, 1] + fitted.intercept_
    t = y[:, None] == np.arange(n_classes)
    return (np.logaddexp(0, u) - t * u).mean(axis=0)


@pytest.mark.parametrize("T", [1.0, 2.0, 4.0])
def test_one_vs_rest_maps_in_a_comparison_start_warm_and_reach_the_same_optimum(T):
    """In a comparison's fold, Platt scaling starts each class at the better of
    the constant and the temperature fit's slope, and beta calibration at
    Platt's fit on the same targets (``a = b`` = Platt's slope): fewer Newton
    iterations in all, and each class's training NLL that of a standalone fit
    to 1e-12 a sample. A Platt fit on other targets (smoothed) is not used by
    beta, whose fit is then bit for bit a standalone one."""
    from skcal.calibrators._sharing import fit_sharing
    from skcal.utils._reuse import FoldCache

    rng = np.random.default_rng(4)
    logits = rng.normal(scale=4.0, size=(3000, 8))
    y = np.argmax(logits / T + rng.gumbel(size=logits.shape), axis=1)
    alone = [PlattScaling().fit(logits, y), BetaCalibration().fit(logits, y)]
    cache = FoldCache(logits)
    fit_sharing(TemperatureScaling(), logits, y, None, cache)
    warm = [fit_sharing(PlattScaling(), logits, y, None, cache),
            fit_sharing(BetaCalibration(), logits, y, None, cache)]
    cache = FoldCache(logits)
    fit_sharing(PlattScaling(smoothing=True), logits, y, None, cache)
    other_targets = fit_sharing(BetaCalibration(), logits, y, None, cache)
    iterations = [sum(fit.n_iter_.sum() for fit in fits) for fits in (warm, alone)]
    assert iterations[0] < 0.8 * iterations[1]
    for started_warm, standalone in zip(warm, alone):
        assert_allclose(_one_vs_rest_training_nll(started_warm, logits, y),
                        _one_vs_rest_training_nll(standalone, logits, y), rtol=0, atol=1e-12)
    assert_array_equal(other_targets.coef_, alone[1].coef_)
    assert_array_equal(other_targets.intercept_, alone[1].intercept_)


# --------------------------------------------------------------- histogram
def test_histogram_binning_never_outputs_zero_or_one():
    s = np.r_[np.linspace(0.01, 0.3, 100), np.linspace(0.7, 0.99, 100)]
    y = (s > 0.5).astype(int)  # every bin is pure
    proba = HistogramBinning(n_bins=4).fit(s, y).predict_proba(s)
    assert proba.min() > 0 and proba.max() < 1
    raw = HistogramBinning(n_bins=4, prior_strength=0).fit(s, y)
    assert set(np.round(raw.bin_proba_[0], 12)) == {0.0, 1.0}


def test_histogram_bins_hold_the_smoothed_frequencies():
    rng = np.random.default_rng(0)
    s = rng.uniform(size=4000)
    y = (rng.random(4000) < s).astype(int)
    binning = HistogramBinning(n_bins=4, strategy="uniform", prior_strength=2.0).fit(s, y)
    edges = np.linspace(0, 1, 5)
    rate = (y.sum() + 1) / (4000 + 2)
    for b in range(4):
        inside = (s > edges[b]) & (s <= edges[b + 1])
        expected = (y[inside].sum() + 2.0 * rate) / (inside.sum() + 2.0)
        assert binning.bin_proba_[0, b] == pytest.approx(expected)


def test_new_maps_improve_a_miscalibrated_real_model(wideresnet_halves):
    P_fit, y_fit, P_held, y_held = wideresnet_halves
    uncalibrated = nll(y_held, P_held)
    for Calibrator in (MatrixScaling, BetaCalibration, IsotonicCalibration, HistogramBinning):
        calibrated = nll(y_held, Calibrator().fit(P_fit, y_fit).predict_proba(P_held))
        assert calibrated < uncalibrated - 0.05, Calibrator.__name__


def test_tied_calibrated_probabilities_keep_the_models_ranking():
    """Where the map gives several classes the same probability, predict (and the
    comparison's accuracy) follows the uncalibrated scores, not the first column."""
    from skcal import compare_calibrators

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(6000, 10))
    y = np.repeat(np.arange(10), 600)  # balanced: one bin gives every class 0.1
    rng.shuffle(y)
    logits[np.arange(6000), y] += 2.0  # the model ranks the true class first often
    one_bin = HistogramBinning(n_bins=1)
    proba = one_bin.fit(logits, y).predict_proba(logits)
    # every row is a 10-way tie, separated by one unit in the last place
    assert np.all(proba.max(axis=1, keepdims=True) - proba <= np.spacing(proba))
    assert_array_equal(one_bin.predict(logits), logits.argmax(axis=1))
    comparison = compare_calibrators(logits, y, calibrators={"one bin": one_bin}, cv=3)
    accuracy = dict(zip(comparison.cv_results_["method"],
                        comparison.cv_results_["mean_test_accuracy"]))
    assert accuracy["one bin"] == pytest.approx(accuracy["uncalibrated"])
    assert accuracy["uncalibrated"] > 0.2  # far above the 0.1 of always the first column


def test_ties_are_broken_by_the_scores_on_streamed_input(tmp_path):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3000, 4))
    y = np.repeat(np.arange(4), 750)
    np.save(tmp_path / "logits.npy", logits)
    one_bin = HistogramBinning(n_bins=1).fit(logits, y)
    mapped = np.load(tmp_path / "logits.npy", mmap_mode="r")
    assert_array_equal(one_bin.predict(mapped), logits.argmax(axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grouped_one_vs_rest_scores_are_the_whole_matrix_bitwise(monkeypatch, dtype):
    """Isotonic and histogram fits read the scores a group of classes at a time;
    the groups must hold exactly the values of the whole-matrix computation."""
    import skcal.rows._one_vs_rest as scores_module

    rng = np.random.default_rng(0)
    logits = (5 * rng.normal(size=(700, 23))).astype(dtype)
    logits[0, 3] = 60.0  # a row whose top class holds all the mass
    whole = scores_module.one_vs_rest_logits(logits)
    monkeypatch.setattr(scores_module, "_SCORE_GROUP_VALUES", 3000)  # groups of 4 classes
    groups = list(scores_module.class_score_groups(logits))
    assert len(groups) == 6
    assert [k for positives, _ in groups for k in positives] == list(range(23))
    np.testing.assert_array_equal(np.concatenate([g for _, g in groups], axis=1), whole)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grouped_class_probabilities_are_the_sigmoid_of_the_log_odds_and_predicts(
        monkeypatch, dtype):
    """Equal-width histogram binning reads each class's probability as
    softmax(logits), a group of classes at a time: within a few ulps of the
    sigmoid of its one-vs-rest log-odds, and bit for bit what predict computes
    (so a calibration row falls in the same bin when it is predicted)."""
    import skcal.rows._one_vs_rest as scores_module

    rng = np.random.default_rng(1)
    logits = (5 * rng.normal(size=(700, 23))).astype(dtype)
    logits[0, 3] = 60.0  # a row whose top class holds all the mass
    monkeypatch.setattr(scores_module, "_SCORE_GROUP_VALUES", 3000)  # groups of 4 classes
    groups = list(scores_module.class_probability_groups(logits))
    assert len(groups) == 6
    assert [k for positives, _ in groups for k in positives] == list(range(23))
    grouped = np.concatenate([proba for _, proba in groups], axis=0).T
    assert all(proba.flags.c_contiguous for _, proba in groups)
    np.testing.assert_array_equal(grouped, scores_module.class_probability_matrix(logits))
    sigmoid = expit(scores_module.one_vs_rest_logits(logits))
    np.testing.assert_allclose(grouped, sigmoid, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(grouped.sum(axis=1), 1.0, rtol=1e-14)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 80), n_bins=st.integers(1, 30),
       decimals=st.integers(1, 3))
def test_equal_mass_edges_by_selection_equal_those_of_unit_weights(seed, n, n_bins, decimals):
    """Without weights the edges are found by selection, with weights by sorting
    and cumulating; unit weights must give the same edges, ties included."""
    rng = np.random.default_rng(seed)
    confidence = np.round(rng.random(n), decimals)
    np.testing.assert_array_equal(
        bin_edges(confidence, None, n_bins, "quantile"),
        bin_edges(confidence, np.ones(n), n_bins, "quantile"),
    )


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10_000), n_bins=st.integers(1, 40))
def test_bin_index_counts_edges_as_a_binary_search_does(seed, n_bins):
    """Few bins are found by counting the inner edges below each confidence, many
    by binary search: bin ``b`` holds ``(edges[b], edges[b + 1]]`` either way."""
    rng = np.random.default_rng(seed)
    values = np.round(rng.random((300, 2)), 2)  # ties with the edges too
    for confidence in (values[:, 0].copy(), values[:, 0]):  # contiguous, strided
        edges = bin_edges(confidence, None, n_bins, "quantile")
        np.testing.assert_array_equal(bin_index(confidence, edges),
                                      np.searchsorted(edges[1:-1], confidence, side="left"))
