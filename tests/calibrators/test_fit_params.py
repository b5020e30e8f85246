"""A wrapped classifier's fit parameters: passed on as they come, or by
scikit-learn's metadata routing (to the classifier and to the cv splitter)."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcal import TemperatureScaling, VectorScaling

# the same rows in another order: sums over them agree to a few units in the last
# place of float64, and the temperature's Newton fit to its tolerance of them
SUMMATION_ORDER = 1e-9


class MarkedLogistic(LogisticRegression):
    """A logistic regression whose fit also takes ``marks``, one per row, and
    keeps the marks it was given (the rows it was fitted on, when the marks
    are the rows' numbers)."""

    def fit(self, X, y, sample_weight=None, marks=None):
        self.marks_ = marks
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.fixture
def data():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    weights = np.random.default_rng(0).uniform(0.0, 3.0, size=y.shape[0])
    return X, y, weights


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_fit_params_reach_each_fold_for_its_training_rows_and_the_refit_whole(data):
    X, y, _ = data
    marks = np.arange(y.shape[0])
    folds = KFold(3, shuffle=True, random_state=0)
    ensemble = TemperatureScaling(MarkedLogistic(), cv=folds, ensemble=True).fit(
        X, y, marks=marks)
    for fitted, (train, _) in zip(ensemble.estimators_, folds.split(X, y)):
        assert_array_equal(fitted.marks_, train)
    single = TemperatureScaling(MarkedLogistic(), cv=folds).fit(X, y, marks=marks)
    assert_array_equal(single.estimator_.marks_, marks)


def test_rows_left_out_by_ignore_index_are_left_out_of_the_fit_params(data):
    X, y, _ = data
    y = y.copy()
    y[::4] = -100
    calibrator = TemperatureScaling(MarkedLogistic(), cv=3, ignore_index=-100).fit(
        X, y, marks=np.arange(y.shape[0]))
    assert_array_equal(calibrator.estimator_.marks_, np.flatnonzero(y != -100))


def test_a_pipeline_step_takes_the_weights_given_by_its_name(data):
    X, y, weights = data
    pipeline = make_pipeline(StandardScaler(), LogisticRegression())
    calibrator = TemperatureScaling(pipeline, cv=3).fit(
        X, y, logisticregression__sample_weight=weights)
    expected = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        X, y, logisticregression__sample_weight=weights)
    # the same fit on the same rows: equal to the solver's rounding
    assert_allclose(calibrator.estimator_[-1].coef_, expected[-1].coef_, rtol=1e-10)


def test_fit_params_without_a_classifier_are_refused_by_name(data, routing):
    X, y, _ = data
    with pytest.raises(TypeError, match=r"got \['marks'\], which go to a wrapped "
                                        r"classifier's fit.*wraps no classifier"):
        TemperatureScaling().fit(X[:, :3], y, marks=np.arange(y.shape[0]))


def test_fit_params_for_a_frozen_classifier_are_refused_by_name(data):
    X, y, _ = data
    frozen = FrozenEstimator(MarkedLogistic().fit(X, y))
    with pytest.raises(TypeError, match=r"got \['marks'\].*FrozenEstimator is not fitted"):
        TemperatureScaling(frozen).fit(X, y, marks=np.arange(y.shape[0]))


def test_routed_weights_reach_the_classifier_only_when_it_requests_them(data, routing):
    X, y, weights = data
    folds = KFold(3, shuffle=True, random_state=0)
    requested = TemperatureScaling(LogisticRegression().set_fit_request(sample_weight=True),
                                   cv=folds).fit(X, y, sample_weight=weights)
    assert_allclose(requested.estimator_.coef_,
                    LogisticRegression().fit(X, y, sample_weight=weights).coef_, rtol=1e-10)
    declined = TemperatureScaling(LogisticRegression().set_fit_request(sample_weight=False),
                                  cv=folds).fit(X, y, sample_weight=weights)
    assert_allclose(declined.estimator_.coef_, LogisticRegression().fit(X, y).coef_,
                    rtol=1e-10)
    # the map itself is weighted either way: the unweighted classifier's
    # out-of-fold scores, calibrated with the weights
    out_of_fold = cross_val_predict(LogisticRegression(), X, y, cv=folds,
                                    method="decision_function")
    direct = TemperatureScaling().fit(out_of_fold, y, sample_weight=weights)
    unweighted = TemperatureScaling().fit(out_of_fold, y)
    assert_allclose(declined.temperature_, direct.temperature_, rtol=SUMMATION_ORDER)
    assert abs(unweighted.temperature_ - direct.temperature_) > 1e3 * SUMMATION_ORDER


def test_routed_weights_the_classifier_did_not_decide_on_are_refused(data, routing):
    X, y, weights = data
    with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError,
                       match=r"LogisticRegression.set_fit_request"):
        TemperatureScaling(LogisticRegression()).fit(X, y, sample_weight=weights)


def test_routed_groups_reach_the_splitter(data, routing):
    X, y, _ = data
    groups = np.arange(y.shape[0]) % 7
    classifier = MarkedLogistic().set_fit_request(marks=True)
    calibrator = TemperatureScaling(classifier, cv=GroupKFold(3), ensemble=True).fit(
        X, y, groups=groups, marks=np.arange(y.shape[0]))
    splits = list(GroupKFold(3).split(X, y, groups))
    assert len(calibrator.estimators_) == len(splits)
    for fitted, (train, test) in zip(calibrator.estimators_, splits):
        assert_array_equal(fitted.marks_, train)
        assert not set(groups[train]) & set(groups[test])


def test_routed_metadata_nobody_requested_is_refused(data, routing):
    X, y, _ = data
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \{'groups'\}, which are "
                                        r"not routed to any object"):
        VectorScaling(FrozenEstimator(LogisticRegression().fit(X, y))).fit(
            X, y, groups=np.arange(y.shape[0]))


def test_a_search_routes_weights_through_the_calibrator_to_the_classifier(data, routing):
    X, y, weights = data
    calibrator = TemperatureScaling(
        LogisticRegression().set_fit_request(sample_weight=True), cv=3
    ).set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
    search = GridSearchCV(calibrator, {"estimator__C": [0.5, 1.0]}, cv=2).fit(
        X, y, sample_weight=weights)
    C = search.best_params_["estimator__C"]
    direct = TemperatureScaling(LogisticRegression(C=C).set_fit_request(sample_weight=True),
                                cv=3).fit(X, y, sample_weight=weights)
    # the refit is the same fit as the direct one: equal to the solvers' rounding
    assert_allclose(search.best_estimator_.estimator_.coef_, direct.estimator_.coef_,
                    rtol=1e-10)
    assert_allclose(search.best_estimator_.temperature_, direct.temperature_, rtol=1e-10)
    unweighted = LogisticRegression(C=C).fit(X, y)
    assert not np.allclose(search.best_estimator_.estimator_.coef_, unweighted.coef_)
