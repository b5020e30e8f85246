"""Score columns named after the classes in another order than the classes'
sorted one (a DataFrame's ``dog, cat, bird``): a calibrator reads each column as
the class it names (:func:`~skcal.rows._column_classes.column_classes`), and
its ``classes_`` and probabilities follow the sorted classes, as scikit-learn's
classifiers' do (its scorers and displays take ``predict_proba``'s columns in
the sorted order of the labels).

At ``fit``, the logits' columns are put in that order (:func:`sorted_classes`);
at prediction, the same permutation follows from ``feature_names_in_`` and
``classes_`` (:func:`in_class_order`), so a saved calibrator needs nothing more.
"""

import numpy as np

from ..rows._blocks import Rows
from ..rows._column_classes import column_classes, sorting_order
from ..rows._namespaces import device_namespace


def sorted_classes(classes, y_index, logits):
    """``(classes, y_index, logits)`` with the columns in the sorted order of
    ``classes`` (the class of each column); as they are when already sorted.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.rows._blocks import Rows
    >>> classes, y_index, logits = sorted_classes(
    ...     np.array(["dog", "cat"]), np.array([0, 1, 1]), Rows(np.array([[2.0, 0.0]])))
    >>> classes.tolist(), y_index.tolist(), logits.read().tolist()
    (['cat', 'dog'], [1, 0, 0], [[0.0, 2.0]])
    """
    order = sorting_order(classes)
    if order is None:
        return classes, y_index, logits
    position = np.argsort(order)  # the new column of each old one
    return classes[order], position[y_index].astype(np.intp), _taken(logits, order)


def in_class_order(calibrator, logits):
    """The logits (an array or :class:`~skcal.rows._blocks.Rows`) of scores given
    as at ``fit``, their columns in the order of ``calibrator.classes_``."""
    if getattr(calibrator, "feature_names_in_", None) is None:
        return logits  # (classes_ may live on a device: nothing to sort)
    order = sorting_order(input_classes(calibrator))
    return logits if order is None else _taken(logits, order)


def input_classes(calibrator):
    """The class of each score column a fitted calibrator takes, in the order of
    its input: the classes its columns' names give, else ``classes_``."""
    names = getattr(calibrator, "feature_names_in_", None)
    named = None if names is None else column_classes(names, calibrator.classes_)
    return calibrator.classes_ if named is None else named


def _taken(logits, order):
    if isinstance(logits, Rows):
        return logits.then(lambda block: _take_columns(block, order))
    return _take_columns(logits, order)


def _take_columns(block, order):
    xp = device_namespace(block)
    if xp is None:
        return np.take(block, order, axis=-1)
    return xp.take(block, xp.asarray(order, device=block.device), axis=-1)
