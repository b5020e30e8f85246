"""Beta calibration: a monotone three-parameter map of each class's probability."""

from numbers import Integral, Real

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from ._base import BaseCalibrator
from ._docstrings import _COMMON_ATTRIBUTES_DOC, _COMMON_PARAMETERS_DOC
from ..solvers._beta_fit import beta_features, fit_beta, platt_start_of_beta
from ..solvers._logistic import fit_class_groups, one_vs_rest_targets, warn_separated
from ..rows._one_vs_rest import class_score_matrix, logits_from_class_log_odds
from ..utils._warnings import warn
from ..utils._reuse import Key, offer_start, start_of


class BetaCalibration(BaseCalibrator):
    __doc__ = f"""Beta calibration: ``logit(q) = a log p - b log(1 - p) + c`` with ``a, b >= 0``.

    The map of Kull, Silva Filho and Flach (2017) for binary classifiers: a
    family that holds the identity (``a = b = 1``, ``c = 0``), Platt's sigmoid on
    the logit (``a = b``), and also S-shaped and inverse-S-shaped corrections
    of a probability ``p`` that a sigmoid on the logit cannot make. The
    constraint ``a, b >= 0`` keeps the map monotone. The three parameters
    minimise the negative log-likelihood (projected Newton with the exact
    Hessian; all classes' maps in one pass over the data per iteration),
    started at the identity, or, within
    :func:`~skcal.compare_calibrators`, at Platt scaling's fit on the same
    fold when the comparison has it (the best ``a = b`` map, which takes about
    half the Newton passes; the same optimum to ``tol``).
    For ``K > 2`` classes one map per class is fitted one-vs-rest on that
    class's probability and the outputs are renormalised.

    ``p`` is the probability the scores give (the sigmoid of a binary
    decision function). When a class is separated perfectly in the
    calibration data (or absent from it), its map is fitted on Platt's
    smoothed targets, with a warning, as the NLL has no finite optimum there.

    Parameters
    ----------
{_COMMON_PARAMETERS_DOC}
    tol : float, default=1e-12
        Stop when the Newton decrement of a map (the predicted NLL reduction,
        in nats) falls below ``tol``, or after the step whose next decrement
        the quadratic convergence of the last one predicts below ``tol / 10``.

    max_iter : int, default=100
        Maximum number of Newton iterations.

    Attributes
    ----------
    coef_ : ndarray of shape (1, 2) for binary problems, else (n_classes, 2)
        ``[a, b]`` of each map. With ``ensemble=True``, one block per fold.

    intercept_ : ndarray of shape (1,) for binary problems, else (n_classes,)
        ``c`` of each map.

    n_iter_ : ndarray of int
        Newton iterations of each map (all maps are fitted together, one pass
        over the data per iteration).

{_COMMON_ATTRIBUTES_DOC}
    See Also
    --------
    PlattScaling : The special case ``a = b``, fitted on the logit.

    References
    ----------
    M. Kull, T. Silva Filho and P. Flach, "Beta calibration: a well-founded and
    easily implemented improvement on logistic calibration for binary
    classifiers", AISTATS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import BetaCalibration
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.01, 0.99, size=20000)
    >>> y = (rng.random(20000) < p**2).astype(int)  # the model is overconfident
    >>> beta = BetaCalibration().fit(p, y)
    >>> beta.predict_proba(np.array([0.2, 0.5, 0.9]))[:, 1].round(2)
    array([0.04, 0.25, 0.81])
    """

    _map_attributes = ("coef_", "intercept_")
    _streams = True
    _starts_from_class_totals = True  # the one-vs-rest targets' start

    _parameter_constraints = {
        **BaseCalibrator._parameter_constraints,
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
        self.tol = tol
        self.max_iter = max_iter

    def _fit_map(self, logits, y, sample_weight, cache):
        def fit_group(score_rows, positives):
            *targets, separated = one_vs_rest_targets(
                score_rows, positives, y, sample_weight, smoothing=False, cache=cache
            )
            match = tuple(int(k) for k in positives)
            start = start_of(cache, Key.BETA_FIT, match)  # another fold's fit
            if start is None:
                start = platt_start_of_beta(score_rows, positives, y, sample_weight,
                                            targets, tol=self.tol, max_iter=self.max_iter,
                                            cache=cache)
            fit = fit_beta(score_rows, positives, y, sample_weight, targets,
                           tol=self.tol, max_iter=self.max_iter, start=start)
            offer_start(cache, Key.BETA_FIT, match, fit[0])
            return (*fit, separated)

        params, n_iter, converged, separated = fit_class_groups(logits, fit_group, cache)
        warn_separated(separated)
        if not converged.all():
            warn(
                f"Beta calibration did not converge in {self.max_iter} Newton iterations "
                "for some class; increase max_iter.",
                ConvergenceWarning,
            )
        return {"coef_": params[:, :2], "intercept_": params[:, 2], "n_iter_": n_iter}

    def _apply_map(self, logits, cache, *, coef_, intercept_):
        scores = class_score_matrix(logits, cache)
        log_p, minus_log_q = beta_features(scores)
        return logits_from_class_log_odds(
            coef_[:, 0] * log_p + coef_[:, 1] * minus_log_q + intercept_
        )
