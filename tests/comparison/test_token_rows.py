"""compare_calibrators on the tokens of sequences: scores of shape (batch,
length, n_classes) with labels (batch, length) are the rows of their tokens,
each sequence a group (folds hold it whole, errors are cluster-robust over
sequences) unless groups names documents; rows labelled ignore_index are left
out. Each comparison equals the one on the kept rows given as a table, with
the same groups: the same folds, so the same numbers."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression

from skcal import compare_calibrators

METHODS = ["temperature", "vector"]


def padded_tokens(seed=0, batch=24, length=20, n_classes=6):
    rng = np.random.default_rng(seed)
    logits = 3.0 * rng.normal(size=(batch, length, n_classes))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=-1)
    lengths = rng.integers(5, length + 1, size=batch)
    y[np.arange(length) >= lengths[:, None]] = -100
    return logits, y


def same_results(tokens, table):
    for key in ("method", "mean_test_nll", "nll_diff_to_best", "nll_diff_se",
                "nll_diff_pvalue", "tied_with_best"):
        if tokens.cv_results_[key].dtype == object:
            assert_array_equal(tokens.cv_results_[key], table.cv_results_[key])
        else:  # the same rows in the same order: equal to rounding
            assert_allclose(tokens.cv_results_[key], table.cv_results_[key], rtol=1e-12)
    assert tokens.n_groups_ == table.n_groups_


def test_token_scores_are_rows_grouped_by_sequence_and_padding_is_left_out():
    logits, y = padded_tokens()
    tokens = compare_calibrators(logits, y, calibrators=METHODS, cv=3, ignore_index=-100)
    kept = y != -100
    sequence = np.broadcast_to(np.arange(24)[:, None], y.shape)[kept]
    table = compare_calibrators(logits[kept], y[kept], calibrators=METHODS, cv=3,
                                groups=sequence)
    same_results(tokens, table)
    assert tokens.n_groups_ == 24
    assert tokens.predictions_["TemperatureScaling"].shape == (kept.sum(), 6)


def test_groups_per_sequence_name_documents():
    logits, y = padded_tokens(seed=1)
    document = np.arange(24) // 3
    tokens = compare_calibrators(logits, y, calibrators=METHODS, cv=4, groups=document,
                                 ignore_index=-100)
    kept = y != -100
    per_token = np.broadcast_to(document[:, None], y.shape)[kept]
    table = compare_calibrators(logits[kept], y[kept], calibrators=METHODS, cv=4,
                                groups=per_token)
    same_results(tokens, table)
    assert tokens.n_groups_ == 8


def test_a_test_set_of_tokens_is_read_the_same_way():
    logits, y = padded_tokens(seed=2)
    test_logits, test_y = padded_tokens(seed=3, batch=10)
    tokens = compare_calibrators(logits, y, calibrators=METHODS, cv=3, ignore_index=-100,
                                 X_test=test_logits, y_test=test_y)
    kept, test_kept = y != -100, test_y != -100
    sequence = np.broadcast_to(np.arange(24)[:, None], y.shape)[kept]
    table = compare_calibrators(logits[kept], y[kept], calibrators=METHODS, cv=3,
                                groups=sequence, X_test=test_logits[test_kept],
                                y_test=test_y[test_kept])
    for name in tokens.test_results_:
        assert tokens.test_results_[name]["nll"] == pytest.approx(
            table.test_results_[name]["nll"], rel=1e-12)


def test_rows_labelled_ignore_index_are_left_out_with_a_classifier_too():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)
    y[::7] = -1  # rows never labelled
    with_ignored = compare_calibrators(X, y, estimator=LogisticRegression(),
                                       calibrators=["platt"], cv=3, ignore_index=-1)
    kept = y != -1
    table = compare_calibrators(X[kept], y[kept], estimator=LogisticRegression(),
                                calibrators=["platt"], cv=3)
    same_results(with_ignored, table)


@pytest.mark.parametrize("change, message", [
    (dict(y="flat-short"), r"y must have shape \(24, 20\) \(one label per token\)"),
    (dict(groups=np.arange(5)), r"groups has shape \(5,\) for token scores of shape "
                                r"\(24, 20, 6\); pass one group per sequence"),
    (dict(sample_weight=np.ones(24)), r"sample_weight has shape \(24,\) for token scores"),
    (dict(calibration_test="consistency"), "the tokens of one sequence are not"),
    (dict(y="all-padding"), "Every row of y is labelled ignore_index=-100"),
])
def test_token_inputs_of_the_wrong_shape_are_refused(change, message):
    logits, y = padded_tokens()
    options = {"ignore_index": -100, **change}
    if options.get("y") == "flat-short":
        y = y.reshape(-1)[:-1]
    elif options.get("y") == "all-padding":
        y = np.full_like(y, -100)
    options.pop("y", None)
    with pytest.raises(ValueError, match=message):
        compare_calibrators(logits, y, calibrators=METHODS, cv=3, **options)


def test_skcal_compare_reads_token_files_with_their_padding(tmp_path, capsys):
    from skcal.cli._main import main

    logits, y = padded_tokens(seed=5)
    np.save(tmp_path / "tokens.npy", logits.astype(np.float32))
    np.save(tmp_path / "labels.npy", y)
    out_json = tmp_path / "out.json"
    status = main(["compare", str(tmp_path / "tokens.npy"), str(tmp_path / "labels.npy"),
                   "--methods", "temperature", "vector", "--cv", "3", "--ignore-index",
                   "-100", "--json", str(out_json)])
    assert status == 0
    assert "cluster-robust over 24 groups" in capsys.readouterr().out
    direct = compare_calibrators(logits.astype(np.float32), y, calibrators=METHODS, cv=3,
                                 ignore_index=-100)
    methods = json.loads(out_json.read_text())["methods"]
    written = {method["method"]: method["mean_test_nll"] for method in methods}
    for name, value in zip(direct.cv_results_["method"], direct.cv_results_["mean_test_nll"]):
        assert written[name] == pytest.approx(value, rel=1e-12)
