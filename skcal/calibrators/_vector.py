"""Vector scaling: softmax(a * z + b) with one scale and one offset per class."""

from numbers import Integral, Real

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from ._base import BaseCalibrator
from ._docstrings import _COMMON_ATTRIBUTES_DOC, _COMMON_PARAMETERS_DOC
from ..solvers._temperature_fit import fit_inverse_temperature
from ..solvers._vector_fit import VECTOR_SCALING_ALPHA, fit_vector_scaling
from ..utils._warnings import warn


class VectorScaling(BaseCalibrator):
    __doc__ = f"""Vector scaling: calibrated probabilities ``softmax(a * z + b)``.

    Each class ``k`` gets its own scale ``a_k`` and offset ``b_k`` (Guo et al.
    2017), a diagonal generalisation of temperature scaling that can also
    correct class-wise bias. The parameters minimise the negative
    log-likelihood with L-BFGS and the analytic gradient, started from the
    temperature-scaling solution (``a = 1 / T``, ``b = 0``). An approximate
    Hessian (each class's ``2 x 2`` block, corrected along the temperature
    direction, computed in the same pass as the loss) gives Newton steps from
    that start; L-BFGS then works in variables scaled by the approximation at
    the last step's start, where the Hessian is much closer to the minimum's
    (where it is still far from it, as on a vocabulary whose classes are mostly
    absent from the data, L-BFGS starts again every 20 iterations in the
    variables of the Hessian where it stands).
    On inputs of 2^18 values or more, those passes compute in float32 (the
    steps need a few digits, and float32 ``exp`` is three times faster): three
    of them, more while each step cuts the Newton decrement a hundredfold,
    before the exact passes of L-BFGS. On 10000 x 100 logits that is 3 float32
    passes and 2 exact ones, at 20000 x 1000 4 and 1, and 3 and 7 on the
    outputs of a CIFAR-100 network; smaller inputs take one exact Newton step
    (temperature scaling's own fit comes first).

    Unlike temperature scaling, vector scaling can change the predicted class.
    Given probabilities, it works on their logs; a binary problem with one
    score ``s`` per sample is the pair ``[0, s]``, for which the map reduces to
    ``sigmoid(a_1 * s + b_1 - b_0)``, Platt's sigmoid.

    Parameters
    ----------
{_COMMON_PARAMETERS_DOC}
    alpha : float, default=1e-3
        L2 penalty ``alpha / 2 * (||a - 1 / T||^2 + ||b||^2)`` added to the mean
        NLL, pulling the map toward the temperature-scaling solution (so the
        fitted NLL is never above temperature scaling's). ``alpha=0`` is the
        plain maximum-likelihood fit, which does not exist when the scores
        separate a class perfectly or a class is absent from the calibration
        data: a scale then grows without bound and one held-out mistake costs
        hundreds of nats. The default keeps such fits finite and changes
        well-posed ones very little (on the CIFAR-10 ResNet-50 logits of the
        benchmarks, held-out NLL 0.1692 with or without it).

    tol : float, default=1e-8
        Gradient tolerance of L-BFGS, in its scaled variables (where half the
        squared gradient norm is about the NLL's distance to its minimum). The
        fit also stops when an L-BFGS iteration lowers the penalised NLL by
        less than ``1e-12`` times it, or as soon as ten times half the
        squared gradient norm is below ``1e-12`` times it (without the pass
        that would confirm it), about 1e-13 nats from its minimum.

    max_iter : int, default=1000
        Maximum number of L-BFGS iterations.

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes,)
        The per-class scales ``a``. With ``ensemble=True``, one row per fold.

    intercept_ : ndarray of shape (n_classes,)
        The per-class offsets ``b``, centred to sum to zero (the softmax is
        invariant to a common shift).

    n_iter_ : int
        Newton steps of the start and L-BFGS iterations.

{_COMMON_ATTRIBUTES_DOC}
    See Also
    --------
    TemperatureScaling : One temperature for all classes.

    References
    ----------
    C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On Calibration of Modern
    Neural Networks", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import VectorScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(30000, 3))
    >>> # the true probabilities are softmax(2 * z + [1, 0, -1])
    >>> true = 2 * logits + np.array([1.0, 0.0, -1.0])
    >>> p = np.exp(true) / np.exp(true).sum(axis=1, keepdims=True)
    >>> y = (p.cumsum(axis=1) > rng.random((30000, 1))).argmax(axis=1)
    >>> vs = VectorScaling().fit(logits, y)
    >>> vs.coef_.round(1)
    array([2., 2., 2.])
    >>> vs.intercept_.round(1)
    array([ 1., -0., -1.])
    """

    _map_attributes = ("coef_", "intercept_")
    _streams = True
    _array_api = True

    _parameter_constraints = {
        **BaseCalibrator._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
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
        alpha=VECTOR_SCALING_ALPHA,
        tol=1e-8,
        max_iter=1000,
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
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter

    def _fit_map(self, logits, y, sample_weight, cache):
        beta, _, _ = fit_inverse_temperature(logits, y, sample_weight, cache=cache)
        a, b, n_iter, converged = fit_vector_scaling(
            logits,
            y,
            sample_weight,
            a0=beta,
            alpha=self.alpha,
            tol=self.tol,
            max_iter=self.max_iter,
            cache=cache,
        )
        if not converged:
            warn(
                f"Vector scaling did not converge in {n_iter} L-BFGS iterations; "
                "increase max_iter, or set alpha > 0 if the scores separate the "
                "classes perfectly.",
                ConvergenceWarning,
            )
        return {"coef_": a, "intercept_": b, "n_iter_": n_iter}

    def _apply_map(self, logits, cache, *, coef_, intercept_):
        return logits * coef_ + intercept_
