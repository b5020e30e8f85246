"""Matrix scaling: softmax(W z + b) with a full matrix; Dirichlet calibration on log-probabilities."""

from numbers import Integral, Real

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseCalibrator
from ._docstrings import _COMMON_ATTRIBUTES_DOC, _COMMON_PARAMETERS_DOC
from ..rows._blocks import total_weight
from ..solvers._matrix_fit import fit_matrix_scaling
from ..solvers._temperature_fit import fit_inverse_temperature
from ..solvers._vector_fit import VECTOR_SCALING_ALPHA, fit_vector_scaling
from ..utils._warnings import warn


class MatrixScaling(BaseCalibrator):
    __doc__ = f"""Matrix scaling: calibrated probabilities ``softmax(W z + b)``.

    A full ``K x K`` matrix ``W`` and an offset ``b`` (Guo et al. 2017) let every
    class's logit depend on all the others, so the map can undo confusions
    between classes, not only over- or under-confidence. Fed log-probabilities
    (a classifier's ``predict_proba``, or ``score_type='probabilities'``), this
    is Dirichlet calibration (Kull et al. 2019): ``softmax(W log p + b)`` is the
    posterior of class-conditional Dirichlet distributions of ``p``.

    The parameters minimise the NLL by L-BFGS with the analytic gradient,
    started from the vector-scaling solution (the scores are centred inside
    the fit, which makes L-BFGS several times faster). L-BFGS works in
    variables scaled by the Hessian at that start: its exact Cholesky factor
    when computing it is cheap (about ten classes); else each class's
    coefficients are rotated onto the principal axes of the scores and scaled
    by the Hessian's exact diagonal in those axes, then corrected to be exact
    on each class's own scale and offset ``(W_kk, b_k)`` and along the
    diagonal of ``W`` (the temperature). A fit that after 8 iterations would,
    at their rate, need more than 16 others (a confident model that confuses
    classes in groups) continues in variables exact on each class's block of
    the Hessian and on the scales and offsets of all classes together, at its
    current point: on the CIFAR-100 DenseNet of the benchmarks, 40-52
    iterations become 26-27 (the same penalised NLL to 1e-12). With ``K^2 + K``
    parameters it needs regularising: the ODIR penalties of Kull et al. (2019),
    one for the off-diagonal entries of ``W`` (toward 0) and one for the
    intercepts (toward the vector-scaling ones), plus ``alpha`` for the diagonal
    (toward the vector-scaling scales). Each penalty is a sum of squares added
    to the mean NLL and vanishes at the starting point, so the fitted NLL is
    never above vector scaling's, and the larger the penalties, the closer the
    map stays to vector scaling.

    The need for regularisation grows with the number of parameters per
    calibration sample, so the default penalties (``'auto'``) are
    ``0.5 * K^2 / n`` for ``n`` calibration samples (their total weight). On
    held-out halves of the CIFAR outputs of the benchmarks this gives 1.0 on
    CIFAR-100 (5000 samples, 10100 parameters), where it keeps the held-out NLL
    level with vector scaling (0.8747 against 0.8741; a penalty 100 times
    weaker gives 1.13), and 0.01 on CIFAR-10, where matrix scaling improves on
    vector scaling; on 3 classes and 5000 samples it is 0.001 and the fit is
    nearly unpenalised, as it can afford to be. Without an off-diagonal
    penalty, a fit with more parameters than calibration samples is refused.
    Each pass over the data costs about ``4 n K^2`` operations; a fit takes
    about 0.2 s at 10000 x 100 (see the benchmarks page) and minutes beyond
    K = 500, where :class:`VectorScaling` is the practical alternative (and
    where :func:`compare_calibrators` leaves it out of its default methods).
    Memory stays near ``K^2`` values: the exact class blocks, ``K (K + 1)^2``
    values, continue slow fits only up to about 320 classes.

    Parameters
    ----------
{_COMMON_PARAMETERS_DOC}
    off_diagonal_penalty : float or 'auto', default='auto'
        ODIR weight on the sum of squares of the off-diagonal entries of ``W``;
        ``'auto'`` is ``0.5 * K^2 / n``.

    intercept_penalty : float or 'auto', default='auto'
        ODIR weight on the sum of squares of the offsets at the mean score
        minus vector scaling's; ``'auto'`` is ``0.5 * K^2 / n``.

    alpha : float, default=1e-3
        Weight on the sum of squares of the diagonal of ``W`` minus the
        vector-scaling scales.

    tol : float, default=1e-7
        Gradient tolerance of L-BFGS, in its scaled variables (where half the
        squared gradient norm is about the objective's distance to its minimum).

    max_iter : int, default=1000
        Maximum number of L-BFGS iterations.

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes, n_classes)
        The matrix ``W`` (row ``k`` gives class ``k``'s calibrated logit). With
        ``ensemble=True``, one matrix per fold.

    intercept_ : ndarray of shape (n_classes,)
        The offsets ``b``, centred to sum to zero.

    n_iter_ : int
        L-BFGS iterations.

{_COMMON_ATTRIBUTES_DOC}
    See Also
    --------
    VectorScaling : The diagonal special case, fitted first.

    References
    ----------
    C. Guo et al., "On Calibration of Modern Neural Networks", ICML 2017.
    M. Kull et al., "Beyond temperature scaling: Obtaining well-calibrated
    multi-class probabilities with Dirichlet calibration", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import MatrixScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(20000, 3))
    >>> # the model confuses classes 0 and 1: their true logits are mixed
    >>> mixing = np.array([[1.5, 1.0, 0.0], [1.0, 1.5, 0.0], [0.0, 0.0, 2.0]])
    >>> true = logits @ mixing.T
    >>> p = np.exp(true) / np.exp(true).sum(axis=1, keepdims=True)
    >>> y = (p.cumsum(axis=1) > rng.random((20000, 1))).argmax(axis=1)
    >>> ms = MatrixScaling(off_diagonal_penalty=0, intercept_penalty=0, alpha=0).fit(logits, y)
    >>> # W is identified up to a common shift of each column; the true matrix,
    >>> # shifted likewise, is [[0.67, 0.17, -0.67], [0.17, 0.67, -0.67], [-0.83, -0.83, 1.33]]
    >>> (ms.coef_ - ms.coef_.mean(axis=0)).round(1)
    array([[ 0.7,  0.1, -0.7],
           [ 0.1,  0.7, -0.7],
           [-0.8, -0.8,  1.3]])
    """

    _map_attributes = ("coef_", "intercept_")
    _streams = True

    _parameter_constraints = {
        **BaseCalibrator._parameter_constraints,
        "off_diagonal_penalty": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "intercept_penalty": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
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
        off_diagonal_penalty="auto",
        intercept_penalty="auto",
        alpha=1e-3,
        tol=1e-7,
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
        self.off_diagonal_penalty = off_diagonal_penalty
        self.intercept_penalty = intercept_penalty
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter

    def _fit_map(self, logits, y, sample_weight, cache):
        n_samples, k = logits.n_rows, logits.n_columns
        n_params = k * (k + 1)
        auto = 0.5 * k * k / total_weight(n_samples, sample_weight)
        off_diagonal = auto if self.off_diagonal_penalty == "auto" else self.off_diagonal_penalty
        intercept = auto if self.intercept_penalty == "auto" else self.intercept_penalty
        if off_diagonal == 0 and n_params > n_samples:
            raise ValueError(
                f"MatrixScaling without an off-diagonal penalty has {n_params} "
                f"parameters ({k} classes) but only {n_samples} calibration samples. "
                "Set off_diagonal_penalty > 0 (ODIR), or use VectorScaling "
                f"({2 * k} parameters)."
            )
        beta, _, _ = fit_inverse_temperature(logits, y, sample_weight, cache=cache)
        # the start and the anchor of the penalties: VectorScaling's own fit (its
        # default options), which a comparison fits once for both. A start fitted
        # to 64 eps instead moved the fitted NLL by at most 5e-9 on the CIFAR
        # outputs of shared/data and synthetic logits, with the same iterations:
        # less than matrix scaling's own tolerance moves it (3e-8, tol=1e-7)
        a0, b0, _, _ = fit_vector_scaling(
            logits, y, sample_weight, a0=beta, alpha=VECTOR_SCALING_ALPHA,
            tol=1e-8, max_iter=1000, cache=cache,
        )
        W, b, n_iter, converged = fit_matrix_scaling(
            logits, y, sample_weight, a0=a0, b0=b0, alpha=self.alpha,
            off_diagonal=off_diagonal, intercept=intercept,
            tol=self.tol, max_iter=self.max_iter,
        )
        if not converged:
            warn(
                f"Matrix scaling did not converge in {n_iter} L-BFGS iterations; "
                "increase max_iter or the penalties.",
                ConvergenceWarning,
            )
        return {"coef_": W, "intercept_": b, "n_iter_": n_iter}

    def _apply_map(self, logits, cache, *, coef_, intercept_):
        return logits @ coef_.T + intercept_
