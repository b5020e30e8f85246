"""A Spark ML model's vector numbers text classes as its StringIndexer did (by
frequency, not in sorted order): text labels read against such a vector are
refused, naming the indexed column to pass instead, wherever skcal.spark reads
the vector; an indexer whose numbering is the sorted order changes nothing."""

import pickle

import numpy as np
import pytest
from frames import frame

import skcal
import skcal.spark
from skcal import metrics

rng = np.random.default_rng(11)
N = 1500
NAMES = np.array(["bird", "cat", "dog"])
# dog most frequent, then cat, then bird: a frequency numbering dog, cat, bird
SPECIES = NAMES[rng.choice(3, size=N, p=[0.2, 0.3, 0.5])]
LOGITS = rng.normal(0, 2, size=(N, 3))


def _indexed(spark, order_type):
    """A computed cache with ``species``, its StringIndexer column ``label`` and
    vectors ``probability`` whose entry j is the class ``label`` numbers j
    (the positives' logit raised, so that the scores know the labels)."""
    from pyspark.ml.feature import StringIndexer
    from pyspark.ml.functions import array_to_vector

    model = StringIndexer(inputCol="species", outputCol="label",
                          stringOrderType=order_type).fit(
        frame(spark, {"species": SPECIES}, n_partitions=1))
    numbering = list(model.labels)
    index = np.array([numbering.index(name) for name in SPECIES])
    logits = LOGITS.copy()
    logits[np.arange(N), index] += 2.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    df = model.transform(frame(spark, {"species": SPECIES, "proba": proba}))
    df = df.withColumn("probability", array_to_vector("proba")).cache()
    df.count()
    return df, numbering, index, proba


@pytest.fixture(scope="module")
def by_frequency(spark):
    return _indexed(spark, "frequencyDesc")


def test_text_labels_against_a_frequency_numbered_vector_are_refused(by_frequency):
    df, numbering, _, proba = by_frequency
    assert numbering == ["dog", "cat", "bird"]  # not sorted: the case refused
    fitted = skcal.TemperatureScaling().fit(proba[:, [2, 1, 0]], SPECIES)  # sorted classes
    monitor = skcal.CalibrationMonitor(chunk_size=500).fit(proba[:, [2, 1, 0]], SPECIES)
    calls = {
        "fit": lambda: skcal.spark.fit(skcal.VectorScaling(), df, scores="probability",
                                       y="species"),
        "evaluate": lambda: skcal.spark.evaluate("nll", df, scores="probability",
                                                 y="species"),
        "compare_models": lambda: skcal.spark.compare_models(
            df, {"a": "probability", "b": "proba"}, y="species"),
        "update": lambda: skcal.spark.update(monitor, df, scores="probability",
                                             y="species"),
        "transform": lambda: skcal.spark.transform(fitted, df, scores="probability"),
    }
    before = pickle.dumps(monitor)
    for name, call in calls.items():
        with pytest.raises(ValueError, match=r"StringIndexer column 'label' numbers j: "
                                             r"\['dog', 'cat', 'bird'\].*y='label'"):
            call()
    assert pickle.dumps(monitor) == before  # the refused update added nothing


def test_the_indexed_labels_or_labels_in_the_indexer_order_read_the_entries_right(
        by_frequency):
    df, numbering, index, proba = by_frequency
    # float64 terms summed in other groupings: a few roundings of the total
    expected = metrics.nll(index, proba)
    np.testing.assert_allclose(
        skcal.spark.evaluate("nll", df, scores="probability", y="label"), expected,
        rtol=1e-12)
    np.testing.assert_allclose(
        skcal.spark.evaluate("nll", df, scores="probability", y="species",
                             labels=numbering), expected, rtol=1e-12)
    fitted = skcal.spark.fit(skcal.VectorScaling(), df, scores="probability", y="label")
    np.testing.assert_array_equal(fitted.classes_, [0.0, 1.0, 2.0])
    # an array column beside the indexer is not a model's vector: read as arrays are
    np.testing.assert_allclose(
        skcal.spark.evaluate("nll", df, scores="proba", y="species"),
        metrics.nll(SPECIES, proba), rtol=1e-12)


def test_an_indexer_numbering_in_sorted_order_reads_text_labels(spark):
    df, numbering, index, proba = _indexed(spark, "alphabetAsc")
    assert numbering == ["bird", "cat", "dog"]
    np.testing.assert_allclose(
        skcal.spark.evaluate("nll", df, scores="probability", y="species"),
        metrics.nll(index, proba), rtol=1e-12)
