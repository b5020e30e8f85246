"""Numerical solver of matrix scaling: the NLL of ``softmax(Z @ W.T + b)``,
penalised, minimised by L-BFGS in variables scaled by its Hessian at the start
(and, for a fit that converges slowly in them, at a later point through
:mod:`skcal.solvers._class_blocks`).

Like the other solvers (:mod:`skcal.solvers._temperature_fit`), it sums over row blocks
through :class:`~skcal.rows._blocks.Rows`.
"""

import numpy as np
from scipy.linalg import solve_triangular

from ..rows._blocks import column_sums, total_weight
from ..utils._threads import one_blas_thread
from ._class_blocks import (
    ClassBlockVariables,
    class_block_pass,
    class_rows,
    from_class_rows,
)
from ._block_softmax import as_rows, residual_in_place, softmax_in_place
from ._lbfgs import evaluated_once, minimize_round


def column_means(Z, sample_weight):
    """Weighted column means of ``Z`` in float64, read in row blocks."""
    rows = as_rows(Z)
    sums = rows.reduce(lambda z, w: column_sums(np.asarray(z, dtype=np.float64), w),
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


def _matrix_block(z, y, w, W, b, rotation=None, center=None, diagonal=None):
    z = np.asarray(z, dtype=np.float64)
    # a diagonal W (the start, vector scaling's map) scales each column: the same
    # values as the product, whose other terms are exact zeros, without it
    calibrated = z @ W.T if diagonal is None else z * diagonal
    calibrated += b
    loss, proba = softmax_in_place(calibrated, y, w)
    curvature = ()
    if rotation is not None:  # the Hessian's diagonal in rotated scores, summed
        spread = proba - proba * proba
        if w is not None:
            spread *= w[:, None]
        centred = z - center
        rotated = centred @ rotation
        rotated *= rotated
        own = np.einsum("ij,ij->j", spread, centred)  # each class on its own score
        # along W's diagonal (the temperature): the variance under p of its change
        change = centred * np.diagonal(W)
        moved = proba * change
        along = moved * change
        along = along.sum(axis=1) - np.square(moved.sum(axis=1))
        curvature = (np.column_stack([spread.T @ rotated, spread.sum(axis=0)]),
                     np.column_stack([np.einsum("ij,ij->j", spread * centred, centred), own]),
                     along.sum() if w is None else w @ along)
    residual = residual_in_place(proba, y, w)
    return (loss, residual.T @ z, residual.sum(axis=0)) + curvature


def matrix_scaling_loss_grad(params, Z, y, sample_weight, n_total, center=None,
                             rotation=None):
    """Weighted mean NLL of ``softmax((Z - center) @ W.T + b)`` and its gradient.

    With a ``rotation`` (an orthogonal K x K matrix ``V``), also the diagonal of
    the Hessian in class ``k``'s coefficients on the rotated scores
    ``(Z - center) @ V`` and its offset: the weighted means of
    ``p_k (1 - p_k) ((z - center) @ V)_j^2`` and of ``p_k (1 - p_k)``, as a
    ``K x (K + 1)`` matrix; and the Hessian's entries in ``(W_kk, W_kk)`` and
    ``(W_kk, b_k)``: the weighted means of ``p_k (1 - p_k) (z_k - center_k)^2``
    and ``p_k (1 - p_k) (z_k - center_k)``, as a ``K x 2`` matrix; and the
    Hessian along ``W``'s diagonal (the direction ``diag(W)``, no change in
    ``b``): the weighted mean over rows of the variance under ``p`` of
    ``W_kk (z_k - center_k)``.
    """
    rows = as_rows(Z)
    k = rows.n_columns
    W, b = params[: k * k].reshape(k, k), params[k * k :]
    if center is not None:
        b = b - W @ center
    diagonal = np.diagonal(W)
    diagonal = diagonal if np.array_equal(W, np.diag(diagonal)) else None
    sums = rows.reduce(lambda z, y, w: _matrix_block(z, y, w, W, b, rotation, center,
                                                     diagonal), y, sample_weight)
    loss, grad_W, grad_b = sums[:3]
    if center is not None:
        grad_W = grad_W - np.outer(grad_b, center)
    scale = 1.0 / n_total
    result = (loss * scale, np.concatenate([grad_W.ravel(), grad_b]) * scale)
    if rotation is None:
        return result
    return result + tuple(value * scale for value in sums[3:])


# Matrix scaling computes its exact Hessian at the start when this costs at most
# this many multiply-adds (n K^2 (K + 1)^2: about 10 classes at 10^5 rows).
_EXACT_HESSIAN_WORK = 2**31


def _matrix_hessian_block(z, y, w, W, b, center):
    """One block's sum of the NLL's Hessian in ``[W | b]`` (row-major, class by
    class), the scores centred."""
    z = np.asarray(z, dtype=np.float64) - center
    calibrated = z @ W.T
    calibrated += b
    _, proba = softmax_in_place(calibrated, y, None)
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
    square root of its exact diagonal Hessian entry plus the penalty, and
    corrected so that the Hessian is exact on each class's own pair
    ``(W_kk, b_k)``.

    The diagonal comes from the first pass (see
    :func:`matrix_scaling_loss_grad`); it keeps the correlation between a
    class's curvature ``p_k (1 - p_k)`` and the scores (largest where the
    class's own score is large), which a product of their means (a Kronecker
    approximation) misses by an order of magnitude on the diagonal of ``W``.
    The rotation spreads ``W_kk`` over every rotated coefficient, whose
    diagonal then sees neither that ``W_kk`` has the curvature of the class's
    own score nor that its penalty is ``alpha``, not the off-diagonal one;
    without the correction these ``K`` directions are 3-4 times flatter than
    the others, and L-BFGS needs about twice as many iterations.
    """

    def __init__(self, rotation, diagonal, own, along_diagonal, *, diagonal_start, alpha,
                 off_diagonal, intercept):
        k = rotation.shape[0]
        self.rotation = np.zeros((k + 1, k + 1))
        self.rotation[:k, :k] = rotation
        self.rotation[k, k] = 1.0
        curvature = diagonal + np.r_[np.full(k, 2.0 * off_diagonal), 2.0 * intercept]
        self.scale = np.sqrt(np.maximum(curvature, 1e-12 * curvature.max() + 1e-300))
        self.k = k
        self._own_pair_correction(own, alpha)
        self.direction, self.stretch = np.zeros(k * (k + 1)), 0.0
        direction = self.to_x(np.r_[np.diag(diagonal_start).ravel(), np.zeros(k)])
        guess = direction @ direction
        exact = along_diagonal + 2.0 * alpha * diagonal_start @ diagonal_start
        if guess > 0 and exact > 0:
            self.direction = direction / np.sqrt(guess)
            self.stretch = np.sqrt(exact / guess)

    def _own_pair_correction(self, own, alpha):
        """``x = C (rotated and scaled)``, each class's ``C_k = I + Q_k (F_k - I)
        Q_k^T`` acting on the plane ``Q_k`` of its ``(W_kk, b_k)``, with ``F_k``
        the square root of the ratio of the exact 2 x 2 Hessian there to the
        diagonal guess (a rank-2 update of each class's metric, as in
        :class:`~skcal.solvers._preconditioner.Preconditioner`)."""
        k, scale = self.k, self.scale
        # (W_kk, b_k) in the scaled rotated variables of class k: the directions
        # V[k] / scale_k (zero on the offset) and e_k / scale_k[k] (the offset)
        along = self.rotation[np.arange(k), :] / scale
        length = np.sqrt(np.einsum("ij,ij->i", along, along))
        self.plane = along / length[:, None]
        guess = np.einsum("ij,ij->i", self.rotation[np.arange(k), :] ** 2, scale**2)
        exact = own[:, 0] + 2.0 * alpha
        # the metric on the plane, in its orthonormal basis, divided by the guess
        ratio = np.empty((k, 2, 2))
        ratio[:, 0, 0] = 1.0 + length**2 * (exact - guess)
        ratio[:, 0, 1] = ratio[:, 1, 0] = length * own[:, 1] / scale[:, k]
        ratio[:, 1, 1] = 1.0
        eigenvalues, vectors = np.linalg.eigh(ratio)
        eigenvalues = np.maximum(eigenvalues, 1e-2)  # a guess far off stays positive definite
        eye = np.eye(2)
        self.root = np.einsum("kij,kj,klj->kil", vectors, np.sqrt(eigenvalues), vectors) - eye
        self.inverse_root = np.einsum("kij,kj,klj->kil", vectors, 1 / np.sqrt(eigenvalues),
                                      vectors) - eye

    def _corrected(self, X, minus_eye):
        """Each row ``X_k + Q_k M_k Q_k^T X_k`` for ``M_k`` in ``minus_eye``."""
        k = self.k
        coordinates = np.column_stack([np.einsum("ij,ij->i", self.plane, X), X[:, k]])
        change = np.einsum("kij,kj->ki", minus_eye, coordinates)
        X = X + self.plane * change[:, :1]
        X[:, k] += change[:, 1]
        return X

    def _stretched(self, x, power):
        """``x`` stretched by ``stretch ** power`` along the diagonal's direction."""
        if self.stretch == 0.0:
            return x
        return x + (self.stretch**power - 1.0) * (self.direction @ x) * self.direction

    def to_x(self, params):
        scaled = (class_rows(params, self.k) @ self.rotation) * self.scale
        return self._stretched(self._corrected(scaled, self.root).ravel(), 1)

    def to_params(self, x):
        x = self._stretched(x, -1)
        scaled = self._corrected(x.reshape(self.scale.shape), self.inverse_root)
        return from_class_rows((scaled / self.scale) @ self.rotation.T)

    def gradient(self, grad_params):
        scaled = (class_rows(grad_params, self.k) @ self.rotation) / self.scale
        return self._stretched(self._corrected(scaled, self.inverse_root).ravel(), -1)


# After this many L-BFGS iterations in the first variables (_RotatedVariables), a
# fit that would need more than SLOW_REMAINING others at their rate continues in
# exact class blocks from where it is (skcal.solvers._class_blocks): on the CIFAR-100
# DenseNet of shared/data, 40-52 iterations become 26-27; fits on synthetic
# scores and the other CIFAR models converge or keep their pace and never switch.
SWITCH_AFTER = 8
SLOW_REMAINING = 16
# the class blocks hold K (K + 1)^2 values several times over (each row block's
# sums, their total, the Cholesky factors and their inverses): 8 GB each at 1000
# classes, which exhausted a 24 GiB machine. Beyond this many values (about 320
# classes, 268 MB) a fit stays in the first variables.
CLASS_BLOCK_VALUES = 2**25


def _slow(largest, n_iter, tol):
    """Whether L-BFGS, whose largest gradient entries were ``largest`` over
    ``n_iter`` iterations, would need more than ``SLOW_REMAINING`` more to
    reach ``tol`` at their geometric rate."""
    first, last = largest[0], min(largest[-3:])
    if not (last > tol and first > last):
        return False
    rate = (last / first) ** (1.0 / n_iter)
    return np.log(tol / last) / np.log(rate) > SLOW_REMAINING


# BLAS on one thread: matrix scaling's products are per row block (at most
# 2^16 values), too small for threads to pay, and between the many small calls of
# an L-BFGS loop the idle threads of numpy's and scipy's BLAS busy-wait against
# the main thread. On 2 cores this made fits 1.3x (10 classes, 10^5 rows) to 3.4x
# (100 classes, 8000 rows) faster (benchmarks/bench_maps.py).
def fit_matrix_scaling(Z, y, sample_weight, **options):
    """:func:`_fit_matrix_scaling` with BLAS on one thread."""
    with one_blas_thread():
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
        variables = _RotatedVariables(rotation, *evaluation[2:], diagonal_start=a0,
                                      alpha=alpha, off_diagonal=off_diagonal,
                                      intercept=intercept)
    def evaluate(params):
        return matrix_scaling_loss_grad(params, rows, y, sample_weight, n_total, center)

    def minimize(variables, evaluation, params, max_iter, watch=False):
        loss_grad = evaluated_once(evaluation, evaluate)
        largest = []  # the largest gradient entry in x, per evaluation
        iterations = [0]

        def objective(x):
            params = variables.to_params(x)
            loss, grad = loss_grad(params)
            diff = params - start
            grad_x = variables.gradient(grad + penalty * diff)
            largest.append(np.abs(grad_x).max())
            return loss + 0.5 * diff @ (penalty * diff), grad_x

        def stop_if_slow():
            iterations[0] += 1
            if iterations[0] == SWITCH_AFTER and _slow(largest, SWITCH_AFTER, tol):
                raise StopIteration

        x, result = minimize_round(objective, variables.to_x(params), tol=tol,
                                    max_iter=max_iter, maxcor=30,
                                    callback=stop_if_slow if watch else None)
        return variables.to_params(x), int(result.nit), result

    # the first variables, until L-BFGS shows that it would converge slowly in them
    params, n_iter, result = minimize(variables, evaluation[:2], start, max_iter,
                                      watch=isinstance(variables, _RotatedVariables)
                                      and k * (k + 1) ** 2 <= CLASS_BLOCK_VALUES)
    if result.status == 99:  # stopped as slow: continue in exact class blocks
        evaluation, pieces = class_block_pass(rows, y, sample_weight, params, center, n_total)
        try:
            variables = ClassBlockVariables(pieces, penalty)
        except np.linalg.LinAlgError:  # a class too thinly sampled: keep the first ones
            pass
        params, more, result = minimize(variables, evaluation, params, max_iter - n_iter)
        n_iter += more
    W = params[: k * k].reshape(k, k)
    b = params[k * k :] - W @ center
    return W, b - b.mean(), n_iter, bool(result.success)
