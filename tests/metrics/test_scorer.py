"""Scorers end to end: GridSearchCV, cross-validation, folds lacking a class, registry."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer as sklearn_get_scorer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

from skcal import TemperatureScaling
from skcal.metrics import (
    brier_score,
    expected_calibration_error,
    get_scorer,
    get_scorer_names,
    nll,
    register_scorers,
)


@pytest.fixture
def data():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, np.array(["ant", "bee", "cat"])[y]


def manual_fold_scores(metric, X, y, cv, **kwargs):
    scores = []
    for train, test in cv.split(X, y):
        model = LogisticRegression().fit(X[train], y[train])
        proba = model.predict_proba(X[test])
        scores.append(-metric(y[test], proba, labels=model.classes_, **kwargs))
    return np.array(scores)


@pytest.mark.parametrize(
    "name, metric, kwargs",
    [
        ("neg_nll", nll, {}),
        ("neg_nll_bits", nll, {"base": 2}),
        ("neg_brier", brier_score, {}),
        ("neg_ece", expected_calibration_error, {}),
        ("neg_classwise_ece", expected_calibration_error, {"kind": "classwise"}),
    ],
)
def test_scorer_equals_the_metric_on_each_fold(name, metric, kwargs, data):
    X, y = data
    cv = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv, scoring=get_scorer(name))
    np.testing.assert_allclose(scores, manual_fold_scores(metric, X, y, cv, **kwargs))
    assert np.all(scores <= 0)


def test_grid_search_by_nll_picks_the_best_mean_score(data):
    X, y = data
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(
        LogisticRegression(), {"C": [0.001, 1.0]}, scoring=get_scorer("neg_nll"), cv=cv
    ).fit(X, y)
    by_c = {c: manual_fold_scores(nll, X, y, cv).mean() for c in [1.0]}
    assert search.best_params_ == {"C": 1.0}  # C=0.001 is close to uniform predictions
    assert search.best_score_ == pytest.approx(by_c[1.0])


def test_a_fold_lacking_a_class_is_scored(data):
    X, y = data
    y = y.copy()
    # a rare class, in the second and third unshuffled folds only: the first test
    # fold lacks it while its training part (and every other training part) has it
    y[[100, 101, 200, 201]] = "dog"
    cv = KFold(3)
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv, scoring=get_scorer("neg_nll"))
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scores, manual_fold_scores(nll, X, y, cv))


def test_nll_calibration_scorer_prefers_a_calibrated_model():
    # 50 features, 5 informative, 300 training rows: an unpenalised fit overfits
    X, y = make_classification(
        n_samples=2300, n_features=50, n_informative=5, n_classes=3, random_state=1
    )
    scorer = get_scorer("neg_nll_calibration")

    def overfit():
        return LogisticRegression(C=1e4, max_iter=10000)

    raw = overfit().fit(X[:300], y[:300])
    calibrated = TemperatureScaling(overfit(), cv=3).fit(X[:300], y[:300])
    raw_part = -scorer(raw, X[300:], y[300:])
    calibrated_part = -scorer(calibrated, X[300:], y[300:])
    assert raw_part > 0.1  # overconfident: a temperature would fix much
    assert abs(calibrated_part) < raw_part / 3


def test_register_scorers_makes_names_work_as_strings(data):
    X, y = data
    registered = register_scorers()
    assert registered == register_scorers()  # idempotent
    assert sorted(registered) == get_scorer_names()
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, scoring="neg_ece", cv=3)
    search.fit(X, y)
    assert -1 <= search.best_score_ <= 0
    results = cross_validate(LogisticRegression(), X, y, cv=3, scoring=["neg_nll", "neg_brier"])
    assert np.all(results["test_neg_nll"] < 0)
    assert sklearn_get_scorer("neg_classwise_ece")._kwargs == {"kind": "classwise"}


def test_register_never_replaces_a_scikit_learn_name(monkeypatch):
    from sklearn.metrics import _scorer

    theirs = sklearn_get_scorer("neg_log_loss")
    monkeypatch.setitem(_scorer._SCORERS, "neg_nll", theirs)
    with pytest.warns(UserWarning, match="already defines a scorer named 'neg_nll'"):
        registered = register_scorers()
    assert "neg_nll" not in registered
    assert _scorer._SCORERS["neg_nll"] is theirs


def test_register_fails_clearly_without_the_registry(monkeypatch):
    from sklearn.metrics import _scorer

    monkeypatch.setattr(_scorer, "_SCORERS", None)
    with pytest.raises(RuntimeError, match="get_scorer\\('neg_nll'\\)"):
        register_scorers()


def test_get_scorer_falls_back_to_scikit_learn():
    assert get_scorer("accuracy")._score_func.__name__ == "accuracy_score"
    with pytest.raises(ValueError):
        get_scorer("no_such_scorer")


def test_register_scorers_works_with_an_npz_file_open(tmp_path):
    """An NpzFile raises on attribute access; registration must not touch live objects.

    Run in a fresh interpreter, so that registration really has to extend the
    constraints of modules imported before it."""
    np.savez(tmp_path / "data.npz", a=np.arange(3))
    code = f"""
import numpy as np
archive = np.load({str(tmp_path / "data.npz")!r})  # alive, as in a notebook
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from skcal.metrics import register_scorers
register_scorers()
X, y = load_iris(return_X_y=True)
search = GridSearchCV(LogisticRegression(max_iter=500), {{"C": [0.1, 10.0]}},
                      scoring="neg_nll", cv=3).fit(X, y)
ece = cross_val_score(LogisticRegression(max_iter=500), X, y, scoring="neg_ece", cv=3)
print(search.best_params_["C"], search.best_score_ < 0, (ece <= 0).all())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["10.0", "True", "True"]


def test_an_unknown_scorer_name_lists_skcals_names_and_where_to_find_scikit_learns():
    with pytest.raises(ValueError, match="'neg_log_los' is not a scorer name") as info:
        get_scorer("neg_log_los")
    for name in get_scorer_names():
        assert name in str(info.value)
    assert "sklearn.metrics.get_scorer_names()" in str(info.value)
