"""compare_calibrators on many classes: the default methods leave out
MatrixScaling beyond 500 classes (its K (K + 1) parameters take minutes a fit
there) and say so; methods named by the user are compared as given."""

import numpy as np
import pytest

from skcal import compare_calibrators
from skcal.calibrators._registry import default_calibrators
from skcal.comparison._candidates import MATRIX_DEFAULT_CLASSES
from skcal.comparison._outer_folds import outer_splits


def many_classes(n_classes, per_class=6, seed=0):
    """Logits of an informative, overconfident model, each class ``per_class``
    times in the labels (stratified folds need some of each)."""
    rng = np.random.default_rng(seed)
    y = np.tile(np.arange(n_classes), per_class)
    logits = 3.0 * rng.normal(size=(y.size, n_classes))
    logits[np.arange(y.size), y] += 6.0
    return logits, y


# one-vs-rest maps see some classes separated in so few rows; they say so
@pytest.mark.filterwarnings("ignore:The calibration scores separate class")
def test_the_defaults_leave_out_matrix_scaling_beyond_500_classes_and_say_so():
    logits, y = many_classes(MATRIX_DEFAULT_CLASSES + 1)
    with pytest.warns(UserWarning, match="MatrixScaling is left out of the default methods "
                                         "for 501 classes: it has 251,502 parameters"):
        comparison = compare_calibrators(logits, y, cv=3)
    expected = set(default_calibrators()) - {"MatrixScaling"} | {"uncalibrated"}
    assert set(comparison.ranking_) == expected


def test_matrix_scaling_stays_among_the_defaults_up_to_500_classes():
    # (the suite runs with warnings as errors: neither call may warn)
    few_logits, few_y = many_classes(12, per_class=60)
    assert "MatrixScaling" in compare_calibrators(few_logits, few_y, cv=3).ranking_
    # methods named by the user are compared as given, at any size
    logits, y = many_classes(MATRIX_DEFAULT_CLASSES + 1, per_class=3)
    named = compare_calibrators(logits, y, calibrators=["temperature"], cv=3)
    assert named.ranking_ == ["TemperatureScaling", "uncalibrated"]


@pytest.mark.filterwarnings("ignore:The calibration scores separate class")
@pytest.mark.filterwarnings("default:MatrixScaling is left out")  # shown, as the command is run
def test_skcal_compare_leaves_it_out_by_default_and_says_so(tmp_path, capsys):
    from skcal.cli._main import main

    logits, y = many_classes(MATRIX_DEFAULT_CLASSES + 1, per_class=3)
    np.save(tmp_path / "scores.npy", logits)
    np.save(tmp_path / "labels.npy", y)
    assert main(["compare", str(tmp_path / "scores.npy"), str(tmp_path / "labels.npy"),
                 "--cv", "3"]) == 0
    out, err = capsys.readouterr()
    assert "MatrixScaling is left out of the default methods for 501 classes" in err
    assert "--methods ... matrix" in err
    assert "MatrixScaling" not in out and "VectorScaling" in out


@pytest.mark.filterwarnings("ignore:The calibration scores separate class")
def test_a_comparison_keeps_its_fitted_methods_not_every_methods_probabilities():
    """Each method's out-of-fold probabilities (8 x the scores, in float64) are
    predicted when first read, from the methods fitted on each fold: before, the
    folds kept them all, 8 GB at 4000 x 32000. What a comparison holds stays
    within 3 times the scores it was given (the scores themselves, once, and the
    fitted maps); a read prediction equals the fold's own."""
    import gc
    import tracemalloc

    logits, y = many_classes(200, per_class=10)  # 2000 x 200 float64, 3.2 MB
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        comparison = compare_calibrators(logits, y, cv=3)
        # what the comparison holds, not cycles awaiting the collector (with scipy
        # 1.12 a fold's training scores waited in one)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(comparison.predictions_) == 8
    assert kept < 3 * logits.nbytes
    predictions = comparison.predictions_["TemperatureScaling"]
    assert predictions.shape == logits.shape
    nll = -np.log(predictions[np.arange(y.size), y]).mean()
    results = comparison.cv_results_
    table_nll = results["mean_test_nll"][list(results["method"]).index("TemperatureScaling")]
    # the folds' mean NLL over folds of equal size (2000 = 3 x 667 - 1): within 1e-3
    assert abs(nll - table_nll) < 1e-3 * table_nll


@pytest.mark.filterwarnings("ignore:The calibration scores separate class")
@pytest.mark.parametrize("as_tokens", [False, True])
def test_classes_all_rarer_than_the_folds_get_plain_shuffled_folds(as_tokens):
    """Every class twice among the rows, 3 folds: stratified folds cannot be made
    (scikit-learn refused: "n_splits=3 cannot be greater than the number of
    members in each class"), so the folds are shuffled folds of the rows, or of
    the sequences of token scores (kept whole); each row is held out once."""
    logits, y = many_classes(300, per_class=2)
    if as_tokens:  # 60 sequences of 10 tokens, each sequence kept whole
        logits, y = logits.reshape(60, 10, 300), y.reshape(60, 10)
    comparison = compare_calibrators(logits, y, cv=3, calibrators=["temperature"])
    assert comparison.n_splits_ == 3
    proba = comparison.predictions_["TemperatureScaling"]
    assert proba.shape == (600, 300) and np.isfinite(proba).all()
    results = comparison.cv_results_
    assert np.all(results["mean_test_nll"] > 0)
    groups = np.repeat(np.arange(60), 10) if as_tokens else None
    splits = outer_splits(3, y.reshape(-1), groups, 0)
    held_out = np.sort(np.concatenate([test for _, test in splits]))
    np.testing.assert_array_equal(held_out, np.arange(600))
    if as_tokens:
        for train, test in splits:
            assert not set(groups[train]) & set(groups[test])
