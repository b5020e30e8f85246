"""On Spark, probabilities beside one column that is not a class's (a log's
``proba_max``, which the pattern ``proba_*`` also takes) are refused by name,
as arrays are. Before, the survey read all of them as logits without a word."""

import numpy as np
import pytest
from frames import counted_surveys, frame

import skcal
import skcal.spark
from skcal.spark._layout import Layout
from skcal.spark._survey import Survey, _column_beside

rng = np.random.default_rng(21)
N = 2000
LOGITS = rng.normal(scale=2.0, size=(N, 3))
PROBA = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
Y = np.array(["bird", "cat", "dog"])[(PROBA.cumsum(axis=1) > rng.random((N, 1))).argmax(1)]
COLUMNS = {"proba_bird": PROBA[:, 0], "proba_max": PROBA.max(axis=1),
           "proba_cat": PROBA[:, 1], "proba_dog": PROBA[:, 2], "y": Y}


@pytest.fixture
def surveys(monkeypatch):
    """The full surveys run: a list of their calls."""
    return counted_surveys(monkeypatch)


@pytest.mark.parametrize("cache_computed", [False, True],
                         ids=["full survey", "provisional survey"])
def test_spark_refuses_the_column_beside_probabilities_by_name(spark, surveys,
                                                               cache_computed):
    df = frame(spark, COLUMNS)
    if cache_computed:
        df.count()  # a computed cache: the fit starts from its sample
    with pytest.raises(ValueError, match="without the column 'proba_max' every row sums to 1"):
        skcal.spark.fit(skcal.TemperatureScaling(), df, scores="proba_*", y="y")
    assert len(surveys) == (0 if cache_computed else 1)
    fitted = skcal.spark.fit(skcal.TemperatureScaling(), df,
                             scores=["proba_bird", "proba_cat", "proba_dog"], y="y")
    assert fitted.score_type_ == "probabilities"
    # said to be logits, they are taken as logits
    as_logits = skcal.spark.fit(skcal.TemperatureScaling(score_type="logits"), df,
                                scores="proba_*", y="y")
    assert as_logits.score_type_ == "logits"


def test_the_column_is_confirmed_on_every_row_not_the_sample_alone(spark):
    from pyspark.sql import functions as F

    scores = np.column_stack([COLUMNS[name] for name in COLUMNS if name != "y"])
    survey = Survey()
    survey.sample = [(scores, Y, None, 1.0)]  # a sample in which every row agrees
    changed = dict(COLUMNS, proba_cat=COLUMNS["proba_cat"].copy())
    changed["proba_cat"][-1] *= 0.5  # one row beyond the sample does not sum to 1 without it
    for columns, found in ((COLUMNS, (1, "proba_max")), (changed, None)):
        df = frame(spark, columns)
        assert _column_beside(df, Layout(df, "proba_*", "y"), survey, F) == found
