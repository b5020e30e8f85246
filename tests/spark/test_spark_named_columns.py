"""Score columns of a Spark DataFrame named after the classes (``proba_dog,
proba_cat, proba_bird``) in an order other than the labels' sorted one: each is
read as the class it names, as the calibrators read a pandas DataFrame's.
Before, the labels were matched to the columns in sorted order, silently; and
a monitor's update took named columns in another order than its own."""

import numpy as np
import pandas as pd
import pytest
from frames import frame, max_relative_difference

import skcal
import skcal.spark

NAMES = np.array(["dog", "cat", "bird"])  # column order; sorted: bird, cat, dog
rng = np.random.default_rng(11)
N = 2000
LOGITS = rng.normal(scale=2.0, size=(N, 3))
TRUE = np.exp(LOGITS / 2) / np.exp(LOGITS / 2).sum(axis=1, keepdims=True)  # twice too sharp
Y = NAMES[(TRUE.cumsum(axis=1) > rng.random((N, 1))).argmax(axis=1)]
COLUMNS = {f"proba_{name}": LOGITS[:, j] for j, name in enumerate(NAMES)}


@pytest.mark.parametrize("computed_cache", [False, True])  # full or provisional survey
@pytest.mark.parametrize("make", [skcal.TemperatureScaling, skcal.VectorScaling])
def test_spark_fit_and_metrics_read_the_classes_of_named_columns(spark, computed_cache, make):
    df = frame(spark, {**COLUMNS, "label": Y, "row": np.arange(N)})
    if computed_cache:
        df.count()
    on_spark = skcal.spark.fit(make(), df, scores="proba_*", y="label")
    in_memory = make().fit(pd.DataFrame(COLUMNS), Y)
    # classes_ and outputs in the classes' sorted order, as on a pandas DataFrame
    assert on_spark.classes_.tolist() == in_memory.classes_.tolist() == sorted(NAMES)
    for name in in_memory._map_attributes:
        # two summation orders of the same float64 sums: the optima agree to the
        # solver's tolerance, far inside 1e-8
        assert max_relative_difference(getattr(on_spark, name),
                                       getattr(in_memory, name)) < 1e-8, name
    out = skcal.spark.transform(on_spark, df, scores="proba_*").orderBy("row")
    proba = np.array(out.select("calibrated_proba").toPandas()["calibrated_proba"].tolist())
    # the same map on the same float64 rows: rounding only
    np.testing.assert_allclose(proba, in_memory.predict_proba(pd.DataFrame(COLUMNS)),
                               rtol=1e-9, atol=1e-15)
    if make is skcal.VectorScaling:
        return
    assert on_spark.temperature_ > 1.5  # the scores were twice too sharp
    nll = skcal.spark.evaluate("nll_from_logits", df, scores="proba_*", y="label",
                                score_type="logits")
    order = np.argsort(NAMES)  # the columns in the labels' sorted order, as arrays
    expected = skcal.metrics.nll_from_logits(Y, LOGITS[:, order])
    # float64 sums in other groupings: a few units in the 15th digit
    assert abs(nll - expected) < 1e-12 * expected


def test_spark_compare_models_reads_the_classes_of_named_columns(spark):
    sharper = {f"b_{name}": 2 * LOGITS[:, j] for j, name in enumerate(NAMES)}
    df = frame(spark, {**COLUMNS, **sharper, "label": Y})
    on_spark = skcal.spark.compare_models(df, {"a": "proba_*", "b": "b_*"}, y="label",
                                          score_type="logits")
    order = np.argsort(NAMES)  # the columns in the labels' sorted order, as arrays
    in_memory = skcal.compare_models({"a": LOGITS[:, order], "b": 2 * LOGITS[:, order]}, Y,
                                     score_type="logits")
    spark_nll = {name: r["nll"] for name, r in on_spark.results_.items()}
    arrays_nll = {name: r["nll"] for name, r in in_memory.results_.items()}
    for name in ("a", "b"):
        # float64 sums in other groupings: a few units in the 15th digit
        assert abs(spark_nll[name] - arrays_nll[name]) < 1e-12 * arrays_nll[name]
    assert on_spark.best_ == "a"


def test_spark_compare_models_reads_each_model_as_it_would_be_read_alone(spark):
    order = np.argsort(NAMES)
    # model b names its classes in another order than a; c has unnamed columns in
    # the classes' sorted order, as predict_proba writes them
    other_order = {f"b_{NAMES[j]}": LOGITS[:, j] for j in order[::-1]}
    unnamed = {f"c{i}": LOGITS[:, j] for i, j in enumerate(order)}
    df = frame(spark, {**COLUMNS, **other_order, **unnamed, "label": Y})
    result = skcal.spark.compare_models(df, {"a": "proba_*", "b": "b_*", "c": "c*"},
                                        y="label", score_type="logits")
    expected = skcal.metrics.nll_from_logits(Y, LOGITS[:, order])
    for name in ("a", "b", "c"):  # the same scores: the same NLL, to summation order
        assert abs(result.results_[name]["nll"] - expected) < 1e-12 * expected, name


def test_spark_update_refuses_named_columns_in_another_order(spark):
    monitor = skcal.CalibrationMonitor(chunk_size=500).fit(
        pd.DataFrame({f"proba_{name}": TRUE[:, j] for j, name in enumerate(NAMES)}), Y)
    reordered = {f"proba_{name}": TRUE[:, j] for j, name in reversed(list(enumerate(NAMES)))}
    df = frame(spark, {**reordered, "label": Y})
    # the rows were added, every class read as another: update refuses the same frame
    with pytest.raises(ValueError, match="reorder the columns"):
        skcal.spark.update(monitor, df, scores="proba_*", y="label")
    assert monitor.n_rows_ == 0
    probabilities = frame(spark, {**{f"proba_{name}": TRUE[:, j]
                                     for j, name in enumerate(NAMES)}, "label": Y})
    skcal.spark.update(monitor, probabilities, scores="proba_*", y="label")
    assert monitor.n_rows_ == N


def test_spark_transform_refuses_the_calibrators_columns_in_another_order(spark):
    calibrator = skcal.TemperatureScaling().fit(pd.DataFrame(COLUMNS), Y)
    reordered = dict(reversed(list(COLUMNS.items())))
    df = frame(spark, {**reordered, "label": Y, "row": np.arange(N)})
    # by position, every class was read as another, silently
    with pytest.raises(ValueError, match=r"Pass scores=\['proba_dog', 'proba_cat'"):
        skcal.spark.transform(calibrator, df, scores="proba_*")
    # scores as a list of columns failed with "unhashable type: 'list'"
    out = skcal.spark.transform(calibrator, df, scores=list(COLUMNS))
    proba = np.array(out.orderBy("row").select("calibrated_proba").toPandas()
                     ["calibrated_proba"].tolist())
    # the same map on the same float64 rows: rounding only
    np.testing.assert_allclose(proba, calibrator.predict_proba(pd.DataFrame(COLUMNS)),
                               rtol=1e-12, atol=1e-15)
