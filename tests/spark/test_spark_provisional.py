"""The provisional survey: on a computed cache, a fit or a metric reads what it
needs before its first pass from the survey's sample; whatever the sample gets
wrong (a label, a row that is not a probability vector, a bad value it did not
draw) sends the call back to the full survey, whose answer or error it gives."""

import numpy as np
import pytest
from frames import counted_surveys, frame, jobs_of, max_relative_difference

import skcal
import skcal.spark
from skcal import metrics
from skcal.spark import _survey
from skcal.spark._layout import Layout
from skcal.spark._provisional import provisional_survey

rng = np.random.default_rng(11)
N, K = 3000, 4
LOGITS = rng.normal(0, 2, size=(N, K))
Y = np.argmax(LOGITS / 1.7 + rng.gumbel(size=(N, K)), axis=1)
BAD_ROW = 2100  # in the third partition (rows 1800-2999)


@pytest.fixture(scope="module")
def df(spark):
    """The logits and labels, a computed cache."""
    return _computed(frame(spark, {"logits": LOGITS, "y": Y}))


@pytest.fixture
def full_surveys(monkeypatch):
    """The number of full surveys run so far (a list of their calls)."""
    return counted_surveys(monkeypatch)


@pytest.fixture
def few_sampled(monkeypatch):
    """A sample of about 50 of the 3000 rows, so that most rows are not drawn."""
    monkeypatch.setattr(_survey, "SAMPLE_VALUES", 200)


def _computed(df):
    df.count()
    return df


def _sampled_rows(df, scores="logits"):
    survey, sample = provisional_survey(df, Layout(df, scores, "y"))
    assert sample is not None
    return sample[0]


# Platt scaling and beta calibration start from the class totals, which the
# sample cannot give: they take the full survey without drawing a sample first
@pytest.mark.parametrize("make, provisional", [
    (skcal.TemperatureScaling, True), (skcal.VectorScaling, True),
    (skcal.MatrixScaling, True), (skcal.PlattScaling, False),
    (skcal.BetaCalibration, False)])
def test_unweighted_fits_on_a_computed_cache_equal_the_fits_on_arrays(
        df, full_surveys, make, provisional):
    on_spark = skcal.spark.fit(make(), df, scores="logits", y="y")
    in_memory = make().fit(LOGITS, Y)
    assert make._starts_from_class_totals is not provisional
    for name in in_memory._map_attributes:
        # two summation orders of the same float64 sums: the optima agree to
        # the solver's tolerance, far inside 1e-8
        assert max_relative_difference(getattr(on_spark, name),
                                         getattr(in_memory, name)) < 1e-8, name
    assert len(full_surveys) == (0 if provisional else 1)


def test_a_map_that_asks_the_class_totals_first_still_fits_provisionally(
        df, full_surveys, monkeypatch):
    # declared or not, the provisional survey gives way to the full one
    monkeypatch.setattr(skcal.PlattScaling, "_starts_from_class_totals", False)
    on_spark = skcal.spark.fit(skcal.PlattScaling(), df, scores="logits", y="y")
    in_memory = skcal.PlattScaling().fit(LOGITS, Y)
    assert max_relative_difference(on_spark.coef_, in_memory.coef_) < 1e-8
    assert len(full_surveys) == 1


def test_temperature_and_the_nll_on_a_computed_cache_take_two_jobs(spark, df, full_surveys):
    # the sample, then one pass at five points around the sample's temperature
    fitted, jobs = jobs_of(spark, lambda: skcal.spark.fit(
        skcal.TemperatureScaling(), df, scores="logits", y="y"))
    assert jobs == 2
    assert max_relative_difference(
        fitted.temperature_, skcal.TemperatureScaling().fit(LOGITS, Y).temperature_) < 1e-8
    nll, jobs = jobs_of(spark, lambda: skcal.spark.evaluate(
        "nll_from_logits", df, scores="logits", y="y", score_type="logits"))
    assert jobs == 2
    # the same float64 terms summed in other groupings: a few roundings of the total
    np.testing.assert_allclose(nll, metrics.nll_from_logits(Y, LOGITS), rtol=1e-12)
    assert not full_surveys


def test_float32_arrays_fit_provisionally_as_float32_arrays(df, full_surveys):
    df32 = _computed(df.withColumn("logits", df["logits"].cast("array<float>")).cache())
    on_spark = skcal.spark.fit(skcal.TemperatureScaling(), df32, scores="logits", y="y")
    in_memory = skcal.TemperatureScaling().fit(LOGITS.astype(np.float32), Y)
    # float32 block sums in other groupings differ by a few float32 roundings
    # (1e-7 relative); the optimum moves by no more
    assert max_relative_difference(on_spark.temperature_, in_memory.temperature_) < 1e-5
    assert not full_surveys
    df32.unpersist()


def test_string_labels_are_encoded_from_the_sample(spark, full_surveys):
    names = np.array(["ant", "bee", "cat", "dog"], dtype=object)[Y]
    df = _computed(frame(spark, {"logits": LOGITS, "y": names}))
    on_spark = skcal.spark.fit(skcal.VectorScaling(), df, scores="logits", y="y")
    in_memory = skcal.VectorScaling().fit(LOGITS, names)
    assert on_spark.classes_.tolist() == ["ant", "bee", "cat", "dog"]
    assert max_relative_difference(on_spark.coef_, in_memory.coef_) < 1e-8
    assert not full_surveys


def test_a_label_the_sample_missed_sends_the_fit_to_the_full_survey(
        spark, full_surveys, few_sampled):
    y = np.where(Y == 3, 2, Y)
    y[BAD_ROW] = 4  # labels 0, 1, 2, 4 on four columns: sorted, not column indices
    df = _computed(frame(spark, {"logits": LOGITS, "y": y}))
    assert 4 not in _sampled_rows(df)[1]  # the sample alone would read 0..3
    on_spark = skcal.spark.fit(skcal.TemperatureScaling(), df, scores="logits", y="y")
    in_memory = skcal.TemperatureScaling().fit(LOGITS, y)
    assert on_spark.classes_.tolist() == in_memory.classes_.tolist() == [0, 1, 2, 4]
    assert max_relative_difference(on_spark.temperature_, in_memory.temperature_) < 1e-8
    assert len(full_surveys) == 1


def test_a_row_the_sample_missed_that_is_no_probability_vector_makes_them_logits(
        spark, full_surveys, few_sampled):
    scores = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    scores[BAD_ROW] = [0.7, 0.7, 0.1, 0.1]  # in [0, 1], but sums to 1.6
    df = _computed(frame(spark, {"p": scores, "y": Y}))
    sampled = _sampled_rows(df, "p")[0]
    assert np.allclose(sampled.sum(axis=1), 1)  # the sample alone says probabilities
    on_spark = skcal.spark.fit(skcal.TemperatureScaling(), df, scores="p", y="y")
    with pytest.warns(UserWarning, match="so they are read as logits"):
        in_memory = skcal.TemperatureScaling().fit(scores, Y)
    assert on_spark.score_type_ == in_memory.score_type_ == "logits"
    assert max_relative_difference(on_spark.temperature_, in_memory.temperature_) < 1e-8
    assert len(full_surveys) == 1


def test_bad_values_the_sample_missed_are_named_as_the_full_survey_names_them(
        spark, few_sampled):
    n, bad = 1000, 700  # row 700 is in the third partition (rows 600-999)
    logits, y = LOGITS[:n], Y[:n]
    with_nan = logits.copy()
    with_nan[bad, 2] = np.nan
    df = _computed(frame(spark, {"logits": with_nan, "y": y}))
    assert not np.isnan(_sampled_rows(df)[0]).any()
    with pytest.raises(ValueError, match=r"the score column 'logits' contains a non-finite "
                                         rf"score \(nan at row {bad}\b"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores="logits", y="y")

    ragged = logits.tolist()
    ragged[bad] = ragged[bad][:3]
    column = np.empty(n, dtype=object)
    column[:] = ragged
    df = _computed(frame(spark, {"logits": column, "y": y}))
    with pytest.raises(ValueError, match="holds arrays of lengths 3 and 4"):
        skcal.spark.fit(skcal.VectorScaling(), df, scores="logits", y="y")

    with_null = logits.tolist()
    with_null[bad][1] = None
    df = _computed(frame(spark, {"logits": np.array(with_null, dtype=object),
                                 "y": y}))
    with pytest.raises(ValueError, match=rf"null element at row {bad}.*partition 2\)$"):
        skcal.spark.evaluate("nll_from_logits", df, scores="logits", y="y",
                             score_type="logits")

    labels = y.copy()
    labels[bad] = 9
    df = _computed(frame(spark, {"logits": logits, "y": labels}))
    with pytest.raises(ValueError, match=r"5 distinct labels \(0, 1, 2, 3, 9\)"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores="logits", y="y")
