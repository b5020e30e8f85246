"""How many tasks read a DataFrame: a Spark job over more partitions than the
cluster has cores reads them in as many tasks as cores (``coalesce``, no
shuffle). Each task has a fixed cost (about 60 ms for a Python task on local[2],
``benchmarks/bench_spark_floor.py``), and a shuffle's map tasks each write a
file per reduce partition."""


def in_fewer_tasks(frame, df):
    """``frame`` (a query over ``df``) read in as many tasks as the cluster has
    cores when ``df`` has more partitions; unchanged on Spark Connect, which
    shows neither cores nor partitions.

    Expressions computed in ``frame`` before this call still see their own
    partition: ``spark_partition_id()`` and ``monotonically_increasing_id()``
    number ``df``'s partitions, as they would without it."""
    if is_spark_connect(df):
        return frame
    cores = df.sparkSession.sparkContext.defaultParallelism
    if df.rdd.getNumPartitions() > cores:
        return frame.coalesce(cores)
    return frame


def is_spark_connect(df):
    """True for a DataFrame of a Spark Connect session (no SparkContext, no RDD)."""
    return type(df).__module__.startswith("pyspark.sql.connect")
