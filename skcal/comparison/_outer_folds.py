"""The outer folds of :func:`~skcal.compare_calibrators`, with groups kept whole."""

from numbers import Integral

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, check_cv


def checked_groups(groups, n_rows, estimator):
    """Each row's group as 0..G-1, or None; one group per row, at least two groups.

    Examples
    --------
    >>> checked_groups(["a", "b", "a"], 3, None)
    array([0, 1, 0])
    """
    if groups is None:
        return None
    if estimator is not None:
        raise ValueError(
            "groups= is taken with scores only: the classifier's inner folds would not "
            "keep the groups whole. Compute its out-of-fold scores with grouped folds "
            "(cross_val_predict(..., groups=groups)) and compare calibrators on them."
        )
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] != n_rows:
        raise ValueError(f"groups has shape {groups.shape} for {n_rows} rows; pass one group "
                         "(a patient, a document) per row.")
    codes = np.unique(groups, return_inverse=True)[1].reshape(-1)
    if codes.max(initial=0) < 1:
        raise ValueError("groups has a single group; a held-out fold needs groups of its own.")
    return codes


def outer_splits(cv, y_index, groups, random_state):
    """(train, test) index pairs: an integer ``cv`` gives stratified folds shuffled
    with ``random_state`` (stratified group folds with ``groups``); a splitter
    gets ``groups`` as scikit-learn's ``cross_validate`` gives them."""
    if isinstance(cv, Integral):
        kind = StratifiedKFold if groups is None else StratifiedGroupKFold
        splitter = kind(n_splits=cv, shuffle=True, random_state=random_state)
    else:
        splitter = check_cv(cv, y_index, classifier=True)
    return list(splitter.split(np.zeros(y_index.shape[0]), y_index, groups))
