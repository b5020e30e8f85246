"""The shared base wrapping a classifier: cross-fitting, ensembles, frozen models."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import softmax
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from skcal import IsotonicCalibration, PlattScaling, TemperatureScaling, VectorScaling


@pytest.fixture
def data():
    return make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=3, random_state=0
    )


def test_cross_fitting_fits_the_map_on_out_of_fold_scores(data):
    X, y = data
    folds = StratifiedKFold(5)
    wrapped = TemperatureScaling(LogisticRegression(), cv=folds).fit(X, y)
    out_of_fold = cross_val_predict(LogisticRegression(), X, y, cv=folds, method="decision_function")
    # rows come in fold order; the map is the same whatever the order
    direct = TemperatureScaling().fit(out_of_fold, y)
    assert_allclose(wrapped.temperature_, direct.temperature_, rtol=1e-10)
    # the classifier is refitted on all the data
    full = LogisticRegression().fit(X, y)
    assert_allclose(wrapped.estimator_.coef_, full.coef_)
    assert_allclose(
        wrapped.predict_proba(X), direct.predict_proba(full.decision_function(X)), rtol=1e-10
    )
    assert wrapped.response_method_ == "decision_function"
    assert wrapped.n_features_in_ == 8


def test_ensemble_averages_the_probabilities_of_each_fold(data):
    X, y = data
    cal = TemperatureScaling(LogisticRegression(), cv=4, ensemble=True).fit(X, y)
    assert len(cal.estimators_) == 4
    assert cal.temperature_.shape == (4,)
    expected = np.mean(
        [
            softmax(est.decision_function(X) / t, axis=1)
            for est, t in zip(cal.estimators_, cal.temperature_)
        ],
        axis=0,
    )
    assert_allclose(cal.predict_proba(X), expected, rtol=1e-8)
    assert_allclose(np.exp(cal.predict_log_proba(X)), expected, rtol=1e-8)


def test_frozen_estimator_is_used_as_it_is(data):
    X, y = data
    X_fit, X_cal, y_fit, y_cal = X[:300], X[300:], y[:300], y[300:]
    model = LogisticRegression().fit(X_fit, y_fit)
    cal = VectorScaling(FrozenEstimator(model)).fit(X_cal, y_cal)
    assert cal.estimator_.estimator is model
    direct = VectorScaling().fit(model.decision_function(X_cal), y_cal)
    assert_allclose(cal.coef_, direct.coef_)
    with pytest.raises(ValueError, match="no effect with a FrozenEstimator"):
        VectorScaling(FrozenEstimator(model), cv=3).fit(X_cal, y_cal)


def test_cv_prefit_points_to_frozen_estimator(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    # was the generic list of cv's options, without the way to a fitted classifier
    with pytest.raises(InvalidParameterError, match=r"cv='prefit' is not an option.*"
                       r"FrozenEstimator.*VectorScaling\(FrozenEstimator\(clf\)\)"):
        VectorScaling(model, cv="prefit").fit(X, y)
    with pytest.raises(InvalidParameterError, match="must be an int in the range"):
        VectorScaling(model, cv="other").fit(X, y)  # any other text: the usual message


def test_binary_decision_function_is_one_logit():
    X, y = make_classification(n_samples=400, random_state=1)
    model = LogisticRegression().fit(X[:200], y[:200])
    cal = TemperatureScaling(FrozenEstimator(model)).fit(X[200:], y[200:])
    s = model.decision_function(X[200:])
    assert s.ndim == 1
    assert_allclose(cal.temperature_, TemperatureScaling().fit(s, y[200:]).temperature_)


def test_predict_log_proba_preferred_over_log_of_predict_proba(data):
    X, y = data
    cal = TemperatureScaling(GaussianNB(), cv=3).fit(X, y)
    assert cal.response_method_ == "predict_log_proba"
    forced = TemperatureScaling(GaussianNB(), cv=3, response_method="predict_proba").fit(X, y)
    assert forced.response_method_ == "predict_proba"
    assert np.isfinite(forced.temperature_)


def test_string_labels_with_a_classifier(data):
    X, y = data
    names = np.array(["low", "mid", "high"])
    cal = PlattScaling(LogisticRegression(), cv=3).fit(X, names[y])
    assert_array_equal(cal.classes_, np.sort(names))
    assert set(cal.predict(X)) <= set(names)


def test_sample_weight_reaches_the_classifier(data):
    X, y = data
    weights = np.random.default_rng(0).integers(1, 5, size=y.shape[0]).astype(float)
    cal = TemperatureScaling(LogisticRegression(), cv=3).fit(X, y, sample_weight=weights)
    assert_allclose(
        cal.estimator_.coef_, LogisticRegression().fit(X, y, sample_weight=weights).coef_
    )


def test_classifier_without_sample_weight_warns(data):
    X, y = data
    with pytest.warns(UserWarning, match="does not accept sample_weight"):
        TemperatureScaling(KNeighborsClassifier(), cv=3).fit(X, y, sample_weight=np.ones(600))


def test_more_folds_than_samples_of_a_class_fits_with_scikit_learns_warning(data):
    X, y = data
    y = y.copy()
    y[np.flatnonzero(y == 2)[3:]] = 1  # class 2 keeps 3 samples, fewer than 5 folds
    with pytest.warns(UserWarning, match="least populated class in y has only 3 members"):
        cal = TemperatureScaling(LogisticRegression()).fit(X, y)
    assert cal.predict_proba(X).shape == (600, 3)


def test_a_class_with_one_sample_is_refused_with_the_reason(data):
    X, y = data
    y = y.copy()
    y[np.flatnonzero(y == 2)[1:]] = 1  # class 2 keeps 1 sample
    with pytest.raises(ValueError, match=r"no sample of class\(es\) \[2\].*class\(es\) "
                                         r"\[2\] have a single sample"):
        with pytest.warns(UserWarning, match="least populated class"):
            TemperatureScaling(LogisticRegression(), cv=3).fit(X, y)


def test_a_user_split_whose_training_part_lacks_a_class_is_refused(data):
    X, y = data
    order = np.argsort(y, kind="stable")
    bad_split = [(order[:400], order[400:]), (order[200:], order[:200])]  # a class left out
    with pytest.raises(ValueError, match=r"training part of fold \d has no sample of class"):
        TemperatureScaling(LogisticRegression(), cv=bad_split).fit(X, y)


def test_missing_response_method_is_named(data):
    X, y = data
    with pytest.raises(ValueError, match="has no predict_proba"):
        TemperatureScaling(SVC(), response_method="predict_proba", cv=3).fit(X, y)


def test_parallel_folds_give_the_same_fit(data):
    X, y = data
    serial = VectorScaling(LogisticRegression(), cv=3).fit(X, y)
    parallel = VectorScaling(LogisticRegression(), cv=3, n_jobs=2).fit(X, y)
    assert_allclose(serial.coef_, parallel.coef_)


@pytest.mark.parametrize(
    "Calibrator", [TemperatureScaling, VectorScaling, PlattScaling, IsotonicCalibration]
)
def test_grid_search_over_the_wrapped_classifier(Calibrator, data):
    X, y = data
    pipe = Pipeline(
        [("scale", StandardScaler()), ("cal", Calibrator(LogisticRegression(), cv=3))]
    )
    search = GridSearchCV(pipe, {"cal__estimator__C": [0.01, 1.0]}, scoring="neg_log_loss", cv=3)
    search.fit(X, y)
    assert search.best_params_["cal__estimator__C"] in (0.01, 1.0)
    assert -1.1 < search.best_score_ < 0  # better than uniform over 3 classes (log 3)


def test_classifier_mode_refuses_score_type(data):
    with pytest.raises(ValueError, match="score_type has no effect with a classifier"):
        TemperatureScaling(LogisticRegression(), score_type="logits").fit(*data)


def test_a_frozen_classifier_keeps_its_classes_when_the_calibration_data_lacks_one():
    X, y = make_classification(900, n_classes=3, n_informative=5, random_state=0)
    model = LogisticRegression().fit(X[:300], y[:300])
    two = y[300:] < 2  # no row of class 2 to calibrate on
    X_cal, y_cal = X[300:][two], y[300:][two]
    # was "fitted without the classes [] (it knows [np.int64(0), ...])"
    cal = TemperatureScaling(FrozenEstimator(model)).fit(X_cal, y_cal)
    assert_array_equal(cal.classes_, model.classes_)
    # the map of its three columns, as fitted on the same scores given directly
    on_scores = TemperatureScaling().fit(model.decision_function(X_cal), y_cal)
    assert_allclose(cal.temperature_, on_scores.temperature_, rtol=1e-12)
    assert_allclose(cal.predict_proba(X[:5]),
                    softmax(model.decision_function(X[:5]) / cal.temperature_, axis=1),
                    rtol=1e-12)


def test_a_frozen_classifier_that_is_not_fitted_or_lacks_a_label_is_named():
    X, y = make_classification(600, n_classes=3, n_informative=5, random_state=0)
    with pytest.raises(ValueError, match=r"^The LogisticRegression in FrozenEstimator is not "
                                         r"fitted \(it has no classes_\)"):
        TemperatureScaling(FrozenEstimator(LogisticRegression())).fit(X, y)  # AttributeError
    names = np.array(["cat", "dog", "owl"])
    model = LogisticRegression().fit(X, names[y])
    with pytest.raises(ValueError, match=r"^y has labels \['emu'\] that the frozen classifier "
                                         r"was not fitted on \(its classes_ are \['cat', "
                                         r"'dog', 'owl'\]\)"):
        TemperatureScaling(FrozenEstimator(model)).fit(X, np.array(["cat", "dog", "emu"])[y])
