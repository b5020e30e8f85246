"""compare_calibrators with groups: folds keep each group whole, and the standard
errors count groups, not rows, as the independent units."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from conftest import sample_labels, softmax
from skcal import compare_calibrators
from skcal.comparison._outer_folds import outer_splits

COPIES = 20


@pytest.fixture
def rows_and_copies():
    """Logits of 600 rows, labels, and every row repeated COPIES times with its
    group the row it copies."""
    rng = np.random.default_rng(40)
    logits = rng.normal(scale=4.0, size=(600, 3))
    y = sample_labels(softmax(logits / 2), rng)
    return logits, y, np.repeat(logits, COPIES, axis=0), np.repeat(y, COPIES), np.repeat(
        np.arange(600), COPIES)


def test_copies_of_a_row_count_once_in_the_standard_error(rows_and_copies):
    logits, y, copied, copied_y, groups = rows_and_copies
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(logits, y))
    # the same folds on the copies: each copy goes where its row goes
    copied_folds = [(np.flatnonzero(np.isin(groups, train)), np.flatnonzero(np.isin(groups, test)))
                    for train, test in folds]
    methods = ["temperature", "vector"]
    rows = compare_calibrators(logits, y, calibrators=methods, cv=folds)
    grouped = compare_calibrators(copied, copied_y, calibrators=methods, cv=copied_folds,
                                  groups=groups)
    as_rows = compare_calibrators(copied, copied_y, calibrators=methods, cv=copied_folds)
    se = {name: comparison.cv_results_["nll_diff_se"]
          for name, comparison in [("rows", rows), ("grouped", grouped), ("as rows", as_rows)]}
    assert (se["rows"] > 0).sum() == 2  # the best's own difference is 0
    # a fit on the copies is the fit on the rows, to the fits' tolerance (~1e-7)
    np.testing.assert_allclose(se["grouped"], se["rows"], rtol=1e-4)
    # taken as rows, the copies shrink the error by sqrt(COPIES): the false certainty
    np.testing.assert_allclose(se["as rows"] * np.sqrt(COPIES), se["rows"], rtol=0.05)
    assert grouped.n_groups_ == 600 and rows.n_groups_ is None
    assert "cluster-robust over 600 groups" in str(grouped).splitlines()[0]
    assert grouped.to_dict()["n_groups"] == 600


# a fold's training part holds 8 documents of 20 copies of one row: whether the
# temperature's NLL has a finite optimum there depends on which documents the
# splitter deals to it, which differs across scikit-learn versions (1.7: none)
@pytest.mark.filterwarnings("ignore:Temperature scaling has no finite optimum")
def test_the_paired_p_value_over_few_groups_is_students_t(rows_and_copies):
    from scipy.stats import norm, t

    _, _, copied, copied_y, groups = rows_and_copies
    keep = groups < 12  # 12 groups (documents) of 20 rows
    comparison = compare_calibrators(copied[keep], copied_y[keep], groups=groups[keep],
                                     calibrators=["temperature", "vector"], cv=3)
    results = comparison.cv_results_
    worse = int(np.argmax(results["nll_diff_se"]))
    z = results["nll_diff_to_best"][worse] / results["nll_diff_se"][worse]
    # 3 folds of 4 groups: 3 degrees of freedom each; scipy.stats' t law to its rounding
    assert results["nll_diff_pvalue"][worse] == pytest.approx(2 * t.sf(abs(z), df=9),
                                                              rel=1e-9)
    assert results["nll_diff_pvalue"][worse] > 2 * norm.sf(abs(z))


def test_integer_folds_keep_each_group_whole():
    rng = np.random.default_rng(41)
    y = rng.integers(3, size=900)
    groups = np.repeat(np.arange(90), 10)
    splits = outer_splits(5, y, groups, random_state=0)
    assert len(splits) == 5
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    assert sorted(np.concatenate([test for _, test in splits])) == list(range(900))


@pytest.mark.parametrize("kwargs, message", [
    (dict(groups=np.zeros(10)), r"groups has shape \(10,\) for 600 rows"),
    (dict(groups=np.zeros(600)), "groups has a single group"),
    # scikit-learn's "Cannot have number of splits n_splits=3 greater than the
    # number of groups: 2" did not say what to change
    (dict(groups=np.arange(600) % 2), r"cv=3 folds need at least 3 groups, and groups holds "
                                      r"2.*Pass cv=2 or fewer"),
    (dict(groups=np.where(np.arange(600) % 50 == 7, np.nan, np.arange(600) // 3)),
     r"groups is missing at 12 rows \(the first at row 7\); give every row its group"),
    (dict(groups=np.arange(600) // 3, calibration_test="consistency"),
     "calibration_test= takes the rows as independent, and groups says they are not"),
])
def test_groups_that_cannot_be_used_are_refused(rows_and_copies, kwargs, message):
    logits, y, *_ = rows_and_copies
    with pytest.raises(ValueError, match=message):
        compare_calibrators(logits, y, calibrators=["temperature"], cv=3, **kwargs)


class GroupSpy(ClassifierMixin, BaseEstimator):
    """Logistic regression on every column of X but the last, which holds the
    row's group: each fitted copy records the groups it was fitted on and those
    it scored."""

    fitted = []

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X[:, :-1], y)
        self.classes_ = self.model_.classes_
        self.trained_on_, self.scored_ = set(X[:, -1]), set()
        GroupSpy.fitted.append(self)
        return self

    def predict_proba(self, X):
        self.scored_ |= set(X[:, -1])
        return self.model_.predict_proba(X[:, :-1])


def test_a_classifier_is_cross_fitted_over_folds_that_keep_each_group_whole():
    # with a classifier, groups were refused: its inner folds would have scored
    # rows with a model fitted on others of their group
    rng = np.random.default_rng(42)
    groups = np.repeat(np.arange(120), 5)
    features = rng.normal(size=(120, 3))[groups] + 0.1 * rng.normal(size=(600, 3))
    y = (features[:, 0] + rng.normal(size=600) > 0).astype(int)
    X = np.column_stack([features, groups])
    GroupSpy.fitted.clear()
    comparison = compare_calibrators(X, y, estimator=GroupSpy(), groups=groups,
                                     calibrators=["temperature", "platt"], cv=4,
                                     X_test=X[:50], y_test=y[:50])
    # 4 outer folds of 5 inner fits and a refit; each final refit of 3 candidates:
    # 5 inner fits and a refit (the refit of the best reused from the test set's)
    assert len(GroupSpy.fitted) == 4 * 6 + 3 * 6
    cross_fits = [spy for spy in GroupSpy.fitted if len(spy.trained_on_) < 120]
    assert len(cross_fits) == 4 * 6 + 3 * 5  # the others, fitted on all, score X_test
    assert all(spy.scored_ and not spy.trained_on_ & spy.scored_ for spy in cross_fits)
    # the inner folds of the refitted best, given to it as its cv, keep groups whole
    for train, test in comparison.best_calibrator_.cv:
        assert not set(groups[train]) & set(groups[test])
    assert comparison.n_groups_ == 120



def test_over_few_groups_a_tie_is_a_p_value_above_the_level_of_two_standard_errors():
    """Over 6 documents in 3 folds (3 degrees of freedom) the p-values come from
    Student's t, and so does the tie: a method is "=" to the best exactly when
    its p-value is above 0.0455, the normal law's two-sided level at 2
    standard errors. Here the uncalibrated scores are 2.6 standard errors from
    the best, p = 0.08: not distinguishable on 6 documents, and recommended."""
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(6), 150)
    logits = rng.normal(scale=3.0, size=(900, 3)) * rng.uniform(0.7, 1.5, 6)[groups, None]
    y = sample_labels(softmax(logits / 1.3), rng)
    comparison = compare_calibrators(logits, y, calibrators=["temperature", "vector", "platt"],
                                     groups=groups, cv=3)
    results = comparison.cv_results_
    others = results["nll_diff_to_best"] > 0
    assert others.sum() == 3
    np.testing.assert_array_equal(results["tied_with_best"][others],
                                  results["nll_diff_pvalue"][others] > 0.0455)
    uncalibrated = list(results["method"]).index("uncalibrated")
    ratio = results["nll_diff_to_best"][uncalibrated] / results["nll_diff_se"][uncalibrated]
    assert 2.0 < ratio < 3.3  # beyond 2 standard errors, within t(3)'s 3.31
    assert comparison.recommended_ == "uncalibrated"
    # no calibration recommended: the identity map, the scores' own probabilities
    np.testing.assert_allclose(comparison.recommended_calibrator_.predict_proba(logits),
                               softmax(logits), rtol=1e-12)
    assert ("within 3.31 standard errors (Student's t, 3 degrees of freedom) of the best"
            in comparison.recommendation())
