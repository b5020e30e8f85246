"""Calibration on Spark against Spark's own log loss, on the same cached DataFrame.

On local[2]: 10^7 binary rows (one logit column) and 10^6 rows of 10 logits (an
array column). Each skcal call (``skcal.spark.fit`` of temperature, Platt and
vector scaling, ``skcal.spark.evaluate`` of the NLL and the ECE, and on the
multiclass rows ``skcal.spark.compare_models`` of the logits against the
probability vectors, raw and with ``calibrate="temperature"``) is timed
against one ``MulticlassClassificationEvaluator(metricName="logLoss")``
evaluation of the same rows (its probability vectors precomputed and cached
beside the logits), in one process. Each run of a call is paired with an
evaluation just before it (the machine's speed drifts over a benchmark), and
the ratio reported is the median over ``--repeats`` runs of the call's time
over its paired evaluation's.
The Spark jobs of each call are counted with ``SparkContext.statusTracker``.

    python benchmarks/bench_spark.py [--binary-rows 10000000] [--multiclass-rows 1000000]
                                     [--rst docs/_spark_table.rst]
                                     [--also-calibrate vector platt]

``--rst`` also writes the table for the documentation (replaced by rename).
"""

import argparse
import os
import statistics
import sys
import time
import warnings

from tables import rst_table, write_text

warnings.filterwarnings("ignore", message="PySpark does not yet fully support")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def session():
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("skcal-bench")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "6g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def binary_frame(spark, n):
    """Logit ``d`` ~ N(0, 2^2), label drawn from sigmoid(d / 1.5); the evaluator's
    probability vector and prediction beside them."""
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    df = spark.range(n, numPartitions=8).select(
        (F.randn(1) * 2).alias("d"), F.rand(2).alias("u"))
    p = 1 / (1 + F.exp(-F.col("d")))
    return df.select(
        "d", (F.col("u") < 1 / (1 + F.exp(-F.col("d") / 1.5))).cast("int").alias("y"),
        array_to_vector(F.array(1 - p, p)).alias("probability"),
        (p > 0.5).cast("double").alias("prediction"),
    ).withColumn("y", F.col("y").cast("double"))


def multiclass_frame(spark, n, k=10):
    """Logits ``z`` (array of k) ~ N(0, 2^2), labels drawn from softmax(z / 1.5); the evaluator's
    softmax vector and argmax beside them."""
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    df = spark.range(n, numPartitions=8).select(
        F.array(*[F.randn(10 + j) * 2 for j in range(k)]).alias("z"),
        F.array(*[-F.log(-F.log(F.rand(100 + j))) for j in range(k)]).alias("g"))
    # labels drawn from softmax(z / 1.5) (the Gumbel-max trick): overconfident logits
    df = df.withColumn("t", F.expr("zip_with(z, g, (x, e) -> x / 1.5 + e)"))
    df = df.withColumn("y", (F.expr("array_position(t, array_max(t))") - 1).cast("double"))
    df = df.withColumn("e", F.expr("transform(z, x -> exp(x))"))
    df = df.withColumn("s", F.expr("aggregate(e, 0D, (acc, x) -> acc + x)"))
    df = df.withColumn("p", F.expr("transform(e, x -> x / s)"))
    return df.select(
        "z", "y", array_to_vector("p").alias("probability"),
        (F.expr("array_position(p, array_max(p))") - 1).cast("double").alias("prediction"))


def timed(spark, func, repeats, reference=None):
    """(median seconds, Spark jobs of one run, the last result, the median ratio
    to ``reference``'s time measured just before each run)."""
    context, times, ratios, jobs, result = spark.sparkContext, [], [], None, None
    for i in range(repeats):
        before = _seconds(reference) if reference is not None else None
        group = f"bench-{time.monotonic_ns()}-{i}"
        context.setJobGroup(group, group)
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
        jobs = len(context.statusTracker().getJobIdsForGroup(group))
        context.setJobGroup("bench-idle", "between runs")
        if before is not None:
            ratios.append(times[-1] / before)
    ratio = statistics.median(ratios) if ratios else None
    return statistics.median(times), jobs, result, ratio


def _seconds(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary-rows", type=int, default=10_000_000)
    parser.add_argument("--multiclass-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rst", metavar="OUT", help="also write the table as reStructuredText")
    parser.add_argument("--also-calibrate", nargs="*", default=[], metavar="METHOD",
                        help="also time compare_models calibrated with these maps (each "
                             "fold fitted on its own, many jobs: vector, platt, ...)")
    args = parser.parse_args()
    table = []

    from pyspark.ml.evaluation import MulticlassClassificationEvaluator

    import skcal
    import skcal.spark

    spark = session()
    print(f"Spark {spark.version} on local[2]; medians of {args.repeats} runs")
    print(f"{'task':<44}{'seconds':>9}{'jobs':>6}{'x logLoss':>11}")
    for label, frame, scores in (
        (f"{args.binary_rows:,} binary rows", binary_frame(spark, args.binary_rows), "d"),
        (f"{args.multiclass_rows:,} x 10 rows", multiclass_frame(spark, args.multiclass_rows),
         "z"),
    ):
        df = frame.cache()
        df.count()
        evaluator = MulticlassClassificationEvaluator(metricName="logLoss", labelCol="y")
        def evaluation():
            return evaluator.evaluate(df)

        reference, ref_jobs, value, _ = timed(spark, evaluation, args.repeats)
        print(f"-- {label}")
        print(f"{'Spark logLoss evaluation':<44}{reference:>9.2f}{ref_jobs:>6}{1.0:>11.2f}"
              f"   (logLoss {value:.6f})")
        table.append((label, "Spark logLoss evaluation", reference, ref_jobs, 1.0))
        tasks = [
            ("skcal.spark.fit TemperatureScaling", lambda: skcal.spark.fit(
                skcal.TemperatureScaling(), df, scores=scores, y="y")),
            ("skcal.spark.fit PlattScaling", lambda: skcal.spark.fit(
                skcal.PlattScaling(), df, scores=scores, y="y")),
            ("skcal.spark.evaluate nll_from_logits", lambda: skcal.spark.evaluate(
                "nll_from_logits", df, scores=scores, y="y", score_type="logits")),
            ("skcal.spark.evaluate expected_calibration_error",
             lambda: skcal.spark.evaluate("expected_calibration_error", df, scores=scores,
                                          y="y", score_type="logits")),
        ]
        if scores == "z":
            tasks.insert(2, ("skcal.spark.fit VectorScaling", lambda: skcal.spark.fit(
                skcal.VectorScaling(), df, scores=scores, y="y")))
            # the logits against the evaluator's probability vectors: two models
            tasks.append(("skcal.spark.compare_models, 2 models", lambda: skcal.spark
                          .compare_models(df, {"logits": "z", "softmax": "probability"},
                                          y="y").results_["softmax"]["nll"]))
            # the same, ranked after a temperature cross-fitted over 5 folds
            tasks.append(("skcal.spark.compare_models, calibrate", lambda: skcal.spark
                          .compare_models(df, {"logits": "z", "softmax": "probability"},
                                          y="y", calibrate="temperature")
                          .results_["softmax"]["nll"]))
            for method in args.also_calibrate:
                tasks.append((f"skcal.spark.compare_models, calibrate {method}",
                              lambda method=method: skcal.spark.compare_models(
                                  df, {"logits": "z", "softmax": "probability"}, y="y",
                                  calibrate=method).results_["softmax"]["nll"]))
        for name, task in tasks:
            seconds, jobs, result, ratio = timed(spark, task, args.repeats, evaluation)
            shown = (f"T={result.temperature_:.4f}" if hasattr(result, "temperature_")
                     else f"{result:.6f}" if isinstance(result, float) else "")
            print(f"{name:<44}{seconds:>9.2f}{jobs:>6}{ratio:>11.2f}   {shown}")
            table.append((label, name, seconds, jobs, ratio))
        df.unpersist()
    spark.stop()
    if args.rst:
        _write_rst(args.rst, table, args.repeats)


def _write_rst(path, table, repeats):
    """The table for the documentation, replacing ``path`` by rename."""
    header = ("rows", "call", f"seconds (median of {repeats})", "Spark jobs",
              "x the logLoss evaluation before it (median)")
    rows = [(label, name, f"{seconds:.2f}", jobs, f"{ratio:.2f}")
            for label, name, seconds, jobs, ratio in table]
    write_text(path, rst_table(header, rows))


if __name__ == "__main__":
    main()
