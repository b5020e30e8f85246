"""Numerical solvers of the multinomial calibration maps (temperature, vector, matrix).

Each evaluates a weighted mean negative log-likelihood and its derivatives as a
sum over row blocks through :class:`~skcal._blocks.Rows`, so the same solver
runs on an array in memory, a memory-mapped or Zarr file, or a Dask cluster,
with temporaries of one block. Heavy elementwise work stays in the compute
dtype (float32 input is exponentiated in float32); sums across rows are
accumulated in float64.
"""

import math

import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from . import _device_kernels as device
from ._blocks import BLOCK_ELEMENTS, Rows, row_blocks, total_weight, weighted_sum
from ._preconditioner import Preconditioner

# Temperature fits on more rows than four times this start from a fit on a
# strided subsample of about this many rows (fewer for very wide inputs, so the
# subsample stays under _WARM_START_ELEMENTS values).
_WARM_START_ROWS = 8192
_WARM_START_ELEMENTS = 2**24
# VectorScaling's default penalty, also the one matrix scaling starts from.
VECTOR_SCALING_ALPHA = 1e-3


def as_rows(Z):
    """``Z`` as :class:`~skcal._blocks.Rows` (an array in memory is wrapped, not copied)."""
    return Z if isinstance(Z, Rows) else Rows(Z)


# --------------------------------------------------------------------------- #
# Temperature scaling: NLL(beta) = mean(logsumexp(beta * z) - beta * z_y)
# --------------------------------------------------------------------------- #
def _temperature_block(z, y, w, beta, with_facts):
    """One block's weighted sums for the temperature problem at ``beta``.

    Returns (nll, gradient, hessian, spread[, gradient at 0, rows off top]):
    ``spread`` sums ``E_p[max z - z]``, the scale of the rounding error of the
    float sums behind the gradient.
    """
    if not isinstance(z, np.ndarray):
        return device.temperature_block(z, y, w, beta, with_facts)
    idx = np.arange(z.shape[0])
    top = z.max(axis=1)
    true_shifted = z[idx, y].astype(np.float64) - top
    shifted = z - top[:, None]
    e = np.multiply(shifted, z.dtype.type(beta))
    np.exp(e, out=e)
    s0 = e.sum(axis=1).astype(np.float64)
    np.multiply(e, shifted, out=e)
    s1 = e.sum(axis=1).astype(np.float64)
    # the Hessian needs no pairwise summation: a row dot product, without a write
    s2 = np.einsum("ij,ij->i", e, shifted).astype(np.float64)
    mean = s1 / s0  # E_p[z] - max
    sums = (
        weighted_sum(np.log(s0) - beta * true_shifted, w),
        weighted_sum(mean - true_shifted, w),
        weighted_sum(np.maximum(s2 / s0 - mean * mean, 0.0), w),
        -weighted_sum(mean, w),
    )
    if not with_facts:
        return sums
    row_mean = shifted.sum(axis=1).astype(np.float64) / z.shape[1]
    weighted = np.ones(z.shape[0], dtype=bool) if w is None else w > 0
    off_top = (true_shifted < 0) & weighted
    if not off_top.any():  # every true class is a row maximum: is it the only one?
        off_top = (np.count_nonzero(shifted == 0, axis=1) > 1) & weighted
    return sums + (weighted_sum(row_mean - true_shifted, w), int(np.count_nonzero(off_top)))


class _TemperatureProblem:
    """Weighted NLL of ``softmax(beta * Z)`` and its first two derivatives in beta.

    Each evaluation is one pass over ``Z`` with ``exp(beta * (z - max))``, which
    never overflows for ``beta > 0``. The first pass also records the gradient
    at ``beta = 0`` (uniform predictions) and whether every weighted row's true
    class has the strictly largest logit (the NLL then keeps falling as the
    temperature goes to 0).
    """

    def __init__(self, rows, y, sample_weight):
        self.rows = rows
        self.y = y
        self.w = sample_weight
        self.total_weight = total_weight(rows.n_rows, sample_weight)
        # relative rounding error of a float sum over the classes (pairwise summation)
        eps = float(np.finfo(rows.dtype).eps)
        self.rounding = 4.0 * eps * math.log2(rows.n_columns + 1.0)
        self.n_passes = 0
        self.gradient_at_zero = None
        self.separated = None

    def evaluate(self, beta):
        """Return (nll, gradient, hessian, rounding level of the gradient) at ``beta``."""
        first = self.gradient_at_zero is None
        sums = self.rows.reduce(
            lambda z, y, w: _temperature_block(z, y, w, beta, first), self.y, self.w
        )
        self.n_passes += 1
        if first:
            self.gradient_at_zero = sums[4] / self.total_weight
            self.separated = sums[5] == 0
        nll, grad, hess, spread = (value / self.total_weight for value in sums[:4])
        return nll, grad, hess, self.rounding * spread


def _binary_difference(z):
    return z[:, 1] - z[:, 0]


class _BinaryTemperatureProblem:
    """The same NLL for two classes, where it depends only on ``d = z_1 - z_0``:
    ``mean(softplus(beta * d) - y * beta * d)``, solved on that one vector (one
    pass over the scores extracts it)."""

    def __init__(self, d, y, sample_weight):
        self.d = d
        self.y = y.astype(d.dtype)
        self.w = sample_weight
        self.total_weight = total_weight(d.shape[0], sample_weight)
        half = d.dtype.type(0.5)
        self.gradient_at_zero = self._sum((half - self.y) * d) / self.total_weight
        keep = slice(None) if self.w is None else self.w > 0
        signed = np.where(self.y[keep] > 0, d[keep], -d[keep])
        self.separated = bool(np.all(signed > 0))
        self.rounding = 4.0 * float(np.finfo(d.dtype).eps)
        self.n_passes = 1

    def _sum(self, values, rows=slice(None)):
        return weighted_sum(values, None if self.w is None else self.w[rows])

    def evaluate(self, beta):
        """Return (nll, gradient, hessian, rounding level of the gradient) at ``beta``."""
        beta_t = self.d.dtype.type(beta)
        nll = grad = hess = spread = 0.0
        for rows in row_blocks(self.d.shape[0], 1, block_elements=BLOCK_ELEMENTS // 4):
            d, y = self.d[rows], self.y[rows]
            u = d * beta_t
            e = np.exp(-np.abs(u))
            p = np.where(u >= 0, 1, e) / (1 + e)  # sigmoid(u)
            nll += self._sum(np.log1p(e) + np.maximum(u, 0) - y * u, rows)
            grad += self._sum((p - y) * d, rows)
            hess += self._sum(p * (1 - p) * d * d, rows)
            spread += self._sum(np.abs(d), rows)
        total = self.total_weight
        return nll / total, grad / total, hess / total, self.rounding * spread / total


def _safeguarded_newton(problem, beta, first, *, tol, max_iter):
    """Minimise the convex NLL(beta) from ``beta``; returns (beta, n_iter, converged).

    ``first`` is the evaluation at ``beta``, already made. Newton steps are kept
    inside the bracket that the sign of the gradient builds: a step leaving it
    is replaced by bisection (or expansion while no upper end is known). Stops
    when ``|d NLL / d log(beta)| = |beta * grad|`` is below ``tol`` or below the
    rounding level of the computed gradient (float32 sums over many classes are
    not exact to 1e-7), then takes the final Newton step.
    """
    low, high = 0.0, math.inf
    evaluation = first
    for n_iter in range(1, max_iter + 1):
        _, grad, hess, rounding = evaluation
        if grad < 0:
            low = beta
        else:
            high = beta
        newton = beta - grad / hess if hess > 0 else math.nan
        in_bracket = low < newton < high
        if abs(beta * grad) <= max(tol, beta * rounding):
            return (newton if in_bracket else beta), n_iter, True
        if in_bracket:
            step_to = newton
        elif math.isfinite(high):
            step_to = 0.5 * (low + high)
        else:
            step_to = 4.0 * beta
        if abs(step_to - beta) <= 1e-13 * beta:
            return step_to, n_iter, True
        beta = step_to
        evaluation = problem.evaluate(beta)
    return beta, max_iter, False


def _solve_temperature(problem, beta, *, tol, max_iter):
    """(beta, converged) of a temperature problem started at ``beta``; beta is 0.0
    when the scores carry no information."""
    first = problem.evaluate(beta)
    if not problem.gradient_at_zero < 0:
        return 0.0, True
    beta, _, converged = _safeguarded_newton(problem, beta, first, tol=tol, max_iter=max_iter)
    return beta, converged and not problem.separated


def _warm_start(rows, y, sample_weight, max_iter):
    """A starting inverse temperature from a strided row subsample (1.0 for small inputs)."""
    n_sub = min(_WARM_START_ROWS, max(256, _WARM_START_ELEMENTS // rows.n_columns))
    if rows.n_rows <= 4 * n_sub:
        return 1.0
    index = np.arange(0, rows.n_rows, rows.n_rows // n_sub)
    sub_w = None if sample_weight is None else sample_weight[index]
    if sub_w is not None and not sub_w.sum() > 0:
        return 1.0
    sub = _TemperatureProblem(Rows(rows.take(index)), y[index], sub_w)
    beta, converged = _solve_temperature(sub, 1.0, tol=1e-3, max_iter=max_iter)
    return beta if converged and beta > 0 else 1.0


def fit_inverse_temperature(Z, y, sample_weight=None, *, tol=1e-7, max_iter=100):
    """Inverse temperature ``beta`` minimising the NLL of ``softmax(beta * Z)``.

    Parameters
    ----------
    Z : ndarray or Rows of shape (n_samples, n_classes)
        Logits.

    Returns
    -------
    beta : float
        0.0 when the scores carry no information (the optimum lies at
        ``beta <= 0``).
    n_passes : int
        Passes over the full data (a fit on a strided subsample gives the
        starting point for large inputs; two classes take one pass to extract
        ``z_1 - z_0`` and then work on that vector).
    converged : bool
        False also when the scores separate the classes perfectly (no finite
        optimum): ``beta`` is then where the gradient fell below ``tol``.
    """
    rows = as_rows(Z)
    if rows.n_columns == 2 and rows.xp is None:
        problem = _BinaryTemperatureProblem(rows.map_rows(_binary_difference), y, sample_weight)
        beta = 1.0
    else:
        beta = _warm_start(rows, y, sample_weight, max_iter)
        problem = _TemperatureProblem(rows, y, sample_weight)
    beta, converged = _solve_temperature(problem, beta, tol=tol, max_iter=max_iter)
    return beta, problem.n_passes, converged


# --------------------------------------------------------------------------- #
# Vector scaling: NLL of softmax(a * z + b) with a, b per class
# --------------------------------------------------------------------------- #
def _softmax_in_place(logits, y, w):
    """Weighted NLL of ``softmax(logits)`` for one block, and the probabilities,
    written over ``logits`` (a float64 scratch array)."""
    idx = np.arange(logits.shape[0])
    top = logits.max(axis=1)
    true_shifted = logits[idx, y] - top
    logits -= top[:, None]
    proba = np.exp(logits, out=logits)
    total = proba.sum(axis=1)
    proba /= total[:, None]
    return weighted_sum(np.log(total) - true_shifted, w), proba


def _residual_in_place(proba, y, w):
    """``w * (proba - onehot(y))``, the NLL's gradient in the logits, over ``proba``."""
    proba[np.arange(proba.shape[0]), y] -= 1.0
    if w is not None:
        proba *= w[:, None]
    return proba


def _vector_block(z, y, w, a, b, curvature=False):
    """Loss and gradient sums of one block at ``(a, b)``; with ``curvature``,
    also the sums behind the Hessian's blocks (see :func:`vector_scaling_loss_grad`)."""
    if not isinstance(z, np.ndarray):
        return device.vector_block(z, y, w, a, b, curvature)
    if curvature:
        return _vector_curvature_sums(z, y, w, a, b)
    return _vector_sums(z, y, w, a, b)


# the plain pass folds the offsets into the row sums while their spread is below
# this (so exp(b - max b) stays a normal float64); beyond, it adds them first
_OFFSET_SPREAD = 600.0


def _true_class_sums(z, y, w, k):
    """Per class: the weight, and the weighted sum of ``z``, of the rows labelled so."""
    true_z = np.asarray(z[np.arange(z.shape[0]), y], dtype=np.float64)
    return (np.bincount(y, weights=w, minlength=k),
            np.bincount(y, weights=true_z if w is None else w * true_z, minlength=k))


def _vector_sums(z, y, w, a, b):
    """Loss and gradient sums of one block at ``(a, b)``, in four passes over it.

    With ``e = exp(a z - max(a z))`` per row and ``B = exp(b - max b)``, the
    probabilities are ``e B / (e @ B)``; they are never formed: with
    ``r = w / (e @ B)``, the gradient's sums are ``B (r @ e)`` and
    ``B (r @ (e z))`` (matrix-vector products), less the same sums over the
    true classes. The shift ``max(a z) + max b`` is at least the row's largest
    calibrated logit, and at most ``max b - min b`` above it.
    """
    n, k = z.shape
    if b.max() - b.min() > _OFFSET_SPREAD:  # fold the offsets into the logits instead
        calibrated = z * a
        calibrated += b
        return _vector_sums_of_logits(calibrated, z, y, w)
    offsets = np.exp(b - b.max())
    logits = z * a  # float64, as a is
    rows = np.arange(n)
    top = logits.max(axis=1)
    true_shifted = logits[rows, y] - top + (b[y] - b.max())
    logits -= top[:, None]
    e = np.exp(logits, out=logits)
    total = e @ offsets
    loss = weighted_sum(np.log(total) - true_shifted, w)
    r = 1.0 / total if w is None else w / total
    true_weight, true_z = _true_class_sums(z, y, w, k)
    grad_b = (r @ e) * offsets - true_weight
    e *= z
    grad_a = (r @ e) * offsets - true_z
    return loss, grad_a, grad_b


def _vector_sums_of_logits(calibrated, z, y, w):
    """:func:`_vector_sums` from the calibrated logits (overwritten)."""
    rows = np.arange(calibrated.shape[0])
    top = calibrated.max(axis=1)
    true_shifted = calibrated[rows, y] - top
    calibrated -= top[:, None]
    e = np.exp(calibrated, out=calibrated)
    total = e.sum(axis=1)
    loss = weighted_sum(np.log(total) - true_shifted, w)
    r = 1.0 / total if w is None else w / total
    true_weight, true_z = _true_class_sums(z, y, w, calibrated.shape[1])
    grad_b = r @ e - true_weight
    e *= z
    return loss, r @ e - true_z, grad_b


def _vector_curvature_sums(z, y, w, a, b):
    """:func:`_vector_sums` and the sums behind the Hessian: per class, the
    weighted sums of ``c z^2``, ``c z`` and ``c`` (``c = p (1 - p)``, the
    diagonal ``2 x 2`` blocks), and of ``p z (z - m)`` and ``p (z - m)`` with
    ``m = sum_j p_j z_j`` per row (the Hessian times the temperature direction)."""
    calibrated = z * a
    calibrated += b
    loss, p = _softmax_in_place(calibrated, y, w)
    if w is not None:
        weighted_p = p * w[:, None]
    spread = p * p
    np.subtract(p, spread, out=spread)  # p (1 - p)
    if w is not None:
        spread *= w[:, None]
    spread_z = spread * z
    pz = p * z
    row_mean = pz.sum(axis=1)  # m
    if w is not None:
        p, pz = weighted_p, pz * w[:, None]
    pz_sum, p_sum = pz.sum(axis=0), p.sum(axis=0)
    true_weight, true_z = _true_class_sums(z, y, w, z.shape[1])
    return (
        loss, pz_sum - true_z, p_sum - true_weight,
        np.einsum("ij,ij->j", spread_z, z), spread_z.sum(axis=0), spread.sum(axis=0),
        np.einsum("ij,ij->j", pz, z) - row_mean @ pz, pz_sum - row_mean @ p,
    )


def vector_scaling_loss_grad(params, Z, y, sample_weight, n_total, curvature=False):
    """Weighted mean NLL of ``softmax(a * Z + b)`` and its gradient in ``(a, b)``.

    With ``curvature``, also ``(haa, hab, hbb, h_temperature)``: the diagonal
    ``2 x 2`` block of the Hessian of each class and the Hessian times the
    temperature direction (every ``a_k`` up by 1).
    """
    rows = as_rows(Z)
    k = rows.n_columns
    a, b = params[:k], params[k:]
    sums = rows.reduce(lambda z, y, w: _vector_block(z, y, w, a, b, curvature),
                       y, sample_weight)
    scale = 1.0 / n_total
    loss, gradient = sums[0] * scale, np.concatenate(sums[1:3]) * scale
    if not curvature:
        return loss, gradient
    haa, hab, hbb, along_a, along_b = (value * scale for value in sums[3:])
    return loss, gradient, (haa, hab, hbb, np.concatenate([along_a, along_b]))


def _evaluated_once(first, evaluate):
    """``evaluate(params)``, except that the first call returns ``first``: L-BFGS
    starts where the loss and gradient were already computed (with curvature)."""
    pending = [first]

    def loss_grad(params):
        return pending.pop() if pending else evaluate(params)

    return loss_grad


def _minimize_round(objective, x0, *, tol, max_iter, maxcor=10,
                    ftol=64 * np.finfo(float).eps):
    """L-BFGS-B on ``objective(x) -> (loss, gradient)`` in variables where the
    Hessian is about the identity, so that the Newton step is about ``-gradient``.

    L-BFGS-B's first trial step has unit length whatever the gradient's size
    (later ones come from its curvature pairs); here it would overshoot the
    minimum by ``1 / |gradient|`` and cost line-search evaluations. The
    variables are therefore divided by ``|gradient|`` at ``x0``, which makes
    that first step exactly ``-gradient``; ``tol`` still bounds the largest
    gradient entry in ``x``. L-BFGS also stops when an iteration lowers the
    objective by less than ``ftol`` times it (or than ``ftol`` nats, below 1).
    Returns ``(x, result)``.
    """
    first = objective(x0)
    scale = float(np.linalg.norm(first[1]))
    if not (np.isfinite(scale) and scale > 0):
        scale = 1.0
    evaluate = _evaluated_once(first, objective)

    def scaled(u):
        loss, grad = evaluate(u * scale)
        return loss, grad * scale

    result = minimize(scaled, x0 / scale, jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter, "gtol": tol * scale,
                               "ftol": ftol, "maxcor": maxcor})
    return result.x * scale, result


# Vector scaling's L-BFGS stops when an iteration lowers the objective by less
# than this fraction of it. From the refreshed Hessian each iteration divides the
# distance to the minimum by 10 to 1000, so it stops within about 1e-13 of it
# (on 12 checked datasets the objective was within 2e-14 of the fit run to
# machine precision).
_VECTOR_RELATIVE_DECREASE = 1e-12


def fit_vector_scaling(Z, y, sample_weight, *, a0, alpha, tol, max_iter,
                       relative_decrease=_VECTOR_RELATIVE_DECREASE):
    """L-BFGS fit of ``softmax(a * Z + b)``, started at ``a = a0``, ``b = 0``.

    ``alpha`` adds ``alpha / 2 * (||a - a0||^2 + ||b||^2)`` to the mean NLL.
    L-BFGS works in the variables of a :class:`~skcal._preconditioner.Preconditioner`
    built from the Hessian at the start (the first pass computes it beside the
    loss), which cuts its iterations several times. ``tol`` bounds the
    gradient in those variables, whose squared norm is about twice the
    distance of the NLL to its minimum; it also stops when an iteration lowers
    the objective by less than ``relative_decrease`` times it. Returns
    (a, b, n_iter, converged).
    """
    rows = as_rows(Z)
    k = rows.n_columns
    n_total = total_weight(rows.n_rows, sample_weight)
    start = np.concatenate([np.full(k, a0), np.zeros(k)])

    def penalised(params, loss, grad):
        diff = params - start
        return loss + 0.5 * alpha * diff @ diff, grad + alpha * diff

    def curvature_at(params):
        """The loss and gradient at ``params`` and the variables of its Hessian."""
        loss, grad, (haa, hab, hbb, along_temperature) = vector_scaling_loss_grad(
            params, rows, y, sample_weight, n_total, curvature=True)
        directions = np.zeros((2 * k, 2))
        directions[:k, 0] = 1.0  # the temperature: every scale together
        directions[k:, 1] = 1.0  # a common shift of the offsets: no change but the penalty
        along = np.column_stack([along_temperature, np.zeros(2 * k)]) + alpha * directions
        return (loss, grad), Preconditioner(haa + alpha, hab, hbb + alpha, directions, along)

    # One step of Newton's method with the start's approximate Hessian, then
    # L-BFGS in the variables of the Hessian where it lands (if it lowered the
    # objective): from the temperature start the Hessian changes much on the way.
    point, (evaluation, variables) = start, curvature_at(start)
    step_x = variables.to_x(start) - variables.gradient(penalised(start, *evaluation)[1])
    stepped = variables.to_params(step_x)
    stepped_evaluation, stepped_variables = curvature_at(stepped)
    newton_steps = 0
    if penalised(stepped, *stepped_evaluation)[0] < penalised(start, *evaluation)[0]:
        point, evaluation, variables = stepped, stepped_evaluation, stepped_variables
        newton_steps = 1
    loss_grad = _evaluated_once(evaluation, lambda params: vector_scaling_loss_grad(
        params, rows, y, sample_weight, n_total))

    def objective(x):
        params = variables.to_params(x)
        loss, grad = penalised(params, *loss_grad(params))
        return loss, variables.gradient(grad)

    x, result = _minimize_round(objective, variables.to_x(point), tol=tol, max_iter=max_iter,
                                ftol=relative_decrease)
    params = variables.to_params(x)
    a, b = params[:k], params[k:]
    b = b - b.mean()  # softmax is invariant to a common shift of b
    return a, b, newton_steps + int(result.nit), bool(result.success)


def weighted_column_sums(values, w):
    """``values.sum(axis=0)``, or weighted by ``w``."""
    return values.sum(axis=0) if w is None else w @ values


def column_means(Z, sample_weight):
    """Weighted column means of ``Z`` in float64, read in row blocks."""
    rows = as_rows(Z)
    sums = rows.reduce(lambda z, w: weighted_column_sums(np.asarray(z, dtype=np.float64), w),
                       sample_weight)
    return sums / total_weight(rows.n_rows, sample_weight)


def column_covariance(Z, sample_weight, center):
    """Weighted covariance matrix of the columns of ``Z`` about ``center`` (their
    means), from centred blocks (accurate also for columns far from zero, such
    as log-probabilities)."""
    rows = as_rows(Z)

    def block_moments(z, w):
        z = np.asarray(z, dtype=np.float64) - center
        return z.T @ (z if w is None else z * w[:, None])

    return rows.reduce(block_moments, sample_weight) / total_weight(rows.n_rows, sample_weight)


# --------------------------------------------------------------------------- #
# Matrix scaling: NLL of softmax(Z @ W.T + b)
# --------------------------------------------------------------------------- #
def _matrix_block(z, y, w, W, b, rotation=None, center=None):
    z = np.asarray(z, dtype=np.float64)
    calibrated = z @ W.T
    calibrated += b
    loss, proba = _softmax_in_place(calibrated, y, w)
    diagonal = ()
    if rotation is not None:  # the Hessian's diagonal in rotated scores, summed
        spread = proba - proba * proba
        if w is not None:
            spread *= w[:, None]
        rotated = (z - center) @ rotation
        rotated *= rotated
        diagonal = (np.column_stack([spread.T @ rotated, spread.sum(axis=0)]),)
    residual = _residual_in_place(proba, y, w)
    return (loss, residual.T @ z, residual.sum(axis=0)) + diagonal


def matrix_scaling_loss_grad(params, Z, y, sample_weight, n_total, center=None,
                             rotation=None):
    """Weighted mean NLL of ``softmax((Z - center) @ W.T + b)`` and its gradient.

    With a ``rotation`` (an orthogonal K x K matrix ``V``), also the diagonal of
    the Hessian in class ``k``'s coefficients on the rotated scores
    ``(Z - center) @ V`` and its offset: the weighted means of
    ``p_k (1 - p_k) ((z - center) @ V)_j^2`` and of ``p_k (1 - p_k)``, as a
    ``K x (K + 1)`` matrix.
    """
    rows = as_rows(Z)
    k = rows.n_columns
    W, b = params[: k * k].reshape(k, k), params[k * k :]
    if center is not None:
        b = b - W @ center
    sums = rows.reduce(lambda z, y, w: _matrix_block(z, y, w, W, b, rotation, center),
                       y, sample_weight)
    loss, grad_W, grad_b = sums[:3]
    if center is not None:
        grad_W = grad_W - np.outer(grad_b, center)
    scale = 1.0 / n_total
    result = (loss * scale, np.concatenate([grad_W.ravel(), grad_b]) * scale)
    return result + ((sums[3] * scale,) if rotation is not None else ())


# Matrix scaling computes its exact Hessian at the start when this costs at most
# this many multiply-adds (n K^2 (K + 1)^2: about 10 classes at 10^5 rows).
_EXACT_HESSIAN_WORK = 2**31


def _matrix_hessian_block(z, y, w, W, b, center):
    """One block's sum of the NLL's Hessian in ``[W | b]`` (row-major, class by
    class), the scores centred."""
    z = np.asarray(z, dtype=np.float64) - center
    calibrated = z @ W.T
    calibrated += b
    _, proba = _softmax_in_place(calibrated, y, None)
    extended = np.column_stack([z, np.ones(z.shape[0])])
    weighted = proba if w is None else proba * w[:, None]
    pairs = (extended[:, :, None] * extended[:, None, :]).reshape(z.shape[0], -1)
    diagonal = (weighted.T @ pairs).reshape(-1, extended.shape[1], extended.shape[1])
    outer = (proba[:, :, None] * extended[:, None, :]).reshape(z.shape[0], -1)
    hessian = -(outer.T @ (outer if w is None else outer * w[:, None]))
    k, m = proba.shape[1], extended.shape[1]
    for c in range(k):
        hessian[c * m : (c + 1) * m, c * m : (c + 1) * m] += diagonal[c]
    return hessian


class _DenseVariables:
    """``x = R theta`` with ``R^T R`` the exact Hessian of the penalised NLL at
    the start (its Cholesky factor), for matrix scaling on few classes."""

    def __init__(self, hessian, k, penalty):
        m = k + 1
        # [W | b] row-major -> (W.ravel(), b)
        order = np.r_[[c * m + a for c in range(k) for a in range(k)], [c * m + k for c in range(k)]]
        hessian = hessian[np.ix_(order, order)] + np.diag(penalty)
        jitter = 1e-12 * np.trace(hessian) / hessian.shape[0]
        self.upper = np.linalg.cholesky(hessian + jitter * np.eye(hessian.shape[0])).T

    def to_x(self, params):
        return self.upper @ params

    def to_params(self, x):
        return solve_triangular(self.upper, x)

    def gradient(self, grad_params):
        return solve_triangular(self.upper, grad_params, trans="T")


class _RotatedVariables:
    """Matrix scaling's parameters ``[W | b]`` (one row per class, the scores
    centred) in variables where the NLL is nearly round at the start: each
    class's coefficients rotated onto the eigenvectors ``V`` of the scores'
    covariance (which decorrelates the scores), then each entry divided by the
    square root of its exact diagonal Hessian entry plus the penalty.

    The diagonal comes from the first pass (see
    :func:`matrix_scaling_loss_grad`); it keeps the correlation between a
    class's curvature ``p_k (1 - p_k)`` and the scores (largest where the
    class's own score is large), which a product of their means (a Kronecker
    approximation) misses by an order of magnitude on the diagonal of ``W``.
    """

    def __init__(self, rotation, diagonal, off_diagonal, intercept):
        k = rotation.shape[0]
        self.rotation = np.zeros((k + 1, k + 1))
        self.rotation[:k, :k] = rotation
        self.rotation[k, k] = 1.0
        curvature = diagonal + np.r_[np.full(k, 2.0 * off_diagonal), 2.0 * intercept]
        self.scale = np.sqrt(np.maximum(curvature, 1e-12 * curvature.max() + 1e-300))
        self.k = k

    def _as_matrix(self, params):
        k = self.k
        return np.column_stack([params[: k * k].reshape(k, k), params[k * k :]])

    def _as_params(self, matrix):
        return np.concatenate([matrix[:, :-1].ravel(), matrix[:, -1]])

    def to_x(self, params):
        return ((self._as_matrix(params) @ self.rotation) * self.scale).ravel()

    def to_params(self, x):
        return self._as_params((x.reshape(self.scale.shape) / self.scale) @ self.rotation.T)

    def gradient(self, grad_params):
        return ((self._as_matrix(grad_params) @ self.rotation) / self.scale).ravel()


# BLAS on one thread: matrix scaling's products are per row block (at most
# 2^16 values), too small for threads to pay, and between the many small calls of
# an L-BFGS loop the idle threads of numpy's and scipy's BLAS busy-wait against
# the main thread. On 2 cores this made fits 1.3x (10 classes, 10^5 rows) to 3.4x
# (100 classes, 8000 rows) faster (benchmarks/bench_maps.py).
def fit_matrix_scaling(Z, y, sample_weight, **options):
    """:func:`_fit_matrix_scaling` with BLAS on one thread."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_matrix_scaling(Z, y, sample_weight, **options)


def _fit_matrix_scaling(Z, y, sample_weight, *, a0, b0, alpha, off_diagonal, intercept,
                       tol, max_iter):
    """L-BFGS fit of ``softmax(Z @ W.T + b)`` from ``W = diag(a0)``, ``b = b0``.

    The scores are centred on their (weighted) column means inside the fit,
    which decouples ``W`` from ``b`` and speeds L-BFGS up several times. Ridge
    penalties, each a sum of squares: ``off_diagonal`` on the entries of W off
    its diagonal (toward 0), ``alpha`` on its diagonal (toward ``a0``) and
    ``intercept`` on the offsets at the mean score (toward the starting map's).
    All vanish at the start, so the fitted NLL is never above the starting
    map's. Returns (W, b, n_iter, converged), ``b`` for the uncentred scores.
    """
    rows = as_rows(Z)
    k = rows.n_columns
    n_total = total_weight(rows.n_rows, sample_weight)
    center = column_means(rows, sample_weight)
    start = np.concatenate([np.diag(a0).ravel(), b0 + a0 * center])
    off = ~np.eye(k, dtype=bool).ravel()
    # each penalty's second derivative, per parameter (W row-major, then b)
    penalty = np.r_[np.where(off, 2 * off_diagonal, 2 * alpha), np.full(k, 2 * intercept)]
    if rows.n_rows * (k * (k + 1)) ** 2 <= _EXACT_HESSIAN_WORK:
        evaluation = matrix_scaling_loss_grad(start, rows, y, sample_weight, n_total, center)
        W0, b0_centred = start[: k * k].reshape(k, k), start[k * k :]
        hessian = rows.reduce(lambda z, y, w: _matrix_hessian_block(z, y, w, W0, b0_centred,
                                                                    center), y, sample_weight)
        variables = _DenseVariables(hessian / n_total, k, penalty)
    else:
        rotation = np.linalg.eigh(column_covariance(rows, sample_weight, center))[1]
        evaluation = matrix_scaling_loss_grad(start, rows, y, sample_weight, n_total, center,
                                              rotation)
        variables = _RotatedVariables(rotation, evaluation[2], off_diagonal, intercept)
    loss_grad = _evaluated_once(evaluation[:2], lambda params: matrix_scaling_loss_grad(
        params, rows, y, sample_weight, n_total, center))

    def objective(x):
        params = variables.to_params(x)
        loss, grad = loss_grad(params)
        diff = params - start
        return loss + 0.5 * diff @ (penalty * diff), variables.gradient(grad + penalty * diff)

    x, result = _minimize_round(objective, variables.to_x(start), tol=tol, max_iter=max_iter,
                                maxcor=30)
    params = variables.to_params(x)
    W = params[: k * k].reshape(k, k)
    b = params[k * k :] - W @ center
    return W, b - b.mean(), int(result.nit), bool(result.success)
