"""The outer folds of :func:`~skcal.compare_calibrators`, with groups kept whole."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    check_cv,
)

from ..rows._labels import group_codes


def checked_groups(groups, n_rows):
    """Each row's group as 0..G-1, or None; one group per row, at least two groups.

    Examples
    --------
    >>> checked_groups(["a", "b", "a"], 3)
    array([0, 1, 0])
    """
    if groups is None:
        return None
    codes = group_codes(groups, n_rows)
    if codes.max(initial=0) < 1:
        raise ValueError("groups has a single group; a held-out fold needs groups of its own.")
    return codes


def outer_splits(cv, y_index, groups, random_state):
    """(train, test) index pairs: an integer ``cv`` gives stratified folds shuffled
    with ``random_state`` (stratified group folds with ``groups``), or, where no
    class has ``cv`` rows to spread over the folds (the tokens of a large
    vocabulary), plain shuffled folds (of groups); a splitter gets ``groups`` as
    scikit-learn's ``cross_validate`` gives them.

    Examples
    --------
    >>> y_index = np.arange(12)  # twelve classes, one row each
    >>> [test.size for _, test in outer_splits(3, y_index, None, 0)]
    [4, 4, 4]

    Common classes are spread over the folds, rare ones dealt where they fall,
    without scikit-learn's warning on them:

    >>> y_index = np.r_[np.zeros(9, int), 1, 2]
    >>> [int(np.bincount(y_index[test])[0]) for _, test in outer_splits(
    ...     3, y_index, None, 0)]
    [3, 3, 3]
    """
    if isinstance(cv, Integral):
        n_groups = None if groups is None else int(np.unique(groups).shape[0])
        if n_groups is not None and n_groups < cv:
            raise ValueError(f"cv={cv} folds need at least {cv} groups, and groups holds "
                             f"{n_groups}: a group is never split between folds. Pass "
                             f"cv={n_groups} or fewer (on the command line --cv {n_groups}).")
        stratified = np.bincount(y_index).max(initial=0) >= cv
        if groups is None:
            kind = StratifiedKFold if stratified else KFold
        else:
            kind = StratifiedGroupKFold if stratified else GroupKFold
        splitter = kind(n_splits=cv, shuffle=True, random_state=random_state)
    else:
        splitter = check_cv(cv, y_index, classifier=True)
    with warnings.catch_warnings():
        # folds stratified by the classes that have rows enough, the rare ones dealt
        # where they fall: what scikit-learn's warning on the least populated class
        # announces, on every comparison of tokens, with nothing for the user to do
        warnings.filterwarnings("ignore", message="The least populated class",
                                category=UserWarning)
        return list(splitter.split(np.zeros(y_index.shape[0]), y_index, groups))


def inner_splits(y_index, groups, random_state, name="the data"):
    """The (train, test) pairs over which a classifier is cross-fitted with its
    groups kept whole: 5 stratified group folds (as many as there are groups, if
    fewer); None (a calibrator's default 5 stratified folds) without groups.
    The inner folds of a comparison with a classifier, and of its refits.

    Examples
    --------
    >>> splits = inner_splits(np.array([0, 1] * 6), np.repeat(np.arange(4), 3), 0)
    >>> len(splits), sorted(np.concatenate([test for _, test in splits]).tolist())[:4]
    (4, [0, 1, 2, 3])
    """
    if groups is None:
        return None
    n_groups = np.unique(groups).shape[0]
    if n_groups < 2:
        raise ValueError(f"{name} holds a single group; cross-fitting the classifier with "
                         "groups kept whole needs at least two.")
    splitter = StratifiedGroupKFold(n_splits=min(5, n_groups), shuffle=True,
                                    random_state=random_state)
    return list(splitter.split(np.zeros(y_index.shape[0]), y_index, groups))
