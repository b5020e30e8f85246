"""Probabilities written with few decimals in a Spark table are read as
probabilities, as arrays of them are (the survey's row-sum tolerance takes the
decimals from its sample). Before, rows summing to 1 within rounding but off by
more than 1e-3 were read as logits."""

import numpy as np
from frames import frame, max_relative_difference

import skcal
import skcal.spark

rng = np.random.default_rng(12)
N, K = 3000, 10
LOGITS = rng.normal(scale=2.0, size=(N, K))
PROBA = (np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)).round(3)
Y = np.argmax(LOGITS / 1.5 + rng.gumbel(size=(N, K)), axis=1)


def test_spark_reads_rounded_probabilities_as_arrays_do(spark):
    assert np.abs(PROBA.sum(axis=1) - 1).max() > 1e-3  # beyond the plain tolerance
    df = frame(spark, {"proba": PROBA, "y": Y})
    on_spark = skcal.spark.fit(skcal.TemperatureScaling(), df, scores="proba", y="y")
    in_memory = skcal.TemperatureScaling().fit(PROBA, Y)
    assert on_spark.score_type_ == in_memory.score_type_ == "probabilities"
    # two summation orders of the same float64 sums: the optima agree to the
    # solver's tolerance, far inside 1e-8
    assert max_relative_difference(on_spark.temperature_, in_memory.temperature_) < 1e-8
