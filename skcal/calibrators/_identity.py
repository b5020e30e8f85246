"""The identity map: the uncalibrated baseline of comparisons."""

from ._base import BaseCalibrator


class Uncalibrated(BaseCalibrator):
    """The scores as they are: ``softmax`` of the logits, or the probabilities.

    The baseline row of :func:`~skcal.compare_calibrators`. It goes through the
    same input handling as every calibrator, so a comparison scores all methods,
    this one included, on the same probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.calibrators._identity import Uncalibrated
    >>> Uncalibrated().fit([[2.0, 0.0], [0.0, 1.0]], [0, 1]).predict_proba([[0.0, 0.0]])
    array([[0.5, 0.5]])
    """

    def _fit_sharing(self, X, y, sample_weight, cache, fit_params=None):
        super()._fit_sharing(X, y, sample_weight, cache, fit_params)
        self.probability_floor_ = None  # the probabilities as they are, zeros included
        return self

    def _fit_map(self, logits, y, sample_weight, cache):
        return {}

    def _apply_map(self, logits, cache):
        return logits
