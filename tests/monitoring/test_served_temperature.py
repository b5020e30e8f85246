"""A temperature refitted on the log-probabilities a monitor served for rows whose
labels came late is the temperature of the raw scores: with no calibrator, and
through an installed temperature (the two compose); through an installed vector
or matrix scaling it is that map followed by the temperature of what it served, as
``recalibrate(..., compose=True)`` fits it on raw scores."""

import numpy as np
import pytest

from skcal import (
    CalibrationMonitor,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
)
from skcal.monitoring._served_temperature import join_late_labels, temperature_from_served

# the served log-probabilities wait in float32, each off by at most 6e-8 of itself,
# and each fit stops within its tolerance (1e-7 on the gradient): 1e-6 allows both
# (benchmarks/bench_served_temperature.py: 2.5e-9 at most over 30 seeded fits)
SERVED_IN_FLOAT32 = 1e-6


def _rows(rng, n, k, scale):
    """Logits of a model ``scale`` times too confident, and labels."""
    logits = rng.normal(scale=2.0, size=(n, k))
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    return scale * logits, y


def _as_probabilities(logits):
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _binary_column(logits, kind):
    """One column of a binary task: the positive class's log-odds or probability."""
    log_odds = logits[:, 1] - logits[:, 0]
    return log_odds if kind == "logits" else 1 / (1 + np.exp(-log_odds))


def _binary_task(seed, n, kind):
    """(reference scores, labels, raw logits, their scores, labels) of a binary task
    as one column, the production rows of a model 3 times too confident."""
    rng = np.random.default_rng(seed)
    reference, reference_y = _rows(rng, 3000, 2, 1.0)
    raw, y = _rows(rng, n, 2, 3.0)
    return _binary_column(reference, kind), reference_y, raw, _binary_column(raw, kind), y


def _labelled_late(monitor, scores, y):
    """Add ``scores`` without labels, then join ``y`` by id; the rows joined."""
    ids = np.array([f"tx{i}" for i in range(len(y))])
    monitor.update(scores, ids=ids)
    order = np.random.default_rng(1).permutation(len(y))  # labels come in any order
    log_proba, y_index, chunks = join_late_labels(monitor, ids[order], y[order])
    assert log_proba.dtype == np.float32 and chunks.shape == y.shape
    return log_proba, monitor.classes_[y_index]


@pytest.mark.parametrize("kind", ["logits", "probabilities"])
def test_a_temperature_refitted_on_served_rows_is_the_raw_scores_temperature(kind):
    rng = np.random.default_rng(0)
    convert = (lambda z: z) if kind == "logits" else _as_probabilities
    reference, reference_y = _rows(rng, 3000, 4, 1.0)
    raw, y = _rows(rng, 4000, 4, 2.5)
    monitor = CalibrationMonitor(chunk_size=1000).fit(convert(reference), reference_y)
    log_proba, labels = _labelled_late(monitor, convert(raw), y)
    refit = temperature_from_served(monitor, log_proba, labels)
    direct = TemperatureScaling(score_type=kind).fit(convert(raw), y)
    assert refit.score_type_ == kind and refit.n_features_in_ == 4
    assert refit.temperature_ == pytest.approx(direct.temperature_, rel=SERVED_IN_FLOAT32)
    assert refit.temperature_ == pytest.approx(2.5, rel=0.1)
    np.testing.assert_allclose(refit.predict_proba(convert(raw[:50])),
                               direct.predict_proba(convert(raw[:50])),
                               rtol=SERVED_IN_FLOAT32, atol=1e-12)


@pytest.mark.parametrize("kind", ["logits", "probabilities"])
def test_through_an_installed_temperature_the_two_compose(kind):
    # one column of a binary task: the positive class's log-odds or probability
    reference, reference_y, raw, scores, y = _binary_task(2, 4000, kind)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    halfway = TemperatureScaling(score_type=kind).fit(_binary_column(raw[:2000] / 1.5, kind),
                                                      y[:2000])
    halfway.temperature_ = 1.5  # serves the raw scores at 1.5: half the way to 3
    monitor.recalibrate(halfway)
    log_proba, labels = _labelled_late(monitor, scores, y)
    refit = temperature_from_served(monitor, log_proba, labels)
    direct = TemperatureScaling(score_type=kind).fit(scores, y)
    assert refit.n_features_in_ == 1
    assert refit.temperature_ == pytest.approx(direct.temperature_, rel=SERVED_IN_FLOAT32)
    assert refit.temperature_ == pytest.approx(3.0, rel=0.1)


@pytest.mark.parametrize("method", [VectorScaling, MatrixScaling])
def test_through_an_installed_vector_or_matrix_scaling_the_temperature_follows_it(method):
    rng = np.random.default_rng(3)
    reference, reference_y = _rows(rng, 3000, 3, 1.0)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    installed = monitor.recalibrate(method().fit(reference, reference_y))
    raw, y = _rows(rng, 3000, 3, 2.0)
    log_proba, labels = _labelled_late(monitor, raw, y)
    refit = temperature_from_served(monitor, log_proba, labels)
    # the temperature of what the installed map serves, fitted on it in float64
    served = np.log(installed.predict_proba(raw))
    direct = TemperatureScaling().fit(served, y).temperature_
    assert direct == pytest.approx(2.0, rel=0.15)
    assert type(refit) is method and refit.n_features_in_ == 3
    np.testing.assert_allclose(refit.predict_proba(raw),
                               _as_probabilities(served / direct),
                               rtol=SERVED_IN_FLOAT32, atol=1e-12)
    # the installed map is left as it was
    np.testing.assert_array_equal(monitor.calibrator_.coef_, installed.coef_)


def test_rows_served_through_a_map_a_temperature_does_not_divide_refit_none():
    rng = np.random.default_rng(3)
    reference, reference_y = _rows(rng, 3000, 3, 1.0)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    monitor.recalibrate(PlattScaling().fit(reference, reference_y))  # one-vs-rest
    log_proba, labels = _labelled_late(monitor, *_rows(rng, 1000, 3, 2.0))
    with pytest.raises(ValueError, match="served through the installed PlattScaling, which "
                                         "a temperature does not compose with"):
        temperature_from_served(monitor, log_proba, labels)


def test_recalibrate_with_compose_puts_a_temperature_over_the_installed_vector_scaling():
    rng = np.random.default_rng(4)
    reference, reference_y = _rows(rng, 3000, 3, 1.0)
    raw, y = _rows(rng, 3000, 3, 2.0)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    installed = monitor.recalibrate(VectorScaling().fit(reference, reference_y))
    composed = monitor.recalibrate("temperature", raw, y, compose=True)
    assert monitor.calibrator_ is composed and monitor.calibrator_version_ == 2
    served = np.log(installed.predict_proba(raw))
    direct = TemperatureScaling().fit(served, y).temperature_
    assert type(composed) is VectorScaling
    np.testing.assert_allclose(composed.coef_, installed.coef_ / direct,
                               rtol=SERVED_IN_FLOAT32)
    np.testing.assert_allclose(composed.intercept_, installed.intercept_ / direct,
                               rtol=SERVED_IN_FLOAT32, atol=1e-12)
    # compose=False fits the temperature on the raw scores, in place of the vector map
    # (the same fit of the same rows: equal to the last bit)
    replaced = monitor.recalibrate("temperature", raw, y)
    assert type(replaced) is TemperatureScaling
    assert replaced.temperature_ == TemperatureScaling().fit(raw, y).temperature_


def test_recalibrate_with_compose_takes_weights_and_a_temperature_s_parameters():
    rng = np.random.default_rng(5)
    reference, reference_y = _rows(rng, 3000, 3, 1.0)
    raw, y = _rows(rng, 3000, 3, 2.0)
    weights = rng.uniform(0.0, 2.0, size=3000)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    installed = monitor.recalibrate(MatrixScaling().fit(reference, reference_y))
    composed = monitor.recalibrate(TemperatureScaling(tol=1e-10), raw, y,
                                   sample_weight=weights, compose=True)
    served = np.log(installed.predict_proba(raw))
    direct = TemperatureScaling(tol=1e-10).fit(served, y, sample_weight=weights).temperature_
    np.testing.assert_allclose(composed.coef_, installed.coef_ / direct,
                               rtol=SERVED_IN_FLOAT32)


def test_recalibrate_with_compose_refuses_other_methods_and_maps_it_cannot_divide():
    rng = np.random.default_rng(6)
    reference, reference_y = _rows(rng, 3000, 3, 1.0)
    raw, y = _rows(rng, 2000, 3, 2.0)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    with pytest.raises(ValueError, match="compose=True fits a temperature over the "
                                         "calibrator in place; got VectorScaling"):
        monitor.recalibrate("vector", raw, y, compose=True)
    with pytest.raises(ValueError, match="compose=True fits the temperature on scores and y"):
        monitor.recalibrate("temperature", compose=True)
    monitor.recalibrate(PlattScaling().fit(reference, reference_y))
    with pytest.raises(ValueError, match="installed PlattScaling, which a temperature does "
                                         "not compose with"):
        monitor.recalibrate("temperature", raw, y, compose=True)
    assert type(monitor.calibrator_) is PlattScaling and monitor.calibrator_version_ == 1
    # with no calibrator installed, the temperature is the raw scores' own
    fresh = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    alone = fresh.recalibrate("temperature", raw, y, compose=True)
    assert alone.temperature_ == pytest.approx(TemperatureScaling().fit(raw, y).temperature_,
                                               rel=SERVED_IN_FLOAT32)


@pytest.mark.parametrize("kind", ["logits", "probabilities"])
def test_one_column_of_a_binary_task_served_through_platt_scaling_composes(kind):
    # the positive class's log-odds or probability, served through a binary Platt map
    reference, reference_y, _, scores, y = _binary_task(7, 3000, kind)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference, reference_y)
    installed = monitor.recalibrate(PlattScaling(score_type=kind).fit(reference, reference_y))
    log_proba, labels = _labelled_late(monitor, scores, y)
    refit = temperature_from_served(monitor, log_proba, labels)
    served = np.log(installed.predict_proba(scores))
    direct = TemperatureScaling().fit(served[:, 1] - served[:, 0], y).temperature_
    assert type(refit) is PlattScaling and refit.n_features_in_ == 1
    assert direct == pytest.approx(3.0, rel=0.15)
    np.testing.assert_allclose(refit.predict_proba(scores),
                               _as_probabilities(served / direct),
                               rtol=SERVED_IN_FLOAT32, atol=1e-12)
