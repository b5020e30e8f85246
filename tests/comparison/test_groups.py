"""compare_calibrators with groups: folds keep each group whole, and the standard
errors count groups, not rows, as the independent units."""

import numpy as np
import pytest
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
    (dict(groups=np.arange(600), estimator=LogisticRegression()),
     "groups= is taken with scores only"),
    (dict(groups=np.arange(600) // 3, calibration_test="consistency"),
     "calibration_test= takes the rows as independent, and groups says they are not"),
])
def test_groups_that_cannot_be_used_are_refused(rows_and_copies, kwargs, message):
    logits, y, *_ = rows_and_copies
    with pytest.raises(ValueError, match=message):
        compare_calibrators(logits, y, calibrators=["temperature"], cv=3, **kwargs)
