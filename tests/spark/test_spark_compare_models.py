"""Models logged side by side in a Spark DataFrame, ranked as compare_models ranks
the same rows as arrays: the same NLLs, differences, standard errors (over rows,
or cluster-robust over groups that span partitions) and p-values."""

import numpy as np
import pytest
from frames import frame

import skcal.spark
from skcal import compare_models

rng = np.random.default_rng(17)
N, K = 3000, 4
TRUTH = rng.normal(scale=2.0, size=(N, K))
Y = (TRUTH + rng.gumbel(size=(N, K))).argmax(axis=1)
CHAMPION = TRUTH * 1.3 + rng.normal(scale=0.3, size=(N, K))
CHALLENGER = TRUTH * 0.8
PROBA = np.exp(TRUTH - TRUTH.max(axis=1, keepdims=True))
PROBA /= PROBA.sum(axis=1, keepdims=True)
SESSIONS = rng.integers(200, size=N)  # groups spread over every partition
WEIGHTS = rng.uniform(0.0, 2.0, size=N)


@pytest.fixture(scope="module")
def logs(spark):
    df = frame(spark, {"champion": CHAMPION, "challenger": CHALLENGER, "truth": PROBA,
                       "y": Y, "session": SESSIONS, "w": WEIGHTS})
    df.count()
    return df


def _assert_same(on_spark, in_memory):
    assert on_spark.ranking_ == in_memory.ranking_
    assert (on_spark.n_rows_, on_spark.n_groups_, on_spark.se_method_) == (
        in_memory.n_rows_, in_memory.n_groups_, in_memory.se_method_)
    for name, expected in in_memory.results_.items():
        got = on_spark.results_[name]
        assert got["n_zero_probability"] == expected["n_zero_probability"]
        # the same float64 terms summed in other groupings, and the variance
        # expanded in sums of products: 1e-9 relative
        for key in ("nll", "nll_diff", "nll_diff_se", "pvalue"):
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-9, atol=1e-13,
                                       err_msg=f"{name} {key}")
        # the same seeded draws of the same covariance (to 1e-9): the same counts,
        # but where a draw falls within 1e-9 of the observed maximum
        np.testing.assert_allclose(got["best_set_pvalue"], expected["best_set_pvalue"],
                                   atol=2e-4, err_msg=f"{name} best_set_pvalue")
    assert on_spark.best_set_ == in_memory.best_set_


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_ranking_of_the_same_rows_as_arrays(logs, grouped, weighted):
    kwargs = {"groups": SESSIONS if grouped else None,
              "sample_weight": WEIGHTS if weighted else None}
    in_memory = compare_models({"champion": CHAMPION, "challenger": CHALLENGER,
                                "truth": PROBA}, Y, **kwargs)
    on_spark = skcal.spark.compare_models(
        logs, {"champion": "champion", "challenger": "challenger", "truth": "truth"},
        y="y", groups="session" if grouped else None,
        sample_weight="w" if weighted else None)
    _assert_same(on_spark, in_memory)
    assert on_spark.best_ == "truth"


def test_groups_merged_across_many_batches_give_the_same_errors(spark, logs, monkeypatch):
    # batches of 100 rows, their group sums merged every few batches
    from skcal.spark import _compare_models

    monkeypatch.setattr(_compare_models, "_GROUPS_BEFORE_MERGE", 300)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "100")
    try:
        on_spark = skcal.spark.compare_models(logs, {"a": "champion", "b": "challenger"},
                                              y="y", groups="session", sample_weight="w")
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    _assert_same(on_spark, compare_models({"a": CHAMPION, "b": CHALLENGER}, Y,
                                          groups=SESSIONS, sample_weight=WEIGHTS))


def test_padding_labels_are_left_out(spark):
    padded = Y.copy()
    padded[::9] = -100
    df = frame(spark, {"a": CHAMPION, "b": CHALLENGER, "y": padded})
    on_spark = skcal.spark.compare_models(df, {"a": "a", "b": "b"}, y="y",
                                          ignore_index=-100)
    _assert_same(on_spark, compare_models({"a": CHAMPION, "b": CHALLENGER}, padded,
                                          ignore_index=-100))
    assert on_spark.n_rows_ == N - len(range(0, N, 9))


def test_models_that_cannot_be_compared_are_named(logs):
    with pytest.raises(ValueError, match="at least two names"):
        skcal.spark.compare_models(logs, {"champion": "champion"}, y="y")
    with pytest.raises(ValueError, match="model 'other': scores='nope' is not a column"):
        skcal.spark.compare_models(logs, {"champion": "champion", "other": "nope"}, y="y")
    with pytest.raises(ValueError, match="groups='nope' is not a column"):
        skcal.spark.compare_models(logs, {"a": "champion", "b": "challenger"}, y="y",
                                   groups="nope")


def test_rows_without_a_group_are_refused(logs):
    # a null session id was read as the group "None", one group of all such rows
    from pyspark.sql import functions as F

    some_null = logs.withColumn("session", F.when(F.col("session") == 7, None)
                                .otherwise(F.col("session")))
    with pytest.raises(ValueError, match="The groups column 'session' holds nulls"):
        skcal.spark.compare_models(some_null, {"a": "champion", "b": "challenger"}, y="y",
                                   groups="session")


def test_the_bootstrap_draws_the_groups_as_the_arrays_do(spark):
    # text ids: Spark's group sums and the arrays' units come in the same sorted
    # order, so the same seed draws the same groups
    sessions = np.array([f"s{s:03d}" for s in SESSIONS], dtype=object)
    df = frame(spark, {"a": CHAMPION, "b": CHALLENGER, "c": PROBA, "y": Y, "w": WEIGHTS,
                       "session": sessions})
    on_spark = skcal.spark.compare_models(df, {"a": "a", "b": "b", "c": "c"}, y="y",
                                          groups="session", sample_weight="w",
                                          n_bootstrap=300, random_state=4)
    in_memory = compare_models({"a": CHAMPION, "b": CHALLENGER, "c": PROBA}, Y,
                               groups=sessions, sample_weight=WEIGHTS, n_bootstrap=300,
                               random_state=4)
    assert on_spark.se_method_ == in_memory.se_method_ == "bootstrap"
    # the same draws of group sums added in another order: 1e-9 relative
    _assert_same(on_spark, in_memory)
    analytic = skcal.spark.compare_models(df, {"a": "a", "b": "b", "c": "c"}, y="y",
                                          groups="session", sample_weight="w")
    for name in ("a", "b"):  # a bootstrap error, not the analytic one
        assert on_spark.results_[name]["nll_diff_se"] != analytic.results_[name]["nll_diff_se"]


@pytest.mark.parametrize("kwargs, message", [
    ({"n_bootstrap": 100}, "pass groups="),
    ({"n_bootstrap": 1, "groups": "session"}, "at least 2"),
])
def test_a_bootstrap_spark_cannot_draw_is_refused(logs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        skcal.spark.compare_models(logs, {"a": "champion", "b": "challenger"}, y="y", **kwargs)


def test_without_a_label_column_the_comparison_names_it(logs):
    # was "model 'champion': y has 0 samples; at least one sample is required."
    with pytest.raises(ValueError, match=r"^y=None is not a column of the DataFrame \(its "
                                         r"columns: champion, challenger, truth, y, session, "
                                         r"w\); pass the name of the column that holds it\.$"):
        skcal.spark.compare_models(logs, {"champion": "champion", "challenger": "challenger"},
                                   y=None)
