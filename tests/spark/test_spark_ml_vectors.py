"""Spark ML vector columns as scores: a Spark ML classifier writes its scores as
vectors (``probability``, ``rawPrediction``), which every skcal.spark call takes
as it takes an array column, with the same results, and leaves as they are in
the DataFrames it returns."""

import numpy as np
import pytest
from frames import frame, jobs_of, max_relative_difference

import skcal
import skcal.spark
from skcal import metrics

rng = np.random.default_rng(5)
N, K = 2000, 3
LOGITS = rng.normal(0, 2, size=(N, K))
Y = np.argmax(LOGITS / 1.6 + rng.gumbel(size=(N, K)), axis=1)
PROBA = np.exp(LOGITS - LOGITS.max(axis=1, keepdims=True))
PROBA /= PROBA.sum(axis=1, keepdims=True)


def _vectors(df, **columns):
    """``df`` with each named array column also as a dense vector column, cached
    and computed."""
    from pyspark.ml.functions import array_to_vector

    for name, source in columns.items():
        df = df.withColumn(name, array_to_vector(source))
    df = df.cache()
    df.count()
    return df


@pytest.fixture(scope="module")
def df(spark):
    arrays = frame(spark, {"logits": LOGITS, "proba": PROBA, "y": Y})
    return _vectors(arrays, raw="logits", probability="proba")


def test_fits_and_metrics_on_vector_columns_equal_those_on_arrays(spark, df):
    for make in (skcal.TemperatureScaling, skcal.VectorScaling, skcal.PlattScaling):
        on_vectors = skcal.spark.fit(make(), df, scores="raw", y="y")
        in_memory = make().fit(LOGITS, Y)
        for name in in_memory._map_attributes:
            # the same float64 sums in other groupings: the optima agree to the
            # solver's tolerance, far inside 1e-8
            assert max_relative_difference(getattr(on_vectors, name),
                                             getattr(in_memory, name)) < 1e-8, name
    # read through a projection of the computed cache, the temperature still fits
    # from the cache's sample in two jobs, as on an array column of a cache
    _, jobs = jobs_of(spark, lambda: skcal.spark.fit(
        skcal.TemperatureScaling(), df, scores="raw", y="y"))
    assert jobs == 2
    value = skcal.spark.evaluate("nll", df, scores="probability", y="y")
    # float64 terms summed in other groupings: a few roundings of the total
    np.testing.assert_allclose(value, metrics.nll(Y, PROBA), rtol=1e-12)
    ece = skcal.spark.evaluate("ece", df, scores="raw", y="y", score_type="logits")
    np.testing.assert_allclose(ece, metrics.expected_calibration_error(Y, logits=LOGITS),
                               rtol=1e-9)


def test_transform_keeps_the_vector_column_and_adds_the_calibrated_scores(df):
    ts = skcal.TemperatureScaling().fit(LOGITS, Y)
    out = skcal.spark.transform(ts, df, scores="raw")
    assert out.columns == df.columns + ["calibrated_proba"]
    assert out.schema["raw"].dataType == df.schema["raw"].dataType
    rows = out.select("raw", "calibrated_proba").collect()
    raw = np.array([row.raw.toArray() for row in rows])
    calibrated = np.array([row.calibrated_proba for row in rows])
    np.testing.assert_array_equal(raw, LOGITS)  # the row order of the frame
    # predict_proba of the same rows, in batches of another size: equal to the
    # last few bits of a float64 softmax
    np.testing.assert_allclose(calibrated, ts.predict_proba(LOGITS), rtol=1e-12, atol=1e-15)
    labels = [row.label for row in skcal.spark.transform(
        ts, df, scores="raw", output="label", name="label").select("label").collect()]
    np.testing.assert_array_equal(labels, ts.predict(LOGITS))


def test_a_monitor_fed_vectors_equals_one_fed_arrays(df):
    def fitted():
        return skcal.CalibrationMonitor(chunk_size=400).fit(PROBA[:1200], Y[:1200])

    on_vectors = skcal.spark.update(fitted(), df, scores="probability", y="y")
    on_arrays = skcal.spark.update(fitted(), df, scores="proba", y="y")
    assert on_vectors.n_rows_ == N
    a, b = on_vectors.to_dict()["chunks"], on_arrays.to_dict()["chunks"]
    assert len(a) == len(b) == N // 400
    for chunk_a, chunk_b in zip(a, b):
        # the same rows in the same batches: the same sums, bit for bit up to
        # summation order across Arrow batches (a few float64 roundings)
        for key, value in chunk_a.items():
            if isinstance(value, float):
                np.testing.assert_allclose(value, chunk_b[key], rtol=1e-12, atol=1e-15)


def test_sparse_vectors_are_read_dense(spark):
    from pyspark.ml.linalg import Vectors

    rows = [(Vectors.sparse(K, {int(np.argmax(p)): 1.0}) if i % 2 else Vectors.dense(p),
             int(y)) for i, (p, y) in enumerate(zip(PROBA[:200], Y[:200]))]
    df = spark.createDataFrame(rows, ["probability", "y"])
    dense = np.array([v.toArray() for v, _ in rows])
    value = skcal.spark.evaluate("brier_score", df, scores="probability", y="y")
    np.testing.assert_allclose(value, metrics.brier_score(Y[:200], dense), rtol=1e-12)


def test_a_vector_column_among_others_or_null_is_named_with_the_fix(spark, df):
    with pytest.raises(ValueError, match="holds Spark ML vectors.*scores='raw'"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores=["raw", "y"], y="y")
    from pyspark.sql import functions as F

    with_null = df.withColumn("raw", F.when(F.monotonically_increasing_id() == 5, None)
                              .otherwise(F.col("raw")))
    with pytest.raises(ValueError, match="'raw'.*null"):
        skcal.spark.fit(skcal.TemperatureScaling(), with_null, scores="raw", y="y")


def test_the_scores_of_a_spark_ml_classifier_calibrate_where_they_are(spark):
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import Vectors

    features = rng.normal(size=(600, 4))
    labels = (features[:, 0] + rng.normal(size=600) > 0).astype(int) + (features[:, 1] > 1)
    train = spark.createDataFrame([(Vectors.dense(x), int(t))
                                   for x, t in zip(features, labels)], ["features", "label"])
    scored = LogisticRegression(maxIter=30).fit(train).transform(train)
    rows = scored.select("rawPrediction", "probability", "label").collect()
    raw = np.array([row.rawPrediction.toArray() for row in rows])
    y = np.array([row.label for row in rows])
    on_spark = skcal.spark.fit(skcal.TemperatureScaling(), scored, scores="rawPrediction",
                               y="label")
    in_memory = skcal.TemperatureScaling().fit(raw, y)
    assert max_relative_difference(on_spark.temperature_, in_memory.temperature_) < 1e-8
    proba = np.array([row.probability.toArray() for row in rows])
    np.testing.assert_allclose(
        skcal.spark.evaluate("nll", scored, scores="probability", y="label"),
        metrics.nll(y, proba), rtol=1e-12)


def test_a_forests_votes_in_a_vector_are_refused_as_logits(df):
    # a random forest's rawPrediction sums its trees' probabilities: read as logits,
    # without a word, before
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    votes = df.withColumn("votes", array_to_vector(F.transform("proba", lambda p: p * 20)))
    cached = votes.cache()
    cached.count()
    for scored in (votes.select("votes", "y"), cached):  # the full survey, the provisional
        with pytest.raises(ValueError, match="'votes' is non-negative and every row sums "
                                             "to 20: they look like counts or votes"):
            skcal.spark.fit(skcal.TemperatureScaling(), scored, scores="votes", y="y")
    told = skcal.spark.fit(skcal.TemperatureScaling(score_type="logits"), cached,
                           scores="votes", y="y")
    assert told.score_type_ == "logits"
    cached.unpersist()
