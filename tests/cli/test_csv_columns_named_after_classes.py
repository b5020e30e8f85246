"""Score tables whose columns are named after the classes in an order other than
the labels' sorted one (``dog,cat,bird``): every command reads each column as the
class it names. Before, the labels were matched to the columns in sorted order,
so every class was read as another, silently: the monitor judged a calibrated
model's NLL at about 2 nats instead of 0.6, and the comparison ranked a
permutation-learning matrix scaling first."""

import json

import numpy as np
import pytest

from skcal.cli import main

pd = pytest.importorskip("pandas", reason="the monitor's and these tables are read by pandas")

NAMES = np.array(["dog", "cat", "bird"])  # column order; sorted: bird, cat, dog
SORTED = np.argsort(NAMES)


def _log(n, seed):
    """Calibrated probabilities (columns in NAMES order) and their text labels."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = NAMES[(proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)]
    return proba, y


def _write(path, proba, y=None, *, prefix="", order=slice(None)):
    frame = pd.DataFrame(proba[:, order], columns=[prefix + name for name in NAMES[order]])
    if y is not None:
        frame["label"] = y
    frame.to_csv(path, index=False)
    return str(path)


def test_compare_and_fit_read_csv_columns_as_the_classes_they_name(tmp_path, capsys):
    proba, y = _log(3000, 0)
    pd.DataFrame({"label": y}).to_csv(tmp_path / "y.csv", index=False)
    named = _write(tmp_path / "named.csv", proba)
    in_sorted_order = _write(tmp_path / "sorted.csv", proba, order=SORTED)
    for scores, out in ((named, "named.json"), (in_sorted_order, "sorted.json")):
        assert main(["compare", scores, str(tmp_path / "y.csv"), "--methods", "temperature",
                     "--json", str(tmp_path / out)]) == 0
    results = [json.loads((tmp_path / out).read_text()) for out in ("named.json", "sorted.json")]
    nll = [{row["method"]: row["mean_test_nll"] for row in r["methods"]} for r in results]
    # the same folds and fits, the columns in another order: rounding only
    assert nll[0] == pytest.approx(nll[1], rel=1e-9)
    assert nll[0]["uncalibrated"] < 1.0  # calibrated scores; misread classes give about 2

    assert main(["fit", "temperature", named, str(tmp_path / "y.csv"),
                 "--calibrator", str(tmp_path / "calibrator.json")]) == 0
    out = capsys.readouterr().out
    before = float(out.split("NLL before:")[1].split()[0])
    assert before == pytest.approx(nll[0]["uncalibrated"], rel=0.05)  # all rows vs folds
    saved = json.loads((tmp_path / "calibrator.json").read_text())
    assert saved["classes"]["array"] == sorted(NAMES)

    # the written probabilities keep the file's column order, as it says
    assert main(["fit", "temperature", named, str(tmp_path / "y.csv"),
                 "--write-proba", str(tmp_path / "proba.npy")]) == 0
    assert "a column per column of SCORES (classes dog, cat, bird)" in capsys.readouterr().out
    written = np.load(tmp_path / "proba.npy")
    # calibrated scores of a calibrated model: near the file's own, column by column
    assert np.abs(written - proba).max() < 0.05
    assert np.abs(written - proba[:, SORTED]).max() > 0.5


def test_monitor_reads_score_columns_named_after_the_classes(tmp_path, capsys):
    reference, reference_y = _log(3000, 1)
    day, day_y = _log(2000, 2)
    tables = {}
    for name, order in (("named", slice(None)), ("sorted", SORTED)):
        files = [_write(tmp_path / f"{name}_{part}.csv", proba, y, prefix="proba_",
                        order=order)
                 for part, proba, y in (("ref", reference, reference_y),
                                        ("day", day, day_y))]
        assert main(["monitor", *files, "--chunk-size", "1000",
                     "--json", str(tmp_path / f"{name}.json")]) == 0
        tables[name] = json.loads((tmp_path / f"{name}.json").read_text())["chunks"]
    capsys.readouterr()
    nll = [[chunk["nll"] for chunk in tables[name]] for name in ("named", "sorted")]
    # the same rows, each column found by the class it names: rounding only
    np.testing.assert_allclose(nll[0], nll[1], rtol=1e-12)
    assert max(nll[0]) < 1.0  # calibrated; misread classes give about 2


def test_monitor_reads_a_later_file_or_the_reference_by_the_monitors_column_names(
        tmp_path, capsys):
    """A table written with its columns reordered (a schema change upstream) is
    read by name in the monitor's order; so is a reference beside a calibrator
    fitted on the columns in another order. Before, both were refused."""
    (reference, reference_y), (day, day_y) = _log(3000, 4), _log(2000, 5)
    files = {(part, name): _write(tmp_path / f"{name}_{part}.csv", proba, y,
                                  prefix="proba_", order=order)
             for part, proba, y in (("ref", reference, reference_y), ("day", day, day_y))
             for name, order in (("named", slice(None)), ("sorted", SORTED))}
    tables = {}
    for run, (ref, day_file) in {"as_named": ("named", "named"),
                                 "day_reordered": ("named", "sorted")}.items():
        assert main(["monitor", files["ref", ref], files["day", day_file],
                     "--chunk-size", "1000", "--state", str(tmp_path / f"{run}.json"),
                     "--json", str(tmp_path / f"{run}_out.json")]) == 0
        tables[run] = json.loads((tmp_path / f"{run}_out.json").read_text())["chunks"]
    nll = [[chunk["nll"] for chunk in tables[run]] for run in tables]
    # the same rows, each column found by its name: equal to rounding
    np.testing.assert_allclose(nll[0], nll[1], rtol=1e-12)

    calibrator = str(tmp_path / "calibrator.json")
    pd.DataFrame({"label": reference_y}).to_csv(tmp_path / "fit_y.csv", index=False)
    assert main(["fit", "temperature", _write(tmp_path / "fit.csv", reference,
                                              prefix="proba_"),
                 str(tmp_path / "fit_y.csv"), "--calibrator", calibrator]) == 0
    # fitted on dog, cat, bird: the reference in sorted order read in that order
    for run, ref in (("calibrated_named", "named"), ("calibrated_sorted", "sorted")):
        assert main(["monitor", files["ref", ref], files["day", "named"],
                     "--chunk-size", "1000", "--calibrator", calibrator,
                     "--json", str(tmp_path / f"{run}.json")]) == 0
        tables[run] = json.loads((tmp_path / f"{run}.json").read_text())["chunks"]
    capsys.readouterr()
    np.testing.assert_allclose([chunk["nll"] for chunk in tables["calibrated_named"]],
                               [chunk["nll"] for chunk in tables["calibrated_sorted"]],
                               rtol=1e-12)


def test_compare_models_puts_named_columns_in_one_order(tmp_path, capsys):
    proba, y = _log(2000, 3)
    pd.DataFrame({"label": y}).to_csv(tmp_path / "y.csv", index=False)
    named = _write(tmp_path / "named.csv", proba)
    in_sorted_order = _write(tmp_path / "sorted.csv", proba, order=SORTED)
    assert main(["compare-models", f"a={named}", f"b={in_sorted_order}",
                 str(tmp_path / "y.csv"), "--json", str(tmp_path / "models.json")]) == 0
    results = json.loads((tmp_path / "models.json").read_text())["results"]
    # the same probabilities of each row's class: equal, whatever the columns' order
    assert results["a"]["nll"] == pytest.approx(results["b"]["nll"], rel=1e-12)
    assert results["a"]["nll"] < 1.0
    pd.DataFrame(proba[:, :2], columns=["dog", "cat"]).assign(fish=proba[:, 2]).to_csv(
        tmp_path / "fish.csv", index=False)
    capsys.readouterr()
    assert main(["compare-models", f"a={named}", f"c={tmp_path / 'fish.csv'}",
                 str(tmp_path / "y.csv")]) == 2
    assert "the label 'bird' names none of them" in capsys.readouterr().err


def test_monitor_names_its_columns_when_a_batch_has_more(tmp_path, capsys):
    reference, reference_y = _log(3000, 4)
    day, day_y = _log(1000, 5)
    files = [_write(tmp_path / "ref.csv", reference, reference_y, prefix="proba_")]
    frame = pd.read_csv(_write(tmp_path / "day.csv", day, day_y, prefix="proba_"))
    frame.insert(3, "proba_fish", 0.0)  # a model that has learnt a class more
    frame.to_csv(tmp_path / "day.csv", index=False)
    assert main(["monitor", *files, str(tmp_path / "day.csv")]) == 2
    # the message told to 'name each column once, in order', and not the monitor's
    assert ("and the monitor 3 (['proba_dog', 'proba_cat', 'proba_bird']), one per class of "
            "its reference" in capsys.readouterr().err)


def test_compare_models_reads_an_unnamed_model_as_it_would_be_read_alone(tmp_path, capsys):
    proba, y = _log(2000, 6)
    pd.DataFrame({"label": y}).to_csv(tmp_path / "y.csv", index=False)
    named = _write(tmp_path / "named.csv", proba)  # columns dog, cat, bird
    np.save(tmp_path / "sorted.npy", proba[:, SORTED])  # as predict_proba writes them
    assert main(["compare-models", f"a={named}", f"b={tmp_path / 'sorted.npy'}",
                 str(tmp_path / "y.csv"), "--json", str(tmp_path / "models.json")]) == 0
    results = json.loads((tmp_path / "models.json").read_text())["results"]
    # the same probabilities of each row's class; read in the named model's order,
    # the unnamed one scored about 2 nats
    assert results["b"]["nll"] == pytest.approx(results["a"]["nll"], rel=1e-12)
    said = capsys.readouterr().out.split("\n")[0]
    assert "'b' (" in said and "read in the classes' sorted order (bird, cat, dog)" in said
    assert main(["compare-models", f"b={tmp_path / 'sorted.npy'}", f"a={named}",
                 str(tmp_path / "y.csv"), "--json", str(tmp_path / "alone.json")]) == 0
    alone = json.loads((tmp_path / "alone.json").read_text())["results"]
    assert alone["b"]["nll"] == results["b"]["nll"]  # the same reading, whatever comes first
