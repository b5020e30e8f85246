"""Isotonic calibration: a monotone step function per class, one-vs-rest."""

import numpy as np
from scipy.optimize import isotonic_regression
from sklearn.isotonic import IsotonicRegression

from ._base import BaseCalibrator
from ._docstrings import _COMMON_ATTRIBUTES_DOC, _COMMON_PARAMETERS_DOC
from ..rows._blocks import total_weight
from ..rows._one_vs_rest import (
    class_score_groups,
    class_score_matrix,
    logits_from_class_probabilities,
    sorted_by_class,
)


# from this many classes on, unweighted fits sort each class's scores and find
# where its own rows fall (instead of sorting the rows)
_SEARCHED_CLASSES = 8


class IsotonicCalibration(BaseCalibrator):
    __doc__ = f"""Isotonic calibration: a non-decreasing step function of each class's score.

    scikit-learn's :class:`~sklearn.isotonic.IsotonicRegression` is fitted to
    the event ``y = k`` against class ``k``'s one-vs-rest score (for a binary
    problem, once, on the logit), then the ``K`` outputs are renormalised to sum
    to one. Scores outside the calibration range are clipped to it; tied scores
    share one value. Non-parametric: it corrects any monotone distortion but
    needs more data than the parametric maps. Steps can give several classes
    of a row exactly the same probability; ``predict`` then takes the one with
    the largest uncalibrated score, so the model's ranking decides where the
    map cannot.

    A step of plain isotonic regression is exactly 0 or 1 wherever the
    calibration samples in it all agree, and a held-out sample of the other
    class then costs 708 nats. The fitted values are therefore kept in
    ``[1 / (N + 2), (N + 1) / (N + 2)]``, with ``N`` the (weighted) number of
    calibration samples: the bounds of Platt's prior targets, the Laplace
    estimate for a step that holds every sample.

    Parameters
    ----------
{_COMMON_PARAMETERS_DOC}
    Attributes
    ----------
    X_thresholds_ : ndarray of object, shape (1,) for binary problems, else (n_classes,)
        Each class's increasing score thresholds, the knots of its piecewise
        linear map (as in :class:`~sklearn.isotonic.IsotonicRegression`). With
        ``ensemble=True``, one row per fold.

    y_thresholds_ : ndarray of object, same shape as ``X_thresholds_``
        The probabilities at those thresholds; between them the map
        interpolates linearly, beyond them it is constant.

    isotonic_ : ndarray of IsotonicRegression, same shape as ``X_thresholds_``
        The same maps as scikit-learn regressions (built on access).

{_COMMON_ATTRIBUTES_DOC}
    See Also
    --------
    PlattScaling : The parametric (sigmoid) one-vs-rest map.

    References
    ----------
    B. Zadrozny and C. Elkan, "Transforming Classifier Scores into Accurate
    Multiclass Probability Estimates", KDD 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import IsotonicCalibration
    >>> scores = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    >>> y = np.array([0, 0, 1, 0, 1, 1])
    >>> iso = IsotonicCalibration().fit(scores, y)
    >>> iso.predict_proba(np.array([-5.0, 0.5, 5.0]))[:, 1].round(3)
    array([0.125, 0.5  , 0.875])
    """

    _map_attributes = ("X_thresholds_", "y_thresholds_")

    def _fit_map(self, logits, y, sample_weight, cache):
        # isotonic fits use the scores' order only; a group of classes at a time
        bound = 1.0 / (total_weight(y.shape[0], sample_weight) + 2.0)
        # a sort and a search for the class's own rows beats an argsort when
        # they are few (a class among many: 0.88x at 100 classes, 1.25x binary)
        search = sample_weight is None and logits.shape[1] >= _SEARCHED_CLASSES
        rows_of_class = _rows_of_each_class(y, logits.shape[1]) if search else None
        knots = []
        for positives, scores in class_score_groups(logits, cache):
            by_class = np.ascontiguousarray(scores.T)  # each class's scores contiguous
            if search:
                # the sorted scores, and where the class's own rows fall among them
                ordered = sorted_by_class(logits, positives, scores, cache)
                for column, k in enumerate(positives):
                    x = ordered[column]
                    at = np.searchsorted(x, by_class[column, rows_of_class[k]], side="left")
                    knots.append(_isotonic_knots(x, np.bincount(at, minlength=x.shape[0]),
                                                 None, bound))
            else:  # the rows in the scores' order
                order = np.argsort(by_class, axis=1)
                for column, k in enumerate(positives):
                    rows = order[column]
                    knots.append(_isotonic_knots(by_class[column, rows], y[rows] == k,
                                                 None if sample_weight is None
                                                 else sample_weight[rows], bound))
        return {"X_thresholds_": _object_array([x for x, _ in knots]),
                "y_thresholds_": _object_array([p for _, p in knots])}

    def _apply_map(self, logits, cache, *, X_thresholds_, y_thresholds_):
        scores = class_score_matrix(logits, cache)
        proba = np.column_stack([np.interp(scores[:, j], X_thresholds_[j], y_thresholds_[j])
                                 for j in range(scores.shape[1])])
        return logits_from_class_probabilities(proba)

    @property
    def isotonic_(self):
        x, p = self.X_thresholds_, self.y_thresholds_  # AttributeError before fit
        regressions = np.empty(x.shape, dtype=object)
        for index in np.ndindex(x.shape):
            regressions[index] = IsotonicRegression(out_of_bounds="clip").fit(x[index], p[index])
        return regressions


def _object_array(arrays):
    result = np.empty(len(arrays), dtype=object)
    result[:] = arrays
    return result


def _rows_of_each_class(y, n_classes):
    """The rows of each class, by class index."""
    order = np.argsort(y, kind="stable")
    counts = np.bincount(y, minlength=n_classes)
    return np.split(order, np.cumsum(counts)[:-1])


def _isotonic_knots(x, is_positive, weight, bound):
    """The knots of scikit-learn's ``IsotonicRegression(y_min=bound,
    y_max=1 - bound)`` fitted to ``is_positive`` against the sorted scores ``x``.

    As scikit-learn does: rows of zero weight are dropped, scores closer than
    float64's resolution are one knot holding their weighted mean outcome, and
    the interior knots of flat runs are dropped (they do not change the map).
    ``is_positive`` may also count the positives at each position (equal scores
    are one knot, so which of them holds a positive does not matter).
    """
    outcome = is_positive.astype(np.float64)
    unweighted = weight is None
    if unweighted:
        weight = np.ones_like(x)
    else:
        kept = weight > 0
        x, outcome, weight = x[kept], outcome[kept], weight[kept]
    starts = np.flatnonzero(np.r_[True, np.diff(x) >= np.finfo(np.float64).resolution])
    if starts.shape[0] == x.shape[0] and unweighted:  # every knot one row of weight 1
        knot_weight, mean = weight, outcome
    else:
        knot_weight = np.add.reduceat(weight, starts)
        mean = np.add.reduceat(weight * outcome, starts) / knot_weight
    fitted = np.clip(isotonic_regression(mean, weights=knot_weight).x, bound, 1.0 - bound)
    needed = np.ones(fitted.shape[0], dtype=bool)
    needed[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return x[starts][needed], fitted[needed]
