"""Calibrators saved as versioned JSON and read back without pickle."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression

from skcal import TemperatureScaling, VectorScaling, load_calibrator, save_calibrator
from skcal.calibrators._registry import CALIBRATORS


def _scores(binary, probabilities, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(800, 2 if binary else 4))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    if binary:
        logits = logits[:, 1] - logits[:, 0]
        return (1 / (1 + np.exp(-logits)) if probabilities else logits), y
    if probabilities:
        logits = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return logits, y


@pytest.mark.parametrize("probabilities", [False, True], ids=["logits", "probabilities"])
@pytest.mark.parametrize("binary", [False, True], ids=["multiclass", "binary"])
@pytest.mark.parametrize("cls", [entry.cls for entry in CALIBRATORS],
                         ids=[entry.name for entry in CALIBRATORS])
def test_every_calibrator_predicts_the_same_after_a_json_round_trip(
        cls, binary, probabilities, tmp_path):
    X, y = _scores(binary, probabilities)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]  # sorted as the columns
    fitted = cls().fit(X, labels)
    save_calibrator(fitted, tmp_path / "calibrator.json")
    loaded = load_calibrator(tmp_path / "calibrator.json")
    assert type(loaded) is cls
    assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X), rtol=0, atol=1e-12)
    assert list(loaded.predict(X)) == list(fitted.predict(X))
    assert loaded.get_params() == fitted.get_params()


def _saved(tmp_path, **changes):
    X, y = _scores(False, False)
    path = tmp_path / "calibrator.json"
    save_calibrator(TemperatureScaling().fit(X, y), path)
    content = json.loads(path.read_text())
    content.update(changes)
    path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize("changes, message", [
    ({"format_version": 99}, "format version 99"),
    ({"class": "Pickle"}, "not a skcal calibrator"),
    ({"format": "other"}, "not a saved calibrator"),
    # each of these was a KeyError, or was loaded and failed when predicting
    ({"map": None}, "Not a valid saved TemperatureScaling"),
    ({"classes": {"array": [0, 1], "dtype": "<i8", "shape": [2]}},
     "its map gives 4 probabilities a row for 2 classes"),
    ({"params": {"tol": 1e-8, "surprise": 1}}, "unexpected keyword argument 'surprise'"),
])
def test_a_file_of_another_version_or_kind_is_a_clear_error(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        load_calibrator(_saved(tmp_path, **changes))


def test_a_file_without_a_part_names_it(tmp_path):
    path = _saved(tmp_path)
    content = json.loads(path.read_text())
    del content["n_features_in"]
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="Not a complete saved TemperatureScaling .*: it has no "
                                         "'n_features_in'"):
        load_calibrator(path)


def test_a_file_of_another_class_than_expected_is_refused(tmp_path):
    with pytest.raises(ValueError, match="holds a TemperatureScaling, not a VectorScaling"):
        load_calibrator(_saved(tmp_path), expected_class="VectorScaling")


def test_a_file_that_is_not_json_is_a_clear_error(tmp_path):
    path = tmp_path / "calibrator.json"
    path.write_text('{"format": "skcal-calib')
    with pytest.raises(ValueError, match="not JSON"):
        load_calibrator(path)


def test_a_binary_file_given_for_a_calibrator_is_a_clear_error(tmp_path):
    path = tmp_path / "scores.npy"
    np.save(path, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="scores.npy is not a saved calibrator: a binary file"):
        load_calibrator(path)


def test_a_calibrator_wrapping_a_classifier_says_the_classifier_is_not_saved(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 3)), rng.integers(2, size=200)
    wrapped = TemperatureScaling(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="LogisticRegression.*does not save"):
        save_calibrator(wrapped, tmp_path / "calibrator.json")
    assert not (tmp_path / "calibrator.json").exists()


def test_a_calibrator_fitted_on_a_frame_keeps_its_column_names(tmp_path):
    pd = pytest.importorskip("pandas", reason="the DataFrame case needs pandas")
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["cat", "dog", "eel"])
    path = tmp_path / "vs.json"
    save_calibrator(VectorScaling().fit(frame, rng.integers(3, size=300)), path)
    loaded = load_calibrator(path)
    assert list(loaded.feature_names_in_) == ["cat", "dog", "eel"]
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        loaded.predict_proba(frame[["eel", "dog", "cat"]])


def _edited(tmp_path, cls, edit):
    """A calibrator of ``cls`` fitted, saved, and its file edited by ``edit``."""
    path = tmp_path / "edited.json"
    save_calibrator(cls().fit(*_scores(False, False)), path)
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))
    return path


def _set_first(name, value):
    """An edit that sets the first value of map attribute ``name``."""
    def edit(content):
        saved = content["map"][name]
        (saved["arrays"][0] if "arrays" in saved else saved)["array"][0] = value
    return edit


@pytest.mark.parametrize("cls, edit, message", [
    # each was loaded without a word and mapped scores to other probabilities
    ("TemperatureScaling", lambda c: c["map"].update(temperature_=-2.0),
     "its temperature_ is -2.0; a fit makes it above 0"),
    ("TemperatureScaling", lambda c: c["params"].update(max_iter=-5), "'max_iter' parameter"),
    ("VectorScaling", lambda c: c["map"]["coef_"]["array"].__setitem__(0, float("nan")),
     "its coef_ holds NaN"),
    ("IsotonicCalibration", _set_first("y_thresholds_", 1.5),
     "its y_thresholds_ holds values outside \\[0, 1\\]"),
    ("IsotonicCalibration", _set_first("X_thresholds_", 99.0),
     "its X_thresholds_ are not in ascending order"),
    ("HistogramBinning", lambda c: c["map"]["bin_proba_"]["array"][0].__setitem__(0, -0.2),
     "its bin_proba_ holds values outside \\[0, 1\\]"),
])
def test_a_file_with_values_no_fit_makes_is_refused_naming_them(tmp_path, cls, edit, message):
    from skcal.calibrators._registry import calibrator_class

    with pytest.raises(ValueError, match=message):
        load_calibrator(_edited(tmp_path, calibrator_class(cls), edit))
