"""Isotonic calibration: a monotone step function per class, one-vs-rest."""

import numpy as np
from sklearn.isotonic import IsotonicRegression

from ._base import BaseCalibrator
from ._docstrings import _COMMON_ATTRIBUTES_DOC, _COMMON_PARAMETERS_DOC
from ._blocks import total_weight
from ._scores import (
    class_score_groups,
    class_scores,
    log_odds,
    logits_from_class_log_odds,
)


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
    isotonic_ : ndarray of IsotonicRegression, shape (1,) for binary problems, \
            else (n_classes,)
        The fitted regressions. With ``ensemble=True``, one row per fold.

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

    _map_attributes = ("isotonic_",)

    def _fit_map(self, logits, y, sample_weight):
        # isotonic fits use the scores' order only; a group of classes at a time
        bound = 1.0 / (total_weight(y.shape[0], sample_weight) + 2.0)
        regressions = []
        for positives, scores in class_score_groups(logits):
            for column, k in enumerate(positives):
                regressions.append(IsotonicRegression(
                    y_min=bound, y_max=1.0 - bound, out_of_bounds="clip"
                ).fit(scores[:, column], (y == k).astype(np.float64), sample_weight))
        fitted = np.empty(len(regressions), dtype=object)
        fitted[:] = regressions
        return {"isotonic_": fitted}

    def _apply_map(self, logits, *, isotonic_):
        scores, _ = class_scores(logits)
        proba = np.column_stack(
            [regression.predict(scores[:, j]) for j, regression in enumerate(isotonic_)]
        )
        return logits_from_class_log_odds(log_odds(proba))
