"""Calibration metrics and scorers: NLL, Brier, the ECE family, and more.

Every metric takes ``(y_true, y_prob, *, sample_weight=None, labels=None, ...)``,
string or integer labels, binary 1-D probabilities of the positive class or
(n_samples, n_classes) matrices, and accepts a ``y_true`` lacking some class.
"""

from ._brier import brier_score
from ._decomposition import NLLDecomposition, nll_decomposition
from ._curve import CalibrationCurve, calibration_curve
from ._ece import expected_calibration_error, maximum_calibration_error
from ._nll import nll, nll_from_logits, perplexity
from ._predictive import (
    EnsembleNLL,
    ensemble_nll,
    predictive_log_proba,
    predictive_nll,
    predictive_perplexity,
)
from ._scorer import get_scorer, get_scorer_names, register_scorers
from ._skce import skce
from ._smooth_ece import smooth_ece

__all__ = [
    "CalibrationCurve",
    "EnsembleNLL",
    "NLLDecomposition",
    "brier_score",
    "calibration_curve",
    "ensemble_nll",
    "expected_calibration_error",
    "get_scorer",
    "get_scorer_names",
    "maximum_calibration_error",
    "nll",
    "nll_decomposition",
    "nll_from_logits",
    "perplexity",
    "predictive_log_proba",
    "predictive_nll",
    "predictive_perplexity",
    "register_scorers",
    "skce",
    "smooth_ece",
]
