"""Predictive NLL of samples: against a direct log-mean-exp, Jensen's inequality on
random cases, and the same answers from memory maps, Dask and Zarr."""

import numpy as np
import pytest
from scipy.special import log_softmax, logsumexp, softmax

from skcal import TemperatureScaling
from skcal.metrics import (
    ensemble_nll,
    nll_from_logits,
    predictive_log_proba,
    predictive_nll,
    predictive_perplexity,
)


def direct(samples_log_p, y, weight=None):
    """-mean_i log mean_s p_s(y_i), written out with numpy."""
    rows = np.arange(y.shape[0])
    log_mean = logsumexp(samples_log_p[:, rows, y], axis=0) - np.log(samples_log_p.shape[0])
    return -np.average(log_mean, weights=weight)


@pytest.mark.parametrize("form", ["logits", "log-probabilities", "probabilities"])
def test_equals_a_direct_log_mean_exp(form):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(7, 500, 6))
    y = rng.integers(6, size=500)
    log_p = log_softmax(logits, axis=2)
    given = {"logits": logits, "log-probabilities": log_p, "probabilities": np.exp(log_p)}[form]
    weight = rng.uniform(0, 2, size=500)
    assert abs(predictive_nll(y, given) - direct(log_p, y)) < 1e-12
    assert abs(predictive_nll(y, given, sample_weight=weight) - direct(log_p, y, weight)) < 1e-12


def test_never_above_the_members_mean_on_random_cases():
    rng = np.random.default_rng(1)
    for _ in range(60):
        n_samples, n, k = rng.integers(1, 9), rng.integers(1, 60), rng.integers(2, 8)
        samples = rng.normal(scale=rng.uniform(0.1, 8), size=(n_samples, n, k))
        result = ensemble_nll(rng.integers(k, size=n), samples, score_type="logits")
        assert result.predictive_nll <= result.members_nll + 1e-12
        assert result.gain >= -1e-12
    # one member: no gain; the members' NLLs are each member's own NLL
    y = rng.integers(4, size=300)
    samples = rng.normal(size=(3, 300, 4))
    result = ensemble_nll(y, samples)
    np.testing.assert_allclose(result.member_nlls, [nll_from_logits(y, s) for s in samples],
                               rtol=1e-12)
    single = ensemble_nll(y, samples[:1])
    assert abs(single.gain) < 1e-12


def test_averaging_logits_is_not_the_predictive_distribution():
    rng = np.random.default_rng(2)
    samples = rng.normal(scale=4.0, size=(10, 2000, 3))
    y = rng.integers(3, size=2000)
    averaged_logits = nll_from_logits(y, samples.mean(axis=0))
    assert abs(averaged_logits - predictive_nll(y, samples)) > 0.1


def test_token_samples_with_padding_and_perplexity():
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(4, 2, 30, 11))  # 4 samples of (batch 2, 30 tokens, vocab 11)
    y = rng.integers(11, size=(2, 30))
    y[1, 20:] = -100
    keep = y.reshape(-1) != -100
    log_p = log_softmax(samples.reshape(4, 60, 11)[:, keep], axis=2)
    expected = direct(log_p, y.reshape(-1)[keep])
    assert abs(predictive_nll(y, samples, ignore_index=-100) - expected) < 1e-12
    assert abs(predictive_perplexity(y, samples, ignore_index=-100) - np.exp(expected)) < 1e-9


def test_memory_maps_dask_and_zarr_give_the_same_answer(tmp_path):
    rng = np.random.default_rng(4)
    samples = rng.normal(size=(5, 3000, 8)).astype(np.float32)
    y = rng.integers(8, size=3000)
    expected = predictive_nll(y, samples)
    np.save(tmp_path / "samples.npy", samples)
    mapped = np.load(tmp_path / "samples.npy", mmap_mode="r")
    assert abs(predictive_nll(y, mapped) - expected) < 1e-12
    da = pytest.importorskip("dask.array")
    assert abs(predictive_nll(y, da.from_array(samples, chunks=(1, 700, 8))) - expected) < 1e-12
    zarr = pytest.importorskip("zarr")
    stored = zarr.open(str(tmp_path / "samples.zarr"), mode="w", shape=samples.shape,
                       chunks=(1, 1000, 8), dtype="f4")
    stored[...] = samples
    assert abs(predictive_nll(y, stored) - expected) < 1e-12


def test_a_list_of_members_memory_maps_is_read_one_member_at_a_time(tmp_path):
    # a list (one file per member, as deep ensembles are saved) was stacked into one
    # array first: every member in memory at once (4000 MB for five 800 MB members)
    import tracemalloc

    rng = np.random.default_rng(6)
    stacked = rng.normal(size=(5, 4000, 250)).astype(np.float32)
    y = rng.integers(250, size=4000)
    for s, member in enumerate(stacked):
        np.save(tmp_path / f"member{s}.npy", member)
    members = [np.load(tmp_path / f"member{s}.npy", mmap_mode="r") for s in range(5)]
    one_member = stacked[0].nbytes  # 4 MB; the row blocks read are 0.5 MB
    tracemalloc.start()
    try:
        result = ensemble_nll(y, members)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < one_member
    expected = ensemble_nll(y, stacked)
    assert abs(result.predictive_nll - expected.predictive_nll) < 1e-12
    np.testing.assert_allclose(result.member_nlls, expected.member_nlls, rtol=1e-12)
    np.testing.assert_allclose(predictive_log_proba(members), predictive_log_proba(stacked),
                               rtol=1e-12)


def test_members_of_different_shapes_are_named():
    members = [np.zeros((10, 3)), np.zeros((10, 3)), np.zeros((9, 3))]
    message = r"samples\[2\] has shape \(9, 3\) and samples\[0\] \(10, 3\)"
    with pytest.raises(ValueError, match=message):
        predictive_nll(np.zeros(10, dtype=int), members)
    with pytest.raises(ValueError, match=message):
        predictive_log_proba(members)


def test_the_predictive_distribution_is_calibrated_like_any_logits():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(4000, 4))
    y = (truth + rng.gumbel(size=truth.shape)).argmax(axis=1)
    samples = 3.0 * (truth + rng.normal(scale=0.5, size=(6, 4000, 4)))  # over-confident
    log_mean = predictive_log_proba(samples)
    np.testing.assert_allclose(np.exp(log_mean), softmax(samples, axis=2).mean(axis=0),
                               rtol=1e-12)
    before = predictive_nll(y, samples)
    calibrated = TemperatureScaling().fit(log_mean[:2000], y[:2000])
    after = nll_from_logits(y[2000:], np.log(calibrated.predict_proba(log_mean[2000:])))
    assert after < predictive_nll(y[2000:], samples[:, 2000:]) < before + 0.05


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 3)), "pass \\(n_samples, n_rows, n_classes\\)"),
    (np.full((2, 10, 3), np.nan), "NaN"),
    (np.zeros((2, 9, 3)), r"y_true has 10 samples but samples\[0\] has 9"),
])
def test_bad_samples_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        predictive_nll(np.zeros(10, dtype=int), bad)
