"""Metrics: invariances over a registry, known answers, agreement with scikit-learn."""

import tracemalloc
from functools import partial

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from sklearn.calibration import calibration_curve as sklearn_calibration_curve
from sklearn.metrics import brier_score_loss, log_loss

from conftest import load_shared, sample_labels, seeded_halves, softmax
from skcal import TemperatureScaling
from skcal.metrics import (
    brier_score,
    calibration_curve,
    expected_calibration_error,
    maximum_calibration_error,
    nll,
    nll_decomposition,
    nll_from_logits,
    perplexity,
)

METRICS = {
    "nll": nll,
    "nll_bits": partial(nll, base=2),
    "brier": brier_score,
    "ece": expected_calibration_error,
    "ece_classwise": partial(expected_calibration_error, kind="classwise"),
    "ece_quantile": partial(expected_calibration_error, strategy="quantile", n_bins=10),
    "ece_l2": partial(expected_calibration_error, norm=2),
    "ece_debiased": partial(expected_calibration_error, norm=2, debiased=True, n_bins=5),
    "mce": maximum_calibration_error,
    "mce_classwise_quantile": partial(
        maximum_calibration_error, kind="classwise", strategy="quantile"
    ),
    "nll_calibration": lambda y, p, **kw: nll_decomposition(y, p, **kw).calibration,
}


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.5, size=(900, 3))
    y = sample_labels(softmax(logits / 1.5), rng)
    return y, softmax(logits)


@pytest.mark.parametrize("name", METRICS)
def test_sample_order_does_not_matter(name, predictions):
    y, proba = predictions
    order = np.random.default_rng(1).permutation(y.shape[0])
    metric = METRICS[name]
    if name == "nll_calibration":  # folds follow the sample order; compare loosely
        assert metric(y[order], proba[order]) == pytest.approx(metric(y, proba), abs=0.02)
        return
    assert metric(y[order], proba[order]) == pytest.approx(metric(y, proba), rel=1e-10)


@pytest.mark.parametrize("name", METRICS)
def test_string_labels_equal_integer_labels(name, predictions):
    y, proba = predictions
    names = np.array(["cat", "dog", "eel"])
    metric = METRICS[name]
    assert metric(names[y], proba) == pytest.approx(metric(y, proba), rel=1e-10)


@pytest.mark.parametrize("name", METRICS)
def test_integer_weights_equal_repeated_rows(name, predictions):
    y, proba = predictions
    weights = np.random.default_rng(2).integers(0, 4, size=y.shape[0])
    metric = METRICS[name]
    if name == "nll_calibration":
        pytest.skip("cross-fitted: repeated rows fall into different folds than weights")
    weighted = metric(y, proba, sample_weight=weights)
    repeated = metric(np.repeat(y, weights), np.repeat(proba, weights, axis=0))
    assert weighted == pytest.approx(repeated, rel=1e-10)


@pytest.mark.parametrize("name", METRICS)
def test_binary_one_dimensional_equals_two_columns(name, predictions):
    y, proba = predictions
    yb = (y == 0).astype(int)
    p1 = proba[:, 0]
    metric = METRICS[name]
    assert metric(yb, p1) == pytest.approx(metric(yb, np.column_stack([1 - p1, p1])), rel=1e-10)


@pytest.mark.parametrize("name", METRICS)
def test_class_absent_from_y_true(name, predictions):
    y, proba = predictions
    keep = y != 1
    names = np.array(["cat", "dog", "eel"])
    metric = METRICS[name]
    by_index = metric(y[keep], proba[keep])
    by_labels = metric(names[y[keep]], proba[keep], labels=names)
    assert np.isfinite(by_index)
    assert by_labels == pytest.approx(by_index, rel=1e-10)


# ---------------------------------------------------- agreement with sklearn
def test_nll_equals_log_loss(predictions):
    y, proba = predictions
    w = np.random.default_rng(3).random(y.shape[0])
    assert nll(y, proba) == pytest.approx(log_loss(y, proba), rel=1e-12)
    assert nll(y, proba, sample_weight=w) == pytest.approx(
        log_loss(y, proba, sample_weight=w), rel=1e-12
    )
    assert nll(y, proba, base=2) == pytest.approx(log_loss(y, proba) / np.log(2), rel=1e-12)


def test_brier_equals_scikit_learn(predictions):
    y, proba = predictions
    assert brier_score(y, proba) == pytest.approx(brier_score_loss(y, proba), rel=1e-12)
    yb = (y == 2).astype(int)
    assert brier_score(yb, proba[:, 2]) == pytest.approx(brier_score_loss(yb, proba[:, 2]))


def test_binary_curve_equals_scikit_learn(predictions):
    y, proba = predictions
    yb = (y == 0).astype(int)
    curve = calibration_curve(yb, proba[:, 0], kind="class", n_bins=10)
    prob_true, prob_pred = sklearn_calibration_curve(yb, proba[:, 0], n_bins=10)
    assert_allclose(curve.prob_true, prob_true)
    assert_allclose(curve.prob_pred, prob_pred)
    assert curve.bin_weight.sum() == y.shape[0]


def test_weighted_curve_equals_repeated_rows(predictions):
    y, proba = predictions
    weights = np.random.default_rng(4).integers(0, 3, size=y.shape[0])
    weighted = calibration_curve(y, proba, sample_weight=weights, strategy="quantile")
    repeated = calibration_curve(
        np.repeat(y, weights), np.repeat(proba, weights, axis=0), strategy="quantile"
    )
    for a, b in zip(weighted, repeated):
        assert_allclose(a, b)


# --------------------------------------------------------- known answers
def test_bins_are_open_below_and_closed_above():
    # confidence 0.6 lies on an edge of 5 bins: it belongs to (0.4, 0.6]
    curve = calibration_curve([0, 1], [[0.6, 0.4], [0.4, 0.6]], n_bins=5)
    assert_allclose(curve.prob_pred, [0.6])
    assert_allclose(curve.bin_weight, [2.0])


def test_nll_clips_a_zero_probability_at_the_smallest_normal():
    assert nll([0], [[0.0, 1.0]]) == pytest.approx(-np.log(np.finfo(np.float64).tiny))
    assert nll([0], np.array([[0.0, 1.0]], dtype=np.float32)) == pytest.approx(
        -np.log(np.finfo(np.float32).tiny)
    )


def test_nll_from_logits_is_exact_for_extreme_logits():
    logits = np.array([[0.0, 800.0, -5.0], [1.0, 2.0, 3.0]])
    y = np.array([0, 2])
    expected = np.mean(logsumexp(logits, axis=1) - logits[[0, 1], y])
    assert nll_from_logits(y, logits) == pytest.approx(expected, rel=1e-14)
    assert nll_from_logits(y, logits) == pytest.approx(
        (800.0 + np.log1p(np.exp(-800.0) + np.exp(-805.0)) + 0.40760596444438) / 2
    )
    moderate = logits[1:]
    assert nll_from_logits([2], moderate) == pytest.approx(nll([2], softmax(moderate)))


def test_perplexity_of_uniform_predictions_is_the_vocabulary_size():
    y = np.random.default_rng(0).integers(0, 50, size=1000)
    assert perplexity(y, np.full((1000, 50), 1 / 50)) == pytest.approx(50.0)
    assert perplexity(y, logits=np.zeros((1000, 50))) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="exactly one"):
        perplexity(y)


def test_perplexity_of_large_logits_needs_little_extra_memory():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20000, 1000)).astype(np.float32)  # 80 MB
    y = rng.integers(0, 1000, size=20000)
    tracemalloc.start()
    value = perplexity(y, logits=logits)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    expected = np.exp(np.mean(logsumexp(logits.astype(np.float64), axis=1) - logits[np.arange(20000), y]))
    assert value == pytest.approx(expected, rel=1e-5)
    assert peak < 0.05 * logits.nbytes


def test_debiased_l2_ece_removes_the_binning_bias_on_calibrated_predictions():
    """On perfectly calibrated predictions the biased squared L2 ECE is about
    n_bins * E[p(1 - p)] / n; the debiased one is zero in expectation (reported
    clipped at 0), so averaged over draws it is far smaller."""
    biased, debiased = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        p = rng.random(2000)
        y = (rng.random(2000) < p).astype(int)
        ece = partial(expected_calibration_error, y, p, norm=2, kind="classwise", n_bins=15)
        biased.append(ece() ** 2)
        debiased.append(ece(debiased=True) ** 2)
    assert np.mean(biased) == pytest.approx(15 * (1 / 6) / 2000, rel=0.3)
    assert np.mean(debiased) < 0.35 * np.mean(biased)
    with pytest.raises(ValueError, match="norm=2"):
        expected_calibration_error(y, p, debiased=True)


def test_classwise_ece_is_the_mean_of_per_class_binary_ece(predictions):
    y, proba = predictions
    per_class = [
        expected_calibration_error((y == k).astype(int), proba[:, k], kind="classwise")
        for k in range(3)
    ]
    assert expected_calibration_error(y, proba, kind="classwise") == pytest.approx(
        np.mean(per_class)
    )


def test_metric_errors_name_the_problem(predictions):
    y, proba = predictions
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*If they are logits, pass them "
                                         "to nll_from_logits"):  # the fix, too
        nll(y, proba * 2)
    with pytest.raises(ValueError, match="must sum to 1"):
        brier_score(y, proba * 0.5)
    with pytest.raises(ValueError, match="900 samples but y_prob has 899"):
        nll(y, proba[:-1])
    with pytest.raises(ValueError, match="non-finite"):
        expected_calibration_error(y, np.where(proba > 0.9, np.nan, proba))
    with pytest.raises(ValueError, match="negative"):
        nll(y, proba, sample_weight=-np.ones(900))
    with pytest.raises(ValueError, match="base must be positive and not 1"):
        nll(y, proba, base=1)
    with pytest.raises(ValueError, match="not one of the labels"):
        calibration_curve(y, proba, kind="class", class_label=7)


# ------------------------------------------------------ real classifier outputs
@pytest.mark.parametrize(
    "name, split, expected_nll, expected_ece_percent, tolerance",
    [
        ("cifar10_resnet50_flsd53_val_test.npz", "val", 0.1624, 1.40, 0.005),
        ("cifar10_resnet50_flsd53_val_test.npz", "test", 0.1755, 1.55, 0.005),
        ("cifar10_vgg16_test.npz", None, 0.2571, 3.98, 0.005),
        ("netcal_densenet-bc-100-cifar-100_test.npz", None, 1.2256, 14.2, 0.05),
        ("netcal_wideresnet-16-4-cifar-10_test.npz", None, 0.3782, 5.37, 0.005),
    ],
)
def test_figures_recomputed_for_the_shared_outputs(
    name, split, expected_nll, expected_ece_percent, tolerance
):
    data = load_shared(name)
    if split is None:
        y, proba = data["y"], data["probs"]
    else:
        y, proba = data[f"y_{split}"], softmax(data[f"logits_{split}"])
    assert nll(y, proba) == pytest.approx(expected_nll, abs=5e-5)
    ece = 100 * expected_calibration_error(y, proba, n_bins=15)
    assert ece == pytest.approx(expected_ece_percent, abs=tolerance)


def test_published_ece_of_the_focal_loss_model(flsd_logits):
    """Mukhoti et al. 2020: top-label ECE 1.55 %, 0.95 % with logits divided by 1.1."""
    y, logits = flsd_logits["y_test"], flsd_logits["logits_test"]
    assert 100 * expected_calibration_error(y, softmax(logits)) == pytest.approx(1.55, abs=0.005)
    assert 100 * expected_calibration_error(y, softmax(logits / 1.1)) == pytest.approx(
        0.95, abs=0.005
    )


def test_decomposition_of_an_overconfident_model():
    data = load_shared("netcal_densenet-bc-100-cifar-100_test.npz")
    y, proba = data["y"], data["probs"]
    parts = nll_decomposition(y, proba)
    assert parts.nll == pytest.approx(parts.calibration + parts.refinement, rel=1e-12)
    assert parts.calibration > 0.25  # about a quarter of the NLL is miscalibration
    # after temperature scaling fitted on the other half, little is left to fix
    fit, held_out = seeded_halves(y.shape[0])
    ts = TemperatureScaling().fit(proba[fit], y[fit])
    after = nll_decomposition(y[held_out], ts.predict_proba(proba[held_out]))
    assert abs(after.calibration) < 0.01
    assert after.nll < parts.nll - 0.25


def test_decomposition_with_isotonic_recalibration(predictions):
    y, proba = predictions
    parts = nll_decomposition(y, proba, method="isotonic")
    assert parts.nll == pytest.approx(parts.calibration + parts.refinement)
    assert parts.calibration > 0  # the predictions were drawn 1.5 times too confident


def test_decomposition_of_a_forest_reads_its_zeros_as_temperature_scaling_does():
    # the cross-fitted temperature took a zero's log at -708: on a forest's vote
    # fractions the held-out NLL after "recalibration" came out at 1.19, above the
    # NLL itself (1.09, a negative calibration part), where isotonic found 0.50
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(6000, n_features=20, n_informative=8, n_classes=4,
                               random_state=0)
    forest = RandomForestClassifier(100, random_state=0).fit(X[:3000], y[:3000])
    votes, y = forest.predict_proba(X[3000:]), y[3000:]
    by_temperature = nll_decomposition(y, votes)
    by_isotonic = nll_decomposition(y, votes, method="isotonic")
    assert by_temperature.calibration > 0.5 * by_temperature.nll
    assert abs(by_temperature.refinement - by_isotonic.refinement) < 0.05


def test_decomposition_rejects_a_fold_with_one_class():
    y = np.array([0, 0, 0, 0, 1])
    proba = np.column_stack([np.full(5, 0.7), np.full(5, 0.3)])
    with pytest.raises(ValueError, match="fewer than two classes"):
        nll_decomposition(y, proba, cv=2)
    assert_array_equal(y, [0, 0, 0, 0, 1])  # inputs untouched


@pytest.mark.parametrize("y, weights", [
    (np.zeros(6, dtype=int), None),
    (np.array([0, 0, 0, 0, 0, 1]), np.array([1.0, 1, 1, 1, 1, 0])),  # the 1 weighs nothing
])
def test_decomposition_of_a_single_class_says_so(y, weights):
    proba = np.column_stack([np.full(6, 0.7), np.full(6, 0.3)])
    with pytest.raises(ValueError, match="y_true has a single class"):  # not "use fewer folds"
        nll_decomposition(y, proba, cv=2, sample_weight=weights)
