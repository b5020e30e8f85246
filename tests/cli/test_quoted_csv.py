"""CSV files whose fields are quoted, as R's ``write.csv`` and Python's
``csv.QUOTE_NONNUMERIC`` write them. Before, the quotes were part of the text:
a quoted empty name above a row index ('""') passed for a name, so the index
was read as a column of scores (a temperature of inf, 'NLL before' 2500 nats)."""

import csv

import numpy as np
import pytest

from skcal.cli import main

pd = pytest.importorskip("pandas", reason="the files are written by pandas")


def _files(tmp_path, index):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(2000, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array(["a", "b", "c"])[(proba.cumsum(axis=1) > rng.random((2000, 1))).argmax(1)]
    pd.DataFrame(proba, columns=["a", "b", "c"]).to_csv(
        tmp_path / "scores.csv", quoting=csv.QUOTE_NONNUMERIC, index=index,
        index_label="" if index else None)
    pd.DataFrame({"label": y}).to_csv(tmp_path / "labels.csv", quoting=csv.QUOTE_NONNUMERIC,
                                      index=False)
    return str(tmp_path / "scores.csv"), str(tmp_path / "labels.csv"), proba, y


def test_quoted_fields_are_read_without_their_quotes(tmp_path, capsys):
    scores, labels, proba, y = _files(tmp_path, index=False)
    assert main(["fit", "temperature", scores, labels,
                 "--calibrator", str(tmp_path / "calibrator.json")]) == 0
    before = float(capsys.readouterr().out.split("NLL before:")[1].split()[0])
    expected = -np.mean(np.log(proba[np.arange(len(y)), np.searchsorted(["a", "b", "c"], y)]))
    # the file's probabilities, written to 17 digits: read back to rounding
    assert before == pytest.approx(expected, rel=1e-6)
    saved = (tmp_path / "calibrator.json").read_text()
    assert '"a"' in saved and '\\"a\\"' not in saved  # the classes, without quotes


def test_a_quoted_row_index_is_refused_with_the_fix(tmp_path, capsys):
    scores, labels, _, _ = _files(tmp_path, index=True)
    assert main(["fit", "temperature", scores, labels]) == 2
    assert "write.csv(row.names = FALSE)" in capsys.readouterr().err


def test_a_text_column_among_the_scores_is_named(tmp_path, capsys):
    scores, labels, proba, y = _files(tmp_path, index=False)
    table = pd.DataFrame(proba, columns=["a", "b", "c"]).assign(label=y)
    table.to_csv(tmp_path / "log.csv", index=False)  # the labels left in the table
    assert main(["compare", str(tmp_path / "log.csv"), labels]) == 2
    # it said "could not convert string to float: np.str_('a')", of the header
    assert f"column 4 ('label') holds text ('{y[0]}' in row 2)" in capsys.readouterr().err
