"""What a calibrator's ``fit`` is given, checked once, where it enters.

Scores mode (no classifier): the scores are read as logit rows (checked whole
in memory, block by block when streamed), and their labels and weights by
:func:`~skcal.rows._labels.check_labels_and_weights`. Classifier mode: the
labels are encoded and the weights checked before any classifier is fitted.
Everything :func:`checked_score_inputs` and :func:`checked_classifier_inputs`
return is checked; the base, the maps and the solvers take it as it is.
"""

from collections import namedtuple

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing, assert_all_finite, column_or_1d, indexable
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_feature_names, _check_method_params, _num_samples

from ..rows._blocks import is_streamed
from ..rows._labels import check_labels_and_weights, check_sample_weight, plain
from ..rows._namespaces import device_namespace, like
from ..rows._remote import class_totals, is_remote
from ..rows._row_order import check_row_order
from ..rows._score_rows import fit_score_rows, in_memory_scores
from ..rows._scores import check_score_columns, flatten_leading
from ._class_order import sorted_classes

_LENGTH_ERROR = "X has {n_rows} samples but y has {n_labels}; pass one label per row of X."

ScoreInputs = namedtuple(
    "ScoreInputs",
    ["logits", "score_type", "n_features_in", "classes", "y_index", "sample_weight",
     "probability_floor"],
)
ScoreInputs.__doc__ = """Checked scores-mode input of ``fit``: logit ``Rows``, how the
scores were read, their width, the classes of the columns (beside the scores on
a device), each row's column index, the weights (None or float64) and the
probability exact zeros are read as (None: none, or logits)."""

ClassifierInputs = namedtuple("ClassifierInputs", ["X", "y", "classes", "y_index",
                                                   "sample_weight", "fit_params"])
ClassifierInputs.__doc__ = """Checked classifier-mode input of ``fit``: ``X`` and ``y``
indexable (rows labelled ``ignore_index`` dropped, also from the row-aligned
``fit_params``), the sorted classes, each row's class index and the weights
(None or float64)."""


def check_mode_parameters(calibrator, y):
    """Refuse a missing ``y``, and parameters that the chosen mode would otherwise
    ignore."""
    if y is None:
        raise ValueError(
            f"{type(calibrator).__name__} requires y to be passed, but the target y is "
            "None; pass the true labels of the calibration data."
        )
    if isinstance(calibrator.cv, str):  # 'prefit', which the constraints let through
        raise InvalidParameterError(
            f"cv={calibrator.cv!r} is not an option (scikit-learn's CalibratedClassifierCV "
            "no longer takes it either). For a classifier fitted already, wrap it in "
            "sklearn.frozen.FrozenEstimator and leave cv at None: "
            f"{type(calibrator).__name__}(FrozenEstimator(clf)).fit(X_calib, y_calib)."
        )
    if calibrator.estimator is None:
        unused = {
            "cv": calibrator.cv is not None,
            "ensemble": calibrator.ensemble,
            "n_jobs": calibrator.n_jobs is not None,
            "response_method": calibrator.response_method != "auto",
        }
        reason = "without a classifier (estimator=None, X holds scores)"
    else:
        frozen = isinstance(calibrator.estimator, FrozenEstimator)
        unused = {
            "score_type": calibrator.score_type != "auto",
            "cv": frozen and calibrator.cv is not None,
            "ensemble": frozen and calibrator.ensemble,
            "n_jobs": frozen and calibrator.n_jobs is not None,
        }
        reason = (
            "with a FrozenEstimator, which is not refitted"
            if frozen
            else "with a classifier (the scores come from its response_method)"
        )
    names = [name for name, is_set in unused.items() if is_set]
    if names:
        raise ValueError(
            f"{', '.join(names)} {'has' if len(names) == 1 else 'have'} no effect "
            f"{reason}; leave {'it' if len(names) == 1 else 'them'} at the default."
        )


def checked_score_inputs(calibrator, X, y, sample_weight, cache=None):
    """The scores, labels and weights of a scores-mode ``fit``, checked.

    Scores of shape ``(..., n_classes)`` are read as rows, with labels and
    weights of shape ``(...)``; a streamed input is read into memory for a map
    that does not stream (and refused if it is a Dask array); scores on a
    device are refused for a map without array API support.

    Returns
    -------
    inputs : ScoreInputs
    """
    name = type(calibrator).__name__
    check_row_order(X=X, y=y, sample_weight=sample_weight)
    on_device = device_namespace(X) is not None
    if on_device and not calibrator._array_api:
        raise TypeError(
            f"{name} does not compute on {type(X).__module__} arrays "
            f"under array_api_dispatch; {_joined(registered_maps('_array_api'))} do. "
            "Pass X as a numpy array (or fit outside "
            "sklearn.config_context(array_api_dispatch=True))."
        )
    # feature_names_in_ from a DataFrame's columns, as scikit-learn's validate_data
    # sets it: its columns are the classes, so predict refuses them in another order,
    # and names that are the labels say which class each column is
    _check_feature_names(calibrator, X, reset=True)
    X, leading = flatten_leading(X)
    if is_streamed(X) and not calibrator._streams:
        X = in_memory_scores(X, name, streaming=registered_maps("_streams"))
    logits, score_type, floor = fit_score_rows(X, calibrator.score_type, cache=cache)
    shape = np.shape(X)
    classes, y_index, sample_weight = check_labels_and_weights(
        y, sample_weight, shape[0], leading=leading, n_columns=logits.n_columns,
        column_names=getattr(calibrator, "feature_names_in_", None), takes_labels=False,
        ignore_index=calibrator.ignore_index,
        length_error=_LENGTH_ERROR,
    )
    check_weighted_classes(y_index, sample_weight, classes)
    # columns named after the classes in another order: classes_ follow the sorted ones
    classes, y_index, logits = sorted_classes(classes, y_index, logits)
    if on_device:  # fitted attributes live beside the scores (scikit-learn's rule)
        classes = classes_beside(classes, X)
    return ScoreInputs(logits, score_type, 1 if len(shape) == 1 else shape[1], classes,
                       y_index, sample_weight, floor)


def check_predict_scores(calibrator, X):
    """Scores to predict from: the columns of ``fit``, by number, and by name
    and order when ``fit`` had a DataFrame's (scikit-learn's rule; for scores, a
    column out of order is a class mistaken for another).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skcal import VectorScaling
    >>> scores = pd.DataFrame({"cat": [2.0, 0.0, 1.0], "dog": [0.0, 1.0, 0.5]})
    >>> calibrator = VectorScaling().fit(scores, ["cat", "dog", "cat"])
    >>> check_predict_scores(calibrator, scores[["dog", "cat"]])
    Traceback (most recent call last):
    ...
    ValueError: The feature names should match those that were passed during fit.
    Feature names must be in the same order as they were in fit.
    <BLANKLINE>
    """
    _check_feature_names(calibrator, X, reset=False)
    check_score_columns(X, calibrator.n_features_in_)


def registered_maps(capability):
    """The names of the registered calibrators whose class sets ``capability``
    (``'_streams'``, ``'_array_api'``), for messages that name the alternatives."""
    from ._registry import CALIBRATORS  # the registry imports every map, and so this

    return [entry.cls.__name__ for entry in CALIBRATORS if getattr(entry.cls, capability)]


def _joined(names):
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def checked_classifier_inputs(estimator, X, y, sample_weight, ignore_index, fit_params):
    """The input, labels and weights of a classifier-mode ``fit``, checked (the
    classifier's ``fit_params`` passed on, rows labelled ``ignore_index``
    dropped from those of one value per row).

    Returns
    -------
    inputs : ClassifierInputs
    """
    check_row_order(X=X, y=y, sample_weight=sample_weight)
    if ignore_index is not None:
        X, y, sample_weight, fit_params = _drop_ignored(X, y, sample_weight, ignore_index,
                                                        fit_params)
    n_samples = _num_samples(X)
    if n_samples == 0:
        raise ValueError("X has 0 samples; at least one sample is required.")
    check_lengths(X, y)
    X, y = indexable(X, y)
    y = column_or_1d(y, warn=True)
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    classes = encoder.classes_
    if classes.shape[0] < 2:
        raise ValueError(
            f"y has only one class ({classes[0]!r}); calibration needs "
            "samples of at least two classes."
        )
    y_index = encoder.transform(y)
    if isinstance(estimator, FrozenEstimator):  # its classes are the columns
        classes, y_index = _frozen_classes(estimator, classes, y_index)
    sample_weight = check_sample_weight(sample_weight, n_samples)
    check_weighted_classes(y_index, sample_weight, classes)
    return ClassifierInputs(X, y, classes, y_index, sample_weight, fit_params)


def _frozen_classes(estimator, present, y_index):
    """The classes of a classifier fitted already (its ``classes_``, of which the
    calibration data may lack some) and the column of each label (given as
    ``y_index`` into the labels ``present``); labels it does not know are refused."""
    known = getattr(estimator, "classes_", None)  # an unfitted classifier has none
    if known is None:
        raise ValueError(
            f"The {type(estimator.estimator).__name__} in FrozenEstimator is not fitted "
            "(it has no classes_): fit it before freezing it, or pass it unwrapped to "
            "cross-fit it on the calibration data.")
    known = np.asarray(known)
    column = {plain(label): index for index, label in enumerate(known)}
    unknown = [plain(label) for label in present if plain(label) not in column]
    if unknown:
        raise ValueError(
            f"y has labels {unknown} that the frozen classifier was not fitted on (its "
            f"classes_ are {[plain(label) for label in known]}); calibrate it on data of "
            "its classes, or refit it on these.")
    return known, np.array([column[plain(label)] for label in present])[y_index]


def _drop_ignored(X, y, sample_weight, ignore_index, fit_params):
    """The rows whose label is not ``ignore_index`` (classifier mode), also of
    the weights and of the ``fit_params`` of one value per row."""
    check_lengths(X, y)
    keep = np.flatnonzero(np.asarray(y) != ignore_index)
    weights = None if sample_weight is None else _safe_indexing(sample_weight, keep)
    return (_safe_indexing(X, keep), _safe_indexing(y, keep), weights,
            _check_method_params(X, fit_params, indices=keep))


def classes_beside(classes, X):
    """Numeric classes as an array beside ``X``; others refused (they cannot live
    on a device)."""
    if classes.dtype.kind not in "iufb":
        raise ValueError(
            f"Under array_api_dispatch the labels must be numbers (they are kept "
            f"beside the scores); got labels of dtype {classes.dtype}. Encode them "
            "first, for example with sklearn.preprocessing.LabelEncoder."
        )
    integers = classes.dtype.kind != "f"
    return like(classes, X, dtype=device_namespace(X).int64 if integers else None)


def check_weighted_classes(y_index, sample_weight, classes):
    """Refuse weights that leave a single class with positive weight."""
    if sample_weight is None:
        return
    if is_remote(y_index):  # a remote table's labels: from the weight of each class
        weighted = np.flatnonzero(class_totals(y_index, sample_weight, classes.shape[0]))
    else:
        weighted = np.unique(y_index[sample_weight > 0])
    if weighted.shape[0] < 2:
        raise ValueError(
            f"Only the class {plain(classes[weighted[0]])!r} has samples with positive "
            "sample_weight; calibration needs weighted samples of at least two classes."
        )


def check_lengths(X, y):
    """Refuse a ``y`` with another number of samples than ``X``."""
    n_x, n_y = _num_samples(X), _num_samples(y)
    if n_x != n_y:
        raise ValueError(_LENGTH_ERROR.format(n_rows=n_x, n_labels=n_y))
