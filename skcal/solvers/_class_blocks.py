"""Matrix scaling's second set of variables, for fits that the first set leaves
slow: exact on each class's block of the Hessian and on the diagonal scales
and offsets of all classes together.

The first variables (:class:`~skcal.solvers._matrix_fit._RotatedVariables`) treat
the classes as independent and each class's coefficients through the scores'
global principal axes. On confident real models whose classes are confused
in groups (the CIFAR-100 outputs of ``shared/data``) both miss: the
preconditioned Hessian spans 0.1 to 4.8 and L-BFGS needs 40-50 iterations.
The Hessian of the NLL in class ``k``'s coefficients ``[W_k, b_k]`` (the
scores centred, ``x = [z, 1]``) is ``E[p_k (1 - p_k) x x^T]``, and between
the diagonal scales and offsets ``(W_kk, b_k)`` of different classes it has
the multinomial terms ``-E[p_k p_j ...]``. These variables make the metric
exact on both: each class's block through its Cholesky factor, then a
correction on the ``2K`` directions ``(W_kk, b_k)``, as the rank-2 ones of the
first variables but for all classes at once. Each block is summed over the
rows that carry most of it (the largest ``p_k (1 - p_k) (1 + |z|^2)``, a
fraction of every row block) and rescaled to that sum over all rows.
"""

import numpy as np
from scipy.linalg import cholesky
from scipy.linalg.lapack import dtrtri

from ..rows._blocks import BLOCK_ELEMENTS
from ._block_softmax import residual_in_place, softmax_in_place

# each class's block is summed over this fraction of the rows (of every row block)
BLOCK_ROW_FRACTION = 0.02
# the Hessian between classes' (W_kk, b_k) is summed over every this many rows
OWN_ROW_STRIDE = 4


def class_rows(params, k):
    """``[W | b]`` (``W`` row-major, then ``b``) as one row per class, ``[W_k, b_k]``."""
    return np.column_stack([params[: k * k].reshape(k, k), params[k * k :]])


def from_class_rows(rows):
    """The inverse of :func:`class_rows`."""
    return np.concatenate([rows[:, :-1].ravel(), rows[:, -1]])


def _class_block_sums(z, y, w, W, b, center):
    """One row block's loss and gradient sums at ``(W, b)`` (the scores
    uncentred, ``b`` for them), and the sums behind :class:`ClassBlockVariables`."""
    z = np.asarray(z, dtype=np.float64)
    calibrated = z @ W.T
    calibrated += b
    loss, proba = softmax_in_place(calibrated, y, w)
    centred = z - center
    n_rows, k = proba.shape
    weighted = proba if w is None else proba * w[:, None]
    spread = weighted - weighted * proba  # w p (1 - p)
    importance = spread * (1.0 + np.einsum("ij,ij->i", centred, centred))[:, None]
    n_kept = min(n_rows, max(1, int(np.ceil(BLOCK_ROW_FRACTION * n_rows))))
    by_class = np.ascontiguousarray(importance.T)
    kept = np.argpartition(by_class, n_rows - n_kept, axis=1)[:, n_rows - n_kept:]  # (k, m)
    extended = np.column_stack([centred, np.ones(n_rows)])
    gathered = extended[kept]  # (k, m, k + 1): class j's kept rows in [j]
    weighted_rows = gathered * np.take_along_axis(spread.T, kept, axis=1)[:, :, None]
    blocks = np.empty((k, k + 1, k + 1))
    for c in range(k):  # BLAS per class (a stacked matmul is slower)
        np.dot(weighted_rows[c].T, gathered[c], out=blocks[c])
    importance_sums = np.stack([by_class.sum(axis=1),
                                np.take_along_axis(by_class, kept, axis=1).sum(axis=1)])
    # between the diagonal scales and offsets of all classes: [w p z_k, w p] against
    # [p z_k, p] and the diagonal terms, both over the same strided subset of the
    # rows (so that the estimate stays a positive definite Hessian), scaled to all
    every = slice(None, None, OWN_ROW_STRIDE)
    p, centred_rows = proba[every], centred[every]
    p_weighted = p if w is None else weighted[every]
    own = np.concatenate([p * centred_rows, p], axis=1)
    own_weighted = own if w is None else own * w[every, None]
    share = n_rows / p.shape[0]
    pairs = own_weighted.T @ own * share
    diagonal = np.stack([np.einsum("ij,ij->j", p_weighted * centred_rows, centred_rows),
                         np.einsum("ij,ij->j", p_weighted, centred_rows),
                         p_weighted.sum(axis=0)]) * share
    residual = residual_in_place(proba, y, w)
    return (loss, residual.T @ z, residual.sum(axis=0), blocks, importance_sums, pairs,
            diagonal)


def class_block_pass(rows, y, sample_weight, params, center, n_total):
    """The loss and gradient at ``params`` (``[W | b]`` for the centred scores,
    as :func:`~skcal.solvers._matrix_fit.matrix_scaling_loss_grad` returns them) and
    the Hessian pieces for :class:`ClassBlockVariables`, in one pass."""
    k = rows.n_columns
    W, b = params[: k * k].reshape(k, k), params[k * k :]
    b = b - W @ center
    # blocks of 4x the usual rows: fewer (K, K + 1, K + 1) sums to add up
    sums = rows.reduce(lambda z, y, w: _class_block_sums(z, y, w, W, b, center),
                       y, sample_weight, block_elements=4 * BLOCK_ELEMENTS)
    loss, grad_W, grad_b, blocks, (everywhere, kept), pairs, diagonal = sums
    grad_W = grad_W - np.outer(grad_b, center)
    scale = 1.0 / n_total
    blocks = blocks * (everywhere / np.where(kept > 0, kept, 1.0) * scale)[:, None, None]
    evaluation = (loss * scale, np.concatenate([grad_W.ravel(), grad_b]) * scale)
    return evaluation, (blocks, pairs * scale, diagonal * scale)


class ClassBlockVariables:
    """``x = T (L_k^T theta_k)_k``: each class's parameters ``theta_k = [W_k, b_k]``
    times the transposed Cholesky factor of its block of the penalised Hessian,
    then ``T = I + Q (G^{1/2} - I) Q^T`` on the span ``Q`` of the ``2K``
    directions ``(W_kk, b_k)``, with ``G`` the penalised Hessian there as the
    blocks see it; the metric is then exact on each block and on that span.

    Parameters
    ----------
    pieces : tuple
        ``(blocks, pairs, diagonal)`` from :func:`class_block_pass`.
    penalty : ndarray
        Each parameter's penalty curvature (``W`` row-major, then ``b``).

    Raises ``numpy.linalg.LinAlgError`` when a block is not positive definite
    (too few rows for an unpenalised class).
    """

    def __init__(self, pieces, penalty):
        blocks, pairs, diagonal = pieces
        k = blocks.shape[0]
        self.k = k
        blocks = blocks.copy()
        extra = np.column_stack([penalty[: k * k].reshape(k, k), penalty[k * k :]])
        blocks[:, np.arange(k + 1), np.arange(k + 1)] += extra
        self.lower = np.stack([cholesky(block, lower=True) for block in blocks])
        self.inverse = np.empty_like(self.lower)
        for c in range(k):
            self.inverse[c], info = dtrtri(self.lower[c], lower=1)
            if info != 0:
                raise np.linalg.LinAlgError("singular class block")
        own_penalty = np.r_[penalty[np.arange(k) * (k + 1)], penalty[k * k :]]
        exact = self._own_hessian(pairs, diagonal, own_penalty)
        # (W_kk, b_k) in these variables before T: L_k^T e_k and L_k^T e_K, class k's rows
        along = np.stack([self.lower[np.arange(k), np.arange(k), :], self.lower[:, k, :]],
                         axis=2)
        self.plane, factor = np.linalg.qr(along)  # (k, k + 1, 2), (k, 2, 2)
        inverse_factor = np.linalg.inv(factor)
        spread = np.zeros((2 * k, 2 * k))
        for c in range(k):
            spread[2 * c : 2 * c + 2, 2 * c : 2 * c + 2] = inverse_factor[c]
        metric = spread.T @ exact @ spread
        eigenvalues, vectors = np.linalg.eigh((metric + metric.T) / 2)
        eigenvalues = np.maximum(eigenvalues, 1e-6 * eigenvalues.max())
        eye = np.eye(2 * k)
        self.root = (vectors * np.sqrt(eigenvalues)) @ vectors.T - eye
        self.inverse_root = (vectors / np.sqrt(eigenvalues)) @ vectors.T - eye

    @staticmethod
    def _own_hessian(pairs, diagonal, own_penalty):
        """The penalised Hessian in ``(W_00, b_0, W_11, b_1, ...)``."""
        k = diagonal.shape[1]
        scale_scale = np.diag(diagonal[0]) - pairs[:k, :k]
        scale_offset = np.diag(diagonal[1]) - pairs[:k, k:]
        offset_offset = np.diag(diagonal[2]) - pairs[k:, k:]
        exact = np.empty((2 * k, 2 * k))
        exact[0::2, 0::2] = scale_scale
        exact[0::2, 1::2] = scale_offset
        exact[1::2, 0::2] = scale_offset.T
        exact[1::2, 1::2] = offset_offset
        exact[np.arange(2 * k), np.arange(2 * k)] += np.ravel(
            np.column_stack([own_penalty[:k], own_penalty[k:]]))
        return exact

    def _corrected(self, blocks, minus_eye):
        """``blocks + Q M Q^T blocks`` for ``M`` in ``minus_eye``, per class row."""
        coordinates = np.einsum("kia,ki->ka", self.plane, blocks).ravel()
        change = (minus_eye @ coordinates).reshape(self.k, 2)
        return blocks + np.einsum("kia,ka->ki", self.plane, change)

    def to_x(self, params):
        factored = np.einsum("kji,kj->ki", self.lower, class_rows(params, self.k))
        return self._corrected(factored, self.root).ravel()

    def to_params(self, x):
        factored = self._corrected(x.reshape(self.k, self.k + 1), self.inverse_root)
        return from_class_rows(np.einsum("kji,kj->ki", self.inverse, factored))

    def gradient(self, grad_params):
        factored = np.einsum("kij,kj->ki", self.inverse, class_rows(grad_params, self.k))
        return self._corrected(factored, self.inverse_root).ravel()
