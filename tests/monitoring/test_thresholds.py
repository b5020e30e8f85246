"""The monitor's alarm thresholds: the simulation against streams drawn directly,
and the false-alarm bound on streams whose chunks are only partly labelled."""

import copy

import numpy as np
import pytest
from scipy.special import ndtri

from conftest import sample_labels, softmax
from skcal import CalibrationMonitor
from skcal.monitoring._thresholds import alarm_thresholds, size_class, size_classes


def test_thresholds_of_a_gaussian_reference_match_streams_drawn_directly():
    """With a Gaussian per-row NLL and a reference 200 times a chunk, chunk z-scores
    are nearly independent standard normals: the single-chunk threshold is the
    1 - alpha/2 quantile of the largest of 100, and the CUSUM's is that of a
    normal CUSUM, simulated here on 40,000 streams. The monitor's simulation uses
    1,000 streams and a pool of 20,000 chunk means, whose sampling error at these
    quantiles is about 5 % (the tolerance)."""
    rng = np.random.default_rng(0)
    cusum, single = alarm_thresholds(rng.normal(size=20000), 100, horizon=100, alpha=0.05,
                                     drift=0.5, random_state=1)
    exact_single = ndtri(0.975 ** (1 / 100))  # the largest of 100 normals
    z = rng.normal(size=(40000, 100))
    s, top = np.zeros(40000), np.zeros(40000)
    for t in range(100):
        s = np.maximum(0.0, s + z[:, t] - 0.5)
        top = np.maximum(top, s)
    exact_cusum = np.quantile(top, 0.975)
    assert abs(single[100] - exact_single) < 0.05 * exact_single
    assert abs(cusum - exact_cusum) < 0.07 * exact_cusum


def test_size_classes_cover_every_tested_chunk():
    classes = size_classes(1000, 100)
    assert classes == [100, 125, 250, 500, 1000]
    assert [size_class(n, classes) for n in (100, 124, 130, 999, 1000, 4000)] == [
        100, 100, 125, 500, 1000, 1000]


def test_no_drift_partly_labelled_chunks_alarm_at_most_alpha():
    """200 streams of 100 chunks of 400 rows of a confident, calibrated model
    (heavy-tailed per-row NLL), each chunk with 10 % to 30 % of its rows labelled
    (40 to 120 labels): the share of streams with any alarm is at most alpha plus
    two binomial standard errors."""
    n_streams, alarms, chunk = 200, 0, 400
    for seed in range(n_streams):
        rng = np.random.default_rng(seed)
        logits = rng.normal(scale=4.0, size=(3000 + 100 * chunk, 4))
        y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1).astype(float)
        labelled = np.zeros((100, chunk), dtype=bool)  # 40 to 120 rows of each chunk
        for row, k in zip(labelled, rng.integers(40, 121, size=100)):
            row[rng.choice(chunk, size=k, replace=False)] = True
        y[3000:][~labelled.reshape(-1)] = np.nan  # their labels never come
        monitor = CalibrationMonitor(chunk_size=chunk, min_labels=40, max_pending=0,
                                     random_state=seed).fit(logits[:3000], y[:3000])
        table = monitor.update(logits[3000:], y[3000:]).to_dict()["chunks"]
        assert len(table) == 100 and min(row["n_labelled"] for row in table) >= 40
        alarms += any(row["alarm"] for row in table)
    alpha = 0.05
    assert alarms / n_streams <= alpha + 2 * np.sqrt(alpha * (1 - alpha) / n_streams)


def test_a_monitor_pickled_before_thresholds_per_size_goes_on():
    """A monitor pickled by a version without ``chunk_thresholds_`` updates, saves
    and restores with its one threshold for every size."""
    import pickle

    rng = np.random.default_rng(3)
    logits = rng.normal(scale=2.0, size=(6000, 3))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    monitor = CalibrationMonitor(chunk_size=500).fit(logits[:3000], y[:3000])
    del monitor.chunk_thresholds_  # as an older version pickled it
    old = pickle.loads(pickle.dumps(monitor))
    old.update(logits[3000:], y[3000:])
    state = old.to_dict()
    assert state["chunk_thresholds"] == {"500": old.chunk_threshold_}
    restored = CalibrationMonitor.from_dict(state)
    assert restored.to_dict()["chunks"] == state["chunks"]


def test_means_of_large_chunks_made_of_two_halves_have_the_direct_distribution():
    """Chunks of more than 4096 rows have their means made of two halves' from the
    pool of half the size (drawing each row took 20 s a fit for chunks of
    100,000). On a heavy-tailed per-row NLL (skewness 19), the pools of 8193-row
    means (skewness 0.2), made both ways, agree in mean, spread and skewness to
    their sampling error over 20,000 means: within 0.2 %, 1.5 % and 0.01 over
    three seeds, held here to 0.5 %, 3 % and 0.06."""
    from skcal.monitoring._thresholds import _DIRECT_ROWS, _chunk_means

    rng = np.random.default_rng(5)
    nll = np.where(rng.random(5000) < 0.01, rng.exponential(30.0, 5000),
                   rng.exponential(0.3, 5000))
    size = 2 * _DIRECT_ROWS + 1  # odd: two halves and one row more
    halves = _chunk_means(nll, size, 20000, np.random.default_rng(6), {})
    draw = np.random.default_rng(7)
    direct = np.concatenate([nll[draw.integers(5000, size=(500, size))].mean(axis=1)
                             for _ in range(40)])

    def skewness(x):
        return np.mean((x - x.mean()) ** 3) / x.std() ** 3

    assert abs(halves.mean() - direct.mean()) < 0.005 * direct.mean()
    assert abs(halves.std() / direct.std() - 1) < 0.03
    assert skewness(direct) > 0.1  # the heavy tail still shows at this size
    assert abs(skewness(halves) - skewness(direct)) < 0.06


def _calibrated(rng, n):
    """Logits of a calibrated 3-class model and labels drawn from them."""
    logits = rng.normal(scale=2.0, size=(n, 3))
    return logits, sample_labels(softmax(logits), rng)


def _flattened_to(logits, y, target):
    """``logits / T`` whose NLL on ``y`` is ``target`` (a calibrated model's NLL
    rises as T grows past 1)."""
    from scipy.optimize import brentq
    from scipy.special import log_softmax

    def nll(t):
        return -log_softmax(logits / t, axis=1)[np.arange(y.shape[0]), y].mean()

    return logits / brentq(lambda t: nll(t) - target, 1.0, 50.0, xtol=1e-12)


def test_the_cusum_flags_the_detectable_rise_within_ten_chunks():
    """The same chunk fed over and over, its NLL raised by a fixed share of
    ``detectable_rise_['cusum']`` over the reference's: 5 % above it, the CUSUM
    alarms by the 10th chunk; 5 % below, not yet (and no single chunk alarms)."""
    rng = np.random.default_rng(3)
    monitor = CalibrationMonitor(chunk_size=500).fit(*_calibrated(rng, 50000))
    rise = monitor.detectable_rise_
    assert rise["cusum"] < rise["chunk"]  # a reference of 100 chunks: the CUSUM sees more
    logits, y = _calibrated(rng, 500)
    for share, alarmed in ((1.05, True), (0.95, False)):
        chunk = _flattened_to(logits, y, monitor.reference_["nll"] + share * rise["cusum"])
        fed = copy.deepcopy(monitor)
        for _ in range(10):
            fed.update(chunk, y)
        table = fed.to_frame()
        assert len(table) == 10 and not (table["z"] > fed.chunk_threshold_).any()
        assert bool(table["alarm"].iloc[-1]) is alarmed


def test_a_reference_of_few_chunks_is_warned_of_with_the_rises_it_lets_the_monitor_see():
    """A reference of 2 chunks: the CUSUM's threshold is many times a large
    reference's, and the sustained rise it flags within 10 chunks too; fit says
    so. With 10 chunks, fit says nothing."""
    rng = np.random.default_rng(4)
    reference = _calibrated(rng, 20000)
    with pytest.warns(UserWarning, match=r"The reference holds 1000 labelled rows, 2\.0 "
                                         r"chunks of 500\..* within 10 chunks only from "
                                         r"0\.\d+ nats.*Fit on at least 5000"):
        small = CalibrationMonitor(chunk_size=500).fit(reference[0][:1000],
                                                       reference[1][:1000])
    large = CalibrationMonitor(chunk_size=500).fit(*reference)  # 40 chunks: no warning
    # (the suite turns warnings into errors)
    assert small.cusum_threshold_ > 5 * large.cusum_threshold_
    assert small.detectable_rise_["cusum"] > 3 * large.detectable_rise_["cusum"]
    # the summary, which a nightly job prints each run, says it too
    logits, y = _calibrated(rng, 500)
    rise = min(small.detectable_rise_.values())
    assert small.update(logits, y).summary().endswith(
        f"Its reference of 1000 rows (2.0 chunks) lets it flag a sustained NLL rise only "
        f"from {rise:.3f} nats; fit on 10 chunks or more.")
    assert "Its reference" not in large.update(logits, y).summary()
