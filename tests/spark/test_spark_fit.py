"""Calibration maps fitted on Spark DataFrames: the parameters of the same fit on
arrays, one Spark job per pass, no rows on the driver, bad input refused."""

import tracemalloc
import warnings

import numpy as np
import pytest
from frames import frame, jobs_of, max_relative_difference

import skcal
import skcal.spark
from skcal.spark._survey import cached_row_count

rng = np.random.default_rng(7)
N, K = 3000, 4
LOGITS = rng.normal(0, 2, size=(N, K))
Y = np.argmax(LOGITS / 1.7 + rng.gumbel(size=(N, K)), axis=1)
Y[: N // 10] = Y[: N // 10] % 2  # the first partition lacks classes 2 and 3
WEIGHTS = rng.uniform(0, 2, size=N)
WEIGHTS[:50] = 0.0


@pytest.fixture(scope="module")
def df(spark):
    return frame(spark, {"logits": LOGITS, "y": Y, "w": WEIGHTS,
                         "d": LOGITS[:, 1] - LOGITS[:, 0]})


@pytest.mark.parametrize("make", [skcal.TemperatureScaling, skcal.VectorScaling,
                                  skcal.MatrixScaling, skcal.PlattScaling,
                                  skcal.BetaCalibration])
def test_weighted_fit_equals_the_fit_on_arrays(df, make):
    on_spark = skcal.spark.fit(make(), df, scores="logits", y="y", sample_weight="w")
    in_memory = make().fit(LOGITS, Y, sample_weight=WEIGHTS)
    for name in in_memory._map_attributes:
        # two summation orders of the same float64 sums: the optima agree to
        # the solver's tolerance, far inside 1e-8
        assert max_relative_difference(getattr(on_spark, name),
                                         getattr(in_memory, name)) < 1e-8, name
    np.testing.assert_array_equal(on_spark.classes_, in_memory.classes_)


def test_float32_scores_fit_as_float32_arrays(df):
    df32 = df.withColumn("logits", df["logits"].cast("array<float>"))
    logits32 = LOGITS.astype(np.float32)
    for make in (skcal.TemperatureScaling, skcal.VectorScaling):
        on_spark = skcal.spark.fit(make(), df32, scores="logits", y="y")
        in_memory = make().fit(logits32, Y)
        for name in in_memory._map_attributes:
            # float32 block sums in other groupings differ by a few float32
            # roundings (1e-7 relative); the optimum moves by no more
            assert max_relative_difference(getattr(on_spark, name),
                                            getattr(in_memory, name)) < 1e-5, name


def test_one_binary_score_column_and_string_labels(spark):
    d = rng.normal(0, 3, size=2000)
    y = np.where(rng.random(2000) < 1 / (1 + np.exp(-d / 2)), "fraud", "ok")
    df = frame(spark, {"d": d, "y": y})
    on_spark = skcal.spark.fit(skcal.PlattScaling(), df, scores="d", y="y")
    in_memory = skcal.PlattScaling().fit(d, y)
    assert max_relative_difference(on_spark.coef_, in_memory.coef_) < 1e-8
    assert on_spark.classes_.tolist() == ["fraud", "ok"]


def test_probability_columns_by_pattern(spark):
    proba = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    df = frame(spark, {**{f"p_{k}": proba[:, k] for k in range(K)}, "y": Y})
    on_spark = skcal.spark.fit(skcal.TemperatureScaling(), df, scores="p_*", y="y")
    in_memory = skcal.TemperatureScaling().fit(proba, Y)
    assert on_spark.score_type_ == "probabilities"
    assert max_relative_difference(on_spark.temperature_, in_memory.temperature_) < 1e-8


def test_zero_probabilities_are_read_at_the_floor_of_the_arrays(spark):
    # votes of 20 trees: exact zeros, read at half the smallest vote (0.025)
    truth = np.exp(LOGITS / 1.7) / np.exp(LOGITS / 1.7).sum(axis=1, keepdims=True)
    votes = np.array([rng.multinomial(20, row) for row in truth]) / 20
    df = frame(spark, {**{f"p_{k}": votes[:, k] for k in range(K)}, "y": Y})
    on_spark = skcal.spark.fit(skcal.VectorScaling(), df, scores="p_*", y="y")
    in_memory = skcal.VectorScaling().fit(votes, Y)
    assert on_spark.probability_floor_ == in_memory.probability_floor_ == 0.025
    assert max_relative_difference(on_spark.coef_, in_memory.coef_) < 1e-8


def _jobs_of_a_temperature_fit(spark, df, sample_weight=None):
    return jobs_of(spark, lambda: skcal.spark.fit(
        skcal.TemperatureScaling(), df, scores="logits", y="y", sample_weight=sample_weight))


def test_weighted_temperature_on_a_computed_cache_takes_three_jobs(spark, df):
    df.count()  # the cache is computed: Spark knows its rows
    fitted, jobs = _jobs_of_a_temperature_fit(spark, df, sample_weight="w")
    # weights need the full survey (unweighted, the sample alone stands in for
    # it: tests/spark/test_spark_provisional.py): its aggregation, which also
    # samples (two jobs under adaptive query execution), then one pass at five
    # points around the sample's temperature, whose interpolated root is the
    # optimum (the ceiling is six)
    assert jobs <= 3
    in_memory = skcal.TemperatureScaling().fit(LOGITS, Y, sample_weight=WEIGHTS)
    assert max_relative_difference(fitted.temperature_, in_memory.temperature_) < 1e-8


def test_temperature_on_an_uncached_frame_samples_in_a_query_of_its_own(spark, df):
    uncached = df.select("logits", "y")  # a plan over the cache: no row count known
    uncached.count()  # the cache below it computed, as in the other count
    assert cached_row_count(uncached) is None
    fitted, jobs = _jobs_of_a_temperature_fit(spark, uncached)
    assert jobs <= 4  # the aggregation (two jobs), the sample, the pass
    in_memory = skcal.TemperatureScaling().fit(LOGITS, Y)
    assert max_relative_difference(fitted.temperature_, in_memory.temperature_) < 1e-8


def test_the_row_count_is_known_only_of_a_computed_cache(spark):
    df = spark.range(1234).selectExpr("id", "id % 3 AS y")
    assert cached_row_count(df) is None
    cached = df.cache()
    assert cached_row_count(cached) is None  # cached, not yet computed
    cached.count()
    assert cached_row_count(cached) == 1234
    assert cached_row_count(cached.where("y = 1")) is None
    cached.unpersist()


def test_the_driver_holds_no_rows(spark):
    n, k = 400_000, 10
    df = spark.range(n).selectExpr(
        f"array({', '.join(f'randn({i}) * 2' for i in range(k))}) AS logits",
        f"cast(floor(rand(99) * {k}) AS int) AS y").cache()
    df.count()
    # measured on a second fit: a first call's imports are not rows. pyspark 3.5
    # leaves the sockets of collected results to be closed as garbage, each with
    # a ResourceWarning whose report the test run keeps (the peak went to 3.7 MB
    # there); pyspark 4 closes them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        skcal.spark.fit(skcal.VectorScaling(), df, scores="logits", y="y")
        tracemalloc.start()
        try:
            skcal.spark.fit(skcal.VectorScaling(), df, scores="logits", y="y")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    data_bytes = n * k * 8
    assert peak < 0.1 * data_bytes, f"{peak} bytes allocated on the driver"
    df.unpersist()


def test_maps_that_need_every_row_and_wrapped_classifiers_are_refused(df):
    with pytest.raises(ValueError, match="remote table.*a sample collected as arrays"):
        skcal.spark.fit(skcal.IsotonicCalibration(), df, scores="logits", y="y")
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError, match="wraps a classifier.*estimator=None"):
        skcal.spark.fit(skcal.TemperatureScaling(LogisticRegression()), df,
                        scores="logits", y="y")


def test_bad_values_are_named_with_their_row(spark, df):
    from pyspark.sql import functions as F

    numbered = frame(spark, {"row": np.arange(N), "d": LOGITS[:, 1] - LOGITS[:, 0],
                             "y": Y % 2, "w": WEIGHTS})
    with_nan = numbered.withColumn(
        "d", F.when(F.col("row") == 2100, F.lit(float("nan"))).otherwise(F.col("d")))
    with pytest.raises(ValueError, match=r"the score column 'd' contains a non-finite "
                                         r"score \(nan at row 2100\)"):
        skcal.spark.fit(skcal.TemperatureScaling(), with_nan, scores="d", y="y")
    with pytest.raises(ValueError, match=r"the score column 'd' contains a non-finite "
                                         r"score \(nan at row 2100\)"):  # metrics too
        skcal.spark.evaluate("nll_from_logits", with_nan, scores="d", y="y")
    with_null = numbered.withColumn(
        "d", F.when(F.col("row") == 2100, F.lit(None)).otherwise(F.col("d")))
    with pytest.raises(ValueError, match=r"holds a null at row 2100.*Spark partition 2"):
        skcal.spark.fit(skcal.TemperatureScaling(), with_null, scores="d", y="y")
    with_null_element = frame(spark, {"row": np.arange(N), "logits": LOGITS, "y": Y}).withColumn(
        "logits", F.when(F.col("row") == 2100, F.array(
            F.col("logits")[0], F.lit(None).cast("double"),
            *[F.col("logits")[j] for j in range(2, K)])).otherwise(F.col("logits")))
    # found by the first pass, whose tasks read the 3 partitions coalesced to the 2
    # cores: still named by its row and by the DataFrame's own partition
    with pytest.raises(ValueError, match=r"null element at row 2100.*Spark partition 2\)$"):
        skcal.spark.fit(skcal.TemperatureScaling(), with_null_element, scores="logits", y="y")
    negative = numbered.withColumn(
        "w", F.when(F.col("row") == 2100, F.lit(-1.0)).otherwise(F.col("w")))
    with pytest.raises(ValueError, match="sample_weight='w' has negative values"):
        skcal.spark.fit(skcal.TemperatureScaling(), negative, scores="d", y="y",
                        sample_weight="w")


def test_negative_probabilities_are_refused(spark):
    proba = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    proba[2500] = [1.2, -0.2, 0.0, 0.0]
    df = frame(spark, {"p": proba, "y": Y})
    with pytest.raises(ValueError, match=r"outside \[0, 1\] \(min -0.2, max 1.2\)"):
        skcal.spark.fit(skcal.TemperatureScaling(score_type="probabilities"), df,
                        scores="p", y="y")


def test_columns_are_checked_on_the_schema(df):
    with pytest.raises(ValueError, match="'scores_x' is not a column.*pass the name"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores="scores_x", y="y")
    with pytest.raises(ValueError, match="label column y='logits' has type ArrayType"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores="d", y="logits")
    with pytest.raises(ValueError, match="matches no column"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores="p_*", y="y")


def test_labels_beyond_the_columns_are_refused(spark):
    df = frame(spark, {"logits": LOGITS[:, :2], "y": Y})
    with pytest.raises(ValueError, match="distinct labels.*2 columns"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores="logits", y="y")


def test_the_survey_read_in_fewer_tasks_still_counts_each_partition(spark, df):
    from skcal.spark._layout import Layout
    from skcal.spark._survey import survey_of

    cores = spark.sparkContext.defaultParallelism
    assert df.rdd.getNumPartitions() > cores  # so the survey's query is coalesced
    sizes = df.rdd.glom().map(len).collect()
    survey = survey_of(df, Layout(df, "logits", "y"))
    assert survey.rows_per_partition == dict(enumerate(sizes))
    # each partition's first row of each label, counted from its own first row
    first = {}
    for pid, start in enumerate(np.cumsum([0] + sizes[:-1])):
        for row in range(sizes[pid]):
            first.setdefault((pid, Y[start + row]), row)
    found = {(pid, label): entry[2] for pid, labels in survey.partition_labels.items()
             for label, entry in labels.items()}
    assert found == first


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_counted_by_the_survey(spark, bad):
    w = WEIGHTS.copy()
    w[[10, 2200]] = bad
    df = frame(spark, {"logits": LOGITS, "y": Y, "w": w})
    with pytest.raises(ValueError, match="sample_weight='w' holds 2 NaN or infinite values"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores="logits", y="y",
                        sample_weight="w")


@pytest.mark.parametrize("names", [
    {"logits": "scores `v2` (z)", "y": "label-true", "w": "weight w"},
    {"logits": "sampled", "y": "row", "w": "pid"},  # the survey's own names for its facts
])
def test_column_names_that_sql_would_misread_or_the_survey_uses_work(spark, names):
    df = frame(spark, {names["logits"]: LOGITS, names["y"]: Y, names["w"]: WEIGHTS})
    df.count()  # a computed cache: the survey's aggregation samples too
    on_spark = skcal.spark.fit(skcal.VectorScaling(), df, scores=names["logits"],
                               y=names["y"], sample_weight=names["w"])
    in_memory = skcal.VectorScaling().fit(LOGITS, Y, sample_weight=WEIGHTS)
    assert max_relative_difference(on_spark.coef_, in_memory.coef_) < 1e-8
    out = skcal.spark.transform(on_spark, df, scores=names["logits"], name="p `new`")
    assert out.columns == [*names.values(), "p `new`"]
    proba = np.array([row[-1] for row in out.collect()])
    # the same map on the same float64 scores: equal up to the rounding of a softmax
    np.testing.assert_allclose(proba, on_spark.predict_proba(LOGITS), rtol=0, atol=1e-12)


def test_a_method_is_named_or_given_and_the_arguments_come_in_their_order(df):
    named = skcal.spark.fit("temperature", df, scores="logits", y="y")
    given = skcal.spark.fit(skcal.TemperatureScaling(), df, scores="logits", y="y")
    assert isinstance(named, skcal.TemperatureScaling)
    # two fits of the same rows: one optimum, to the solver's tolerance
    assert named.temperature_ == pytest.approx(given.temperature_, rel=1e-8)
    # were AttributeError: 'str' object has no attribute 'schema'
    with pytest.raises(TypeError, match=r"^calibrator must be a method's name "
                                        r"\('temperature'\) or a skcal calibrator such as "
                                        r"TemperatureScaling\(\); got DataFrame \(the "
                                        r"calibrator comes first: skcal.spark.fit\("
                                        r"calibrator, df, \.\.\.\)\)\.$"):
        skcal.spark.fit(df, "temperature", scores="logits", y="y")
    with pytest.raises(TypeError, match=r"^df must be a Spark DataFrame "
                                        r"\(pyspark.sql.DataFrame\); got ndarray\.$"):
        skcal.spark.fit("temperature", LOGITS, scores="logits", y="y")
    with pytest.raises(TypeError, match=r"^df must be a Spark DataFrame"):
        skcal.spark.transform(given, LOGITS, scores="logits")
