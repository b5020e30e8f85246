"""Models logged side by side in a Spark DataFrame, ranked after a temperature
cross-fitted on the other folds, as compare_models(calibrate=) ranks the same rows
as arrays over the same folds (Spark deals each class's rows round-robin in row
order; the arrays are given those folds)."""

import numpy as np
import pytest
from frames import frame

import skcal.spark
from skcal import TemperatureScaling, compare_models
from skcal.metrics._decomposition import stratified_folds
from skcal.solvers import _temperature_fit as temperature_fit
from skcal.spark._folds import group_folds

rng = np.random.default_rng(23)
N, K = 2400, 4
TRUTH = rng.normal(scale=2.0, size=(N, K))
Y = (TRUTH + rng.gumbel(size=(N, K))).argmax(axis=1)
SHARP = TRUTH * 2.0 + rng.normal(scale=0.3, size=(N, K))  # overconfident
FLAT = TRUTH * 0.3  # underconfident, but the truth's ranking
PROBA = np.exp(SHARP - SHARP.max(axis=1, keepdims=True))
PROBA /= PROBA.sum(axis=1, keepdims=True)
WEIGHTS = rng.uniform(0.0, 2.0, size=N)
SESSIONS = rng.integers(60, size=N)  # groups spread over every partition
MODELS = {"sharp": SHARP, "flat": FLAT, "sharp_proba": PROBA}


@pytest.fixture(scope="module")
def logs(spark):
    df = frame(spark, {**MODELS, "y": Y, "w": WEIGHTS, "session": SESSIONS})
    df.count()
    return df


def _folds(y, n_folds=5):
    """The folds Spark deals, as (train, test) pairs for the arrays."""
    fold = stratified_folds(y, n_folds)
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(n_folds)]


@pytest.mark.parametrize("weighted", [False, True])
def test_the_calibrated_ranking_of_the_same_rows_and_folds_as_arrays(logs, weighted):
    weights = WEIGHTS if weighted else None
    in_memory = compare_models(MODELS, Y, sample_weight=weights, calibrate="temperature",
                               cv=_folds(Y))
    on_spark = skcal.spark.compare_models(
        logs, {name: name for name in MODELS}, y="y", sample_weight="w" if weighted else None,
        calibrate="temperature")
    # "sharp" and its softmax "sharp_proba" are one model, whose calibrated NLLs agree to
    # the fits' tolerance (below): their order is the rounding's, and it differed on the
    # same machine between numpy's AVX-512 and baseline exp. The rankings agree up to it
    assert on_spark.ranking_[0] == in_memory.ranking_[0] == "flat"
    assert sorted(on_spark.ranking_[1:]) == sorted(in_memory.ranking_[1:]) == [
        "sharp", "sharp_proba"]
    assert on_spark.calibration_ == "TemperatureScaling"
    for name, expected in in_memory.results_.items():
        got = on_spark.results_[name]
        # the raw NLL: the same float64 terms, summed in other groupings
        for key in ("nll_uncalibrated", "n_zero_probability_uncalibrated"):
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-9,
                                       err_msg=f"{name} {key}")
        # each fold's temperature is fitted to its Newton tolerance (1e-7 on the
        # gradient) from sums taken in other groupings, so the temperatures agree to
        # about 1e-8 relative, and a held-out NLL moves with them at first order
        for key in ("nll", "nll_diff", "nll_diff_se"):
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, atol=1e-9,
                                       err_msg=f"{name} {key}")
        np.testing.assert_allclose(
            [c.temperature_ for c in on_spark.calibrators_[name]],
            [c.temperature_ for c in in_memory.calibrators_[name]], rtol=1e-6)
    # raw, the sharp logits beat the flat ones (0.94 against 1.01 nats); calibrated,
    # the flat ones, the truth's own ranking, are best, and the sharp logits and
    # their softmax are one model
    results = on_spark.results_
    assert results["sharp"]["nll_uncalibrated"] < results["flat"]["nll_uncalibrated"]
    assert on_spark.ranking_[0] == "flat"
    np.testing.assert_allclose(results["sharp"]["nll"], results["sharp_proba"]["nll"],
                               rtol=1e-6)
    assert "after TemperatureScaling fitted on the other rows (5 folds" in str(on_spark)


def test_groups_are_kept_whole_in_the_calibration_folds(logs):
    on_spark = skcal.spark.compare_models(
        logs, {name: name for name in MODELS}, y="y", groups="session", sample_weight="w",
        calibrate="temperature")
    # each session's rows in the fold its id gives, given to the arrays as folds
    fold = group_folds(SESSIONS, 5)
    folds = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(5)]
    assert all(np.intersect1d(SESSIONS[train], SESSIONS[test]).size == 0
               for train, test in folds)
    in_memory = compare_models(MODELS, Y, groups=SESSIONS, sample_weight=WEIGHTS,
                               calibrate="temperature", cv=folds)
    assert on_spark.se_method_ == in_memory.se_method_ == "groups"
    assert on_spark.n_groups_ == in_memory.n_groups_ == 60
    for name, expected in in_memory.results_.items():
        for key in ("nll", "nll_diff", "nll_diff_se", "nll_uncalibrated"):
            # temperatures fitted to their tolerance from sums in other groupings
            np.testing.assert_allclose(on_spark.results_[name][key], expected[key],
                                       rtol=1e-6, atol=1e-9, err_msg=f"{name} {key}")


@pytest.mark.parametrize("method", ["vector", "platt", "beta"])
def test_other_maps_are_fitted_fold_by_fold_as_on_arrays(logs, method):
    models = {"sharp": SHARP, "flat": FLAT}
    on_spark = skcal.spark.compare_models(logs, {name: name for name in models}, y="y",
                                          sample_weight="w", calibrate=method, cv=3)
    in_memory = compare_models(models, Y, sample_weight=WEIGHTS, calibrate=method,
                               cv=_folds(Y, 3))
    assert on_spark.calibration_ == in_memory.calibration_
    for name, expected in in_memory.results_.items():
        # each fold's map fitted to its solver's tolerance from sums in other
        # groupings: the held-out NLL moves with the parameters at first order
        for key in ("nll", "nll_diff", "nll_diff_se"):
            np.testing.assert_allclose(on_spark.results_[name][key], expected[key],
                                       rtol=1e-5, atol=1e-8, err_msg=f"{name} {key}")
        for got, alone in zip(on_spark.calibrators_[name], in_memory.calibrators_[name]):
            np.testing.assert_allclose(got.predict_proba(models[name][:50]),
                                       alone.predict_proba(models[name][:50]),
                                       rtol=1e-4, atol=1e-7)


def test_vector_scaling_folds_take_their_temperatures_from_the_shared_passes(logs,
                                                                          monkeypatch):
    """No fold fits a temperature of its own (each would cost a Spark job per Newton
    pass): every fold's comes from the passes that fit them all at once."""
    own_fits = []
    fit_alone = temperature_fit._fit_inverse_temperature
    monkeypatch.setattr(temperature_fit, "_fit_inverse_temperature",
                        lambda *args: own_fits.append(1) or fit_alone(*args))
    skcal.spark.compare_models(logs, {"sharp": "sharp", "flat": "flat"}, y="y",
                               calibrate="vector", cv=3)
    assert own_fits == []


def test_the_fitted_calibrators_predict_as_their_temperature_says(logs):
    on_spark = skcal.spark.compare_models(logs, {"sharp": "sharp", "flat": "flat"}, y="y",
                                          calibrate=TemperatureScaling(tol=1e-9), cv=3)
    fitted = on_spark.calibrators_["sharp"]
    assert len(fitted) == 3 and all(c.tol == 1e-9 for c in fitted)
    fold = stratified_folds(Y, 3)
    for index, calibrator in enumerate(fitted):
        # alone, on the rows of the other folds
        alone = TemperatureScaling(tol=1e-9).fit(SHARP[fold != index], Y[fold != index])
        np.testing.assert_allclose(calibrator.temperature_, alone.temperature_, rtol=1e-7)
        np.testing.assert_allclose(calibrator.predict_proba(SHARP[:5]),
                                   alone.predict_proba(SHARP[:5]), rtol=1e-6)


def test_padding_rows_are_left_out_of_the_calibrated_ranking(spark):
    y = Y.copy()
    y[::7] = -100
    df = frame(spark, {"sharp": SHARP, "flat": FLAT, "y": y})
    on_spark = skcal.spark.compare_models(df, {"sharp": "sharp", "flat": "flat"}, y="y",
                                          ignore_index=-100, calibrate="temperature")
    # Spark deals a padding row in the class of the first row that counts
    dealt = np.where(y == -100, y[y != -100][0], y)
    in_memory = compare_models({"sharp": SHARP, "flat": FLAT}, y, ignore_index=-100,
                               calibrate="temperature", cv=_folds(dealt))
    assert on_spark.n_rows_ == in_memory.n_rows_ == int(np.count_nonzero(y != -100))
    for name in ("sharp", "flat"):
        np.testing.assert_allclose(on_spark.results_[name]["nll"],
                                   in_memory.results_[name]["nll"], rtol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"calibrate": "isotonic"}, "needs every row in one place"),
    ({"calibrate": "temperature", "labels": [0, 1, 2, 3]}, "labels= is for comparisons"),
    ({"calibrate": "temperature", "cv": 1}, "at least 2"),
    ({"cv": 3}, "calibrate is None"),
])
def test_what_the_calibrated_comparison_cannot_do_is_refused(logs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        skcal.spark.compare_models(logs, {"sharp": "sharp", "flat": "flat"}, y="y", **kwargs)


def test_named_columns_are_read_as_their_classes_when_calibrated(spark):
    names = np.array(["dog", "cat", "bird", "ant"])  # column order; sorted: ant, ...
    labels = names[Y]
    order = np.argsort(names)  # the columns in the labels' sorted order, as arrays
    columns = {f"{model}_{name}": MODELS[model][:, j]
               for model in ("sharp", "flat") for j, name in enumerate(names)}
    df = frame(spark, {**columns, "label": labels})
    on_spark = skcal.spark.compare_models(df, {"sharp": "sharp_*", "flat": "flat_*"},
                                          y="label", score_type="logits",
                                          calibrate="temperature")
    # Spark deals each class's rows in turn, whatever the class is called
    in_memory = compare_models({"sharp": SHARP[:, order], "flat": FLAT[:, order]}, labels,
                               calibrate="temperature", cv=_folds(Y))
    for name in ("sharp", "flat"):
        for key in ("nll", "nll_uncalibrated"):
            np.testing.assert_allclose(on_spark.results_[name][key],
                                       in_memory.results_[name][key], rtol=1e-6)
        calibrator = on_spark.calibrators_[name][0]
        assert calibrator.classes_.tolist() == sorted(names)
        assert calibrator.feature_names_in_.tolist() == [f"{name}_{n}" for n in names]
