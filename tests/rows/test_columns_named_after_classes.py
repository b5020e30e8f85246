"""Score columns named after the classes, in an order other than the labels'
sorted one (``proba_dog, proba_cat, proba_bird``), are read as the classes
they name: by the calibrators, compare_calibrators and the monitor. Before,
the labels were matched to the columns in sorted order, silently reading
every class as another."""

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score

from skcal import CalibrationMonitor, TemperatureScaling, compare_calibrators, compare_models
from skcal.rows._column_classes import column_classes

pd = pytest.importorskip("pandas", reason="the named columns are a DataFrame's")

NAMES = np.array(["dog", "cat", "bird"])  # column order; sorted: bird, cat, dog
SORTED = np.argsort(NAMES)  # the columns in the sorted order of their classes


def named_log(n, seed, temperature=1.0):
    """A model's probabilities as a table, columns in NAMES order, and its labels
    drawn from softmax(logits / temperature) (1: calibrated)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, 3))
    true = np.exp(logits / temperature)
    true /= true.sum(axis=1, keepdims=True)
    y = NAMES[(true.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(proba, columns=[f"proba_{name}" for name in NAMES])
    return frame, y


def test_column_classes_reads_names_stems_and_leaves_positions():
    y = np.array(["cat", "bird", "dog"])
    assert column_classes(["dog", "cat", "bird"], y).tolist() == ["dog", "cat", "bird"]
    assert column_classes(["p_dog_v2", "p_cat_v2", "p_bird_v2"], y).tolist() == [
        "dog", "cat", "bird"]
    assert column_classes(["2", "0", "1"], np.array([0, 1, 2])).tolist() == [2, 0, 1]
    # a class named by a column but absent from the labels keeps its name
    assert column_classes(["dog", "cat", "bird", "fish"], y).tolist() == [
        "dog", "cat", "bird", "fish"]
    # pandas' names of an array's columns are positions, not classes
    assert column_classes(["0", "1", "2"], np.array([1, 2, 3])) is None
    assert column_classes(["V1", "V2", "V3"], np.array([0, 1, 2])) is None  # R's names
    assert column_classes(["c0", "c1", "c2"], np.array(["a", "b", "c"])) is None
    assert column_classes(None, y) is None


@pytest.mark.parametrize("names, y, message", [
    (["dog", "cat"], np.array(["dog", "fish"]), "the label 'fish' names none of them"),
    (["p_dog", "q_dog", "cat"], np.array(["dog", "cat"]), None),
    (["dog", "dog", "cat"], np.array(["dog", "cat"]), "name a class twice"),
    (["1", "2", "x"], np.array([1, 2]), "'x' is not a label of their type"),
])
def test_column_classes_refuses_names_that_match_some_labels(names, y, message):
    if message is None:  # full names match 'cat' only: 'dog' names no column
        with pytest.raises(ValueError, match="the label 'dog' names none of them"):
            column_classes(names, y)
        return
    with pytest.raises(ValueError, match=message):
        column_classes(names, y)


def test_calibrator_reads_the_classes_of_named_columns():
    frame, y = named_log(4000, 0, temperature=2.0)
    calibrator = TemperatureScaling().fit(frame, y)
    # classes_ and the probabilities' columns in the sorted order of the classes,
    # as scikit-learn's classifiers' (its scorers take them so)
    assert calibrator.classes_.tolist() == sorted(NAMES)
    # the same scores with the columns in the labels' sorted order, as arrays
    reference = TemperatureScaling().fit(frame.to_numpy()[:, SORTED], y)
    # one temperature from the same sums in another column order: rounding only
    np.testing.assert_allclose(calibrator.temperature_, reference.temperature_, rtol=1e-9)
    assert calibrator.temperature_ > 1.5  # the model was twice too confident
    np.testing.assert_allclose(calibrator.predict_proba(frame),
                               reference.predict_proba(frame.to_numpy()[:, SORTED]),
                               rtol=1e-9, atol=1e-15)
    assert (calibrator.predict(frame) == reference.predict(frame.to_numpy()[:, SORTED])).all()
    # scikit-learn's own log-loss scorer reads the columns as classes_ says
    on_frame = cross_val_score(TemperatureScaling(), frame, y, scoring="neg_log_loss")
    on_sorted = cross_val_score(TemperatureScaling(), frame.to_numpy()[:, SORTED], y,
                                scoring="neg_log_loss")
    np.testing.assert_allclose(on_frame, on_sorted, rtol=1e-9)


def test_compare_calibrators_reads_the_classes_of_named_columns():
    frame, y = named_log(3000, 1, temperature=2.0)
    comparison = compare_calibrators(frame, y, calibrators=["temperature"])
    reference = compare_calibrators(frame.to_numpy()[:, SORTED], y,
                                    calibrators=["temperature"])
    # the same folds and fits in another column order: rounding only
    np.testing.assert_allclose(comparison.cv_results_["mean_test_nll"],
                               reference.cv_results_["mean_test_nll"], rtol=1e-9)
    assert comparison.best_calibrator_.classes_.tolist() == sorted(NAMES)


def test_monitor_reads_the_classes_of_named_columns():
    reference_frame, reference_y = named_log(3000, 2)
    batch, batch_y = named_log(2000, 3)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference_frame, reference_y)
    monitor.update(batch, batch_y)
    sorted_monitor = CalibrationMonitor(chunk_size=1000).fit(
        reference_frame.to_numpy()[:, SORTED], reference_y)
    sorted_monitor.update(batch.to_numpy()[:, SORTED], batch_y)
    assert monitor.classes_.tolist() == NAMES.tolist()
    # the same rows, each class's column found by name: rounding only
    np.testing.assert_allclose(monitor.reference_["nll"], sorted_monitor.reference_["nll"],
                               rtol=1e-12)
    nll = monitor.to_frame()["nll"].to_numpy()
    np.testing.assert_allclose(nll, sorted_monitor.to_frame()["nll"].to_numpy(), rtol=1e-12)
    assert max(nll) < 1.0  # calibrated probabilities; misread columns give about 2


def test_monitor_recalibrates_in_the_order_of_its_columns():
    reference_frame, reference_y = named_log(3000, 4)
    drifted, drifted_y = named_log(2000, 5, temperature=2.0)
    monitor = CalibrationMonitor(chunk_size=1000).fit(reference_frame, reference_y)
    calibrator = monitor.recalibrate("temperature", drifted.to_numpy(), drifted_y)
    # read by the monitor's column names: classes_ sorted, as scikit-learn's
    assert calibrator.classes_.tolist() == sorted(NAMES)
    assert calibrator.feature_names_in_.tolist() == list(reference_frame.columns)
    expected = TemperatureScaling().fit(drifted.to_numpy()[:, SORTED], drifted_y)
    # one temperature from the same sums in another column order: rounding only
    np.testing.assert_allclose(calibrator.temperature_, expected.temperature_, rtol=1e-9)
    # a calibrator whose columns are in another order is refused
    # fitted on the columns in the labels' sorted order: the classes bird, cat, dog
    wrong = TemperatureScaling().fit(drifted.to_numpy()[:, SORTED], drifted_y)
    with pytest.raises(ValueError, match="in this order"):
        monitor.recalibrate(wrong)
    # fitted on the monitor's named columns: taken, its sorted outputs put in the
    # monitor's order
    batch, batch_y = named_log(1000, 8, temperature=2.0)
    monitor.update(batch, batch_y)
    internal = monitor.to_frame()["nll"].to_numpy()
    monitor.recalibrate(TemperatureScaling().fit(drifted, drifted_y))
    monitor.update(batch, batch_y)
    np.testing.assert_allclose(monitor.to_frame()["nll"].to_numpy()[-1], internal[-1],
                               rtol=1e-9)


def test_named_columns_let_a_class_be_absent_and_the_message_says_so():
    frame, y = named_log(3000, 6)
    present = y != "bird"  # a calibration set without a class
    arrays = frame.to_numpy()[present]
    # the message named labels=, which fit does not take
    with pytest.raises(ValueError, match="Name the score columns after the classes"):
        TemperatureScaling().fit(arrays, y[present])
    named = TemperatureScaling().fit(frame[present], y[present])
    assert named.classes_.tolist() == sorted(NAMES)
    # the labels as the column indices they name: the same fit, to rounding
    index_of = {name: j for j, name in enumerate(NAMES)}
    indexed = TemperatureScaling().fit(arrays, [index_of[label] for label in y[present]])
    np.testing.assert_allclose(named.temperature_, indexed.temperature_, rtol=1e-12)


def test_compare_models_reads_the_classes_of_named_columns():
    frame, y = named_log(3000, 7)
    sharper = frame ** 2 / (frame ** 2).to_numpy().sum(axis=1, keepdims=True)
    comparison = compare_models({"calibrated": frame, "sharper": sharper}, y)
    reference = compare_models({"calibrated": frame.to_numpy()[:, SORTED],
                                "sharper": sharper.to_numpy()[:, SORTED]}, y)
    for name in ("calibrated", "sharper"):
        # the same probability of each row's class, found by name: equal to rounding
        assert comparison.results_[name]["nll"] == pytest.approx(
            reference.results_[name]["nll"], rel=1e-12)
    assert comparison.best_ == "calibrated"


def test_compare_models_reads_each_model_as_it_would_be_read_alone():
    frame, y = named_log(3000, 8)
    in_sorted_order = frame.to_numpy()[:, SORTED]  # as predict_proba writes them
    comparison = compare_models({"named": frame, "array": in_sorted_order}, y)
    # the same probability of each row's class: equal; read in the frame's order,
    # the array scored about 2 nats
    assert comparison.results_["array"]["nll"] == pytest.approx(
        comparison.results_["named"]["nll"], rel=1e-12)
    assert comparison.results_["array"]["nll"] < 1.0
    # frames named in different orders: each by its names
    reordered = frame[["proba_bird", "proba_dog", "proba_cat"]]
    both = compare_models({"named": frame, "reordered": reordered}, y)
    assert both.results_["reordered"]["nll"] == pytest.approx(
        both.results_["named"]["nll"], rel=1e-12)
