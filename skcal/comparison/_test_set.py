"""The test set of :func:`~skcal.compare_calibrators` (``X_test``, ``y_test``):
checked before any fold is fitted, and its labels read as the fitted
calibrators' columns."""

import numpy as np
from sklearn.utils import column_or_1d

from ..rows._labels import encode_labels, plain


def check_test_set(X_test, y_test):
    """Both or neither, of the same length (checked before the folds are fitted)."""
    if X_test is None and y_test is None:
        return
    if X_test is None or y_test is None:
        raise ValueError("Give both X_test and y_test, or neither.")
    n_test = X_test.shape[0] if hasattr(X_test, "shape") else len(X_test)
    n_labels = len(column_or_1d(y_test))
    if n_test == n_test and n_test != n_labels:  # a Dask array's unknown rows are NaN
        raise ValueError(f"X_test has {n_test} rows but y_test has {n_labels} labels; pass "
                         "one label per row of X_test.")


def index_labels(y_test, classes):
    """Each test label's column among ``classes``, those of the fitted calibrators."""
    y_test = column_or_1d(y_test)
    try:
        unseen = np.setdiff1d(y_test, classes)
    except TypeError:  # labels of other types: encode_labels names the problem
        unseen = ()
    if len(unseen):
        raise ValueError(
            f"y_test has labels {[plain(c) for c in unseen[:10]]} that y lacks; the "
            "calibrators predict the classes of y only, so every test label must be one "
            f"of {[plain(c) for c in classes[:10]]}" + ("..." if len(classes) > 10 else "")
            + "."
        )
    _, index = encode_labels(y_test, classes.shape[0], labels=classes, min_classes=1)
    return index
