"""Metrics of Spark DataFrames equal to the metrics of the same rows as arrays;
calibrated columns added lazily by any fitted calibrator."""

import numpy as np
import pytest
from frames import frame

import skcal
import skcal.spark
from skcal import metrics

rng = np.random.default_rng(11)
N, K = 4000, 3
LOGITS = rng.normal(0, 2, size=(N, K))
PROBA = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
Y = np.argmax(LOGITS / 1.5 + rng.gumbel(size=(N, K)), axis=1)
WEIGHTS = rng.uniform(0.5, 1.5, size=N)


@pytest.fixture(scope="module")
def df(spark):
    return frame(spark, {"logits": LOGITS, "proba": PROBA, "y": Y, "w": WEIGHTS})


@pytest.mark.parametrize("name, options", [
    ("nll", {}), ("nll", {"base": 2}), ("perplexity", {}), ("brier_score", {}),
    ("expected_calibration_error", {}),
    ("expected_calibration_error", {"kind": "classwise", "n_bins": 10}),
    ("maximum_calibration_error", {}),
])
def test_metrics_equal_those_of_arrays(df, name, options):
    on_spark = skcal.spark.evaluate(name, df, scores="proba", y="y", sample_weight="w",
                                    **options)
    in_memory = getattr(metrics, name)(Y, PROBA, sample_weight=WEIGHTS, **options)
    assert on_spark == pytest.approx(in_memory, rel=1e-10)


@pytest.mark.parametrize("short, name, options", [
    ("ece", "expected_calibration_error", {}),  # was "not a function of skcal.metrics"
    ("classwise_ece", "expected_calibration_error", {"kind": "classwise"}),
    ("nll_bits", "nll", {"base": 2}),
    ("brier", "brier_score", {}),
])
def test_short_names_of_the_scorers_are_their_metrics(df, short, name, options):
    on_spark = skcal.spark.evaluate(short, df, scores="proba", y="y", sample_weight="w")
    in_memory = getattr(metrics, name)(Y, PROBA, sample_weight=WEIGHTS, **options)
    assert on_spark == pytest.approx(in_memory, rel=1e-10)


def test_logits_read_as_probabilities_are_pointed_to_score_type(df):
    # was the hint of the metrics in memory: "pass them to nll_from_logits, or as logits="
    with pytest.raises(ValueError, match=r"the score column 'logits' has values outside "
                       r"\[0, 1\].*pass score_type='logits' to skcal.spark.evaluate"):
        skcal.spark.evaluate("nll", df, scores="logits", y="y")
    with pytest.raises(TypeError, match=r"metric='classwise_ece' sets \['kind'\] itself"):
        skcal.spark.evaluate("classwise_ece", df, scores="proba", y="y", kind="top_label")


def test_nll_of_logits(df):
    on_spark = skcal.spark.evaluate(metrics.nll_from_logits, df, scores="logits", y="y",
                                    score_type="logits")
    assert on_spark == pytest.approx(metrics.nll_from_logits(Y, LOGITS), rel=1e-10)
    ece = skcal.spark.evaluate("expected_calibration_error", df, scores="logits", y="y",
                               score_type="logits")
    assert ece == pytest.approx(metrics.expected_calibration_error(Y, logits=LOGITS),
                                rel=1e-10)


def test_calibration_curve(df):
    on_spark = skcal.spark.evaluate("calibration_curve", df, scores="proba", y="y")
    in_memory = metrics.calibration_curve(Y, PROBA)
    np.testing.assert_allclose(on_spark.prob_pred, in_memory.prob_pred, rtol=1e-10)
    np.testing.assert_allclose(on_spark.prob_true, in_memory.prob_true, rtol=1e-10)


def test_unknown_metric_and_array_weights_are_refused(df):
    with pytest.raises(ValueError, match="not a function of skcal.metrics"):
        skcal.spark.evaluate("accuracy", df, scores="proba", y="y")
    with pytest.raises(ValueError, match="strategy='quantile' needs every row"):
        skcal.spark.evaluate("expected_calibration_error", df, scores="proba", y="y",
                             strategy="quantile")
    with pytest.raises(ValueError, match="takes probabilities, not logits"):
        skcal.spark.evaluate("nll", df, scores="logits", y="y", score_type="logits")


@pytest.mark.parametrize("make", [skcal.TemperatureScaling, skcal.IsotonicCalibration,
                                  skcal.HistogramBinning])
def test_transform_adds_the_calibrated_probabilities(df, make):
    calibrator = make().fit(LOGITS[:2000], Y[:2000])
    out = skcal.spark.transform(calibrator, df, scores="logits")
    assert out.columns == df.columns + ["calibrated_proba"]
    got = np.stack(out.select("calibrated_proba").toPandas()["calibrated_proba"].to_numpy())
    np.testing.assert_allclose(got, calibrator.predict_proba(LOGITS), rtol=1e-12, atol=0)


def test_transform_labels_and_errors(df):
    calibrator = skcal.TemperatureScaling().fit(LOGITS, np.array(["a", "b", "c"])[Y])
    out = skcal.spark.transform(calibrator, df, scores="logits", output="label",
                                name="predicted")
    got = np.array([row.predicted for row in out.select("predicted").collect()])
    np.testing.assert_array_equal(got, calibrator.predict(LOGITS))
    with pytest.raises(ValueError, match="already has a column 'y'"):
        skcal.spark.transform(calibrator, df, scores="logits", name="y")
    with pytest.raises(ValueError, match="output='odds' is not one of"):
        skcal.spark.transform(calibrator, df, scores="logits", output="odds")


def test_probabilities_given_to_a_calibrator_of_logits_fail_the_action(df):
    # each Arrow batch goes through predict_proba on the executors, which refuses
    # probabilities after a fit that read logits by itself; nothing runs before
    calibrator = skcal.TemperatureScaling().fit(LOGITS, Y)
    out = skcal.spark.transform(calibrator, df, scores="proba")
    with pytest.raises(Exception, match=r"lies in \[0, 1\] and sums to 1: they look like "
                                        r"probabilities, but TemperatureScaling read"):
        out.collect()


def test_the_docstring_examples_run(spark):
    """The examples of skcal.spark (skipped by the doctests, which have no
    session) run here on a DataFrame of the columns they name."""
    import doctest

    from skcal.spark import _api

    names = {"logits": LOGITS, "proba": PROBA, "label": Y}
    namespace = {"df": frame(spark, names)}
    for function in (_api.fit, _api.evaluate, _api.transform):
        for example in doctest.DocTestParser().get_examples(function.__doc__):
            exec(example.source, namespace)  # noqa: S102 (the documented code itself)
    from skcal import CalibrationMonitor
    from skcal.spark import _monitor

    namespace["monitor"] = CalibrationMonitor(chunk_size=500, min_labels=50).fit(PROBA, Y)
    namespace["day"] = frame(spark, {"proba": PROBA, "label": Y})
    for example in doctest.DocTestParser().get_examples(_monitor.update.__doc__):
        exec(example.source, namespace)  # noqa: S102
    assert namespace["monitor"].n_rows_ == N and namespace["monitor"].has_batch("2026-12-03")
    assert namespace["ts"].temperature_ > 0
    assert namespace["out"].columns[-1] == "calibrated_proba"


@pytest.mark.parametrize("weighted", [False, True])
def test_nll_decomposition_with_the_same_folds(spark, weighted):
    weights = WEIGHTS.copy()
    weights[::7] = 0.0  # rows of weight 0 are dealt to folds as arrays deal them
    df = frame(spark, {"proba": PROBA, "y": Y, "w": weights})
    options = {"sample_weight": "w"} if weighted else {}
    on_spark = skcal.spark.evaluate("nll_decomposition", df, scores="proba", y="y",
                                    **options)
    in_memory = metrics.nll_decomposition(Y, PROBA,
                                          sample_weight=weights if weighted else None)
    np.testing.assert_allclose(on_spark, in_memory, rtol=1e-10)
    with pytest.raises(ValueError, match="supports method='temperature' only"):
        skcal.spark.evaluate("nll_decomposition", df, scores="proba", y="y",
                             method="isotonic")
    one_class = frame(spark, {"proba": PROBA, "y": np.zeros_like(Y), "w": weights})
    with pytest.raises(ValueError, match="y_true has a single class"):
        skcal.spark.evaluate("nll_decomposition", one_class, scores="proba", y="y")


def test_nll_decomposition_fits_every_fold_in_the_same_jobs(spark, monkeypatch):
    """The five folds' temperatures come from shared passes over the table (each
    pass one Spark job): at most two, where fitting them fold by fold took a
    pass or more each."""
    import skcal.metrics._decomposition as decomposition

    in_memory = metrics.nll_decomposition(Y, PROBA)
    shared, fit = [], decomposition.cross_fitted_inverse_temperatures

    def recorded(*args, **kwargs):
        fits = fit(*args, **kwargs)
        shared.append(fits[0][1])
        return fits

    monkeypatch.setattr(decomposition, "cross_fitted_inverse_temperatures", recorded)
    df = frame(spark, {"proba": PROBA, "y": Y})
    on_spark = skcal.spark.evaluate("nll_decomposition", df, scores="proba", y="y")
    np.testing.assert_allclose(on_spark, in_memory, rtol=1e-10)
    assert len(shared) == 1 and shared[0] <= 2


def test_nll_decomposition_of_logits_equals_that_of_arrays(df):
    # was "nll_decomposition takes probabilities, not logits"
    on_spark = skcal.spark.evaluate("nll_decomposition", df, scores="logits", y="y",
                                    sample_weight="w", score_type="logits")
    in_memory = metrics.nll_decomposition(Y, logits=LOGITS, sample_weight=WEIGHTS)
    np.testing.assert_allclose(on_spark, in_memory, rtol=1e-10)
    np.testing.assert_allclose(on_spark, metrics.nll_decomposition(
        Y, PROBA, sample_weight=WEIGHTS), rtol=1e-9)  # the fits' tolerance
