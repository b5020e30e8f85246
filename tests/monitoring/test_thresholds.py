"""The monitor's alarm thresholds: the simulation against streams drawn directly,
and the false-alarm bound on streams whose chunks are only partly labelled."""

import numpy as np
from scipy.special import ndtri

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
