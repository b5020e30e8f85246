"""The calibrator a monitor applies to the raw scores: fitted on production rows
when the verdict is "recalibrate", or given already fitted."""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ..calibrators._base import BaseCalibrator
from ..calibrators._class_order import input_classes
from ..calibrators._registry import calibrator_class
from ..rows._column_classes import column_classes, positions_of, sorting_order
from ..rows._labels import encode_labels


def fitted_calibrator(calibrator, scores, y, sample_weight, *, classes, n_features, score_type,
                      min_labels, names=None):
    """``calibrator`` (a name, an unfitted calibrator, or a fitted one) fitted on
    raw ``scores`` (their columns named ``names``, or None) and labels ``y`` of
    the monitor's classes, checked to take the monitor's scores."""
    if isinstance(calibrator, str):
        calibrator = calibrator_class(calibrator)()
    if scores is None:
        if y is not None or sample_weight is not None:
            raise ValueError("y and sample_weight go with scores; give all of them, or a "
                             "fitted calibrator alone.")
        check_is_fitted(calibrator)
        fitted = calibrator
    else:
        n = len(y) if y is not None else 0
        if n < min_labels:
            raise ValueError(f"recalibrating needs at least min_labels={min_labels} labelled "
                             f"rows; got {n}. Wait for more labels.")
        fitted = clone(calibrator)
        if "score_type" in fitted.get_params():
            fitted.set_params(score_type=score_type)
        # fitted on the column of each label, so that its columns are the monitor's
        # whatever the order of its classes and whichever are absent from these rows
        _, y_index = encode_labels(y, len(classes), labels=classes)
        frame = _named_frame(fitted, scores, names, classes)
        if frame is not None:  # its classes_ sorted, as on any DataFrame named so
            fitted.fit(frame, np.asarray(classes)[y_index], sample_weight=sample_weight)
        else:
            fitted.fit(scores, y_index, sample_weight=sample_weight)
            fitted.classes_ = np.asarray(classes)
    if getattr(fitted, "n_features_in_", n_features) != n_features:
        raise ValueError(f"The calibrator takes {fitted.n_features_in_} score columns; the "
                         f"monitor's scores have {n_features}. Fit it on the same scores.")
    taken = input_classes(fitted)
    if list(map(str, taken)) != list(map(str, classes)):
        raise ValueError(f"The calibrator takes the scores of the classes "
                         f"{[str(c) for c in taken]}, in this order, and the monitor's "
                         f"columns are {[str(c) for c in classes]}; fit "
                         "it on the monitor's scores, its columns in the monitor's order.")
    return fitted


def _named_frame(calibrator, scores, names, classes):
    """The scores as a DataFrame of the monitor's column ``names``, for a skcal
    calibrator, where those name the classes in another order than the sorted
    one: fitted on it, the calibrator reads each column as its class and keeps
    its ``classes_`` sorted, as scikit-learn's classifiers do, also once saved
    (see :mod:`skcal.calibrators._class_order`). None otherwise (pandas absent
    too): the calibrator is then fitted on each label's column."""
    if names is None or np.ndim(scores) != 2 or not isinstance(calibrator, BaseCalibrator):
        return None
    if sorting_order(column_classes(names, classes)) is None:
        return None
    try:
        import pandas as pd
    except ImportError:
        return None
    return pd.DataFrame(np.asarray(scores), columns=list(names))


def served_reference(monitor, calibrator, scores, log_proba, names):
    """(calibrator, its version, log-probabilities) of a reference: the raw
    scores' ``log_proba`` and no calibrator (version 0), or, given a calibrator
    fitted on those raw scores (checked to take them, see
    :func:`fitted_calibrator`), its log-probabilities of the reference, which
    is what the system serves (version 1)."""
    if calibrator is None:
        return None, 0, log_proba
    if isinstance(calibrator, str):
        raise TypeError("calibrator= takes a calibrator fitted on the raw scores; to fit "
                        "one on production rows, call recalibrate after fit.")
    fitted = fitted_calibrator(calibrator, None, None, None, classes=monitor.classes_,
                               n_features=monitor.n_features_in_,
                               score_type=monitor.score_type_,
                               min_labels=monitor.min_labels, names=names)
    return fitted, 1, calibrated_log_proba(fitted, scores, monitor.classes_)


def calibrated_log_proba(calibrator, scores, classes):
    """The installed calibrator's log-probabilities of a batch's scores, a column
    per class of ``classes`` (the monitor's, in its order; the calibrator's own
    follow its ``classes_``). The monitor hands the scores over as an array, its
    columns in the order of the monitor's own; scikit-learn's warning for a
    calibrator fitted on a DataFrame's named columns would come with every
    batch, and is left out."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names",
                                category=UserWarning)
        log_proba = calibrator.predict_log_proba(  # a frame of scores alone as an array
            scores.to_numpy() if type(scores).__name__ == "DataFrame" else scores)
    if np.array_equal(calibrator.classes_, classes):
        return log_proba
    columns = positions_of(classes, calibrator.classes_)
    return log_proba if columns is None else log_proba[:, columns]
