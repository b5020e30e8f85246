"""Numerical solvers shared by the calibration maps.

All of them minimise a weighted mean negative log-likelihood and read the score
matrix in row blocks, so that temporaries stay a few hundred kilobytes whatever
the input size. Heavy elementwise work stays in the input dtype (float32 input is
exponentiated in float32); sums across rows are accumulated in float64.
"""

import math
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

# Elements per block: 2**16 float32 values are 256 KiB, small enough for a core's
# cache and large enough that numpy's per-call overhead is negligible.
_BLOCK_ELEMENTS = 2**16
# Temperature fits on more rows than this start from a fit on a strided subsample.
_WARM_START_ROWS = 8192


def row_blocks(n_rows, n_cols, block_elements=_BLOCK_ELEMENTS):
    """Yield slices covering ``range(n_rows)`` with about ``block_elements`` values."""
    step = max(1, block_elements // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def total_weight(n_samples, sample_weight):
    """The number of samples, or the sum of their weights."""
    return n_samples if sample_weight is None else float(sample_weight.sum())


def weighted_sum(values, weights):
    """``sum(values)`` or ``weights @ values`` in float64."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.sum() if weights is None else weights @ values)


# --------------------------------------------------------------------------- #
# Temperature scaling: NLL(beta) = mean(logsumexp(beta * z) - beta * z_y)
# --------------------------------------------------------------------------- #
class _TemperatureProblem:
    """Weighted NLL of ``softmax(beta * Z)`` and its first two derivatives in beta.

    The row maximum and the true-class logit are computed once; each evaluation
    is then one pass over ``Z`` with ``exp(beta * (z - max))``, which never
    overflows for ``beta > 0``.
    """

    def __init__(self, Z, y, sample_weight):
        self.Z = Z
        self.w = sample_weight
        self.total_weight = total_weight(Z.shape[0], sample_weight)
        n, k = Z.shape
        self.row_max = np.empty(n, dtype=Z.dtype)
        row_mean = np.empty(n, dtype=np.float64)
        for rows in row_blocks(n, k):
            block = Z[rows]
            self.row_max[rows] = block.max(axis=1)
            row_mean[rows] = block.mean(axis=1, dtype=np.float64)
        self.true_logit = Z[np.arange(n), y].astype(np.float64)
        # gradient of the NLL at beta = 0 (uniform predictions)
        self.gradient_at_zero = self._mean(row_mean - self.true_logit)

    def true_class_always_on_top(self):
        """True when every weighted row's true class has the strictly largest logit:
        the NLL then keeps falling as the temperature goes to 0."""
        keep = slice(None) if self.w is None else self.w > 0
        on_top = self.true_logit[keep] >= self.row_max[keep]
        if not on_top.all():
            return False
        ties = (self.Z[keep] == self.row_max[keep][:, None]).sum(axis=1)
        return bool(np.all(ties == 1))

    def _mean(self, values):
        return weighted_sum(values, self.w) / self.total_weight

    def evaluate(self, beta):
        """Return (nll, gradient, hessian) at ``beta > 0``."""
        Z = self.Z
        n, k = Z.shape
        beta_t = Z.dtype.type(beta)
        nll = grad = hess = 0.0
        for rows in row_blocks(n, k):
            shifted = Z[rows] - self.row_max[rows, None]
            e = np.multiply(shifted, beta_t)
            np.exp(e, out=e)
            s0 = e.sum(axis=1).astype(np.float64)
            np.multiply(e, shifted, out=e)
            s1 = e.sum(axis=1).astype(np.float64)
            np.multiply(e, shifted, out=e)
            s2 = e.sum(axis=1).astype(np.float64)
            mean = s1 / s0  # E_p[z] - max
            true_shifted = self.true_logit[rows] - self.row_max[rows].astype(np.float64)
            w = None if self.w is None else self.w[rows]
            nll += weighted_sum(np.log(s0) - beta * true_shifted, w)
            grad += weighted_sum(mean - true_shifted, w)
            hess += weighted_sum(np.maximum(s2 / s0 - mean * mean, 0.0), w)
        return nll / self.total_weight, grad / self.total_weight, hess / self.total_weight


class _BinaryTemperatureProblem:
    """The same NLL for two classes, where it depends only on ``d = z_1 - z_0``:
    ``mean(softplus(beta * d) - y * beta * d)``, read as one vector instead of
    a two-column matrix."""

    def __init__(self, Z, y, sample_weight):
        self.d = Z[:, 1] - Z[:, 0]
        self.y = y.astype(self.d.dtype)
        self.w = sample_weight
        self.total_weight = total_weight(Z.shape[0], sample_weight)
        half = self.d.dtype.type(0.5)
        self.gradient_at_zero = self._sum((half - self.y) * self.d) / self.total_weight

    def _sum(self, values, rows=slice(None)):
        return weighted_sum(values, None if self.w is None else self.w[rows])

    def true_class_always_on_top(self):
        keep = slice(None) if self.w is None else self.w > 0
        signed = np.where(self.y[keep] > 0, self.d[keep], -self.d[keep])
        return bool(np.all(signed > 0))

    def evaluate(self, beta):
        """Return (nll, gradient, hessian) at ``beta > 0``."""
        beta_t = self.d.dtype.type(beta)
        nll = grad = hess = 0.0
        for rows in row_blocks(self.d.shape[0], 1, block_elements=_BLOCK_ELEMENTS // 4):
            d, y = self.d[rows], self.y[rows]
            u = d * beta_t
            e = np.exp(-np.abs(u))
            p = np.where(u >= 0, 1, e) / (1 + e)  # sigmoid(u)
            nll += self._sum(np.log1p(e) + np.maximum(u, 0) - y * u, rows)
            grad += self._sum((p - y) * d, rows)
            hess += self._sum(p * (1 - p) * d * d, rows)
        return nll / self.total_weight, grad / self.total_weight, hess / self.total_weight


def _temperature_problem(Z, y, sample_weight):
    if Z.shape[1] == 2:
        return _BinaryTemperatureProblem(Z, y, sample_weight)
    return _TemperatureProblem(Z, y, sample_weight)


def _safeguarded_newton(problem, beta, *, tol, max_iter):
    """Minimise the convex NLL(beta) from ``beta``; returns (beta, n_iter, converged).

    Newton steps are kept inside the bracket that the sign of the gradient
    builds: a step leaving it is replaced by bisection (or expansion while no
    upper end is known). Stops when ``|d NLL / d log(beta)| = |beta * grad|``
    is below ``tol``, then takes the final Newton step.
    """
    low, high = 0.0, math.inf
    for n_iter in range(1, max_iter + 1):
        _, grad, hess = problem.evaluate(beta)
        if grad < 0:
            low = beta
        else:
            high = beta
        newton = beta - grad / hess if hess > 0 else math.nan
        in_bracket = low < newton < high
        if abs(beta * grad) <= tol:
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
    return beta, max_iter, False


def fit_inverse_temperature(Z, y, sample_weight=None, *, tol=1e-7, max_iter=100):
    """Inverse temperature ``beta`` minimising the NLL of ``softmax(beta * Z)``.

    Returns
    -------
    beta : float
        0.0 when the scores carry no information (the optimum lies at
        ``beta <= 0``).
    n_iter : int
        Newton passes over the full data (a fit on a strided subsample of
        ``_WARM_START_ROWS`` rows gives the starting point for large inputs).
    converged : bool
        False also when the scores separate the classes perfectly (no finite
        optimum): ``beta`` is then where the gradient fell below ``tol``.
    """
    problem = _temperature_problem(Z, y, sample_weight)
    if not problem.gradient_at_zero < 0:
        return 0.0, 0, True
    if problem.true_class_always_on_top():
        beta, n_iter, _ = _safeguarded_newton(problem, 1.0, tol=tol, max_iter=max_iter)
        return beta, n_iter, False
    beta = 1.0
    n_rows = Z.shape[0]
    if n_rows > 4 * _WARM_START_ROWS:
        stride = n_rows // _WARM_START_ROWS
        sub_w = None if sample_weight is None else sample_weight[::stride]
        if sub_w is None or sub_w.sum() > 0:
            sub = _temperature_problem(Z[::stride], y[::stride], sub_w)
            if sub.gradient_at_zero < 0:
                start, _, ok = _safeguarded_newton(sub, 1.0, tol=1e-3, max_iter=max_iter)
                beta = start if ok else beta
    return _safeguarded_newton(problem, beta, tol=tol, max_iter=max_iter)


# --------------------------------------------------------------------------- #
# Vector scaling: NLL of softmax(a * z + b) with a, b per class
# --------------------------------------------------------------------------- #
def vector_scaling_loss_grad(params, Z, y, sample_weight, n_total):
    """Weighted mean NLL of ``softmax(a * Z + b)`` and its gradient in ``(a, b)``."""
    n, k = Z.shape
    a, b = params[:k], params[k:]
    loss = 0.0
    grad_a = np.zeros(k)
    grad_b = np.zeros(k)
    for rows in row_blocks(n, k):
        z = Z[rows]
        log_p = log_softmax(z * a + b, axis=1)
        idx = np.arange(log_p.shape[0])
        yb = y[rows]
        w = None if sample_weight is None else sample_weight[rows]
        loss -= weighted_sum(log_p[idx, yb], w)
        residual = np.exp(log_p, out=log_p)
        residual[idx, yb] -= 1.0
        if w is not None:
            residual *= w[:, None]
        grad_b += residual.sum(axis=0)
        grad_a += np.einsum("ij,ij->j", residual, z)
    scale = 1.0 / n_total
    return loss * scale, np.concatenate([grad_a, grad_b]) * scale


def fit_vector_scaling(Z, y, sample_weight, *, a0, alpha, tol, max_iter):
    """L-BFGS fit of ``softmax(a * Z + b)``, started at ``a = a0``, ``b = 0``.

    ``alpha`` adds ``alpha / 2 * (||a - a0||^2 + ||b||^2)`` to the mean NLL.
    Returns (a, b, n_iter, converged). (Centring the scores, which speeds
    matrix scaling up, made this fit slower on log-probabilities: the penalty
    is no longer separable in the centred parameters.)
    """
    k = Z.shape[1]
    n_total = total_weight(Z.shape[0], sample_weight)
    start = np.concatenate([np.full(k, a0), np.zeros(k)])

    def objective(params):
        loss, grad = vector_scaling_loss_grad(params, Z, y, sample_weight, n_total)
        if alpha:
            diff = params - start
            loss += 0.5 * alpha * diff @ diff
            grad = grad + alpha * diff
        return loss, grad

    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol, "ftol": 64 * np.finfo(float).eps},
    )
    a, b = result.x[:k], result.x[k:]
    b = b - b.mean()  # softmax is invariant to a common shift of b
    return a, b, int(result.nit), bool(result.success)


def column_means(Z, sample_weight):
    """Weighted column means of ``Z`` in float64, read in row blocks."""
    n, k = Z.shape
    total = np.zeros(k)
    for rows in row_blocks(n, k):
        block = np.asarray(Z[rows], dtype=np.float64)
        total += block.sum(axis=0) if sample_weight is None else sample_weight[rows] @ block
    return total / total_weight(n, sample_weight)


# --------------------------------------------------------------------------- #
# Platt scaling: NLL of sigmoid(a * s + b), Newton on two parameters
# --------------------------------------------------------------------------- #
def _logistic_pass(s, target, sample_weight, a, b):
    """Loss, gradient and Hessian of the weighted logistic NLL at (a, b), in blocks."""
    loss = 0.0
    moments = np.zeros(5)  # sum r s, sum r, sum c s^2, sum c s, sum c
    for rows in row_blocks(s.shape[0], 1, block_elements=_BLOCK_ELEMENTS // 4):
        sb, tb = s[rows], target[rows]
        u = a * sb + b
        e = np.exp(-np.abs(u))
        # loss_i = softplus(u) - t u = log1p(e) + max(u, 0) - t u
        loss_rows = np.log1p(e) + np.maximum(u, 0) - tb * u
        p = np.where(u >= 0, 1.0, e) / (1.0 + e)  # sigmoid(u), no overflow
        curvature = p * (1.0 - p)
        residual = p - tb
        if sample_weight is not None:
            wb = sample_weight[rows]
            residual *= wb
            curvature *= wb
            loss += float(wb @ loss_rows)
        else:
            loss += float(loss_rows.sum())
        cs = curvature * sb
        moments += (residual @ sb, residual.sum(), cs @ sb, cs.sum(), curvature.sum())
    grad = moments[:2].copy()
    hess = np.array([[moments[2], moments[3]], [moments[3], moments[4]]])
    return loss, grad, hess


def is_separated(scores, is_positive, sample_weight):
    """True when no finite sigmoid maximises the likelihood: the class is absent,
    is everything, or a threshold on ``scores`` separates it (ties included)."""
    if sample_weight is not None:
        keep = sample_weight > 0
        scores, is_positive = scores[keep], is_positive[keep]
    positive, negative = scores[is_positive], scores[~is_positive]
    if positive.shape[0] == 0 or negative.shape[0] == 0:
        return True
    return bool(negative.max() <= positive.min() or positive.max() <= negative.min())


def platt_targets(is_positive, sample_weight, smoothing):
    """Raw 0/1 targets, or Platt's (1999) smoothed targets from the class priors."""
    targets = is_positive.astype(np.float64)
    if not smoothing:
        return targets
    n_positive = weighted_sum(is_positive, sample_weight)
    n_negative = weighted_sum(~is_positive, sample_weight)
    return np.where(
        is_positive, (n_positive + 1.0) / (n_positive + 2.0), 1.0 / (n_negative + 2.0)
    )


def one_vs_rest_targets(scores, positives, y, sample_weight, smoothing):
    """Targets of each one-vs-rest problem, and the classes that needed smoothing.

    Raw 0/1 targets (or Platt's smoothed ones when ``smoothing``); a class that
    its scores separate perfectly, or that is absent, has no finite NLL optimum
    and always gets the smoothed targets.

    Returns
    -------
    targets : list of ndarray, one per column of ``scores``
    separated : list
        The classes whose targets were smoothed because of separation.
    """
    targets, separated = [], []
    for column, k in enumerate(positives):
        is_positive = y == k
        smooth = smoothing
        if not smooth and is_separated(scores[:, column], is_positive, sample_weight):
            separated.append(k)
            smooth = True
        targets.append(platt_targets(is_positive, sample_weight, smooth))
    return targets, separated


def warn_separated(separated, hint=""):
    """The warning for classes fitted on smoothed targets because of separation."""
    if separated:
        warnings.warn(
            f"The calibration scores separate class column(s) {separated} "
            "perfectly (or the class is absent), so the NLL has no finite optimum "
            f"there; those classes were fitted on Platt's smoothed targets.{hint}",
            UserWarning,
        )


def fit_logistic_1d(s, target, sample_weight=None, *, tol=1e-12, max_iter=100):
    """Minimise the NLL of ``sigmoid(a * s + b)`` against targets in [0, 1].

    Newton's method with the exact 2 x 2 Hessian; a step that does not lower the
    loss is halved until it does. Stops when the Newton decrement (the predicted
    loss reduction, in nats per unit weight) is below ``tol``.

    Returns
    -------
    a, b : float
    n_iter : int
    converged : bool
    """
    s = np.asarray(s, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    n_total = total_weight(s.shape[0], sample_weight)
    mean_target = weighted_sum(target, sample_weight) / n_total
    mean_target = min(max(mean_target, 1e-12), 1 - 1e-12)
    params = np.array([0.0, math.log(mean_target / (1 - mean_target))])
    loss, grad, hess = _logistic_pass(s, target, sample_weight, *params)
    for n_iter in range(1, max_iter + 1):
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(hess, grad, rcond=None)[0]
        decrement = -(grad @ step) / n_total
        if not np.isfinite(decrement) or decrement <= tol:
            return params[0], params[1], n_iter, bool(np.isfinite(decrement))
        for _ in range(60):
            candidate = params + step
            new = _logistic_pass(s, target, sample_weight, *candidate)
            if new[0] <= loss + 1e-4 * (grad @ step):
                break
            step *= 0.5
        else:
            return params[0], params[1], n_iter, False
        params = candidate
        loss, grad, hess = new
    return params[0], params[1], max_iter, False




def fit_logistic_features(features, target, sample_weight, *, start, bounds, tol, max_iter):
    """Minimise the NLL of ``sigmoid(features @ coef + intercept)`` under bounds.

    L-BFGS-B with the analytic gradient; ``start`` and ``bounds`` cover the
    coefficients then the intercept. Returns (params, n_iter, converged).
    """
    n_total = total_weight(features.shape[0], sample_weight)
    design = np.column_stack([features, np.ones(features.shape[0])])

    def objective(params):
        u = design @ params
        loss_rows = np.logaddexp(0.0, u) - target * u
        residual = np.exp(-np.logaddexp(0.0, -u)) - target  # sigmoid(u) - t
        if sample_weight is not None:
            residual *= sample_weight
            loss = sample_weight @ loss_rows
        else:
            loss = loss_rows.sum()
        return loss / n_total, design.T @ residual / n_total

    result = minimize(
        objective,
        np.asarray(start, dtype=np.float64),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "gtol": tol, "ftol": 64 * np.finfo(float).eps},
    )
    return result.x, int(result.nit), bool(result.success)


# --------------------------------------------------------------------------- #
# Matrix scaling: NLL of softmax(Z @ W.T + b)
# --------------------------------------------------------------------------- #
def matrix_scaling_loss_grad(params, Z, y, sample_weight, n_total, center=None):
    """Weighted mean NLL of ``softmax((Z - center) @ W.T + b)`` and its gradient."""
    n, k = Z.shape
    W, b = params[: k * k].reshape(k, k), params[k * k :]
    if center is not None:
        b = b - W @ center
    loss = 0.0
    grad_W = np.zeros((k, k))
    grad_b = np.zeros(k)
    for rows in row_blocks(n, k):
        z = np.asarray(Z[rows], dtype=np.float64)
        log_p = log_softmax(z @ W.T + b, axis=1)
        idx = np.arange(log_p.shape[0])
        yb = y[rows]
        w = None if sample_weight is None else sample_weight[rows]
        loss -= weighted_sum(log_p[idx, yb], w)
        residual = np.exp(log_p, out=log_p)
        residual[idx, yb] -= 1.0
        if w is not None:
            residual *= w[:, None]
        grad_W += residual.T @ z
        grad_b += residual.sum(axis=0)
    if center is not None:
        grad_W -= np.outer(grad_b, center)
    scale = 1.0 / n_total
    return loss * scale, np.concatenate([grad_W.ravel(), grad_b]) * scale


def fit_matrix_scaling(Z, y, sample_weight, *, a0, b0, alpha, off_diagonal, intercept,
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
    k = Z.shape[1]
    n_total = total_weight(Z.shape[0], sample_weight)
    center = column_means(Z, sample_weight)
    start = np.concatenate([np.diag(a0).ravel(), b0 + a0 * center])
    off = ~np.eye(k, dtype=bool).ravel()
    diagonal = np.eye(k, dtype=bool).ravel()

    def objective(params):
        loss, grad = matrix_scaling_loss_grad(
            params, Z, y, sample_weight, n_total, center
        )
        diff = params - start
        W_diff = diff[: k * k]
        b_diff = diff[k * k :]
        loss += off_diagonal * (W_diff[off] @ W_diff[off])
        loss += alpha * (W_diff[diagonal] @ W_diff[diagonal])
        loss += intercept * (b_diff @ b_diff)
        penalty_grad = np.zeros_like(params)
        penalty_grad[: k * k][off] = 2 * off_diagonal * W_diff[off]
        penalty_grad[: k * k][diagonal] = 2 * alpha * W_diff[diagonal]
        penalty_grad[k * k :] = 2 * intercept * b_diff
        return loss, grad + penalty_grad

    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        options={
            "maxiter": max_iter,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
            "maxcor": 30,
        },
    )
    W = result.x[: k * k].reshape(k, k)
    b = result.x[k * k :] - W @ center
    return W, b - b.mean(), int(result.nit), bool(result.success)
