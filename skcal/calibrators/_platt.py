"""Platt scaling: sigmoid(a * s + b) fitted by NLL, one-vs-rest for multiclass."""

from numbers import Integral, Real

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from ._base import BaseCalibrator
from ._docstrings import _COMMON_ATTRIBUTES_DOC, _COMMON_PARAMETERS_DOC
from ..solvers._logistic import fit_class_groups, one_vs_rest_targets, warn_separated
from ..solvers._platt_fit import shared_platt_fit
from ..rows._one_vs_rest import class_score_matrix, logits_from_class_log_odds
from ..solvers._temperature_fit import held_inverse_temperature
from ..utils._warnings import warn


class PlattScaling(BaseCalibrator):
    __doc__ = f"""Platt scaling: calibrated probabilities ``sigmoid(a * s + b)``.

    For a binary problem, ``s`` is the classifier's logit (its decision
    function, or ``log p - log(1 - p)`` of its probability) and ``a``, ``b``
    minimise the negative log-likelihood of the labels, by Newton's method with
    the exact Hessian, started at the constant map (``a = 0``), or, within
    :func:`~skcal.compare_calibrators`, at the better of that and the
    temperature fit's slope (``a = 1 / T``, ``b = 0``) on the same fold (about
    half the passes on real models; the same optimum to ``tol``). For
    ``K > 2`` classes, one sigmoid per class is fitted one-vs-rest on that
    class's log-odds ``log p_k - log(1 - p_k)`` and the ``K`` outputs are
    renormalised to sum to one; :class:`VectorScaling` is the multinomial
    alternative, fitted jointly.

    Parameters
    ----------
{_COMMON_PARAMETERS_DOC}
    smoothing : bool, default=False
        ``False`` fits the raw 0/1 labels, minimising the NLL. ``True`` uses
        Platt's (1999) targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``,
        which is what scikit-learn's ``method="sigmoid"`` fits; it guards
        against overfitting on tiny calibration sets at the cost of a higher
        NLL on large ones. With ``False``, a class that its scores separate
        perfectly in the calibration data (or that is absent from it) has no
        finite NLL optimum; that class is fitted on the smoothed targets
        instead, with a warning that names it.

    tol : float, default=1e-12
        Stop when the Newton decrement (the predicted NLL reduction, in nats)
        falls below ``tol``, or after the step whose next decrement the
        quadratic convergence of the last one predicts below ``tol / 10``.

    max_iter : int, default=100
        Maximum number of Newton iterations per sigmoid.

    Attributes
    ----------
    coef_ : ndarray of shape (1,) for binary problems, else (n_classes,)
        The slopes ``a``. With ``ensemble=True``, one row per fold.

    intercept_ : ndarray of shape (1,) for binary problems, else (n_classes,)
        The offsets ``b``.

    n_iter_ : ndarray of int, same shape as ``coef_``
        Newton iterations of each sigmoid (all sigmoids are fitted together,
        one pass over the data per iteration).

{_COMMON_ATTRIBUTES_DOC}
    See Also
    --------
    VectorScaling : The multinomial generalisation, fitted jointly.
    TemperatureScaling : One temperature for all classes.

    References
    ----------
    J. Platt, "Probabilistic Outputs for Support Vector Machines and
    Comparisons to Regularized Likelihood Methods", Advances in Large Margin
    Classifiers, 1999.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import PlattScaling
    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(scale=2.0, size=5000)
    >>> y = (rng.random(5000) < 1 / (1 + np.exp(-(0.5 * s - 1.0)))).astype(int)
    >>> platt = PlattScaling().fit(s, y)
    >>> platt.coef_.round(1), platt.intercept_.round(1)
    (array([0.5]), array([-1.]))
    >>> platt.predict_proba(np.array([0.0, 2.0])).round(3)
    array([[0.727, 0.273],
           [0.49 , 0.51 ]])
    """

    _map_attributes = ("coef_", "intercept_")
    _streams = True
    _starts_from_class_totals = True  # the one-vs-rest targets' start
    _array_api = True

    _parameter_constraints = {
        **BaseCalibrator._parameter_constraints,
        "smoothing": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        cv=None,
        ensemble=False,
        n_jobs=None,
        response_method="auto",
        score_type="auto",
        ignore_index=None,
        smoothing=False,
        tol=1e-12,
        max_iter=100,
    ):
        super().__init__(
            estimator,
            cv=cv,
            ensemble=ensemble,
            n_jobs=n_jobs,
            response_method=response_method,
            score_type=score_type,
            ignore_index=ignore_index,
        )
        self.smoothing = smoothing
        self.tol = tol
        self.max_iter = max_iter

    def _fit_map(self, logits, y, sample_weight, cache):
        # in a comparison's fold, the temperature fit's slope is one start of
        # every class's map (alone, its fit would cost more than it saves)
        slope = held_inverse_temperature(logits, y, sample_weight, cache=cache)

        def fit_group(score_rows, positives):
            *targets, separated = one_vs_rest_targets(
                score_rows, positives, y, sample_weight, self.smoothing, cache
            )
            return (*shared_platt_fit(score_rows, positives, y, sample_weight, targets,
                                      tol=self.tol, max_iter=self.max_iter, slope=slope,
                                      cache=cache),
                    separated)

        params, n_iter, converged, separated = fit_class_groups(logits, fit_group, cache)
        warn_separated(separated, " Use more calibration data, or smoothing=True throughout.")
        if not converged.all():
            warn(
                f"Platt scaling did not converge in {self.max_iter} Newton "
                "iterations for some class; the scores may separate it perfectly "
                "(try smoothing=True).",
                ConvergenceWarning,
            )
        return {"coef_": params[:, 0].copy(), "intercept_": params[:, 1].copy(),
                "n_iter_": n_iter}

    def _apply_map(self, logits, cache, *, coef_, intercept_):
        scores = class_score_matrix(logits, cache)
        return logits_from_class_log_odds(scores * coef_ + intercept_)
