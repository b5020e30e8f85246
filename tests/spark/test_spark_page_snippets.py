"""The Python snippets of the Spark page (``docs/spark.rst``) run as written on a
local Spark session, against tables of the names they read, made here of synthetic
rows; the first, which reads S3, excepted. Each test checks what its snippet says
it gives against the same rows as arrays."""

import datetime
import json

import numpy as np
import pytest
from doc_pages import snippets_of
from frames import frame
from sklearn.metrics import log_loss

import skcal
import skcal.spark
from skcal import CalibrationMonitor, TemperatureScaling, compare_models, load_calibrator
from skcal.metrics import expected_calibration_error, nll_from_logits

SNIPPETS = snippets_of("spark")
K = 4


def overconfident(rng, n, k=K, scale=2.0):
    """Logits of a model ``scale`` times too confident, and labels drawn from the truth."""
    logits = rng.normal(scale=3.0, size=(n, k))
    return logits, (logits / scale + rng.gumbel(size=logits.shape)).argmax(axis=1)


def run(index, **names):
    """Snippet ``index`` of the page run with ``names``, and the names it leaves."""
    namespace = {"skcal": skcal, **names}
    exec(SNIPPETS[index], namespace)  # noqa: S102 (the documented code itself)
    return namespace


def test_the_page_still_has_the_snippets_run_here():
    assert len(SNIPPETS) == 7
    assert 'spark.table("predictions.image_classifier")' in SNIPPETS[1]
    assert "LogisticRegression().fit(train)" in SNIPPETS[2]
    assert "skcal.spark.update(monitor, day" in SNIPPETS[3]
    assert "monitor.recalibrate(calibrator)" in SNIPPETS[4]
    assert 'spark.table("shadow_scores")' in SNIPPETS[5]
    assert 'calibrate="temperature"' in SNIPPETS[6]


def test_the_logits_table_snippet_fits_and_evaluates(spark, tmp_path):
    rng = np.random.default_rng(0)
    logits, y = overconfident(rng, 3000)
    spark.sql(f"CREATE DATABASE predictions LOCATION '{tmp_path / 'predictions'}'")
    try:
        frame(spark, {"logits": logits, "label": y}).write.saveAsTable(
            "predictions.image_classifier")
        names = run(1, spark=spark)
    finally:
        spark.sql("DROP DATABASE predictions CASCADE")
    # the model is twice too confident
    assert names["ts"].temperature_ == pytest.approx(2.0, rel=0.1)
    assert names["vs"].coef_.shape == (K,)
    # the same float64 terms summed in other groupings: 1e-10 relative
    assert names["before"] == pytest.approx(nll_from_logits(y, logits), rel=1e-10)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    assert names["ece"] == pytest.approx(expected_calibration_error(y, proba, n_bins=15),
                                         rel=1e-10)


def test_the_spark_ml_snippet_calibrates_a_logistic_regression(spark):
    from pyspark.ml.feature import VectorAssembler

    rng = np.random.default_rng(1)
    features = rng.normal(size=(2000, 3))
    y = (features @ [2.0, -1.0, 0.5] + rng.logistic(size=2000) > 0).astype(float)
    table = frame(spark, {"row": np.arange(2000), "f0": features[:, 0],
                          "f1": features[:, 1], "f2": features[:, 2], "label": y})
    rows = VectorAssembler(inputCols=["f0", "f1", "f2"], outputCol="features").transform(
        table).select("row", "features", "label")
    train, holdout = rows.where("row < 1000"), rows.where("row >= 1000")
    names = run(2, spark=spark, train=train, holdout=holdout)
    scored = names["scored"].select("probability", "label").collect()
    proba = np.array([row.probability.toArray() for row in scored])
    labels = np.array([row.label for row in scored])
    assert names["before"] == pytest.approx(log_loss(labels, proba), rel=1e-10)
    # a well-specified logistic regression is calibrated, and its binary
    # rawPrediction (-margin, margin) twice its logits: the temperature is near 2,
    # and the calibrated probabilities are near the model's own
    assert names["ts"].temperature_ == pytest.approx(2.0, abs=0.3)
    calibrated = names["calibrated"].select("probability", "calibrated_proba").collect()
    own = np.array([row.probability.toArray() for row in calibrated])
    np.testing.assert_allclose([row.calibrated_proba for row in calibrated], own, atol=0.05)


def test_the_nightly_monitor_snippet_adds_the_day_and_joins_late_labels(
        spark, tmp_path, monkeypatch, postgres_url):
    import sqlalchemy

    rng = np.random.default_rng(2)
    monkeypatch.chdir(tmp_path)
    reference = overconfident(rng, 4000, scale=1.0)
    monitor = CalibrationMonitor(chunk_period="6h").fit(*reference)
    with open("ranker-monitor.json", "w") as f:
        json.dump(monitor.to_dict(), f)
    today = datetime.date.today()
    # the rows of yesterday and of today, in case midnight passes before the snippet
    # asks which day is yesterday: it reads one of them, 1200 rows
    days = [today - datetime.timedelta(days=1), today]
    logits, y = overconfident(rng, 2400, scale=1.0)
    day_of_row = np.repeat([str(day) for day in days], 1200)
    times = np.concatenate([np.datetime64(day, "s") + np.arange(1200) * 60 for day in days])
    label = np.where(np.arange(2400) % 2 == 0, y, -1)  # every other label comes late
    preds = frame(spark, {"request_id": np.arange(2400), "ts": times, "logits": logits,
                          "label": label, "day": day_of_row})
    preds.selectExpr(
        "request_id", "ts", "logits", "IF(label < 0, NULL, label) AS label", "day"
    ).createOrReplaceTempView("preds")
    frame(spark, {"request_id": np.arange(1, 2400, 2), "clicked": y[1::2]}
          ).createOrReplaceTempView("clicks")

    names = run(3, spark=spark, metrics_db=postgres_url)

    monitor = names["monitor"]
    assert monitor.n_rows_ == 1200
    table = monitor.to_frame()  # the day's complete periods: 00-06, 06-12 and 12-18 h
    assert table["n"].tolist() == [360, 360, 360]
    assert (table["n_labelled"] == table["n"]).all()  # the late half joined from clicks
    # the join takes the waiting rows' labels only: the other day's clicks are not
    # looked at, so not counted as unmatched either
    assert monitor.n_labels_unmatched_ == 0
    # through psycopg 3, as skcal's store opens it (SQLAlchemy 2.0 reads a plain
    # postgresql:// URL with psycopg2, which the sql extra does not install)
    engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://",
                                                           "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            stored = connection.execute(sqlalchemy.text(
                "SELECT COUNT(DISTINCT chunk) FROM skcal_monitor_results "
                "WHERE model = 'ranker'")).scalar()
    finally:
        engine.dispose()
    assert stored == len(table)
    assert 'model="ranker"' in names["text"]


def test_the_verdict_snippet_recalibrates_on_the_rows_since_the_drift_where_they_live(
        spark, tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    monkeypatch.chdir(tmp_path)
    monitor = CalibrationMonitor(chunk_period="6h").fit(*overconfident(rng, 8000, scale=1.0))
    n = 4 * 1440  # four days, a row a minute; twice too confident from day 3
    times = np.datetime64("2026-11-01", "s") + np.arange(n) * 60
    logits, y = overconfident(rng, n, scale=1.0)
    logits[2 * 1440:] *= 2.0
    monitor.update(logits, np.where(np.arange(n) % 2 == 0, y, -1), times,
                   ids=np.arange(n))
    monitor.add_labels(ids=np.arange(1, n, 2), y=y[1::2])  # the other half, late
    frame(spark, {"request_id": np.arange(n), "ts": times, "logits": logits,
                  "label": np.where(np.arange(n) % 2 == 0, y, -1)}).selectExpr(
        "request_id", "ts", "logits", "IF(label < 0, NULL, label) AS label"
    ).createOrReplaceTempView("preds")
    frame(spark, {"request_id": np.arange(1, n, 2), "clicked": y[1::2]}
          ).createOrReplaceTempView("clicks")
    onset = monitor.drift_onset()
    assert onset is not None and monitor.to_frame()["verdict"].iloc[-1] == "recalibrate"

    names = run(4, spark=spark, monitor=monitor)

    since = monitor.chunk_of(timestamps=times) >= onset
    assert since.sum() >= 1440  # the rows since the drift, a day or more of them
    direct = TemperatureScaling().fit(logits[since], y[since])
    # both fits stop within their solver's tolerance, far inside 1e-8 (as in
    # tests/spark/test_spark_fit.py)
    assert names["calibrator"].temperature_ == pytest.approx(direct.temperature_, rel=1e-8)
    assert direct.temperature_ == pytest.approx(2.0, rel=0.1)
    assert monitor.calibrator_version_ == 1
    assert load_calibrator("ranker-calibrator.json").temperature_ == pytest.approx(
        direct.temperature_, rel=1e-8)


def test_the_shadow_snippets_rank_as_compare_models_ranks_arrays(spark):
    rng = np.random.default_rng(3)
    n = 3000
    truth = rng.normal(scale=2.0, size=n)
    clicked = (truth + rng.logistic(size=n) > 0).astype(int)
    live = 1 / (1 + np.exp(-truth * 1.5))  # too confident
    shadow = 1 / (1 + np.exp(-(truth + rng.normal(scale=1.0, size=n))))  # less informed
    users = rng.integers(300, size=n)
    frame(spark, {"day": np.where(np.arange(n) < 2500, "2026-12-04", "2026-12-03"),
                  "proba_live": live, "proba_shadow": shadow, "clicked": clicked,
                  "user_id": users}).createOrReplaceTempView("shadow_scores")
    names = run(5, spark=spark)
    kept = slice(0, 2500)
    expected = compare_models({"champion": live[kept], "challenger": shadow[kept]},
                              clicked[kept], groups=users[kept])
    result = names["result"]
    assert result.ranking_ == expected.ranking_
    for name in ("champion", "challenger"):
        # the same float64 terms summed in other groupings: 1e-9 relative
        np.testing.assert_allclose(result.results_[name]["nll"],
                                   expected.results_[name]["nll"], rtol=1e-9)
        np.testing.assert_allclose(result.results_[name]["nll_diff_se"],
                                   expected.results_[name]["nll_diff_se"], rtol=1e-9)

    calibrated = run(6, spark=spark, logs=names["logs"], skcal=skcal)["result"]
    # a temperature undoes the champion's overconfidence, not the challenger's noise
    assert calibrated.ranking_[0] == "champion"
    champion = calibrated.results_["champion"]
    assert champion["nll"] < champion["nll_uncalibrated"]
