"""Language-model-shaped inputs: (batch, sequence, vocabulary) logits, padding labels,
and warnings that point at the user's line."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conftest import sample_labels, softmax
from skcal import PlattScaling, TemperatureScaling, VectorScaling
from skcal.metrics import expected_calibration_error, nll, nll_from_logits, perplexity

PAD = -100


@pytest.fixture
def batch():
    """Logits (4, 50, 30) of an over-confident model, labels (4, 50) with padding."""
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(4, 50, 30))
    labels = sample_labels(softmax(logits.reshape(-1, 30) / 2), rng).reshape(4, 50)
    padded = labels.copy()
    padded[:, 40:] = PAD  # the last ten positions of each sequence are padding
    return logits, labels, padded


def test_metrics_take_batch_sequence_vocabulary_logits(batch):
    logits, labels, _ = batch
    flat, flat_y = logits.reshape(-1, 30), labels.reshape(-1)
    assert nll_from_logits(labels, logits) == pytest.approx(nll_from_logits(flat_y, flat))
    assert perplexity(labels, logits=logits) == pytest.approx(perplexity(flat_y, logits=flat))
    assert expected_calibration_error(labels, logits=logits) == pytest.approx(
        expected_calibration_error(flat_y, softmax(flat))
    )


def test_calibrators_take_batch_sequence_vocabulary_logits(batch):
    logits, labels, _ = batch
    flat, flat_y = logits.reshape(-1, 30), labels.reshape(-1)
    ts = TemperatureScaling().fit(logits, labels)
    assert ts.temperature_ == pytest.approx(TemperatureScaling().fit(flat, flat_y).temperature_)
    assert ts.n_features_in_ == 30
    proba = ts.predict_proba(logits)
    assert proba.shape == (4, 50, 30)
    assert_allclose(proba.reshape(-1, 30), ts.predict_proba(flat))
    assert ts.predict(logits).shape == (4, 50)
    assert ts.predict_log_proba(logits).shape == (4, 50, 30)


def test_labels_of_the_wrong_shape_name_the_expected_one(batch):
    logits, labels, _ = batch
    with pytest.raises(ValueError, match=r"leading shape \(4, 50\)"):
        TemperatureScaling().fit(logits, labels[:, :10])
    with pytest.raises(ValueError, match=r"leading shape \(4, 50\)"):
        nll_from_logits(labels.T, logits)


def test_ignore_index_leaves_padding_out_of_metrics(batch):
    logits, labels, padded = batch
    real = padded != PAD
    expected = nll_from_logits(labels[real], logits[real])
    assert nll_from_logits(padded, logits, ignore_index=PAD) == pytest.approx(expected)
    assert perplexity(padded, logits=logits, ignore_index=PAD) == pytest.approx(np.exp(expected))
    proba = softmax(logits.reshape(-1, 30)).reshape(4, 50, 30)
    assert nll(padded, proba, ignore_index=PAD) == pytest.approx(nll(labels[real], proba[real]))
    assert expected_calibration_error(padded, proba, ignore_index=PAD) == pytest.approx(
        expected_calibration_error(labels[real], proba[real])
    )


@pytest.mark.parametrize("cls", [TemperatureScaling, VectorScaling, PlattScaling])
def test_ignore_index_leaves_padding_out_of_the_fit(batch, cls):
    logits, labels, padded = batch
    real = padded != PAD
    fitted = cls(ignore_index=PAD).fit(logits, padded)
    reference = cls().fit(logits[real], labels[real])
    attribute = "temperature_" if cls is TemperatureScaling else "coef_"
    assert_allclose(getattr(fitted, attribute), getattr(reference, attribute), rtol=1e-6)


def test_rows_of_weight_zero_may_hold_any_label(batch):
    logits, labels, padded = batch
    weights = (padded != PAD).astype(float)
    by_weight = TemperatureScaling().fit(logits, padded, sample_weight=weights)
    by_index = TemperatureScaling(ignore_index=PAD).fit(logits, padded)
    assert by_weight.temperature_ == pytest.approx(by_index.temperature_)
    assert nll_from_logits(padded, logits, sample_weight=weights) == pytest.approx(
        nll_from_logits(padded, logits, ignore_index=PAD)
    )


def test_an_unexpected_padding_label_is_printed_plainly(batch):
    logits, _, padded = batch
    with pytest.raises(ValueError) as error:
        TemperatureScaling().fit(logits, padded)
    assert "-100" in str(error.value) and "np.int64" not in str(error.value)
    # and names the way out: the fit takes ignore_index
    assert "If -100 marks rows to leave out (padding), drop those rows, or pass " \
           "ignore_index=-100" in str(error.value)


def test_ignoring_every_row_is_refused(batch):
    logits, _, _ = batch
    with pytest.raises(ValueError, match="Every row has weight 0 or the label ignore_index"):
        nll_from_logits(np.full((4, 50), PAD), logits, ignore_index=PAD)


def test_warnings_point_at_the_users_line_and_show_once_per_call():
    from skcal import compare_calibrators

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(600, 3))
    y = sample_labels(softmax(-2 * logits), rng)  # anti-aligned: "no information"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TemperatureScaling().fit(logits, y)
        fit_line = _line_before()
        # five folds, each fitting temperature scaling on uninformative scores
        compare_calibrators(logits, y, calibrators=["temperature"], cv=5)
        compare_line = _line_before()
    messages = [w for w in caught if "carry no information" in str(w.message)]
    assert [(w.filename, w.lineno) for w in messages] == [
        (__file__, fit_line), (__file__, compare_line)
    ]


def _line_before():
    """The number of the caller's previous line."""
    import inspect

    return inspect.currentframe().f_back.f_lineno - 1


def test_more_classes_than_half_the_rows_fit_and_score_without_a_warning():
    """Scores of a vocabulary: 40 rows, 30 classes named by strings, 30 of them
    seen. scikit-learn 1.7's type_of_target warned that more than half the labels
    are distinct ("could represent a regression problem") on every such fit and
    metric, since skcal hands it the distinct labels (warnings are errors here)."""
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=2.0, size=(40, 30))
    names = np.array([f"tok{k:02d}" for k in range(30)])
    y = names[np.r_[np.arange(30), rng.integers(30, size=10)]]
    fitted = TemperatureScaling().fit(logits, y)
    assert list(fitted.classes_) == list(names)
    # the log of a softmax against a logsumexp: a few ulps apart per row; 1e-12 allows them
    assert nll(y, softmax(logits), labels=names) == pytest.approx(
        nll_from_logits(np.searchsorted(names, y), logits), rel=1e-12)
