"""skcal fit, compare and compare-models read the columns of a Parquet table
(FILE.parquet:COLUMN, a pattern, a list, or one column of arrays), as skcal
monitor reads its tables: score columns named after the classes in any order."""

import json

import numpy as np
import pytest

from conftest import sample_labels, softmax
from skcal.cli import main

pd = pytest.importorskip("pandas", reason="tables need pandas")
pytest.importorskip("pyarrow", reason="Parquet files need pyarrow (in the tests extra)")
CLASSES = np.array(["bird", "cat", "dog"])


@pytest.fixture
def tables(tmp_path):
    """A prediction log with its score columns in the order dog, bird, cat, a
    column of score arrays, labels as text and a document id; beside it, the
    same scores and labels as arrays, columns in the classes' sorted order."""
    rng = np.random.default_rng(0)
    logits = 3.0 * rng.normal(size=(1200, 3))
    y = sample_labels(softmax(logits / 2), rng)
    frame = pd.DataFrame(logits[:, [2, 0, 1]], columns=["proba_dog", "proba_bird", "proba_cat"])
    frame["label"] = CLASSES[y]
    frame["document"] = np.arange(1200) // 10
    frame["logits"] = list(logits)
    frame.to_parquet(tmp_path / "log.parquet")
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "document.npy", np.arange(1200) // 10)
    return tmp_path


def fitted(tmp_path, scores, labels, capsys):
    out = tmp_path / f"fit{len(list(tmp_path.glob('fit*.json')))}.json"
    assert main(["fit", "temperature", scores, labels, "--json", str(out), "--quiet"]) == 0
    capsys.readouterr()
    return json.loads(out.read_text())


@pytest.mark.parametrize("scores", ["log.parquet:proba_*", "log.parquet:proba_cat,proba_dog,"
                                    "proba_bird", "log.parquet:logits"])
def test_fit_reads_score_columns_by_name_and_arrays(tables, scores, capsys):
    expected = fitted(tables, str(tables / "logits.npy"), str(tables / "y.npy"), capsys)
    got = fitted(tables, str(tables / scores), str(tables / "log.parquet:label"), capsys)
    # the same rows and labels: the same fit to rounding
    assert got["parameters"]["temperature_"] == pytest.approx(
        expected["parameters"]["temperature_"], rel=1e-9)
    assert got["nll_after"] == pytest.approx(expected["nll_after"], rel=1e-12)
    assert got["classes"] == list(CLASSES)


def test_compare_takes_groups_from_a_column(tables, capsys):
    status = main(["compare", str(tables / "log.parquet:proba_*"),
                   str(tables / "log.parquet:label"), "--groups",
                   str(tables / "log.parquet:document"), "--methods", "temperature",
                   "--cv", "3", "--json", str(tables / "parquet.json")])
    assert status == 0
    status = main(["compare", str(tables / "logits.npy"), str(tables / "y.npy"), "--groups",
                   str(tables / "document.npy"), "--methods", "temperature", "--cv", "3",
                   "--json", str(tables / "arrays.json")])
    assert status == 0
    assert "cluster-robust over 120 groups" in capsys.readouterr().out
    parquet, arrays = (json.loads((tables / f"{name}.json").read_text())["methods"]
                       for name in ("parquet", "arrays"))
    for ours, theirs in zip(parquet, arrays):
        assert ours["method"] == theirs["method"]
        assert ours["mean_test_nll"] == pytest.approx(theirs["mean_test_nll"], rel=1e-9)


@pytest.mark.parametrize("scores, message", [
    ("log.parquet", r"log.parquet has columns \['proba_dog', .*name those to read as "
                    r".*log.parquet:COLUMN"),
    ("log.parquet:probas_*", "No column of the frame matches scores='probas_\\*'"),
])
def test_a_table_without_its_columns_named_is_refused(tables, scores, message, capsys):
    status = main(["fit", "temperature", str(tables / scores), str(tables / "log.parquet:label")])
    assert status != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
