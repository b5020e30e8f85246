"""The shared base in scores mode (estimator=None): shapes, labels, types, errors."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from conftest import sample_labels, softmax
from skcal import (
    BetaCalibration,
    HistogramBinning,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
)
from skcal.rows._scores import resolve_score_type

ALL_CALIBRATORS = [
    TemperatureScaling,
    VectorScaling,
    MatrixScaling,
    PlattScaling,
    BetaCalibration,
    IsotonicCalibration,
    HistogramBinning,
]
# maps fitted one-vs-rest warn when a class is absent from the calibration data
WARN_ON_ABSENT_CLASS = (PlattScaling, BetaCalibration)


@pytest.fixture
def multiclass():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(600, 4))
    return logits, sample_labels(softmax(logits / 2), rng)


@pytest.fixture
def binary():
    rng = np.random.default_rng(1)
    s = rng.normal(scale=3.0, size=800)
    y = (rng.random(800) < 1 / (1 + np.exp(-s / 2))).astype(int)
    return s, y


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_binary_one_dimensional_scores(Calibrator, binary):
    s, y = binary
    cal = Calibrator().fit(s, y)
    proba = cal.predict_proba(s)
    assert proba.shape == (800, 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(cal.classes_, [0, 1])
    # (n, 1) is the same input as (n,)
    assert_allclose(Calibrator().fit(s[:, None], y).predict_proba(s[:, None]), proba)


def test_binary_score_is_one_logit_not_a_pair(binary):
    """sigmoid(s / T) with the plain T: two columns [0, s] give the same fit."""
    s, y = binary
    one = TemperatureScaling().fit(s, y)
    pair = TemperatureScaling().fit(np.column_stack([np.zeros_like(s), s]), y)
    assert_allclose(one.temperature_, pair.temperature_, rtol=1e-10)
    assert 1.7 < one.temperature_ < 2.4  # labels were drawn from sigmoid(s / 2)
    expected = 1 / (1 + np.exp(-s / one.temperature_))
    assert_allclose(one.predict_proba(s)[:, 1], expected, rtol=1e-10)


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_probabilities_are_detected_and_reused(Calibrator, multiclass):
    logits, y = multiclass
    proba = softmax(logits)
    cal = Calibrator().fit(proba, y)
    assert cal.score_type_ == "probabilities"
    # fitting the log-probabilities as logits gives the same map
    from_logits = Calibrator(score_type="logits").fit(np.log(proba), y)
    assert from_logits.score_type_ == "logits"
    assert_allclose(cal.predict_proba(proba), from_logits.predict_proba(np.log(proba)), atol=1e-8)


def test_logits_in_unit_interval_need_the_explicit_type(multiclass):
    logits, y = multiclass
    squashed = 1 / (1 + np.exp(-logits))  # in [0, 1] but rows do not sum to 1
    # read as logits, as said: one sigmoid per class gives no probabilities of
    # classes that exclude each other
    with pytest.warns(UserWarning, match="so they are read as logits"):
        assert TemperatureScaling().fit(squashed, y).score_type_ == "logits"
    with pytest.raises(ValueError, match="must sum to 1"):
        TemperatureScaling(score_type="probabilities").fit(squashed, y)


def test_one_dimensional_probabilities(binary):
    s, y = binary
    p = 1 / (1 + np.exp(-s))
    cal = TemperatureScaling().fit(p, y)
    assert cal.score_type_ == "probabilities"
    assert_allclose(cal.temperature_, TemperatureScaling().fit(s, y).temperature_, rtol=1e-6)


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_string_labels_map_to_sorted_columns(Calibrator, multiclass):
    logits, y = multiclass
    names = np.array(["ant", "bee", "cat", "dog"])
    cal = Calibrator().fit(logits, names[y])
    assert_array_equal(cal.classes_, names)
    assert_allclose(cal.predict_proba(logits), Calibrator().fit(logits, y).predict_proba(logits))
    assert set(cal.predict(logits)) <= set(names)


def test_labels_that_do_not_match_columns_say_how_to_fix(multiclass):
    logits, y = multiclass
    names = np.array(["ant", "bee", "cat", "dog"])
    keep = y < 3  # only three distinct string labels for four columns
    with pytest.raises(ValueError, match="3 distinct labels .* 4 columns.*integer column"):
        TemperatureScaling().fit(logits[keep], names[y[keep]])
    with pytest.raises(ValueError, match="4 distinct labels .* 3 columns"):
        TemperatureScaling().fit(logits[:, :3], y + 10)


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_calibration_set_missing_a_class_still_fits(Calibrator, multiclass):
    logits, y = multiclass
    keep = y != 2
    if Calibrator in WARN_ON_ABSENT_CLASS:
        with pytest.warns(UserWarning, match="absent"):
            cal = Calibrator().fit(logits[keep], y[keep])
    else:
        cal = Calibrator().fit(logits[keep], y[keep])
    assert_array_equal(cal.classes_, [0, 1, 2, 3])
    proba = cal.predict_proba(logits)
    assert proba.shape == (600, 4)
    assert np.isfinite(proba).all()
    assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_float32_scores(Calibrator, multiclass):
    logits, y = multiclass
    cal32 = Calibrator().fit(logits.astype(np.float32), y)
    cal64 = Calibrator().fit(logits, y)
    assert_allclose(
        cal32.predict_proba(logits.astype(np.float32)), cal64.predict_proba(logits), atol=1e-4
    )


@pytest.mark.parametrize(
    "Calibrator", [TemperatureScaling, VectorScaling, MatrixScaling, PlattScaling]
)
def test_log_proba_is_exact_where_probabilities_underflow(Calibrator, multiclass):
    logits, y = multiclass
    cal = Calibrator().fit(logits, y)
    extreme = logits[:5] * 1e3
    log_proba = cal.predict_log_proba(extreme)
    assert np.isfinite(log_proba).all()
    assert log_proba.min() < -800  # below log of the smallest float64
    assert_allclose(np.exp(log_proba), cal.predict_proba(extreme))


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_predict_is_argmax_of_proba(Calibrator, multiclass):
    logits, y = multiclass
    names = np.array(["a", "b", "c", "d"])
    cal = Calibrator().fit(logits, names[y])
    assert_array_equal(cal.predict(logits), names[cal.predict_proba(logits).argmax(axis=1)])


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_integer_weights_equal_repeated_rows(Calibrator, multiclass):
    logits, y = multiclass
    weights = np.random.default_rng(3).integers(0, 4, size=y.shape[0])
    weighted = Calibrator().fit(logits, y, sample_weight=weights)
    repeated = Calibrator().fit(np.repeat(logits, weights, axis=0), np.repeat(y, weights))
    assert_allclose(weighted.predict_proba(logits), repeated.predict_proba(logits), atol=1e-6)


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_pickle_round_trip(Calibrator, multiclass):
    logits, y = multiclass
    cal = Calibrator().fit(logits, y)
    restored = pickle.loads(pickle.dumps(cal))
    assert_array_equal(restored.predict_proba(logits), cal.predict_proba(logits))


BAD_INPUTS = [
    (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), y, None),
     "non-finite score"),
    (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 7, np.inf, X), y, None),
     "non-finite score"),
    (lambda X, y: (X, y[:-1], None), "600 samples but y has 599"),
    (lambda X, y: (X, np.zeros_like(y), None), "only one class"),
    (lambda X, y: (X, y, -np.ones(y.shape[0])), "negative"),
    (lambda X, y: (X, y, np.zeros(y.shape[0])), "zero for every sample"),
    (lambda X, y: (X, y, np.ones(3)), r"shape \(600,\)"),
    (lambda X, y: (X[:0], y[:0], None), "0 sample"),
    (lambda X, y: (X, np.r_[y[:-1], 4], None), "5 distinct labels .* 4 columns"),
    # scikit-learn's message goes on with the whole array: only its first line is kept
    (lambda X, y: (X + 0j, y, None), "numeric array of scores: Complex data not supported$"),
]


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
@pytest.mark.parametrize("make_bad, message", BAD_INPUTS)
def test_bad_input_is_a_clear_value_error(Calibrator, make_bad, message, multiclass):
    X, y, weights = make_bad(*multiclass)
    with pytest.raises(ValueError, match=message):
        Calibrator().fit(X, y, sample_weight=weights)


def test_probabilities_outside_unit_interval(multiclass):
    logits, y = multiclass
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        TemperatureScaling(score_type="probabilities").fit(logits, y)
    cal = TemperatureScaling().fit(softmax(logits), y)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        cal.predict_proba(logits)


def test_predict_checks_the_score_columns(multiclass):
    logits, y = multiclass
    cal = TemperatureScaling().fit(logits, y)
    with pytest.raises(ValueError, match="3 score column.*fitted on 4"):
        cal.predict_proba(logits[:, :3])
    with pytest.raises(ValueError, match="non-finite"):
        cal.predict_proba(np.full((2, 4), np.nan))


@pytest.mark.parametrize("Calibrator", ALL_CALIBRATORS)
def test_score_columns_of_a_frame_are_held_to_their_names(Calibrator, multiclass):
    pd = pytest.importorskip("pandas", reason="the DataFrame case needs pandas")
    logits, y = multiclass
    names = ["cat", "dog", "eel", "fox"]
    frame = pd.DataFrame(logits, columns=names)
    cal = Calibrator().fit(frame, np.array(names)[y])
    assert list(cal.feature_names_in_) == names
    assert_allclose(cal.predict_proba(frame), Calibrator().fit(logits, y).predict_proba(logits),
                    rtol=1e-12)  # the same computation on the same numbers
    # the columns are the classes: in another order, each would be read as another class
    # (the probabilities were silently those of the permuted scores)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        cal.predict_proba(frame[["dog", "cat", "eel", "fox"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        cal.predict_proba(logits)  # as scikit-learn's estimators warn


@pytest.mark.parametrize(
    "params", [{"cv": 3}, {"ensemble": True}, {"n_jobs": 2}, {"response_method": "predict_proba"}]
)
def test_classifier_parameters_are_refused_without_a_classifier(params, multiclass):
    with pytest.raises(ValueError, match="no effect without a classifier"):
        TemperatureScaling(**params).fit(*multiclass)


def test_labels_param_errors_name_the_parameter(multiclass):
    from skcal.metrics import nll

    logits, y = multiclass
    with pytest.raises(ValueError, match="labels has 3 entries"):
        nll(y, softmax(logits), labels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[9\]"):
        nll(np.r_[y[:-1], 9], softmax(logits), labels=[0, 1, 2, 3])


def test_scores_in_the_unit_interval_of_uniform_rows_are_logits_without_a_word():
    # rows of zeros or of one value are the logits of uniform predictions
    for logits in (np.zeros((4, 3)), np.ones((4, 3))):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert resolve_score_type(logits, "auto") == "logits"
