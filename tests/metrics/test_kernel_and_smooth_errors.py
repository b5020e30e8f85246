"""The calibration errors without bins: the SKCE and the smooth ECE."""

import numpy as np
import pytest

from conftest import temperature_model

import skcal.metrics._skce as skce_module
from skcal.metrics import skce, smooth_ece


def _direct_skce(y, proba, estimator, bandwidth=None):
    """The SKCE by its definition: a double loop over the pairs, the median of all
    n x n distances by numpy."""
    proba = np.asarray(proba, dtype=float)
    n, n_classes = proba.shape
    distance = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            distance[i, j] = 0.5 * sum(abs(proba[i, k] - proba[j, k]) for k in range(n_classes))
    if bandwidth is None:
        bandwidth = np.median(distance)

    def h(i, j):
        r_i, r_j = -proba[i].copy(), -proba[j].copy()
        r_i[y[i]] += 1
        r_j[y[j]] += 1
        return np.exp(-distance[i, j] / bandwidth) * float(r_i @ r_j)

    if estimator == "biased":
        return sum(h(i, j) for i in range(n) for j in range(n)) / n**2
    if estimator == "unbiased":
        return sum(h(i, j) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    pairs = n // 2
    return sum(h(2 * i, 2 * i + 1) for i in range(pairs)) / pairs


def _calibrated(rng, n, n_classes, temperature=1.0):
    y, proba, _ = temperature_model(rng, n, n_classes, temperature)
    return y, proba


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few pairs, so that every estimator crosses many blocks and threads."""
    monkeypatch.setattr(skce_module, "_BLOCK_VALUES", 60)


@pytest.mark.parametrize("estimator", ["biased", "unbiased", "linear"])
@pytest.mark.parametrize("bandwidth", ["median", 0.3])
@pytest.mark.parametrize("n_samples, n_classes", [(23, 3), (30, 2), (17, 6)])
def test_skce_equals_the_double_loop(small_blocks, estimator, bandwidth, n_samples, n_classes):
    rng = np.random.default_rng(n_samples)
    y, proba = _calibrated(rng, n_samples, n_classes, temperature=1.7)
    expected = _direct_skce(y, proba, estimator, None if bandwidth == "median" else bandwidth)
    for n_jobs in (1, 2):
        got = skce(y, proba, estimator=estimator, bandwidth=bandwidth, n_jobs=n_jobs)
        assert got == pytest.approx(expected, abs=1e-12, rel=1e-12)


def test_skce_binary_1d_equals_two_columns():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=40)
    y = rng.uniform(size=40) < p
    assert skce(y, p) == pytest.approx(skce(y, np.column_stack([1 - p, p])), abs=1e-15)
    assert skce(y, p) == pytest.approx(_direct_skce(y.astype(int), np.column_stack([1 - p, p]),
                                                    "unbiased"), abs=1e-12)


@pytest.mark.parametrize("n_samples", [1, 2, 9, 40])
def test_median_distance_is_numpys_median_of_all_pairs(small_blocks, n_samples):
    rng = np.random.default_rng(n_samples)
    # few distinct rows: many tied distances, the hard case for the two-pass median
    proba = rng.dirichlet([1, 1, 1], size=4)[rng.integers(0, 4, size=n_samples)]
    distance = 0.5 * np.abs(proba[:, None, :] - proba[None, :, :]).sum(axis=2)
    assert skce_module.median_distance(proba) == pytest.approx(np.median(distance), abs=1e-15)


@pytest.mark.parametrize("n_samples", [9, 40])
def test_weighted_median_distance_is_that_of_repeated_rows(small_blocks, n_samples):
    rng = np.random.default_rng(n_samples)
    proba = rng.dirichlet([1, 1, 1], size=4)[rng.integers(0, 4, size=n_samples)]
    weight = rng.integers(1, 4, size=n_samples)
    repeated = np.repeat(proba, weight, axis=0)
    distance = 0.5 * np.abs(repeated[:, None, :] - repeated[None, :, :]).sum(axis=2)
    assert skce_module.median_distance(proba, weight=weight.astype(float)) == pytest.approx(
        np.median(distance), abs=1e-15)


def test_skce_weights_pairs_by_the_product_of_their_weights(small_blocks):
    # skce took no sample_weight, though every other metric does
    rng = np.random.default_rng(4)
    y, proba = _calibrated(rng, 31, 3, temperature=1.7)
    weight = rng.integers(1, 4, size=31).astype(float)
    repeated = np.repeat(y, weight.astype(int)), np.repeat(proba, weight.astype(int), axis=0)
    # the biased estimator and the median: those of rows repeated by their weights
    # (1e-12 relative: the same terms summed in another order, here and below)
    assert skce(y, proba, estimator="biased", sample_weight=weight) == pytest.approx(
        _direct_skce(*repeated, "biased"), rel=1e-12, abs=1e-15)
    # the unbiased one: over pairs of distinct rows, each counted w_i w_j
    residuals = -proba
    residuals[np.arange(31), y] += 1
    distance = 0.5 * np.abs(proba[:, None, :] - proba[None, :, :]).sum(axis=2)
    bandwidth = skce_module.median_distance(proba, weight=weight)
    pair_weight = np.outer(weight, weight)
    np.fill_diagonal(pair_weight, 0.0)
    terms = np.exp(-distance / bandwidth) * (residuals @ residuals.T)
    expected = float((terms * pair_weight).sum() / pair_weight.sum())
    for n_jobs in (1, 2):
        assert skce(y, proba, sample_weight=weight, n_jobs=n_jobs) == pytest.approx(
            expected, rel=1e-12, abs=1e-15)
    # the linear one: consecutive pairs (0, 1), (2, 3), ..., each counted w_i w_j
    first, second = np.arange(0, 30, 2), np.arange(1, 31, 2)
    pair = weight[first] * weight[second]
    expected_linear = float(pair @ terms[first, second] / pair.sum())
    assert skce(y, proba, estimator="linear", sample_weight=weight) == pytest.approx(
        expected_linear, rel=1e-12, abs=1e-15)
    # weights of any scale; rows of no weight are left out; unit weights are none
    assert skce(y, proba, sample_weight=0.37 * weight) == pytest.approx(expected, rel=1e-12)
    weight[:4] = 0.0
    assert skce(y, proba, sample_weight=weight) == pytest.approx(
        skce(y[4:], proba[4:], sample_weight=weight[4:]), rel=1e-12)
    for estimator in ("biased", "unbiased", "linear"):
        assert skce(y, proba, estimator=estimator, sample_weight=np.ones(31)) == pytest.approx(
            skce(y, proba, estimator=estimator), rel=1e-12, abs=1e-15)
    with pytest.raises(ValueError, match="needs at least 2 samples of positive weight; got 1"):
        skce(y, proba, sample_weight=np.eye(31)[0])


def test_unbiased_skce_has_mean_zero_on_a_calibrated_model():
    rng = np.random.default_rng(0)
    values = np.array([skce(*_calibrated(rng, 60, 4)) for _ in range(400)])
    standard_error = values.std(ddof=1) / np.sqrt(values.shape[0])
    assert abs(values.mean()) < 3 * standard_error
    # and the biased one is positive, its bias the diagonal's mean
    assert skce(*_calibrated(rng, 60, 4), estimator="biased") > 0


def test_skce_grows_with_miscalibration():
    rng = np.random.default_rng(1)
    calibrated = skce(*_calibrated(rng, 1500, 5))
    overconfident = skce(*_calibrated(rng, 1500, 5, temperature=2.0))
    assert overconfident > 10 * max(calibrated, 1e-6)


def test_skce_errors():
    with pytest.raises(ValueError, match="median pairwise distance of the predictions is 0"):
        skce([0, 1, 0], [[0.5, 0.5]] * 3)
    with pytest.raises(ValueError, match="at least 2 samples"):
        skce([0], [[0.4, 0.6]])
    with pytest.raises(ValueError, match="bandwidth"):
        skce([0, 1], [[0.4, 0.6], [0.3, 0.7]], bandwidth=-1.0)
    with pytest.raises(ValueError, match="NaN|finite"):
        skce([0, 1], [[np.nan, 0.6], [0.3, 0.7]])




@pytest.mark.parametrize("n_samples", [30, 500, 5000])
@pytest.mark.parametrize("n_classes", [2, 5])
def test_smooth_ece_agrees_with_relplot(n_samples, n_classes):
    relplot = pytest.importorskip(
        "relplot", reason="relplot, the smooth ECE's reference implementation, is an "
        "optional test peer"
    )
    rng = np.random.default_rng(n_samples + n_classes)
    y, proba = _calibrated(rng, n_samples, n_classes, temperature=1.6)
    if n_classes == 2:
        expected = relplot.smECE(proba[:, 1], (y == 1).astype(float))
    else:
        f, correct = relplot.multiclass_logits_to_confidences(proba, y, probs=True)
        expected = relplot.smECE(f, correct)
    assert smooth_ece(y, proba) == pytest.approx(expected, abs=1e-6)


def test_smooth_ece_weights_count_as_repeated_rows():
    rng = np.random.default_rng(4)
    y, proba = _calibrated(rng, 300, 3, temperature=1.5)
    counts = rng.integers(1, 4, size=300)
    repeated = smooth_ece(np.repeat(y, counts), np.repeat(proba, counts, axis=0))
    assert smooth_ece(y, proba, sample_weight=counts) == pytest.approx(repeated, abs=1e-12)


def test_smooth_ece_labels_and_ordering():
    rng = np.random.default_rng(5)
    y, proba = _calibrated(rng, 400, 3, temperature=1.5)
    names = np.array(["a", "b", "c"])[y]
    assert smooth_ece(names, proba) == pytest.approx(smooth_ece(y, proba), abs=1e-15)
    order = rng.permutation(400)
    assert smooth_ece(y[order], proba[order]) == pytest.approx(smooth_ece(y, proba), abs=1e-12)


def test_smooth_ece_separates_calibrated_from_overconfident():
    rng = np.random.default_rng(6)
    calibrated = smooth_ece(*_calibrated(rng, 5000, 2))
    overconfident = smooth_ece(*_calibrated(rng, 5000, 2, temperature=2.0))
    assert calibrated < 0.02 < 0.05 < overconfident


def test_skce_and_its_test_refuse_a_dask_array_with_the_reason():
    da = pytest.importorskip("dask.array")
    from skcal.stats import calibration_test

    rng = np.random.default_rng(0)
    positive = rng.uniform(size=100)
    proba = np.column_stack([1 - positive, positive])
    y = (rng.uniform(size=100) < positive).astype(int)
    lazy = da.from_array(proba, chunks=50)
    with pytest.raises(ValueError, match="gathered whole to the client"):
        skce(y, lazy)
    with pytest.raises(ValueError, match="gathered whole to the client"):
        calibration_test(y, lazy, method="skce")
    assert skce(y, proba) == skce(y, lazy.compute())  # the same rows, once in memory
