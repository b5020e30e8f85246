"""What a Spark pass costs before any arithmetic: the floor under skcal.spark's fits.

On local[2], on the 10^6 x 10 cached DataFrame of ``bench_spark.py``, each
timed against one ``MulticlassClassificationEvaluator(metricName="logLoss")``
evaluation (median of ``--repeats`` runs, one process):

- the survey's Spark SQL aggregation by partition and label (its rows read in
  2 tasks, as the survey reads them), alone and with
  the random sample it collects on a computed cache, and the sample as a query
  of its own (as on any other DataFrame);
- a ``mapInArrow`` pass whose tasks only count their rows, over the array
  column of logits and the labels (the transfer to Python that every pass of a
  fit pays), in the DataFrame's 8 partitions and coalesced to 2;
- the same no-op pass over a tiny DataFrame in 8 and 32 partitions: the fixed
  cost of a Python task;
- five temperatures' NLL, gradient and curvature summed in the JVM by Spark
  SQL's higher-order functions (``aggregate`` over the array), the alternative
  to moving the rows to Python.

    python benchmarks/bench_spark_floor.py [--rows 1000000] [--repeats 3]
"""

import argparse
import os
import statistics
import sys
import time

from bench_spark import multiclass_frame, session

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def _count_rows(batches):
    import pyarrow as pa

    n = 0
    for batch in batches:
        n += batch.num_rows
    yield pa.RecordBatch.from_pydict({"n": [n]})


def _median_seconds(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _sql_temperatures(df, betas):
    """Sums of the NLL, its gradient and curvature at each inverse temperature, in the JVM."""
    from pyspark.sql import functions as F

    base = df.select("z", F.col("y").cast("int").alias("y"), F.expr("array_max(z)").alias("m"))
    sums = [F.expr(
        f"aggregate(z, named_struct('s', 0D, 's1', 0D, 's2', 0D), (a, x) -> named_struct("
        f"'s', a.s + exp({b} * (x - m)), 's1', a.s1 + (x - m) * exp({b} * (x - m)), "
        f"'s2', a.s2 + (x - m) * (x - m) * exp({b} * (x - m))))").alias(f"a{i}")
        for i, b in enumerate(betas)]
    rows = base.select("m", F.expr("element_at(z, y + 1)").alias("zy"), *sums)
    totals = []
    for i, b in enumerate(betas):
        s, s1, s2 = (F.col(f"a{i}.{part}") for part in ("s", "s1", "s2"))
        totals += [F.sum(F.log(s) - b * (F.col("zy") - F.col("m"))),
                   F.sum(s1 / s - (F.col("zy") - F.col("m"))),
                   F.sum(s2 / s - (s1 / s) ** 2)]
    return rows.agg(*totals).collect()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.sql import functions as F

    from skcal.spark._layout import Layout
    from skcal.spark._survey import _group_facts, _row_facts, _sample_fraction, survey_of
    from skcal.spark._tasks import in_fewer_tasks

    spark = session()
    df = multiclass_frame(spark, args.rows).cache()
    df.count()
    evaluator = MulticlassClassificationEvaluator(metricName="logLoss", labelCol="y")
    evaluator.evaluate(df)
    reference = _median_seconds(lambda: evaluator.evaluate(df), args.repeats)
    layout = Layout(df, "z", "y")
    survey = survey_of(df, layout)
    tiny = {parts: spark.range(1000, numPartitions=parts).cache() for parts in (8, 32)}
    for frame in tiny.values():
        frame.count()
    tasks = [
        ("survey: aggregation by partition and label", lambda: in_fewer_tasks(
            df.selectExpr(*_row_facts(layout)), df).groupBy("pid", "label").agg(
            *[F.expr(fact) for fact in _group_facts(False, True)]).collect()),
        ("survey: the whole survey, sample included", lambda: survey_of(df, layout)),
        ("survey: a sample as a query of its own", lambda: df.select(*layout.columns).where(
            F.rand(0) < _sample_fraction(survey.n_rows, survey.width)).collect()),
        ("no-op Arrow pass, 8 partitions", lambda: df.select("z", "y").mapInArrow(
            _count_rows, "n long").collect()),
        ("no-op Arrow pass, coalesced to 2", lambda: df.select("z", "y").coalesce(2).mapInArrow(
            _count_rows, "n long").collect()),
        ("no-op pass, 1000 rows in 8 partitions", lambda: tiny[8].mapInArrow(
            _count_rows, "n long").collect()),
        ("no-op pass, 1000 rows in 32 partitions", lambda: tiny[32].mapInArrow(
            _count_rows, "n long").collect()),
        ("5 temperatures in Spark SQL (JVM)", lambda: _sql_temperatures(
            df, [0.6 * 1.05**k for k in range(5)])),
    ]
    print(f"Spark {spark.version} on local[2], {args.rows:,} x 10 rows; medians of "
          f"{args.repeats} runs")
    print(f"{'task':<44}{'seconds':>9}{'x logLoss':>11}")
    print(f"{'Spark logLoss evaluation':<44}{reference:>9.2f}{1.0:>11.2f}")
    for name, task in tasks:
        task()
        seconds = _median_seconds(task, args.repeats)
        print(f"{name:<44}{seconds:>9.2f}{seconds / reference:>11.2f}")
    spark.stop()


if __name__ == "__main__":
    main()
